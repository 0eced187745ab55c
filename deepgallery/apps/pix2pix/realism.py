"""A realism score that runs offline: the Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018,
"Demystifying MMD GANs", Section 4) over the offline ImageNet classifier's features.

KID is the squared maximum mean discrepancy between the feature distributions of generated and real images,
with the polynomial kernel k(a, b) = (aᵀb / d + 1)³ on d-dimensional features, estimated without bias:

    MMD²_u = 1/(m(m-1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n-1)) Σ_{i≠j} k(y_i, y_j) - 2/(mn) Σ_{i,j} k(x_i, y_j)

averaged over random subsets. Unlike FID it has an unbiased estimator, so small sample sets (a few hundred
held-out images, all we have) give comparable numbers; it can be slightly negative when the two sets match.
The paper's features are Inception-v3's pool3 (2048-d); here EfficientNet-Lite0's pooled features (1280-d,
`core.backbones`), so our values are not on the scale of published KIDs, only comparable with each other.
"""

from __future__ import annotations

import numpy as np
import torch


def polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """k(a, b) = (aᵀb / d + 1)³ for every row of a (m, d) against every row of b (n, d): (m, n)."""
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² estimate between samples x (m, d) and y (n, d) under the polynomial kernel."""
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError("the unbiased estimate needs at least two samples on each side")
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    xx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))  # i ≠ j only: the diagonal is what biases the V-statistic
    yy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * kxy.mean())


def kid(x: np.ndarray, y: np.ndarray, subsets: int = 50, subset_size: int = 1000, seed: int = 0) -> float:
    """KID between feature sets x (m, d) and y (n, d): MMD²_u averaged over `subsets` random subsets of
    min(subset_size, m, n) samples from each side (the paper's protocol: 100 subsets of 1000)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    size = min(subset_size, len(x), len(y))
    if size == len(x) == len(y):
        return mmd2_unbiased(x, y)
    rng = np.random.default_rng(seed)
    return float(np.mean([mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                                        y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)]))


class Features:
    """EfficientNet-Lite0's pooled 1280-d features of (N, H, W, 3) uint8 images, resized to its 224 × 224."""

    def __init__(self) -> None:
        from ...core.backbones import efficientnet_lite0

        self.net, self.prep = efficientnet_lite0()
        self.source = getattr(self.net, "source", "efficientnet-lite0")

    @torch.no_grad()
    def __call__(self, images: np.ndarray, batch: int = 16) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch])).permute(0, 3, 1, 2).float() / 255.0
            x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True,
                                                align_corners=False)  # (b, 3, 224, 224)
            out.append(self.net.extract(self.prep.normalize(x), ["pool"])["pool"].numpy())  # (b, 1280)
        return np.concatenate(out)
