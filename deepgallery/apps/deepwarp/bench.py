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


def to_frame(rgb: np.ndarray, size: tuple[int, int] = (640, 480), face_h: float = 0.9) -> np.ndarray:
    """Fit a photo into a W×H frame (scaled to `face_h` of the height, padded with its edge colours)."""
    import cv2

    w, h = size
    s = face_h * h / rgb.shape[0]
    small = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    top, left = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    return cv2.copyMakeBorder(small, top, h - small.shape[0] - top, left, w - small.shape[1] - left,
                              cv2.BORDER_REPLICATE)


def test_frames() -> list[tuple[str, np.ndarray]]:
    """The astronaut photo at two face sizes, and mirrored."""
    from ...core.media import read_image

    rgb = read_image(EXAMPLES / "astronaut.jpg")
    return [("astronaut", to_frame(rgb)), ("astronaut-mirrored", to_frame(rgb[:, ::-1])),
            ("astronaut-small", to_frame(rgb, face_h=0.6))]


def run_bench(quick: bool = False) -> dict:
    from .pipeline import Redirector

    torch.set_num_threads(2)
    red = Redirector()
    angles = QUICK_ANGLES if quick else FULL_ANGLES
    errors, noop, yaw_err, pitch_err, req, ach = [], [], [], [], [], []
    for _, frame in test_frames():
        before = red.mesh.faces(frame)
        if not before:
            continue
        for yaw, pitch in angles:
            out, _ = red(frame, yaw, pitch, before)
            after = red.mesh.faces(out)
            if not after:
                continue
            for eye in before[0]:
                g0, g1 = np.array(before[0][eye].gaze()), np.array(after[0][eye].gaze())
                d = g1 - g0 - np.array([yaw, pitch])
                errors.append(float(np.hypot(*d)))
                noop.append(float(np.hypot(yaw, pitch)))
                yaw_err.append(abs(d[0]))
                pitch_err.append(abs(d[1]))
                req.append((yaw, pitch))
                ach.append(g1 - g0)
    req_a, ach_a = np.array(req, float), np.array(ach, float)
    gain = [float((req_a[:, k] @ ach_a[:, k]) / max(req_a[:, k] @ req_a[:, k], 1e-9)) for k in (0, 1)]

    frame = test_frames()[0][1]
    red(frame, 10, 0)  # warm-up
    times = []
    for _ in range(5 if quick else 20):
        t = time.perf_counter()
        red(frame, 10.0, -5.0)
        times.append(time.perf_counter() - t)
    crops = torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        t = time.perf_counter()
        for _ in range(20):
            red.model(crops, torch.tensor([[10.0, -5.0]] * 2))
        net_ms = (time.perf_counter() - t) / 20 * 1000
    return {
        "metrics": {
            "gaze_error_deg": round(float(np.mean(errors)), 2),
            "gaze_error_yaw_deg": round(float(np.mean(yaw_err)), 2),
            "gaze_error_pitch_deg": round(float(np.mean(pitch_err)), 2),
            "achieved_over_requested_yaw": round(gain[0], 2),
            "achieved_over_requested_pitch": round(gain[1], 2),
            "noop_gaze_error_deg": round(float(np.mean(noop)), 2),
            "ms_per_face": round(float(np.median(times)) * 1000, 1),
            "ms_network_two_eyes": round(net_ms, 2),
            "eyes_measured": len(errors),
        },
        "config": {"frames": "astronaut 640x480 (large, mirrored, small face)", "angles": angles,
                   "metric": "mean |achieved - requested| (yaw, pitch), MediaPipe iris, eyeball radius 0.42 eye width"},
        "device": "cpu",
    }
