"""The classical peer: global colour transfer from a reference photo (Reinhard, Ashikhmin, Gooch & Shirley 2001,
"Color Transfer between Images", IEEE CG&A).

Reinhard et al. shift and scale each channel of a decorrelated colour space so the picture's mean and standard
deviation become the reference's: out_c = (in_c − μ_in) · σ_ref / σ_in + μ_ref. We use CIE L*a*b* (close to
their lαβ) and keep the input's own L*, as the network does. A grayscale picture has σ_in = 0 in a* and b*, so it
takes the reference's mean chrominance: a global tint. The reference is picked automatically, as the training
photo whose L* mean and standard deviation are nearest the input's (Reinhard et al. left the choice to the user).
"""

from __future__ import annotations

import numpy as np

from .color import ab_of, lightness


class ReinhardTransfer:
    """Colour statistics of reference photos; `ab(L)` gives a grayscale picture the nearest one's colours."""

    def __init__(self, references: list[np.ndarray]) -> None:
        stats = []
        for rgb in references:
            L, ab = lightness(rgb), ab_of(rgb)
            stats.append((L.mean(), L.std(), ab.reshape(-1, 2).mean(0), ab.reshape(-1, 2).std(0)))
        self.l_stats = np.array([(m, s) for m, s, _, _ in stats], np.float32)  # (N, 2)
        self.ab_mean = np.stack([m for _, _, m, _ in stats]).astype(np.float32)  # (N, 2)
        self.ab_std = np.stack([s for _, _, _, s in stats]).astype(np.float32)  # (N, 2)

    def nearest(self, L: np.ndarray) -> int:
        return int(np.argmin(((self.l_stats - np.array([L.mean(), L.std()])) ** 2).sum(1)))

    def ab(self, L: np.ndarray, ab_in: np.ndarray | None = None) -> np.ndarray:
        """a*b* (H, W, 2) for lightness L (H, W); `ab_in` (a colour input) is shifted and scaled, a grayscale
        one (None) takes the reference's mean."""
        k = self.nearest(L)
        if ab_in is None:
            return np.broadcast_to(self.ab_mean[k], L.shape + (2,)).astype(np.float32)
        flat = ab_in.reshape(-1, 2)
        mu, sd = flat.mean(0), flat.std(0)
        scale = np.where(sd > 1e-3, self.ab_std[k] / np.maximum(sd, 1e-3), 0.0)
        return ((ab_in - mu) * scale + self.ab_mean[k]).astype(np.float32)
