"""Mouth crops (LipNet §4.1, "Data preprocessing"): face landmarks in every frame, an affine transform of the lip
corners to fixed places, a 100×50 mouth-centred crop.

The paper tracks 68 dlib landmarks; here MediaPipe's face mesh (468 points + iris) gives the lips: the mouth
corners (61, 291) are mapped to (MOUTH_LEFT, MOUTH_Y) and (MOUTH_RIGHT, MOUTH_Y) of the crop by a similarity
transform (rotation, scale, shift), so every crop shows the mouth at the same place and size whatever the head
pose in the picture plane. A clip's transforms are smoothed over time, as tracked landmarks jitter.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ...core.errors import UserError

CROP_W, CROP_H = 100, 50  # the paper's mouth crop
MOUTH_LEFT, MOUTH_RIGHT, MOUTH_Y = 28.0, 72.0, 25.0  # where the lip corners land in the crop
MIN_MOUTH_PX = 12.0  # a mouth narrower than this in the frame is too small to read

# MediaPipe face-mesh lip rings, corners first; UPPER_* and LOWER_* pair up column by column (left to right)
LEFT_CORNER, RIGHT_CORNER = 61, 291
INNER_LEFT, INNER_RIGHT = 78, 308
UPPER_INNER = (191, 80, 81, 82, 13, 312, 311, 310, 415)
LOWER_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
UPPER_OUTER = (185, 40, 39, 37, 0, 267, 269, 270, 409)
LOWER_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)


def crop_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """2×3 similarity image → crop that sends the lip corners `left`, `right` (x, y) to their crop places."""
    p0, p1 = complex(*left[:2]), complex(*right[:2])
    q0, q1 = complex(MOUTH_LEFT, MOUTH_Y), complex(MOUTH_RIGHT, MOUTH_Y)
    a = (q1 - q0) / (p1 - p0)
    b = q0 - a * p0
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], dtype=np.float64)


def mouth_crop(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(50, 100, 3) uint8 crop of an RGB frame under a crop matrix."""
    import cv2

    small = abs(complex(matrix[0, 0], matrix[1, 0])) < 1
    return cv2.warpAffine(rgb, matrix, (CROP_W, CROP_H), flags=cv2.INTER_AREA if small else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class FaceMesh:
    """MediaPipe face mesh: (468+, 2) landmarks in pixels of the face found (`faces`: of up to `max_faces`)."""

    def __init__(self, video: bool = True, max_faces: int = 1):
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import mediapipe as mp
        except ModuleNotFoundError:
            raise UserError("lipnet needs mediapipe 0.10.14 to find mouths: pip install 'deepgallery[faces]'") from None
        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=not video, max_num_faces=max_faces,
                                                     refine_landmarks=False, min_detection_confidence=0.5,
                                                     min_tracking_confidence=0.5)

    def faces(self, rgb: np.ndarray) -> list[np.ndarray]:
        """(468+, 2) landmarks of every face found, in MediaPipe's order."""
        h, w = rgb.shape[:2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self._mesh.process(np.ascontiguousarray(rgb))
        return [np.array([(p.x * w, p.y * h) for p in lm.landmark], dtype=np.float64)
                for lm in result.multi_face_landmarks or []]

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        found = self.faces(rgb)
        return found[0] if found else None

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceMesh:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def track_mouth(frames: list[np.ndarray], name: str = "the video", smooth: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Mouth crops of a clip: ((T, 50, 100, 3) uint8, (T, 2, 3) crop matrices).

    Frames where the mesh loses the face reuse the nearest tracked transform; a clip with no face at all, or a
    mouth narrower than MIN_MOUTH_PX, is a UserError (one line)."""
    mats: list[np.ndarray | None] = []
    widths = []
    with FaceMesh(video=True) as mesh:
        for rgb in frames:
            pts = mesh(rgb)
            if pts is None:
                mats.append(None)
                continue
            widths.append(float(np.linalg.norm(pts[RIGHT_CORNER] - pts[LEFT_CORNER])))
            mats.append(crop_matrix(pts[LEFT_CORNER], pts[RIGHT_CORNER]))
    found = [i for i, m in enumerate(mats) if m is not None]
    if not found:
        raise UserError(f"{name}: no face found in any frame; lipreading needs a face looking at the camera")
    if np.median(widths) < MIN_MOUTH_PX:
        raise UserError(f"{name}: the face is too small (mouth {np.median(widths):.0f} px wide, need "
                        f"{MIN_MOUTH_PX:.0f}); use a closer or larger video")
    filled = np.stack([mats[min(found, key=lambda j: abs(j - i))] for i in range(len(mats))])  # (T, 2, 3)
    if smooth > 0:  # moving average of the transforms over ±smooth frames
        padded = np.concatenate([filled[:1].repeat(smooth, 0), filled, filled[-1:].repeat(smooth, 0)])
        kernel = np.ones(2 * smooth + 1) / (2 * smooth + 1)
        filled = np.stack([np.apply_along_axis(lambda v: np.convolve(v, kernel, "valid"), 0,
                                               padded[:, r, c]) for r in range(2) for c in range(3)], 1)
        filled = filled.reshape(-1, 2, 3)
    crops = np.stack([mouth_crop(rgb, m) for rgb, m in zip(frames, filled, strict=True)])
    return crops, filled
