"""Dense face tracking (Face2Face §5, here with MediaPipe Face Mesh instead of a fitted 3DMM) and the mesh topology.

Face2Face tracks a parametric 3-D face model (identity, expression, pose, illumination) by analysis-by-synthesis.
We track the 478 3-D landmarks of MediaPipe Face Mesh (468 surface points + 10 iris points, the network ships inside
the ``mediapipe`` wheel) and work with them directly: pose is removed by Procrustes on rigid points
(``transfer.py``), the expression is the remaining non-rigid motion.

Landmarks are ``(478, 3)`` float arrays in pixels: x right, y down, z toward the viewer's back scaled like x
(MediaPipe's convention: smaller z = closer to the camera).
"""

from __future__ import annotations

import contextlib
import os
import sys
from functools import lru_cache

import numpy as np

N_SURFACE = 468  # mesh vertices; 468..477 are the two irises (refine_landmarks=True)

# Points that move with the skull, not with the expression: forehead, nose bridge, temples, eye corners, ears.
RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 109, 338, 67, 297, 103, 332, 234, 454, 127, 356, 33, 263, 133, 362,
         162, 389, 21, 251, 54, 284)
# Inner lip ring, in order (upper lip left → right, then lower lip right → left): the mouth opening's outline.
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
OUTER_LIPS = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
# Face oval, in order around the face.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176,
             149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
LEFT_IRIS, RIGHT_IRIS = 468, 473  # iris centres (the subject's right eye is on the image's left)
EYE_CORNERS = (33, 133, 362, 263)  # outer/inner corner of the image-left eye, inner/outer of the image-right eye
LIP_GAP = (13, 14)  # mid upper / lower inner lip: their distance is the mouth opening


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the two eyes (mean of each eye's corners), (2,) each, in pixels."""
    a, b, c, d = (landmarks[i, :2] for i in EYE_CORNERS)
    return (a + b) / 2, (c + d) / 2


def inter_ocular(landmarks: np.ndarray) -> float:
    """Distance between the eye centres in pixels: the normaliser of ``landmark_error``."""
    left, right = eye_centres(landmarks)
    return float(np.linalg.norm(right - left))


@contextlib.contextmanager
def _quiet_stderr():
    """MediaPipe's C++ side prints TFLite/absl banners on fd 2; keep the user's terminal to our own lines."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            sys.stderr.flush()
            os.dup2(null.fileno(), fd)
            yield
    finally:
        sys.stderr.flush()
        try:  # C stdio may hold the banner in its buffer: flush it into /dev/null too
            import ctypes

            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass
        os.dup2(saved, fd)
        os.close(saved)


class FaceTracker:
    """One stream's MediaPipe Face Mesh (with iris). ``video=True`` tracks frame to frame (fast, ~9 ms at 640×480);
    ``video=False`` detects afresh every call (for unrelated photos)."""

    def __init__(self, video: bool = True, min_confidence: float = 0.5):
        import warnings

        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ warnings (absl/glog, TFLite)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

        with warnings.catch_warnings(), _quiet_stderr():
            warnings.simplefilter("ignore")  # protobuf deprecation noise from mediapipe 0.10.14
            import mediapipe as mp

            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=not video, max_num_faces=1, refine_landmarks=True,
                min_detection_confidence=min_confidence, min_tracking_confidence=min_confidence)
            # the graph's worker threads log while they start: run one blank frame inside the quiet window
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        """``(478, 3)`` landmarks in pixels of the most prominent face, or None when there is no face."""
        import warnings

        h, w = rgb.shape[:2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = self._mesh.process(np.ascontiguousarray(rgb))
        if not result.multi_face_landmarks:
            return None
        pts = result.multi_face_landmarks[0].landmark
        out = np.array([(p.x, p.y, p.z) for p in pts], dtype=np.float64)  # (478, 3) normalised
        out *= (w, h, w)
        return out

    def close(self) -> None:
        self._mesh.close()


@lru_cache(maxsize=1)
def tesselation() -> np.ndarray:
    """MediaPipe's face-mesh triangles ``(T, 3)``: every 3-clique of ``FACEMESH_TESSELATION``'s edges.

    The published mesh leaves the mouth opening as a hole; ``render.py`` adds it as a triangle fan.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION
    adj: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = {tuple(sorted((a, b, c))) for a, b in FACEMESH_TESSELATION for c in adj[a] & adj[b]}
    return np.array(sorted(tris), dtype=np.int32)
