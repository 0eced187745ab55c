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

When even the best stored mouth is less open than the intended one (always the case for a single target photo),
stretching it would smear teeth over the whole opening. ``cavity`` mode (our addition, not in the paper) keeps
the stored interior at its own height instead: its upper half moves with the upper lip, its lower half with the
lower lip (teeth keep their size) and the gap between them is a dark cavity (the lip colour darkened, with a
shadow under the upper teeth).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .mesh import INNER_LIPS, LIP_GAP, OUTER_LIPS, inter_ocular
from .render import bounding_box, warp
from .transfer import remove_pose

LIPS = INNER_LIPS + OUTER_LIPS
FAN = np.array([(i, (i + 1) % len(INNER_LIPS), len(INNER_LIPS)) for i in range(len(INNER_LIPS))], np.int32)
UPPER = list(range(11))  # positions in INNER_LIPS: left corner, upper lip, right corner
LOWER = [0, *range(19, 9, -1)]  # left corner, lower lip left → right, right corner
# cavity mode's two bands; vertices: upper lip (0–10), its mid-line (11–21), lower lip (22–32), its mid-line (33–43)
BANDS = np.array([t for o in (0, 22) for k in range(10)
                  for t in ((o + k, o + k + 1, o + 12 + k), (o + k, o + 12 + k, o + 11 + k))], np.int32)


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
    cavity: bool = True  # mouth opened beyond every stored one: teeth keep their size, a dark gap between them


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
        if best is None:
            return patch
        entry = self.entries[best]
        dst = fan_vertices(intended) - (box[0], box[1], 0)  # window pixels
        mbox = bounding_box(dst, patch.shape, margin=2)
        gap_src = np.linalg.norm(entry.fan[5, :2] - entry.fan[15, :2])  # mid upper / lower inner lip (13, 14)
        gap_dst = np.linalg.norm(dst[5, :2] - dst[15, :2])
        x0, y0, x1, y1 = mbox
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        ring = np.round((dst[: len(INNER_LIPS), :2] - (x0, y0)) * 4).astype(np.int32)
        cv2.fillPoly(mask, [ring], 255, cv2.LINE_AA, shift=2)
        if self.config.cavity and gap_dst > 1.15 * gap_src + 2:
            mouth = self._cavity(entry, dst, mbox)
        elif entry.frame == current_frame:
            return patch  # the warp already used this frame's own interior
        else:
            mouth, covered = warp(entry.crop, entry.fan, dst, FAN, mbox)
            mouth = np.where(covered[..., None] > 0, mouth, patch[y0:y1, x0:x1])  # uncovered: keep the warp's
        mask = cv2.GaussianBlur(cv2.erode(mask, np.ones((3, 3), np.uint8)), (0, 0), 1.0)
        alpha = mask.astype(np.float32)[..., None] / 255.0
        out = patch.copy()
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = (alpha * mouth + (1 - alpha) * region + 0.5).astype(np.uint8)
        return out

    @staticmethod
    def _cavity(entry: MouthEntry, dst: np.ndarray, mbox: tuple[int, int, int, int]) -> np.ndarray:
        """The stored interior split at its mid-line, each half following its lip, a dark gap between (window)."""
        src = entry.fan[: len(INNER_LIPS), :2]
        u, lo, u2, lo2 = src[UPPER], src[LOWER], dst[UPPER, :2], dst[LOWER, :2]
        mid = (u + lo) / 2
        a, b = complex(*(u[-1] - u[0])), complex(*(u2[-1] - u2[0]))
        z = b / a if abs(a) > 1e-6 else 1.0  # similarity (scale, rotation) from the stored mouth to the new one

        def moved(v: np.ndarray) -> np.ndarray:
            c = (v[:, 0] + 1j * v[:, 1]) * z
            return np.stack([c.real, c.imag], 1)

        src_v = np.concatenate([u, mid, lo, mid])
        dst_v = np.concatenate([u2, u2 + moved(mid - u), lo2, lo2 + moved(mid - lo)])
        bands, covered = warp(entry.crop, src_v, dst_v, BANDS, mbox)
        # the cavity: lip colour darkened, shadowed under the upper teeth and lighter toward the tongue
        ij = np.clip(np.round(src).astype(int), 0, np.array(entry.crop.shape[1::-1]) - 1)
        lip = entry.crop[ij[:, 1], ij[:, 0]].astype(np.float32).mean(0)  # (3,)
        top, bottom = dst_v[11:22, 1].mean() - mbox[1], dst_v[33:44, 1].mean() - mbox[1]
        rows = np.arange(mbox[3] - mbox[1], dtype=np.float32)
        t = np.clip((rows - top) / max(bottom - top, 1.0), 0, 1)[:, None, None]  # (h, 1, 1)
        cavity = lip * (0.18 + 0.32 * t * t)  # (h, 1, 3)
        return np.where(covered[..., None] > 0, bands, cavity).astype(np.uint8)
