"""`deepgallery bench pose`: speed at 640×480 with 1 and 5 people, and the share of people found on shipped photos.

Two modes, both measured on both metrics:
* stream mode (video, webcam): one input size, 256 px — ``fps_1_person``, ``fps_5_people``, ``people_found_stream``;
* photo mode (the default for an image): sizes 256 and 384 merged — ``people_found``, ``fps_5_people_photo``.

``fps``: frames per second of detection + drawing (no file I/O) on a 640×480 frame with one person
(``person.jpg`` padded) and five people (``group5.jpg``), after a warm-up; ``cpu_ms_per_frame``: the CPU time
this process used per frame (all threads), which does not depend on how busy the shared machine is.
``people_found``: over the photos in ``examples/counts.json`` (hand-checked counts of clearly visible people),
Σ min(found, count) / Σ count;
``extra_people`` counts detections beyond the hand count (false positives or people too small to count).

The paper's own pipeline (PAFNet + PAF grouping) with the shipped checkpoint, trained here on synthetic stick
figures only: ``paf_synthetic_people_found`` and ``paf_synthetic_pck`` on held-out synthetic scenes.
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


def _fps(detect, frame: np.ndarray, n: int) -> tuple[float, float, int]:
    """(frames per second of wall time, CPU ms per frame summed over threads, people in the frame)."""
    from .skeleton import draw

    people = detect(frame)  # warm-up
    draw(frame, detect(frame))
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        draw(frame, detect(frame))
    return n / (time.perf_counter() - start), (time.process_time() - cpu) / n * 1000, len(people)


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


def synthetic_people_found(detect, images: int = 40, size: int = 96, seed: int = 99) -> tuple[float, float]:
    """The paper's pipeline on held-out synthetic stick-figure scenes (1-3 people, `size` px):
    (share of people found — a detection, used once, whose median keypoint error is < 10 % of the person's
    height —, PCK@0.1: share of all keypoints within 10 % of the height, missed people counting as wrong)."""
    from .synthetic import random_scene, render

    rng = np.random.default_rng(seed)
    found = total = 0
    correct = 0.0
    for _ in range(images):
        people = random_scene(rng, (size, size), int(rng.integers(1, 4)))
        detections = list(detect(render(people, (size, size), rng)))
        for person in people:
            total += 1
            height = float(np.ptp(person[:, 1]))
            errors = [np.linalg.norm(d.keypoints - person[:, :2], axis=1) / height for d in detections]
            if not errors:
                continue
            best = int(np.argmin([np.median(e) for e in errors]))
            if np.median(errors[best]) < 0.1:
                found += 1
                correct += float((errors[best] < 0.1).mean())
                detections.pop(best)
    return found / total, correct / total


def bench(quick: bool = False) -> dict:
    """`deepgallery bench pose [--quick]`: the metrics above, with the configuration they were measured in."""
    from ...core.media import read_image
    from .infer import PAFDetector
    from .pipeline import PHOTO_SIZES, STREAM_SIZES, movenet_detector

    n = 30 if quick else 150
    stream, photo = movenet_detector(STREAM_SIZES), movenet_detector(PHOTO_SIZES)
    one = _fit_640x480(read_image(EXAMPLES / "person.jpg"))
    five = _fit_640x480(read_image(EXAMPLES / "group5.jpg"))
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    fps1, cpu1, k1 = _fps(stream, one, n)
    fps5, cpu5, k5 = _fps(stream, five, n)
    fps5_photo, _, k5_photo = _fps(photo, five, max(10, n // 3))
    found, extra, per = people_found(photo)
    found_stream, extra_stream, per_stream = people_found(stream)
    paf_found, paf_pck = synthetic_people_found(PAFDetector.from_checkpoint().detect, images=20 if quick else 60)
    load_end = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "metrics": {
            "fps_1_person": round(fps1, 1),
            "fps_5_people": round(fps5, 1),
            "people_found": round(found, 3),
            "extra_people": extra,
            "people_found_stream": round(found_stream, 3),
            "fps_5_people_photo": round(fps5_photo, 1),
            "cpu_ms_per_frame_1_person": round(cpu1, 1),
            "cpu_ms_per_frame_5_people": round(cpu5, 1),
            "paf_synthetic_people_found": round(paf_found, 3),
            "paf_synthetic_pck": round(paf_pck, 3),
        },
        "config": {
            "model": "MoveNet MultiPose Lightning (ONNX, int8/fp16 weights), onnxruntime CPU, 2 threads",
            "frame": "640x480", "stream_sizes": STREAM_SIZES, "photo_sizes": PHOTO_SIZES, "timed_frames": n,
            "people_detected_in_timed_frames": {"1_person": k1, "5_people": k5, "5_people_photo": k5_photo},
            "found_per_photo": per, "found_per_photo_stream": per_stream, "extra_people_stream": extra_stream,
            "load_average_1min": [round(load_start, 2), round(load_end, 2)],
            "note": "the 2-core machine is shared with other jobs; fps falls as the load average rises",
        },
        "device": "cpu",
    }
