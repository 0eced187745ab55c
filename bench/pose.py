"""Peer numbers for `pose`: MediaPipe Pose (BlazePose full, single person) on the same frames and photos.

Run in an environment with ``mediapipe==0.10.14`` (its model ships inside the wheel; newer releases ship none):

    python bench/pose.py            # prints {"fps_1_person", "fps_5_people", "people_found", ...} as JSON

It repeats `deepgallery bench pose`'s measurements (640×480 frames from examples/person.jpg and group5.jpg, the
hand-counted photos of examples/counts.json) for a well-known CPU pose model. BlazePose finds at most one
person per image, so `people_found` is bounded by the number of photos over the number of people.
Only OpenCV, NumPy and mediapipe are imported, so it runs beside or outside deepgallery's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "pose" / "examples"


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fit_640x480(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = min(640 / w, 480 / h)
    small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((480, 640, 3), np.uint8)
    out[: small.shape[0], : small.shape[1]] = small
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="timed frames per measurement (default: 150)")
    args = parser.parse_args()
    import mediapipe as mp

    def detector(video: bool):
        return mp.solutions.pose.Pose(static_image_mode=not video, model_complexity=1)

    def fps(frame: np.ndarray) -> tuple[float, float]:
        """(frames per second, CPU ms per frame over all threads)."""
        with detector(video=True) as pose:  # tracking mode, as on a webcam
            pose.process(frame)
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(args.frames):
                pose.process(frame)
            return args.frames / (time.perf_counter() - start), (time.process_time() - cpu) / args.frames * 1000

    counts = json.loads((EXAMPLES / "counts.json").read_text(encoding="utf-8"))["images"]
    found, per = 0, {}
    with detector(video=False) as pose:
        for name, rec in counts.items():
            n = int(pose.process(read_rgb(EXAMPLES / name)).pose_landmarks is not None)
            per[name] = n
            found += min(n, rec["people"])
    total = sum(rec["people"] for rec in counts.values())
    fps1, cpu1 = fps(fit_640x480(read_rgb(EXAMPLES / "person.jpg")))
    fps5, cpu5 = fps(fit_640x480(read_rgb(EXAMPLES / "group5.jpg")))
    result = {
        "peer": f"mediapipe {mp.__version__} Pose (BlazePose full, single person), CPU",
        "fps_1_person": round(fps1, 1),
        "fps_5_people": round(fps5, 1),
        "cpu_ms_per_frame_1_person": round(cpu1, 1),
        "cpu_ms_per_frame_5_people": round(cpu5, 1),
        "people_found": round(found / total, 3),
        "found_per_photo": per,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
