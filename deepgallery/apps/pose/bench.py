"""`deepgallery bench pose`: speed at 640×480 with 1 and 5 people, and the share of people found on shipped photos.

* ``fps_1_person`` / ``fps_5_people``: frames per second of detection + drawing (no file I/O) on a 640×480
  frame with one person (``person.jpg`` padded) and five people (``group5.jpg``), after a warm-up.
* ``people_found``: over the photos in ``examples/counts.json`` (hand-checked counts of clearly visible people),
  Σ min(found, count) / Σ count at the default 256 px input; ``people_found_384`` the same at 384 px.
  ``extra_people`` counts detections beyond the hand count (false positives or people too small to count).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).parent / "examples"


def _fit_640x480(rgb: np.ndarray) -> np.ndarray:
    """Scale into 640×480 (aspect kept) and pad with black: the issue's measuring size."""
    import cv2

    h, w = rgb.shape[:2]
    s = min(640 / w, 480 / h)
    small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((480, 640, 3), np.uint8)
    out[: small.shape[0], : small.shape[1]] = small
    return out


def _fps(detect, frame: np.ndarray, n: int) -> tuple[float, int]:
    from .skeleton import draw

    people = detect(frame)  # warm-up
    for _ in range(2):
        draw(frame, detect(frame))
    start = time.perf_counter()
    for _ in range(n):
        draw(frame, detect(frame))
    return n / (time.perf_counter() - start), len(people)


def people_found(detect) -> tuple[float, int, dict[str, int]]:
    """(fraction found, extra detections, found per photo) over examples/counts.json."""
    from ...core.media import read_image

    counts = json.loads((EXAMPLES / "counts.json").read_text(encoding="utf-8"))["images"]
    found, total, extra, per = 0, 0, 0, {}
    for name, rec in counts.items():
        n = len(detect(read_image(EXAMPLES / name)))
        per[name] = n
        found += min(n, rec["people"])
        extra += max(0, n - rec["people"])
        total += rec["people"]
    return found / total, extra, per


def run_bench(quick: bool = False) -> dict:
    from ...core.media import read_image
    from .pipeline import movenet_detector

    n = 30 if quick else 150
    detect = movenet_detector(256)
    one = _fit_640x480(read_image(EXAMPLES / "person.jpg"))
    five = _fit_640x480(read_image(EXAMPLES / "group5.jpg"))
    fps1, k1 = _fps(detect, one, n)
    fps5, k5 = _fps(detect, five, n)
    found, extra, per = people_found(detect)
    found384, extra384, per384 = people_found(movenet_detector(384))
    fps384, _ = _fps(movenet_detector(384), five, max(10, n // 3))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "metrics": {
            "fps_1_person": round(fps1, 1),
            "fps_5_people": round(fps5, 1),
            "people_found": round(found, 3),
            "extra_people": extra,
            "people_found_384": round(found384, 3),
            "fps_5_people_384": round(fps384, 1),
        },
        "config": {
            "model": "MoveNet MultiPose Lightning (ONNX, int8/fp16 weights), onnxruntime CPU, 2 threads",
            "frame": "640x480", "input_long_side": 256, "timed_frames": n,
            "people_detected_in_timed_frames": [k1, k5],
            "found_per_photo_256": per, "found_per_photo_384": per384,
            "load_average_1min_at_end": round(load, 2),
            "note": "the 2-core machine is shared; fps falls with the load average",
        },
        "device": "cpu",
    }
