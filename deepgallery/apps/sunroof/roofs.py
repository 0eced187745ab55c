"""Roof planes from the DSM inside each roof: locally seeded RANSAC, a least-squares refit, and the connected
region of inliers as one segment, repeated until what is left is too small to hold a panel.

A plane is z = a·x + b·y + c with x east and y north in metres. Its pitch is atan(√(a² + b²)) and its azimuth,
the direction it faces (downslope), atan2(−a, −b) clockwise from north, as the Solar API reports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ...core.config import option
from .scene import ROOF


@dataclass
class PlaneConfig:
    """How roof planes are found."""

    tolerance: float = option(0.15, "metres: a cell belongs to a plane within this height", minimum=0,
                              allow_zero=False)
    normal_tolerance: float = option(20.0, "degrees: a cell's own normal must agree with the plane's this well",
                                     minimum=1, maximum=90)
    min_area: float = option(4.0, "m²: smaller segments (chimneys, dormer cheeks) are not kept", minimum=0)
    min_building: float = option(25.0, "m²: smaller roofs are not buildings (sheds, cars, noise)", minimum=0)
    trials: int = option(200, "RANSAC samples per plane", minimum=10)


@dataclass
class Segment:
    """One roof plane of one building."""

    building: int  # building id (1..)
    index: int  # segment id across the whole raster (1..)
    cells: np.ndarray  # (N, 2) int (row, col)
    plane: tuple[float, float, float]  # a, b, c of z = a·x + b·y + c (x east, y north; metres)
    cell: float

    @property
    def pitch(self) -> float:
        a, b, _ = self.plane
        return math.degrees(math.atan(math.hypot(a, b)))

    @property
    def azimuth(self) -> float:
        a, b, _ = self.plane
        return math.degrees(math.atan2(-a, -b)) % 360 if math.hypot(a, b) > 1e-6 else 180.0

    @property
    def normal(self) -> np.ndarray:
        a, b, _ = self.plane
        n = np.array([-a, -b, 1.0])
        return n / np.linalg.norm(n)

    @property
    def ground_area(self) -> float:
        return len(self.cells) * self.cell ** 2

    @property
    def area(self) -> float:
        """Area on the slope (what panels cover)."""
        return self.ground_area / math.cos(math.radians(self.pitch))

    def height_at(self, row: float, col: float) -> float:
        x, y = (col + 0.5) * self.cell, -(row + 0.5) * self.cell
        a, b, c = self.plane
        return a * x + b * y + c


def _xy(rows: np.ndarray, cols: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    return (cols + 0.5) * cell, -(rows + 0.5) * cell


def fit_plane(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """Least-squares z = a·x + b·y + c (centred for conditioning)."""
    mx, my, mz = x.mean(), y.mean(), z.mean()
    A = np.stack([x - mx, y - my], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, z - mz, rcond=None)
    return float(a), float(b), float(mz - a * mx - b * my)


def buildings_from_labels(labels: np.ndarray, cell: float, cfg: PlaneConfig) -> np.ndarray:
    """(H, W) int32 building ids: connected roof regions of at least `min_building` m²."""
    ids, n = ndimage.label(labels == ROOF)
    if n == 0:
        return ids.astype(np.int32)
    sizes = np.bincount(ids.ravel())
    keep = sizes * cell ** 2 >= cfg.min_building
    keep[0] = False
    remap = np.zeros(len(sizes), np.int32)
    remap[keep] = np.arange(1, int(keep.sum()) + 1)
    return remap[ids]


def segment_building(dsm: np.ndarray, normals: np.ndarray, mask: np.ndarray, cell: float, cfg: PlaneConfig,
                     rng: np.random.Generator) -> list[tuple[np.ndarray, tuple[float, float, float]]]:
    """Planes inside one building's mask: [(cells (N, 2), (a, b, c)), ...], largest first."""
    rows, cols = np.nonzero(mask)
    x, y = _xy(rows, cols, cell)
    z = dsm[rows, cols].astype(np.float64)
    nrm = normals[rows, cols]
    remaining = np.ones(len(rows), bool)
    min_cells = max(3, int(cfg.min_area / cell ** 2))
    cos_tol = math.cos(math.radians(cfg.normal_tolerance))
    radius = max(1.5, 3 * cell)
    found = []
    for _ in range(30):  # no roof has more planes than this
        idx = np.nonzero(remaining)[0]
        if len(idx) < min_cells:
            break
        best, best_count = None, 0
        for _ in range(cfg.trials):
            i = idx[int(rng.integers(len(idx)))]
            near = idx[(np.abs(x[idx] - x[i]) < radius) & (np.abs(y[idx] - y[i]) < radius)]
            if len(near) < 3:
                continue
            pick = near[rng.choice(len(near), 3, replace=False)]
            A = np.stack([x[pick], y[pick], np.ones(3)], axis=1)
            if abs(np.linalg.det(A)) < 1e-9:
                continue
            a, b, c = np.linalg.solve(A, z[pick])
            n = np.array([-a, -b, 1.0]) / math.sqrt(a * a + b * b + 1)
            inl = (np.abs(a * x[idx] + b * y[idx] + c - z[idx]) < cfg.tolerance) & (nrm[idx] @ n > cos_tol)
            count = int(inl.sum())
            if count > best_count:
                best, best_count = (a, b, c), count
        if best is None or best_count < min_cells:
            break
        # refit on the inliers, then keep the largest connected piece of them
        for _ in range(2):
            a, b, c = best
            n = np.array([-a, -b, 1.0]) / math.sqrt(a * a + b * b + 1)
            inl = idx[(np.abs(a * x[idx] + b * y[idx] + c - z[idx]) < cfg.tolerance) & (nrm[idx] @ n > cos_tol)]
            if len(inl) < 3:
                break
            best = fit_plane(x[inl], y[inl], z[inl])
        grid = np.zeros(mask.shape, bool)
        grid[rows[inl], cols[inl]] = True
        comp, k = ndimage.label(grid)
        if k == 0:
            break
        sizes = np.bincount(comp[rows[inl], cols[inl]], minlength=k + 1)
        largest = int(np.argmax(sizes))
        chosen = inl[comp[rows[inl], cols[inl]] == largest]
        remaining[chosen] = False
        if len(chosen) < min_cells:
            remaining[inl] = False  # scattered inliers of no use: do not find them again
            continue
        best = fit_plane(x[chosen], y[chosen], z[chosen])
        found.append((np.stack([rows[chosen], cols[chosen]], axis=1), best))
    return found


