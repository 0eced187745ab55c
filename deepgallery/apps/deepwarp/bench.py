"""`deepgallery bench deepwarp`: gaze error measured by the iris landmarks on the output, and speed.

For each test face (640×480 frames) and each requested redirection (yaw, pitch) the face mesh measures
the gaze of each eye before and after (eyeball model of `geometry.py`); the achieved redirection is the
difference, and ``gaze_error_deg`` is the mean Euclidean distance between achieved and requested
(yaw, pitch). ``noop_gaze_error_deg`` is the same for an unchanged frame (the error of doing nothing).
``ms_per_face`` times the whole path on one 640×480 frame: face mesh, eye crops, network, warp.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

EXAMPLES = Path(__file__).parent / "examples"
FULL_ANGLES = [(y, p) for y in (-15, -10, -5, 0, 5, 10, 15) for p in (-10, 0, 10) if (y, p) != (0, 0)]
QUICK_ANGLES = [(-15, 0), (15, 0), (-10, 0), (10, 0), (0, -10), (0, 10), (10, -10), (-10, 10)]


def to_frame(rgb: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Cut `box` (x0, y0, x1, y1; 4:3) out of a photo and scale it to a W×H frame, like a webcam close-up."""
    import cv2

    x0, y0, x1, y1 = box
    return cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)


def test_frames() -> list[tuple[str, np.ndarray]]:
    """640×480 frames of the astronaut photo's face: a close-up (eyes ≈ 50 px wide), a medium shot
    (≈ 38 px) and both mirrored."""
    from ...core.media import read_image

    rgb = read_image(EXAMPLES / "astronaut.jpg")
    close, medium = (105, 40, 345, 220), (65, 10, 385, 250)
    return [("close", to_frame(rgb, close)), ("medium", to_frame(rgb, medium)),
            ("close-mirrored", to_frame(rgb[:, ::-1], (512 - 345, 40, 512 - 105, 220))),
            ("medium-mirrored", to_frame(rgb[:, ::-1], (512 - 385, 10, 512 - 65, 250)))]


def achieved_redirection(before, after) -> np.ndarray:
    """(yaw, pitch) the iris turned by, in the eye frame (corners) of the input photo.

    MediaPipe's refined eye-contour landmarks drift with the iris (a rigid 10° iris shift that leaves the
    corners in place moves the detected corners by up to 1.7 px), so the output's iris is measured against
    the input's corners — the warp is local to the eye and the head does not move.
    """
    from .face import Eye

    return np.subtract(Eye(before.corners, after.iris).gaze(), before.gaze())


def iris_shift(frame: np.ndarray, faces, yaw: float, pitch: float) -> np.ndarray:
    """The geometric reference: move each iris disc rigidly by the eyeball model's offset (no network).

    Pixels inside the iris' new place sample the old place; nothing else moves. It is what an ideal
    redirection of the iris alone would do, so it shows what the landmark-based metric can see at all.
    """
    from .face import apply_flow
    from .geometry import FRAME, IRIS_RATIO, angles_to_offset

    ys, xs = np.mgrid[0:FRAME.height, 0:FRAME.width].astype(np.float32)
    dx, dy = angles_to_offset(yaw, pitch, FRAME.eye_width)
    radius = IRIS_RATIO * FRAME.eye_width + 1.5
    out = frame
    for face in faces:
        for eye in face.values():
            m = eye.crop_matrix()
            cx, cy = m[:, :2] @ eye.iris + m[:, 2]
            inside = np.clip((radius - np.hypot(xs - cx - dx, ys - cy - dy)) / 1.5, 0, 1)
            flow = np.stack([-dx * inside, -dy * inside]).astype(np.float32)
            out = apply_flow(out, eye, flow, np.zeros_like(inside))
    return out


