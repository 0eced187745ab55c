"""Ground-truth maps for training (Cao et al. 2017, Section 2.2-2.3, Eq. 6-9).

People are given as an array ``(P, J, 3)`` of ``(x, y, v)`` in input-image pixels, ``v > 0`` for a labelled
keypoint. Maps are built on the network's output grid (stride `stride`): map pixel (i, j) stands for the
input point ``(j·stride + (stride-1)/2, i·stride + (stride-1)/2)``.
"""

from __future__ import annotations

import numpy as np


def _grid(h: int, w: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    off = (stride - 1) / 2.0
    ys = np.arange(h, dtype=np.float32) * stride + off
    xs = np.arange(w, dtype=np.float32) * stride + off
    return np.meshgrid(xs, ys)  # (h, w) each: x, y of every map pixel in input pixels


def confidence_maps(people: np.ndarray, shape: tuple[int, int], stride: int, sigma: float) -> np.ndarray:
    """S*: (J + 1, h, w). Eq. 6: a Gaussian peak exp(-‖p - x_{j,k}‖² / σ²) per person k; Eq. 7: max over people
    (so close peaks stay distinct instead of averaging); last channel = background = 1 - max_j S*_j."""
    h, w = shape
    J = people.shape[1] if people.size else 0
    gx, gy = _grid(h, w, stride)
    maps = np.zeros((J + 1, h, w), np.float32) if J else np.zeros((1, h, w), np.float32)
    for person in people:
        for j, (x, y, v) in enumerate(person):
            if v > 0:
                g = np.exp(-((gx - x) ** 2 + (gy - y) ** 2) / sigma**2)  # Eq. 6
                np.maximum(maps[j], g, out=maps[j])  # Eq. 7
    maps[-1] = 1.0 - maps[:-1].max(axis=0) if J else 1.0
    return maps


def part_affinity_fields(people: np.ndarray, limbs: tuple[tuple[int, int], ...], shape: tuple[int, int],
                         stride: int, limb_width: float) -> np.ndarray:
    """L*: (2C, h, w) with channels (x, y) per limb.

    Eq. 8: for person k and limb c from x_{j1,k} to x_{j2,k}, L*_{c,k}(p) = v = (x_{j2} - x_{j1}) / ‖·‖ when p lies
    on the limb (0 ≤ v·(p - x_{j1}) ≤ l_{c,k} and |v⊥·(p - x_{j1})| ≤ σ_l), else 0.
    Eq. 9: where several people's limbs overlap, the field is their average (n_c(p) non-zero vectors).
    Deviation: the limb is extended by half a map pixel at both ends (peaks are found on whole map pixels).
    """
    h, w = shape
    gx, gy = _grid(h, w, stride)
    slack = stride / 2.0  # half a map pixel beyond each end, so the peak pixel at an endpoint lies on the field
    fields = np.zeros((2 * len(limbs), h, w), np.float32)
    for c, (a, b) in enumerate(limbs):
        count = np.zeros((h, w), np.float32)  # n_c(p)
        for person in people:
            (x1, y1, v1), (x2, y2, v2) = person[a], person[b]
            if v1 <= 0 or v2 <= 0:
                continue
            length = float(np.hypot(x2 - x1, y2 - y1))
            if length < 1e-6:
                continue
            vx, vy = (x2 - x1) / length, (y2 - y1) / length
            along = vx * (gx - x1) + vy * (gy - y1)  # v · (p - x_{j1})
            across = np.abs(-vy * (gx - x1) + vx * (gy - y1))  # |v⊥ · (p - x_{j1})|
            on = (along >= -slack) & (along <= length + slack) & (across <= limb_width)
            fields[2 * c][on] += vx
            fields[2 * c + 1][on] += vy
            count += on
        nz = count > 0
        fields[2 * c][nz] /= count[nz]  # Eq. 9
        fields[2 * c + 1][nz] /= count[nz]
    return fields


def ignore_mask(boxes: np.ndarray, shape: tuple[int, int], stride: int) -> np.ndarray:
    """W(p) of Eq. 3-4: (1, h, w), 0 inside the boxes (x0, y0, x1, y1) of people or crowds without keypoints,
    so the network is not punished for true positives that were never labelled."""
    h, w = shape
    gx, gy = _grid(h, w, stride)
    mask = np.ones((1, h, w), np.float32)
    for x0, y0, x1, y1 in boxes:
        mask[0][(gx >= x0) & (gx <= x1) & (gy >= y0) & (gy <= y1)] = 0.0
    return mask
