"""The COCO person skeleton, one detected `Person`, drawing, and the COCO keypoint JSON format.

COCO keypoints (Lin et al. 2014; the benchmark of Cao et al. Section 3.2): 17 points per person, written as a
flat list ``[x1, y1, v1, x2, y2, v2, ...]``. In COCO *results* (what a detector outputs) each person is
``{"image_id", "category_id": 1, "keypoints": [...], "score"}`` and ``v`` is the keypoint's confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
K = len(KEYPOINTS)

# The COCO annotation file's own "skeleton" (19 limbs, here 0-based), used for drawing.
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

# A spanning tree of the 17 keypoints (16 limbs) for the part affinity fields: Cao et al. Section 2.4 relax the
# full graph to a tree so that grouping splits into independent bipartite matchings (Fig. 6c-d). Parents come
# before children, so people can be assembled by walking the list once.
PAF_LIMBS: tuple[tuple[int, int], ...] = (
    (0, 5), (0, 6),  # nose -> shoulders (the paper's neck is not a COCO keypoint)
    (5, 7), (7, 9), (6, 8), (8, 10),  # arms
    (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16),  # torso sides and legs
    (0, 1), (1, 3), (0, 2), (2, 4),  # face
)

# Left side blue, right side orange, centre green (OpenPose-like colouring).
_LEFT, _RIGHT, _MID = (66, 135, 245), (245, 130, 48), (60, 200, 90)


def _side_color(i: int, j: int) -> tuple[int, int, int]:
    names = KEYPOINTS[i] + KEYPOINTS[j]
    if "left" in names and "right" not in names:
        return _LEFT
    if "right" in names and "left" not in names:
        return _RIGHT
    return _MID


@dataclass
class Person:
    """One person: (17, 2) keypoints in pixels (x, y), (17,) confidences, an overall score and a box."""

    keypoints: np.ndarray  # (K, 2) float32, x then y
    scores: np.ndarray  # (K,) float32 in [0, 1]
    score: float
    box: np.ndarray | None = None  # (4,) x0, y0, x1, y1

    def coco(self, image_id: int | str = 0) -> dict:
        """This person as one COCO keypoint-detection result."""
        flat = np.concatenate([self.keypoints, self.scores[:, None]], axis=1).reshape(-1)  # (3K,)
        record = {"image_id": image_id, "category_id": 1,
                  "keypoints": [round(float(v), 2) for v in flat], "score": round(float(self.score), 4)}
        if self.box is not None:
            x0, y0, x1, y1 = (float(v) for v in self.box)
            record["bbox"] = [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)]
        return record


def coco_document(people_per_frame: list[list[Person]], size: tuple[int, int], source: str = "") -> dict:
    """The JSON the app writes: COCO keypoint names/skeleton (categories) + one result list per frame."""
    w, h = size
    return {
        "info": {"description": "deepgallery pose: COCO keypoint detections", "source": source},
        "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": list(KEYPOINTS),
                        "skeleton": [[i + 1, j + 1] for i, j in COCO_SKELETON]}],
        "images": [{"id": t, "width": w, "height": h} for t in range(len(people_per_frame))],
        "annotations": [p.coco(image_id=t) for t, people in enumerate(people_per_frame) for p in people],
        "people_per_frame": [len(people) for people in people_per_frame],
    }


def draw(rgb: np.ndarray, people: list[Person], min_score: float = 0.2) -> np.ndarray:
    """A copy of `rgb` with every person's skeleton drawn (limbs whose two ends score ≥ `min_score`)."""
    import cv2

    out = np.ascontiguousarray(rgb.copy())
    image_thick = max(2, round(max(out.shape[:2]) / 240))
    for person in people:
        pts = person.keypoints
        seen = pts[person.scores >= min_score]
        height = float(np.ptp(seen[:, 1])) if len(seen) > 1 else 0.0
        thick = int(np.clip(round(height / 50), 1, image_thick))  # thin lines on small people
        for i, j in COCO_SKELETON:
            if person.scores[i] >= min_score and person.scores[j] >= min_score:
                p, q = tuple(int(round(v)) for v in pts[i]), tuple(int(round(v)) for v in pts[j])
                cv2.line(out, p, q, _side_color(i, j), thick, cv2.LINE_AA)
        for k in range(K):
            if person.scores[k] >= min_score:
                c = tuple(int(round(v)) for v in pts[k])
                cv2.circle(out, c, thick + 1, (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(out, c, thick + 1, _side_color(k, k), 1, cv2.LINE_AA)
    return out
