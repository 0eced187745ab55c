"""The eye-crop frame and the eyeball model shared by the renderer, the face pipeline and the gaze metric.

Every eye crop is a similarity transform of the photo that puts the two eye corners at fixed points
(`CropFrame`), like the paper's crops aligned on eye landmarks (Ganin et al. 2016, Sec. 4.1). Inside the
crop the eyeball is a sphere of radius ``EYEBALL_RATIO`` × eye width centred behind the middle of the
corners; a gaze of (yaw, pitch) moves the iris centre by ``R · (cos p · sin y, −sin p)`` (image y points
down, positive pitch looks up, positive yaw looks to the image's right). The same model turns iris
displacements measured on photos back into degrees (`offset_to_angles`).

Anatomy behind the numbers: eyeball radius ≈ 12 mm, eye opening (corner to corner) ≈ 28–30 mm, iris
radius ≈ 6 mm, so R ≈ 0.42 and iris radius ≈ 0.2 of the eye width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ...core.errors import UserError

EYEBALL_RATIO = 0.42  # eyeball radius / corner-to-corner eye width
IRIS_RATIO = 0.20  # iris radius / eye width
MAX_ANGLE = 25.0  # degrees of redirection the shipped network was trained for (per axis)


@dataclass(frozen=True)
class CropFrame:
    """Where the eye sits in a network crop: (H, W) and the two corners' pixel coordinates."""

    height: int = 32
    width: int = 48
    inner_x: float = 9.0  # corner positions along the horizontal midline y = center_y
    outer_x: float = 39.0
    center_y: float = 16.0

    @property
    def eye_width(self) -> float:
        return self.outer_x - self.inner_x

    @property
    def center(self) -> tuple[float, float]:
        return (self.inner_x + self.outer_x) / 2.0, self.center_y


FRAME = CropFrame()


def angles_to_offset(yaw_deg, pitch_deg, eye_width: float):
    """Iris-centre displacement (dx, dy) in pixels for a gaze (yaw, pitch) in degrees; works on arrays too."""
    import numpy as np

    y, p = np.radians(yaw_deg), np.radians(pitch_deg)
    r = EYEBALL_RATIO * eye_width
    return r * np.cos(p) * np.sin(y), -r * np.sin(p)


def offset_to_angles(dx: float, dy: float, eye_width: float) -> tuple[float, float]:
    """Inverse of `angles_to_offset`: (yaw, pitch) in degrees from an iris displacement in pixels."""
    r = EYEBALL_RATIO * eye_width
    sp = max(-1.0, min(1.0, -dy / r))
    p = math.asin(sp)
    sy = max(-1.0, min(1.0, dx / (r * max(math.cos(p), 1e-6))))
    return math.degrees(math.asin(sy)), math.degrees(p)


def parse_angle(text: str) -> tuple[float, float]:
    """'15,-10' → (yaw 15°, pitch −10°); one number means yaw only. UserError for anything else."""
    parts = [t.strip() for t in str(text).split(",")]
    if len(parts) not in (1, 2) or not all(parts):
        raise UserError(f"--angle expects 'YAW,PITCH' in degrees, e.g. 15,-10; got {text!r}")
    try:
        values = [float(t) for t in parts]
    except ValueError:
        raise UserError(f"--angle expects numbers 'YAW,PITCH' in degrees, e.g. 15,-10; got {text!r}") from None
    yaw, pitch = values[0], (values[1] if len(values) == 2 else 0.0)
    for name, v in (("yaw", yaw), ("pitch", pitch)):
        if not math.isfinite(v) or abs(v) > MAX_ANGLE:
            raise UserError(f"--angle {name} must be within ±{MAX_ANGLE:g} degrees, got {v:g}")
    return yaw, pitch
