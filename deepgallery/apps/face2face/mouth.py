"""Mouth interior by retrieval from the target's own frames (Face2Face §7.1, "Mouth Retrieval").

A warp can only stretch the pixels that are there: when the source opens its mouth wider than the target ever
did in the current frame, teeth and tongue would be smeared. Face2Face instead retrieves, from the target
sequence, the frame whose mouth best matches the new expression and composites that frame's mouth interior.
The paper scores candidates by landmark similarity and appearance (LBP) and keeps the choice temporally coherent
with a frame-cluster graph. Here:

* every target frame (as it streams in) adds an entry: a crop around its mouth, its inner-lip ring and a
  descriptor — the pose-removed lip landmarks (inner and outer ring) normalised by the inter-ocular distance;
  near-duplicates are skipped, the database holds at most ``capacity`` entries;
* the query is the same descriptor of the *intended* target face; the cost of entry ``i`` is
  ``‖d_i − q‖² + λ ‖d_i − d_prev‖²`` (λ = ``temporal_weight``, the second term keeps consecutive choices
  similar, our stand-in for the paper's coherence graph);
* the chosen interior is warped onto the intended inner-lip ring with a triangle fan and pasted inside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .mesh import INNER_LIPS, LIP_GAP, OUTER_LIPS, inter_ocular
from .render import bounding_box, warp
from .transfer import remove_pose

LIPS = INNER_LIPS + OUTER_LIPS
FAN = np.array([(i, (i + 1) % len(INNER_LIPS), len(INNER_LIPS)) for i in range(len(INNER_LIPS))], np.int32)


def fan_vertices(landmarks: np.ndarray) -> np.ndarray:
    """The inner-lip ring plus its centre: (21, 3)."""
    ring = landmarks[list(INNER_LIPS)]
    return np.concatenate([ring, ring.mean(0, keepdims=True)])


def mouth_opening(landmarks: np.ndarray) -> float:
    """Gap between the mid inner lips, relative to the inter-ocular distance."""
    a, b = LIP_GAP
    return float(np.linalg.norm(landmarks[b, :2] - landmarks[a, :2]) / max(inter_ocular(landmarks), 1e-6))


@dataclass
class MouthConfig:
    capacity: int = 120  # most mouths kept (each a small crop)
    min_novelty: float = 2e-4  # a new frame is stored only if its descriptor differs this much (mean squared)
    temporal_weight: float = 0.5  # λ: weight of similarity to the previously chosen mouth
    min_opening: float = 0.04  # intended gap / inter-ocular below which the mouth counts as closed (no paste)


@dataclass
class MouthEntry:
    crop: np.ndarray  # (h, w, 3) the frame around the mouth
    fan: np.ndarray  # (21, 3) inner-lip ring + centre, in crop pixels
    descriptor: np.ndarray  # (80,) pose-removed lip landmarks / IOD
    frame: int  # index of the target frame it came from


@dataclass
class MouthDatabase:
    """The target's mouths seen so far, and the retrieval + compositing of module docstring."""

    target_neutral: np.ndarray  # (478, 3)
    config: MouthConfig = field(default_factory=MouthConfig)
    entries: list[MouthEntry] = field(default_factory=list)
    _descriptors: list[np.ndarray] = field(default_factory=list)
    _previous: int | None = None

    def descriptor(self, canonical: np.ndarray) -> np.ndarray:
        """Lip landmarks of a face already in the target's neutral pose, relative to neutral, / IOD. (80,)"""
        lips = canonical[list(LIPS), :2] - self.target_neutral[list(LIPS), :2]
        return (lips / inter_ocular(self.target_neutral)).ravel()

    def add(self, frame: np.ndarray, landmarks: np.ndarray, index: int) -> bool:
        """Store this target frame's mouth if it is new enough and there is room. Returns whether it was stored."""
        d = self.descriptor(remove_pose(self.target_neutral, landmarks))
        if self._descriptors:
            dist = ((np.stack(self._descriptors) - d) ** 2).mean(1)
            if dist.min() < self.config.min_novelty or len(self.entries) >= self.config.capacity:
                return False
        outer = landmarks[list(OUTER_LIPS)]
        pad = 0.25 * np.ptp(outer[:, 0])
        x0, y0, x1, y1 = bounding_box(outer, frame.shape, margin=int(pad) + 2)
        fan = fan_vertices(landmarks) - (x0, y0, 0)
        self.entries.append(MouthEntry(frame[y0:y1, x0:x1].copy(), fan, d, index))
        self._descriptors.append(d)
        return True

    def retrieve(self, canonical: np.ndarray) -> int | None:
        """Index of the entry whose mouth best matches the intended (neutral-pose) face, temporally coherent."""
        if not self.entries:
            return None
        desc = np.stack(self._descriptors)  # (N, 80)
        q = self.descriptor(canonical)
        cost = ((desc - q) ** 2).mean(1)
        if self._previous is not None:
            cost = cost + self.config.temporal_weight * ((desc - desc[self._previous]) ** 2).mean(1)
        self._previous = int(np.argmin(cost))
        return self._previous

    def composite(self, patch: np.ndarray, box: tuple[int, int, int, int], intended: np.ndarray,
                  canonical: np.ndarray, current_frame: int | None = None) -> np.ndarray:
        """Paste the retrieved mouth interior inside the intended inner lips of the warped window ``patch``."""
        import cv2

        if mouth_opening(intended) < self.config.min_opening:
            return patch
        best = self.retrieve(canonical)
        if best is None or self.entries[best].frame == current_frame:
            return patch  # the warp already used this frame's own interior
        entry = self.entries[best]
        dst = fan_vertices(intended) - (box[0], box[1], 0)  # window pixels
        mbox = bounding_box(dst, patch.shape, margin=2)
        mouth, mask = warp(entry.crop, entry.fan, dst, FAN, mbox)
        mask = cv2.GaussianBlur(cv2.erode(mask, np.ones((3, 3), np.uint8)), (0, 0), 1.0)
        alpha = mask.astype(np.float32)[..., None] / 255.0
        x0, y0, x1, y1 = mbox
        out = patch.copy()
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = (alpha * mouth + (1 - alpha) * region + 0.5).astype(np.uint8)
        return out
