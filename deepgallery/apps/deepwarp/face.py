"""Eyes in a photo: MediaPipe face mesh with iris (478 landmarks), eye-corner-aligned crops, gaze from the iris.

The paper locates eyes with a facial-landmark detector and crops them aligned on the eye landmarks
(Ganin et al. 2016, Sec. 4.1). Here the pretrained MediaPipe face mesh (shipped inside the
``mediapipe==0.10.14`` wheel, nothing downloads) gives both eye corners and both iris centres. An eye
crop is the similarity transform that sends the corner at the image's left to ``FRAME.inner_x`` and the
other to ``FRAME.outer_x``. `measure_gaze` turns the iris position relative to the corners into (yaw,
pitch) with the eyeball model of `geometry.py` — the same model the training renders obey.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.errors import UserError
from .geometry import FRAME, CropFrame, offset_to_angles

# MediaPipe face-mesh indices: (left-in-image corner, right-in-image corner, iris centre)
EYES = {"right": (33, 133, 468), "left": (362, 263, 473)}  # the subject's right eye is on the image's left
# eye-opening contours, closed polygons from the left-in-image corner along the lower lid and back along the upper
CONTOURS = {"right": (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
            "left": (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)}


@dataclass
class Eye:
    corners: np.ndarray  # (2, 2) image px: left-in-image corner, right-in-image corner
    iris: np.ndarray  # (2,) iris centre, image px
    contour: np.ndarray | None = None  # (16, 2) eye-opening polygon, image px (from the face mesh)
    iris_radius: float | None = None  # image px, mean distance of MediaPipe's four iris-edge points

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.corners[1] - self.corners[0]))

    def gaze(self) -> tuple[float, float]:
        """(yaw, pitch) in degrees, eyeball model; yaw > 0 looks to the image's right, pitch > 0 up."""
        c0, c1 = self.corners
        axis = (c1 - c0) / max(self.width, 1e-6)
        normal = np.array([-axis[1], axis[0]])  # points down the image for a level eye
        d = self.iris - (c0 + c1) / 2
        return offset_to_angles(float(d @ axis), float(d @ normal), self.width)

    def crop_matrix(self, frame: CropFrame = FRAME) -> np.ndarray:
        """2×3 similarity matrix image → crop (corners to their fixed crop positions)."""
        p0, p1 = complex(*self.corners[0]), complex(*self.corners[1])
        q0, q1 = complex(frame.inner_x, frame.center_y), complex(frame.outer_x, frame.center_y)
        a = (q1 - q0) / (p1 - p0)
        b = q0 - a * p0
        return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]], dtype=np.float64)


class FaceMesh:
    """MediaPipe face mesh with iris refinement, for photos (static) or streams (tracking)."""

    def __init__(self, static: bool = True, max_faces: int = 4):
        try:
            import mediapipe as mp
        except ModuleNotFoundError:
            raise UserError("deepwarp needs mediapipe 0.10.14 (face mesh with iris): "
                            "pip install 'deepgallery[faces]'") from None
        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces,
                                                     refine_landmarks=True, min_detection_confidence=0.5)

    def faces(self, rgb: np.ndarray) -> list[dict[str, Eye]]:
        """One {"right": Eye, "left": Eye} per face found in an RGB uint8 image."""
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        found = []
        for lm in result.multi_face_landmarks or []:
            pts = np.array([[p.x * w, p.y * h] for p in lm.landmark])  # (478, 2)
            found.append({name: Eye(pts[[a, b]], pts[c], pts[list(CONTOURS[name])],
                                    float(np.linalg.norm(pts[c + 1:c + 5] - pts[c], axis=1).mean()))
                          for name, (a, b, c) in EYES.items()})
        return found

    def close(self) -> None:
        self._mesh.close()


def crop_eye(rgb: np.ndarray, eye: Eye, frame: CropFrame = FRAME) -> np.ndarray:
    """The aligned eye crop, float32 (H, W, 3) in [0, 1]."""
    import cv2

    m = eye.crop_matrix(frame)
    out = cv2.warpAffine(rgb, m, (frame.width, frame.height), flags=cv2.INTER_AREA
                         if abs(m[0, 0]) < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.astype(np.float32) / 255.0


def feather(frame: CropFrame = FRAME) -> np.ndarray:
    """(H, W) weight, 1 around the eye and 0 at the crop border, so edits blend into the face."""
    ys, xs = np.mgrid[0:frame.height, 0:frame.width].astype(np.float32)
    cx, cy = (frame.width - 1) / 2, (frame.height - 1) / 2
    r = np.sqrt(((xs - cx) / (frame.width / 2)) ** 2 + ((ys - cy) / (frame.height / 2)) ** 2)
    return np.clip((1.0 - r) / 0.3, 0, 1) ** 2


def apply_flow(rgb: np.ndarray, eye: Eye, flow: np.ndarray, mask: np.ndarray,
               frame: CropFrame = FRAME) -> np.ndarray:
    """Carry the crop's flow (2, H, W) and lightness mask (H, W) back to the photo at its own resolution.

    A crop pixel c = A p + b of photo pixel p samples crop c + F(c), i.e. photo A⁻¹(c + F(c) − b), so the
    photo flow is A⁻¹ F(A p + b): the warp is applied to the full-resolution photo, not to the low-res crop.
    """
    import cv2

    m = eye.crop_matrix(frame)
    a_inv = np.linalg.inv(m[:, :2])
    h, w = rgb.shape[:2]
    # photo region covered by the crop
    corners = np.array([[0, 0], [frame.width, 0], [0, frame.height], [frame.width, frame.height]], np.float64)
    pts = (corners - m[:, 2]) @ a_inv.T
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return rgb
    shift = np.array([[1, 0, x0], [0, 1, y0]], np.float64)  # ROI px → photo px
    m_roi = m @ np.vstack([shift, [0, 0, 1]])  # ROI px → crop px
    size = (x1 - x0, y1 - y0)
    wgt = feather(frame)
    fields = np.dstack([flow[0] * wgt, flow[1] * wgt, mask * wgt]).astype(np.float32)
    back = cv2.warpAffine(fields, m_roi, size, flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # (h', w', 3) crop fields at ROI px
    photo_flow = back[..., :2] @ a_inv.T.astype(np.float32)  # crop px → photo px
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    roi = cv2.remap(rgb, gx + photo_flow[..., 0], gy + photo_flow[..., 1], cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    light = back[..., 2:3]
    roi = roi * (1 - light) + 255.0 * light
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
    return out


def eye_distance_ok(eye: Eye, min_width: float = 8.0) -> bool:
    """Eyes narrower than this (px) are too small to redirect meaningfully."""
    return eye.width >= min_width and math.isfinite(eye.width)
