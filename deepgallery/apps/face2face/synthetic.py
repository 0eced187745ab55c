"""A synthetic "source actor": a real face photo animated by moving its landmarks (open mouth, smile, raised brows).

Offline there is no talking-head video, so the demo, the benchmark and the tests make one: the photo's face mesh
is deformed by three expression controls plus a head motion (roll, shift, scale), re-rendered with the same
mesh warp as the reenactment (``render.reshape_face``), and the opened mouth gets a dark interior with a band of
upper teeth so that the face tracker sees an open mouth. The intended expression per frame is known exactly.

Photos (``examples/``): Grace Hopper (US Navy, public domain; shipped with matplotlib as ``grace_hopper.jpg``)
and astronaut Eileen Collins (NASA, public domain; scikit-image's ``astronaut``), cropped to 640×480.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .mesh import INNER_LIPS, N_SURFACE, OUTER_LIPS, eye_centres, inter_ocular
from .render import blend, reshape_face

EXAMPLES = Path(__file__).parent / "examples"
UPPER_LIPS = set(INNER_LIPS[:11]) | set(OUTER_LIPS[:11])  # ring order: upper lip first (corner to corner)
LOWER_LIPS = (set(INNER_LIPS[11:]) | set(OUTER_LIPS[11:])) - UPPER_LIPS
BROWS = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46, 336, 296, 334, 293, 300, 285, 295, 282, 283, 276)
MOUTH_CORNERS = (61, 291, 78, 308)


@dataclass(frozen=True)
class Expression:
    """Expression controls in [0, 1] and a head pose (degrees, pixels, scale factor)."""

    jaw: float = 0.0  # mouth opening
    smile: float = 0.0  # mouth corners out and up
    brows: float = 0.0  # eyebrows raised
    roll: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    scale: float = 1.0


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def deform(neutral: np.ndarray, e: Expression) -> np.ndarray:
    """Landmarks (478, 3) of the upright neutral face with expression ``e`` (no head motion)."""
    out = neutral.copy()
    iod = inter_ocular(neutral)
    xy = neutral[:, :2]
    corners = neutral[[61, 291], :2]
    xc, yc = corners.mean(0)
    half_mouth = abs(corners[1, 0] - corners[0, 0]) / 2
    half_face = np.ptp(xy[:N_SURFACE, 0]) / 2
    # jaw: everything below the mouth line drops, fading out sideways and toward the mouth line
    w = _smoothstep((xy[:, 1] - yc) / (0.35 * iod)) * np.exp(-(((xy[:, 0] - xc) / (0.85 * half_face)) ** 4))
    lip_w = np.sqrt(np.clip(1 - ((xy[:, 0] - xc) / (1.05 * half_mouth)) ** 2, 0, 1))
    for i in LOWER_LIPS:
        w[i] = lip_w[i]
    for i in UPPER_LIPS:
        w[i] = 0.0
    out[:, 1] += e.jaw * 0.45 * iod * w
    for i in UPPER_LIPS:  # the upper lip lifts a little
        out[i, 1] -= e.jaw * 0.06 * iod * lip_w[i]
    # smile: points near the mouth corners move outward and up (Gaussian falloff)
    for c in (61, 291):
        g = np.exp(-np.sum((xy - xy[c]) ** 2, 1) / (2 * (0.3 * iod) ** 2))
        side = np.sign(xy[c, 0] - xc)
        out[:, 0] += e.smile * 0.16 * iod * side * g
        out[:, 1] -= e.smile * 0.10 * iod * g
    # brows: brow points rise, the forehead above them a little less
    eyes_y = np.mean([p[1] for p in eye_centres(neutral)])
    above = _smoothstep((eyes_y - 0.25 * iod - xy[:, 1]) / (0.3 * iod))
    for i in BROWS:
        above[i] = 1.0
    out[:, 1] -= e.brows * 0.14 * iod * above
    return out


def head_motion(landmarks: np.ndarray, e: Expression, shape: tuple[int, ...]) -> np.ndarray:
    """The 2×3 affine of a roll about the image centre, a scale and a shift."""
    import cv2

    h, w = shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), e.roll, e.scale)
    m[:, 2] += (e.dx, e.dy)
    return m


def paint_mouth(image: np.ndarray, landmarks: np.ndarray, jaw: float) -> np.ndarray:
    """Dark mouth cavity with a band of upper teeth inside the inner lips (for an opened mouth)."""
    import cv2

    if jaw < 0.05:
        return image
    ring = landmarks[list(INNER_LIPS), :2].astype(np.float32)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(ring * 4).astype(np.int32)], 255, cv2.LINE_AA, shift=2)
    layer = np.zeros_like(image)
    layer[:] = (52, 18, 22)
    upper = landmarks[list(INNER_LIPS[:11]), :2]
    gap = np.linalg.norm(landmarks[14, :2] - landmarks[13, :2])
    teeth = np.concatenate([upper, upper[::-1] + (0, 0.3 * gap)])
    cv2.fillPoly(layer, [np.round(teeth * 4).astype(np.int32)], (225, 222, 210), cv2.LINE_AA, shift=2)
    alpha = cv2.GaussianBlur(mask, (0, 0), 0.8).astype(np.float32)[..., None] / 255.0
    return (alpha * layer + (1 - alpha) * image + 0.5).astype(np.uint8)


def posed(neutral: np.ndarray, e: Expression, shape: tuple[int, ...]) -> np.ndarray:
    """The landmarks (478, 3) of the face with expression ``e`` and head motion ``e`` (no image needed)."""
    target = deform(neutral, e)
    m = head_motion(target, e, shape)
    lms = target.copy()
    lms[:, :2] = target[:, :2] @ m[:, :2].T + m[:, 2]
    lms[:, 2] *= e.scale
    return lms


def render(photo: np.ndarray, neutral: np.ndarray, e: Expression) -> tuple[np.ndarray, np.ndarray]:
    """(frame with expression ``e`` and head motion, its intended landmarks (478, 3))."""
    import cv2

    target = deform(neutral, e)
    patch, mask, box = reshape_face(photo, neutral, target)
    frame = blend(photo, patch, mask, box, "feather")
    frame = paint_mouth(frame, target, e.jaw)
    m = head_motion(target, e, photo.shape)
    if e.roll or e.dx or e.dy or e.scale != 1.0:
        frame = cv2.warpAffine(frame, m, (photo.shape[1], photo.shape[0]), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
    return frame, posed(neutral, e, photo.shape)


def _bump(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """0 outside [start, end], a smooth hump of height 1 inside."""
    x = np.clip((t - start) / (end - start), 0, 1)
    return np.sin(np.pi * x) ** 2


def actor_script(n: int = 48, motion: bool = True) -> list[Expression]:
    """A short performance: rest, talk (open/close twice), smile, surprised (brows + open mouth), rest."""
    t = np.linspace(0, 1, n)
    jaw = _bump(t, 0.1, 0.3) + 0.8 * _bump(t, 0.3, 0.45) + _bump(t, 0.68, 0.95)
    smile = _bump(t, 0.42, 0.7)
    brows = _bump(t, 0.66, 0.97)
    k = 1.0 if motion else 0.0
    return [Expression(jaw=float(jaw[i]), smile=float(smile[i]), brows=float(brows[i]),
                       roll=k * 5.0 * np.sin(2 * np.pi * t[i]), dx=k * 12 * np.sin(np.pi * t[i]),
                       dy=k * 6 * np.sin(2 * np.pi * t[i] + 1), scale=1 + k * 0.03 * np.sin(np.pi * t[i]))
            for i in range(n)]


def target_script(n: int = 48) -> list[Expression]:
    """The target only moves its head (no expression change): roll, sway and zoom."""
    t = np.linspace(0, 1, n)
    return [Expression(roll=-4.0 * np.sin(2 * np.pi * t[i] + 0.5), dx=-10 * np.sin(2 * np.pi * t[i]),
                       dy=4 * np.sin(np.pi * t[i]), scale=1 - 0.03 * np.sin(np.pi * t[i])) for i in range(n)]


def load_photo(name: str) -> np.ndarray:
    from ...core.media import read_image

    return read_image(EXAMPLES / name)


def make_clip(photo: np.ndarray, script: list[Expression], tracker=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(frames, intended landmarks) of ``photo`` performing ``script``; landmarks of the photo from ``tracker``."""
    from ...core.errors import UserError
    from .mesh import FaceTracker

    tracker = tracker or FaceTracker(video=False)
    neutral = tracker(photo)
    if neutral is None:
        raise UserError("no face found in the example photo")
    frames, lms = [], []
    for e in script:
        f, lm = render(photo, neutral, e)
        frames.append(f)
        lms.append(lm)
    return frames, lms


def write_clip(path: str | Path, frames: list[np.ndarray], fps: float = 24.0, size: tuple[int, int] | None = None
               ) -> Path:
    """Frames → MP4 (optionally resized to ``size`` = (w, h)) through `core.media.write_video` (H.264 yuv420p:
    what a browser plays)."""
    import cv2

    from ...core.media import write_video

    return write_video(path, (cv2.resize(f, size, interpolation=cv2.INTER_AREA) if size else f for f in frames),
                       fps=fps)

