"""Synthetic people for tests and smoke-training: stick figures with known COCO keypoints, written as a COCO file.

No photo data set of people ships offline, so the loader, the trainer and the grouping are exercised on
drawn stick figures in exactly the COCO-keypoints format (``person_keypoints_*.json`` + an images folder).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .skeleton import COCO_SKELETON, KEYPOINTS

# A standing person, facing the camera, 1 unit tall, origin at the feet's midpoint; x to the image's right.
# (The person's left side is on the image's right, as in COCO.)
_TEMPLATE = np.array([
    (0.00, -0.93), (0.03, -0.96), (-0.03, -0.96), (0.07, -0.94), (-0.07, -0.94),  # nose, eyes, ears
    (0.13, -0.80), (-0.13, -0.80), (0.17, -0.62), (-0.17, -0.62), (0.19, -0.45), (-0.19, -0.45),  # arms
    (0.09, -0.48), (-0.09, -0.48), (0.10, -0.25), (-0.10, -0.25), (0.10, -0.02), (-0.10, -0.02),  # legs
], np.float32)


def random_person(rng: np.random.Generator, height: float, foot: tuple[float, float], jitter: float = 0.04
                  ) -> np.ndarray:
    """(17, 3) keypoints (x, y, v=2) of a stick person `height` px tall standing at `foot`."""
    scale = np.where(np.arange(17) < 5, jitter / 5, jitter)[:, None]  # the face is small: less jitter there
    pts = _TEMPLATE + (rng.normal(0, 1, _TEMPLATE.shape) * scale).astype(np.float32)
    if rng.random() < 0.5:  # one arm raised (elbow out at shoulder height, hand above the head) for variety
        side = int(rng.integers(0, 2))
        sign = 1.0 if side == 0 else -1.0  # left arm is on the image's right
        pts[7 + side] += np.array([sign * 0.30, -0.80]) - _TEMPLATE[7 + side]
        pts[9 + side] += np.array([sign * 0.33, -1.02]) - _TEMPLATE[9 + side]
    xy = pts * height + np.asarray(foot, np.float32)
    return np.concatenate([xy, np.full((17, 1), 2.0, np.float32)], axis=1)


def render(people: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """RGB uint8 (h, w, 3): noisy background with every person drawn as coloured limbs and a head."""
    import cv2

    h, w = size
    img = (rng.integers(60, 200, 3)[None, None, :] + rng.normal(0, 12, (h, w, 3))).clip(0, 255).astype(np.uint8)
    for person in people:
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        height = float(person[:, 1].max() - person[:, 1].min())
        thick = max(2, int(height * 0.05))
        for i, j in COCO_SKELETON:
            p = tuple(int(v) for v in person[i, :2])
            q = tuple(int(v) for v in person[j, :2])
            cv2.line(img, p, q, color, thick, cv2.LINE_AA)
        cv2.circle(img, tuple(int(v) for v in person[0, :2]), max(3, int(height * 0.07)), color, -1, cv2.LINE_AA)
    return img


def random_scene(rng: np.random.Generator, size: tuple[int, int], n_people: int) -> np.ndarray:
    """(P, 17, 3) keypoints of `n_people` non-overlapping people side by side in an image of `size` (h, w)."""
    h, w = size
    slot = w / max(n_people, 1)
    people = []
    for k in range(n_people):
        height = rng.uniform(0.45, 0.85) * h
        x = (k + 0.5) * slot + rng.uniform(-0.1, 0.1) * slot
        y = rng.uniform(min(1.05 * height, h - 4), h - 4)
        for _ in range(20):  # redraw until the whole person is inside the image
            person = random_person(rng, min(height, slot * 2.2), (x, y))
            if (person[:, :2].min() >= 2) and (person[:, 0].max() <= w - 3) and (person[:, 1].max() <= h - 3):
                break
        people.append(person)
    return np.stack(people) if people else np.zeros((0, 17, 3), np.float32)


def write_coco(root: str | Path, n_images: int, size: tuple[int, int] = (128, 128), seed: int = 0,
               max_people: int = 3) -> tuple[Path, Path]:
    """Write ``root/images/*.png`` and ``root/person_keypoints_synthetic.json`` (COCO format); return both paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = Path(root)
    img_dir = root / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i in range(n_images):
        people = random_scene(rng, size, int(rng.integers(1, max_people + 1)))
        name = f"{i:06d}.png"
        Image.fromarray(render(people, size, rng)).save(img_dir / name)
        images.append({"id": i, "file_name": name, "height": size[0], "width": size[1]})
        for person in people:
            x0, y0 = person[:, :2].min(axis=0)
            x1, y1 = person[:, :2].max(axis=0)
            annotations.append({
                "id": len(annotations) + 1, "image_id": i, "category_id": 1, "iscrowd": 0,
                "keypoints": [round(float(v), 2) for v in person.reshape(-1)], "num_keypoints": 17,
                "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                "area": float((x1 - x0) * (y1 - y0)),
            })
    doc = {"images": images, "annotations": annotations,
           "categories": [{"id": 1, "name": "person", "keypoints": list(KEYPOINTS),
                           "skeleton": [[i + 1, j + 1] for i, j in COCO_SKELETON]}]}
    ann = root / "person_keypoints_synthetic.json"
    ann.write_text(json.dumps(doc), encoding="utf-8")
    return ann, img_dir
