"""The classical peer of a neural surrogate: a precomputed table of solver values, linearly interpolated.

The table lives on the network's own coordinates (log1p xi, delta, log1p T) -- or (log1p xi, delta, phase,
log T_c) for the cycle -- so both surrogates see the same difficulty; ``scipy.interpolate.RegularGridInterpolator``
evaluates it vectorised. It answers "is a network needed at all?": a table is exact at its nodes and cheap,
but its size grows as (points per axis)^(number of parameters), which is what breaks it for the paper's
richer parameter spaces.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from . import layered, solver
from .model import CycleConfig, LayeredConfig, SurrogateConfig


def coordinates(inputs: np.ndarray, cycle) -> np.ndarray:
    """Dimensionless inputs (n, 3|4|5) -> table coordinates; cycle: False, True or "layered"."""
    c = inputs.copy()
    c[:, 0] = np.log1p(c[:, 0])
    if cycle == "layered":  # (log1p xi, delta, h, log r, log1p T)
        c[:, 3] = np.log(c[:, 3])
        c[:, 4] = np.log1p(c[:, 4])
    elif cycle:
        c[:, 3] = np.log(c[:, 3])
    else:
        c[:, 2] = np.log1p(c[:, 2])
    return c


def build_table(cfg: SurrogateConfig | CycleConfig | LayeredConfig, shape: tuple[int, ...]) -> RegularGridInterpolator:
    """Solver values on a regular grid in table coordinates; the elastic term is added back at evaluation."""
    if isinstance(cfg, LayeredConfig):
        axes = [np.linspace(0.0, math.log1p(cfg.xi_max), shape[0]), np.linspace(cfg.delta_min, 1.0, shape[1]),
                np.linspace(cfg.h_min, cfg.h_max, shape[2]), np.linspace(math.log(cfg.r_min), math.log(cfg.r_max),
                                                                         shape[3]),
                np.linspace(0.0, math.log1p(cfg.t_max), shape[4])]
        grid = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")]
        xi = np.expm1(grid[0])
        pts = np.stack([xi, grid[1], grid[2], np.exp(grid[3]), np.expm1(grid[4])], axis=1)
        with np.errstate(divide="ignore"):
            post = layered.dimensionless(pts) - np.sign(xi) * np.arctan(grid[1] / xi) / math.pi
        return RegularGridInterpolator(axes, np.where(xi > 0, post, 0.0).reshape(shape), method="linear")
    cycle = isinstance(cfg, CycleConfig)
    axes = [np.linspace(0.0, math.log1p(cfg.xi_max), shape[0]), np.linspace(cfg.delta_min, 1.0, shape[1])]
    if cycle:
        axes += [np.linspace(0.0, 1.0, shape[2]), np.linspace(math.log(cfg.tc_min), math.log(cfg.tc_max), shape[3])]
    else:
        axes += [np.linspace(0.0, math.log1p(cfg.t_max), shape[2])]
    grid = np.meshgrid(*axes, indexing="ij")
    xi, delta = np.expm1(grid[0]), grid[1]
    if cycle:
        values = solver.cycle_velocity(xi, grid[2], delta, 1.0, 1.0, np.exp(grid[3]))
    else:
        with np.errstate(divide="ignore"):
            elastic = np.arctan(delta / xi) / math.pi
        post = solver.surface_displacement(xi, np.expm1(grid[2]), delta, 1.0, 1.0) - elastic
        values = np.where(xi > 0, post, 0.0)  # on the fault trace (xi = 0) the postseismic part is 0
    return RegularGridInterpolator(axes, values, method="linear")


def predict(table: RegularGridInterpolator, inputs: np.ndarray, cycle: bool) -> np.ndarray:
    """The table's estimate of the training target (postseismic u/s, or v/V) at dimensionless inputs (n, k)."""
    return table(coordinates(inputs, cycle))