def _score(pairs: list[tuple[tuple[float, float], np.ndarray]]) -> dict[str, float]:
    """Mean errors and achieved/requested gains from (requested, achieved) pairs."""
    req = np.array([r for r, _ in pairs], float)
    ach = np.array([a for _, a in pairs], float)
    d = ach - req
    gain = [float((req[:, k] @ ach[:, k]) / max(req[:, k] @ req[:, k], 1e-9)) for k in (0, 1)]
    return {"error": float(np.mean(np.hypot(d[:, 0], d[:, 1]))), "yaw": float(np.mean(np.abs(d[:, 0]))),
            "pitch": float(np.mean(np.abs(d[:, 1]))), "gain_yaw": gain[0], "gain_pitch": gain[1],
            "noop": float(np.mean(np.hypot(req[:, 0], req[:, 1])))}


def _calibrated(pairs, gain_yaw: float, gain_pitch: float) -> float:
    """Error after dividing the achieved angles by the metric's gain seen on the geometric reference."""
    g = np.array([gain_yaw, gain_pitch])
    return float(np.mean([np.hypot(*(np.asarray(a) / g - r)) for r, a in pairs]))


def run_bench(quick: bool = False) -> dict:
    from .pipeline import Redirector

    red = Redirector()
    angles = QUICK_ANGLES if quick else FULL_ANGLES
    ours, oracle = [], []
    for _, frame in test_frames()[: 2 if quick else None]:
        before = red.mesh.faces(frame)
        if not before:
            continue
        for yaw, pitch in angles:
            outputs = ((red(frame, yaw, pitch, before)[0], ours), (iris_shift(frame, before[:1], yaw, pitch), oracle))
            for out, store in outputs:
                after = red.mesh.faces(out)
                if not after:
                    continue
                for eye in before[0]:
                    achieved = achieved_redirection(before[0][eye], after[0][eye])
                    store.append(((yaw, pitch), achieved))
    s, o = _score(ours), _score(oracle)

    frame = test_frames()[0][1]
    red(frame, 10, 0)  # warm-up
    times = []
    for _ in range(5 if quick else 20):
        t = time.perf_counter()
        red(frame, 10.0, -5.0)
        times.append(time.perf_counter() - t)
    crops = torch.rand(2, 3, 32, 48)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in Redirector
    with torch.no_grad():
        t = time.perf_counter()
        for _ in range(20):
            red.model(crops, torch.tensor([[10.0, -5.0]] * 2))
        net_ms = (time.perf_counter() - t) / 20 * 1000
    torch.set_num_threads(threads)
    r = lambda v: round(v, 2)  # noqa: E731
    return {
        "metrics": {
            "gaze_error_deg": r(s["error"]),
            "gaze_error_yaw_deg": r(s["yaw"]),
            "gaze_error_pitch_deg": r(s["pitch"]),
            "achieved_over_requested_yaw": r(s["gain_yaw"]),
            "achieved_over_requested_pitch": r(s["gain_pitch"]),
            "noop_gaze_error_deg": r(s["noop"]),
            "iris_shift_gaze_error_deg": r(o["error"]),
            "iris_shift_achieved_over_requested_yaw": r(o["gain_yaw"]),
            "iris_shift_achieved_over_requested_pitch": r(o["gain_pitch"]),
            "gaze_error_calibrated_deg": r(_calibrated(ours, o["gain_yaw"], o["gain_pitch"])),
            "ms_per_face": round(float(np.median(times)) * 1000, 1),
            "ms_network_two_eyes": r(net_ms),
            "eyes_measured": len(ours),
        },
        "config": {"frames": "astronaut face 640x480 (close-up, medium, both mirrored)", "angles": angles,
                   "metric": "mean |achieved - requested| (yaw, pitch) in degrees; achieved = MediaPipe iris "
                             "after vs before, in the input's eye-corner frame, eyeball radius 0.42 x eye width",
                   "calibrated": "achieved / (achieved/requested gain of the geometric iris shift), per axis"},
        "device": "cpu",
    }
