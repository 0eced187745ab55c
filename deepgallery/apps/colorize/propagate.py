"""Spreading user hints along the picture's structure: Levin, Lischinski & Weiss 2004, "Colorization using
Optimization" (SIGGRAPH), applied to the network's output.

The network takes the hints as input (Zhang et al. 2017) but follows them only as well as its training taught it;
the shipped one was trained for minutes and follows them weakly. So the hints are then enforced: the correction
d = hint colour − network colour is known at the hinted pixels and spread to the rest by Levin et al.'s
principle that neighbouring pixels of similar lightness should get similar colours (their Eq. 1-2):

    d(r) − Σ_s w_rs d(s) = −λ d(r)       w_rs ∝ exp(−(Y(r) − Y(s))² / (2 σ_r²)),  Σ_s w_rs = 1

over each pixel's 3×3 neighbours s, σ_r the lightness variance in the window around r. Hinted pixels are fixed.
The small λ (ours, not in the paper) lets the correction fade with distance, so one click recolours the region it
lies in — a jacket up to its edges — and leaves far regions to the network. The sparse system is solved at a
working size (longer side `side`) and the correction upsampled.
"""

from __future__ import annotations

import numpy as np

from .hints import Hint

FADE = 5e-5  # λ: how fast a hint's correction fades away from it (per pixel at the working size)


def affinity_system(Y: np.ndarray, fixed: np.ndarray, fade: float = FADE):
    """The sparse matrix A (N×N, N = H·W) of the equations above; rows of fixed pixels are the identity."""
    import scipy.sparse as sp

    h, w = Y.shape
    n = h * w
    index = np.arange(n).reshape(h, w)
    pad = np.pad(Y, 1, mode="edge")
    win = np.stack([pad[dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], axis=0)  # (9, H, W)
    # σ_r²: 0.6 × the window's variance, as Levin et al.'s code; bounded below so grain does not cut flat regions
    # apart and above so a strong edge (a large variance) still stops the colour instead of being blurred over
    variance = np.clip(0.6 * win.var(0), 1e-4, 4e-3)
    offsets = [(dy - 1, dx - 1) for dy in range(3) for dx in range(3) if (dy, dx) != (1, 1)]
    rows, cols, vals = [], [], []
    weights = []
    for dy, dx in offsets:
        ys, xs = np.clip(np.arange(h)[:, None] + dy, 0, h - 1), np.clip(np.arange(w)[None, :] + dx, 0, w - 1)
        neighbour = Y[ys, xs]
        weights.append((np.exp(-((Y - neighbour) ** 2) / (2 * variance)), index[ys, xs]))
    total = sum(wt for wt, _ in weights)
    free = ~fixed
    for wt, nb in weights:
        rows.append(index[free])
        cols.append(nb[free])
        vals.append(-(wt / total)[free])
    rows.append(index.ravel())
    cols.append(index.ravel())
    vals.append(np.where(fixed.ravel(), 1.0, 1.0 + fade))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def propagate(L: np.ndarray, ab: np.ndarray, hints: list[Hint], side: int = 256, patch: int = 5,
              fade: float = FADE) -> np.ndarray:
    """a*b* (H, W, 2) with each hint's colour enforced at its point and spread over the similar-lightness region
    around it (`L` (H, W) the picture's L*, `ab` (H, W, 2) the network's a*b*)."""
    import cv2
    import scipy.sparse.linalg as spla

    if not hints:
        return ab
    h, w = L.shape
    scale = min(1.0, side / max(h, w))
    sh, sw = max(4, round(h * scale)), max(4, round(w * scale))
    small_L = cv2.resize(L.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA) / 100.0
    small_ab = cv2.resize(ab.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA)
    fixed = np.zeros((sh, sw), bool)
    target = np.zeros((sh, sw, 2), np.float32)
    r = patch // 2
    for hint in hints:
        x = min(sw - 1, max(0, int(round(hint.x * sw / w))))
        y = min(sh - 1, max(0, int(round(hint.y * sh / h))))
        ys, xs = slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1)
        fixed[ys, xs] = True
        target[ys, xs] = np.array(hint.ab, np.float32) - small_ab[ys, xs]  # the correction the hint asks for
    A = affinity_system(small_L, fixed, fade)
    solve = spla.factorized(A.tocsc())
    d = np.stack([solve(np.where(fixed, target[..., c], 0.0).ravel()) for c in range(2)], axis=-1)
    d = d.reshape(sh, sw, 2).astype(np.float32)
    return ab + cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
