"""The training data: points of each surrogate's dimensionless box labelled by the solver (DeVries et al. 2017,
section 2: sample the parameter space with the viscoelastic code).

One sampler per variant, each ``(n, cfg, seed, progress_desc) -> (inputs (n, k), targets (n,) or (n, 3))``:

- postseismic: (xi, delta, T), log-uniform in xi and T (the solution changes fastest near the fault and soon after
  the earthquake), uniform in delta; target ``solver.surface_displacement`` (H = tau = s = 1) minus the elastic
  arctan term;
- cycle: (xi, delta, phase, T_c), phase uniform, T_c log-uniform; target ``solver.cycle_velocity`` (v / V);
- layered: (xi, delta, h, r, T) from ``layered.sample_box``; target the three-layer wavenumber/Talbot solver
  ``layered.dimensionless`` minus the elastic arctan term;
- layered3d: (x, y, L, delta, T) from ``layered3d.sample_box``; target Delta (u_x, u_y, u_z) / s at ``LABELS_3D``.

`elastic_*` give the exact elastic part that the networks do not learn (added back to score the total), and
`SolverSamples` holds a labelled set as a torch Dataset for ``core.distributed.loader``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ...core.runtime import progress
from . import layered, layered3d, okada, solver


def layered_box(cfg) -> layered.Box:
    """The trained box of a LayeredConfig as layered.Box."""
    return layered.Box(**{k: getattr(cfg, k) for k in layered.Box.__dataclass_fields__})


def layered3d_box(cfg) -> layered3d.Box3D:
    """The trained box of a Layered3DConfig as layered3d.Box3D."""
    return layered3d.Box3D(**{k: getattr(cfg, k) for k in layered3d.Box3D.__dataclass_fields__})


def elastic_arctan(inputs: np.ndarray) -> np.ndarray:
    """The elastic u/s = arctan(delta / xi) / pi (n,) at 2-D inputs whose columns 0, 1 are xi, delta."""
    with np.errstate(divide="ignore"):
        return np.arctan(inputs[:, 1] / inputs[:, 0]) / math.pi


def elastic_okada(inputs: np.ndarray) -> np.ndarray:
    """The elastic part u / s (n, 3) at layered3d inputs (x, y, L, delta, T): Okada (1985), surface-breaking."""
    x, y, L, delta, _ = inputs.T
    return okada.surface_displacement(x, y, L, 0.0, delta).T


def _blocks(n: int, size: int, desc: str | None):
    return progress(range(0, n, size), desc=desc or "", enabled=bool(desc))


def sample_postseismic(n: int, cfg, seed: int, progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(xi, delta, T) (n, 3) -> the postseismic part of u/s (n,) of Savage & Prescott's eq. (1)."""
    rng = np.random.default_rng(seed)
    xi = np.expm1(rng.uniform(0.0, math.log1p(cfg.xi_max), n))
    delta = rng.uniform(cfg.delta_min, 1.0, n)
    T = np.expm1(rng.uniform(0.0, math.log1p(cfg.t_max), n))
    inputs = np.stack([xi, delta, T], axis=1)
    return inputs, solver.surface_displacement(xi, T, delta, 1.0, 1.0) - elastic_arctan(inputs)


def sample_cycle(n: int, cfg, seed: int, progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(xi, delta, phase, T_c) (n, 4) -> v / V (n,) of the steady cycle."""
    rng = np.random.default_rng(seed)  # the same draws as sample_postseismic for xi and delta
    xi = np.expm1(rng.uniform(0.0, math.log1p(cfg.xi_max), n))
    delta = rng.uniform(cfg.delta_min, 1.0, n)
    phase = rng.uniform(0.0, 1.0, n)
    tc = np.exp(rng.uniform(math.log(cfg.tc_min), math.log(cfg.tc_max), n))
    return np.stack([xi, delta, phase, tc], axis=1), solver.cycle_velocity(xi, phase, delta, 1.0, 1.0, tc)


def sample_layered(n: int, cfg, seed: int, progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(xi, delta, h, r, T) (n, 5) -> the postseismic part of u/s (n,) of the three-layer earth."""
    inputs = layered.sample_box(n, seed, layered_box(cfg))
    u = np.concatenate([layered.dimensionless(inputs[i:i + 4096]) for i in _blocks(n, 4096, progress_desc)])
    return inputs, u - elastic_arctan(inputs)


def sample_layered3d(n: int, cfg, seed: int, progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, y, L, delta, T) (n, 5) -> Delta (u_x, u_y, u_z) / s (n, 3), labels at layered3d.LABELS_3D."""
    inputs = layered3d.sample_box(n, seed, layered3d_box(cfg))
    return inputs, np.concatenate([layered3d.dimensionless(inputs[i:i + 1024], layered3d.LABELS_3D)
                                   for i in _blocks(n, 1024, progress_desc)])


def relative_rmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """||pred - ref|| / ||ref|| over all points."""
    return float(np.linalg.norm(pred - ref) / max(np.linalg.norm(ref), 1e-300))


class SolverSamples(torch.utils.data.Dataset):
    """Solver-labelled points as float32 tensors on one device; a batch of indices is one gather
    (``__getitems__``), so a DataLoader costs no per-point Python work. Collate with `as_batch`."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray, device="cpu"):
        self.inputs = torch.as_tensor(inputs, dtype=torch.float32).to(device)  # (S, k)
        self.targets = torch.as_tensor(targets, dtype=torch.float32).to(device)  # (S,) or (S, 3)

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __getitem__(self, i: int):
        return self.inputs[i], self.targets[i]

    def __getitems__(self, indices: list[int]):
        idx = torch.as_tensor(indices, device=self.inputs.device)
        return self.inputs[idx], self.targets[idx]  # (B, k), (B,) or (B, 3)


def as_batch(batch):
    """DataLoader collate for `SolverSamples`: the gathered (inputs, targets) pair as it is."""
    return batch