def roof_segments(dsm: np.ndarray, normals: np.ndarray, buildings: np.ndarray, cell: float,
                  cfg: PlaneConfig | None = None, seed: int = 0) -> list[Segment]:
    """Every building's roof planes, numbered 1.. across the raster."""
    cfg = cfg or PlaneConfig()
    rng = np.random.default_rng(seed)
    segments: list[Segment] = []
    for b, where in enumerate(ndimage.find_objects(buildings), start=1):
        if where is None:
            continue
        r0, c0 = where[0].start, where[1].start
        local = buildings[where] == b
        planes = segment_building(dsm[where], normals[where], local, cell, cfg, rng)
        for cells, (a, bb, c) in planes:
            # back to raster coordinates: x shifts by c0·cell, y by −r0·cell
            c_full = c - a * c0 * cell + bb * r0 * cell
            segments.append(Segment(building=b, index=len(segments) + 1, cells=cells + np.array([r0, c0]),
                                    plane=(a, bb, c_full), cell=cell))
    return segments


def segment_raster(segments: list[Segment], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.int32)
    for s in segments:
        out[s.cells[:, 0], s.cells[:, 1]] = s.index
    return out


def plane_normals(normals: np.ndarray, segments: list[Segment]) -> np.ndarray:
    """The DSM's normals with every segment's cells set to its fitted plane's (noise-free) normal."""
    out = normals.copy()
    for s in segments:
        out[s.cells[:, 0], s.cells[:, 1]] = s.normal
    return out
