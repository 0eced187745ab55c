"""Pose removal and expression transfer on 3-D landmarks (Face2Face §6, "Expression Transfer").

Face2Face fits a blendshape model to source and target and transfers the *expression change* of the source from
its neutral pose to the target by deformation transfer in the model's parameter space; the target keeps its
identity, pose and illumination. Without a parametric model we do the same on the tracked landmarks:

1. **Pose removal** (§5's rigid pose, here orthogonal Procrustes / Umeyama 1991): the similarity ``(s, R, t)``
   that best maps the neutral frame's rigid points (forehead, nose bridge, temples, eye corners) onto the
   current frame's; undoing it leaves only non-rigid (expression) motion.
2. **Expression change** of the source: ``δ_S = pose⁻¹(S_i) − S_0`` in the source's neutral frame.
3. **Transfer**: ``δ_T = s_ST R_ST δ_S`` with ``(s_ST, R_ST)`` mapping the source's neutral face onto the
   target's (face size and orientation differ), optionally scaled per axis by the ratio of face proportions.
4. **Re-pose** on the target's current frame: ``T'_j = s_j R_j (T_0 + δ_T) + t_j``.

Temporal smoothing (the paper's tracker is temporally regularised) is an exponential moving average of δ_T:
the target's pose is *not* smoothed, so the re-rendered face stays locked to the target's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .mesh import RIGID


@dataclass(frozen=True)
class Similarity:
    """``x ↦ s R x + t`` for row vectors: ``apply(X) = s * X @ R.T + t``."""

    s: float
    R: np.ndarray  # (3, 3) rotation, det = +1
    t: np.ndarray  # (3,)

    def apply(self, points: np.ndarray) -> np.ndarray:  # (N, 3) -> (N, 3)
        return self.s * points @ self.R.T + self.t

    def inverse(self, points: np.ndarray) -> np.ndarray:  # (N, 3) -> (N, 3)
        return (points - self.t) @ self.R / self.s

    def rotate(self, vectors: np.ndarray) -> np.ndarray:  # displacement vectors: no translation
        return self.s * vectors @ self.R.T


def procrustes(src: np.ndarray, dst: np.ndarray, scale: bool = True) -> Similarity:
    """Least-squares similarity ``dst ≈ s R src + t`` (Umeyama 1991, reflections excluded). src, dst: (N, 3)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d  # (N, 3) centred
    cov = b.T @ a / len(src)  # (3, 3)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    R = u @ np.diag(d) @ vt
    var = (a**2).sum() / len(src)
    s = float((sig * d).sum() / var) if scale and var > 0 else 1.0
    t = mu_d - s * mu_s @ R.T
    return Similarity(s, R, t)


def head_pose(neutral: np.ndarray, current: np.ndarray, rigid: tuple[int, ...] = RIGID) -> Similarity:
    """The head motion from the neutral frame to the current one, fitted on the rigid landmarks only."""
    idx = list(rigid)
    return procrustes(neutral[idx], current[idx])


def remove_pose(neutral: np.ndarray, current: np.ndarray) -> np.ndarray:
    """The current landmarks moved back into the neutral frame's pose: what is left differs only by expression."""
    return head_pose(neutral, current).inverse(current)


@dataclass
class TransferConfig:
    strength: float = 1.0  # scale of the transferred expression (1 = as the source moved, relative to face size)
    smoothing: float = 0.4  # EMA weight of the previous frame's expression (0 = none; higher = steadier, laggier)
    anisotropic: bool = True  # also scale δ per axis by target/source face width and height (different proportions)
    pose_removal: bool = True  # False = ablation: raw 2-D landmark motion of the source, only rescaled, added on


class ExpressionTransfer:
    """Source expression change → target landmarks (module docstring, steps 1–4). Stateful for the smoothing."""

    def __init__(self, source_neutral: np.ndarray, target_neutral: np.ndarray, config: TransferConfig | None = None):
        self.config = config or TransferConfig()
        self.source_neutral = np.asarray(source_neutral, dtype=np.float64)  # (478, 3)
        self.target_neutral = np.asarray(target_neutral, dtype=np.float64)  # (478, 3)
        self.source_to_target = head_pose(self.source_neutral, self.target_neutral)
        self.axis_scale = np.ones(3)
        if self.config.anisotropic:
            # per-axis ratio of the two neutral faces' extents after aligning source onto target (x, y; z like x)
            src = self.source_to_target.apply(self.source_neutral)
            ext_s = np.ptp(src[:, :2], axis=0)
            ext_t = np.ptp(self.target_neutral[:, :2], axis=0)
            ratio = np.clip((ext_t / ext_s) / np.sqrt(np.prod(ext_t / ext_s)), 0.7, 1.4)  # keep the mean scale
            self.axis_scale = np.array([ratio[0], ratio[1], ratio[0]])
        self._delta: np.ndarray | None = None

    def source_delta(self, source: np.ndarray) -> np.ndarray:
        """δ_S: the source's expression change, pose removed, in its neutral frame. (478, 3)"""
        return remove_pose(self.source_neutral, source) - self.source_neutral

    def target_delta(self, source: np.ndarray) -> np.ndarray:
        """δ_T: the source's expression change expressed on the target's neutral face (smoothed over time)."""
        delta = self.source_to_target.rotate(self.source_delta(source)) * self.axis_scale * self.config.strength
        if self._delta is not None and self.config.smoothing > 0:
            delta = self.config.smoothing * self._delta + (1 - self.config.smoothing) * delta
        self._delta = delta
        return delta

    def intended_canonical(self, source: np.ndarray) -> np.ndarray:
        """``T_0 + δ_T``: the target's face with the source's expression, in the target's neutral pose."""
        return self.target_neutral + self.target_delta(source)

    def __call__(self, source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(intended target landmarks in the current target frame ``T'_j`` (478, 3), the same in neutral pose)."""
        if not self.config.pose_removal:  # ablation: head motion of the source leaks into the target's face
            delta = (source - self.source_neutral) * self.source_to_target.s * self.config.strength
            return target + delta, self.target_neutral + delta
        canonical = self.intended_canonical(source)
        return head_pose(self.target_neutral, target).apply(canonical), canonical

    def reset(self) -> None:
        self._delta = None
