"""Shade from the surface model: horizon angles per azimuth sector (as GRASS r.horizon computes them), then
lookups for every sun position instead of tracing a ray per cell per hour.

For a sector of direction φ, the horizon angle of a cell is the largest elevation of any surface point seen
along φ:  h_φ(p) = max_d atan((z(p + d·u_φ) − z(p)) / d).  The sun at (φ, e) shines on p exactly when e > h_φ(p).
Distances d run one cell at a time near the cell (where a chimney or a ridge decides) and then grow
geometrically (a far building subtends a small angle, so its exact distance matters little); rays stop once no
surface point can rise above `floor_deg` any more, or at `max_distance`. Each step is one shifted view of the
padded DSM, a subtraction, a scale and a running maximum over the whole raster: vectorised on numpy, or on a
torch device (a GPU) with the very same code through `Backend`.

The sky-view factor of a tilted cell from its horizons follows Dozier & Frew (1990), Eq. 7:
    V = 1/2π ∫ [cos S · sin² H_φ + sin S · cos(φ − A) · (H_φ − sin H_φ cos H_φ)] dφ
with S the slope, A the aspect (downslope azimuth) and H_φ the horizon's zenith angle, where the horizon is at
least the cell's own plane (a roof never sees the sky below itself).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...core.config import option

DEG = 180.0 / math.pi  # degrees per radian (torch has no np.degrees)
OUTSIDE = -1e7  # height beyond the raster: never an obstacle (finite, so bilinear weights of 0 stay 0)


@dataclass
class HorizonConfig:
    """How horizons are sampled; the defaults keep the annual beam within ~1 % of a ray traced every hour."""

    sectors: int = option(64, "azimuth sectors around the horizon (r.horizon's step: 360/sectors degrees)",
                          minimum=8, maximum=720)
    near_cells: int = option(16, "distance (cells) sampled at every cell before the steps start to grow", minimum=1)
    growth: float = option(1.05, "ratio between successive far sample distances", minimum=1.0, allow_zero=False)
    max_distance: float = option(600.0, "metres: farther surfaces never shade (r.horizon's maxdistance)",
                                 minimum=0, allow_zero=False)
    observer_height: float = option(0.1, "metres above the surface the sun is looked for from (panels stand ~10 cm "
                                         "above a roof; keeps a DSM's centimetre noise from shading its neighbours)",
                                    minimum=0)
    floor_deg: float = option(1.0, "horizon angles below this many degrees are not looked for (rays stop early)",
                              minimum=-10, maximum=30)


class Backend:
    """The few array operations the shade and irradiance loops need, on numpy or on a torch device."""

    def __init__(self, device: str | None = None):
        self.device = None if device in (None, "numpy") else device
        if self.device is None:
            self.xp = np
        else:
            import torch

            self.xp = torch
            self.torch_device = torch.device(self.device)

    @property
    def is_torch(self) -> bool:
        return self.device is not None

    def array(self, a, dtype=np.float32):
        if self.is_torch:
            import torch

            return torch.as_tensor(np.ascontiguousarray(a, dtype=dtype), device=self.torch_device)
        return np.ascontiguousarray(a, dtype=dtype)

    def full(self, shape, value: float):
        if self.is_torch:
            import torch

            return torch.full(shape, value, dtype=torch.float32, device=self.torch_device)
        return np.full(shape, value, np.float32)

    def pad(self, z, p: int, value: float):
        if self.is_torch:
            import torch

            return torch.nn.functional.pad(z[None, None], (p, p, p, p), value=value)[0, 0]
        return np.pad(z, p, constant_values=value)

    def max_into(self, best, view, z, scale: float, tmp):
        """best = max(best, (view − z) · scale), in place."""
        if self.is_torch:
            import torch

            torch.sub(view, z, out=tmp)
            tmp.mul_(scale)
            torch.maximum(best, tmp, out=best)
        else:
            np.subtract(view, z, out=tmp)
            tmp *= scale
            np.maximum(best, tmp, out=best)

    def weighted_sum(self, pairs, out):
        """out = Σ weight · view (in place)."""
        first, w0 = pairs[0]
        if self.is_torch:
            import torch

            torch.mul(first, w0, out=out)
            for view, wt in pairs[1:]:
                out.add_(view, alpha=wt)
        else:
            np.multiply(first, w0, out=out)
            for view, wt in pairs[1:]:
                out += view * np.float32(wt)
        return out

    def empty_like(self, a):
        return self.xp.empty_like(a)

    def numpy(self, a) -> np.ndarray:
        return a.detach().cpu().numpy() if self.is_torch else np.asarray(a)

    def searchsorted(self, sorted_values, queries):
        """Index of the first sorted value above each query (numpy's side='right')."""
        if self.is_torch:
            import torch

            return torch.searchsorted(sorted_values, queries.contiguous(), right=True)
        return np.searchsorted(sorted_values, queries, side="right")


def sector_azimuths(sectors: int) -> np.ndarray:
    """Directions of the sectors in degrees clockwise from north (sector 0 looks north)."""
    return np.arange(sectors) * (360.0 / sectors)


def ray_offsets(azimuth: float, cell: float, max_cells: float, near: int, growth: float) -> list[tuple]:
    """Samples along a ray: ([(row step, col step, weight), ...], distance in metres). Within `near` cells the
    ray's exact points are read bilinearly from the four cells around them (rounding to one cell would bend a
    short ray by up to 45° and make a steep roof see its own slope across the contour); beyond, the nearest
    cell, each once."""
    a = math.radians(azimuth)
    east, south = math.sin(a), -math.cos(a)
    out, seen, d = [], set(), 1.0
    while d <= max_cells:
        if d <= near:
            y, x = d * south, d * east
            r0, c0 = math.floor(y), math.floor(x)
            fy, fx = y - r0, x - c0
            taps = [(r0 + i, c0 + j, (fy if i else 1 - fy) * (fx if j else 1 - fx)) for i in (0, 1) for j in (0, 1)]
            out.append(([t for t in taps if t[2] > 1e-6], d * cell))
        else:
            dr, dc = int(round(d * south)), int(round(d * east))
            if (dr, dc) not in seen:
                seen.add((dr, dc))
                out.append(([(dr, dc, 1.0)], math.hypot(dr, dc) * cell))
        d = d + 1 if d < near else d * growth
    return out


def ray_reach(dsm: np.ndarray, cell: float, cfg: HorizonConfig) -> float:
    """How far (cells) a ray must go: until the raster's relief seen from that far is below `floor_deg`, no farther
    than `max_distance` and no farther than the raster's diagonal (beyond it there is nothing)."""
    relief = float(dsm.max() - dsm.min())
    floor = math.tan(math.radians(max(cfg.floor_deg, 0.05)))
    return min(relief / floor / cell, cfg.max_distance / cell, math.hypot(*dsm.shape)) + 1


class Horizons:
    """Computes one sector's horizon angles at a time (degrees; −90 where nothing rises along the ray)."""

    def __init__(self, dsm: np.ndarray, cell: float, cfg: HorizonConfig, backend: Backend):
        self.cfg, self.cell, self.be = cfg, cell, backend
        self.reach = ray_reach(dsm, cell, cfg)
        self.relief = float(dsm.max() - dsm.min())
        self.pad = int(math.ceil(self.reach)) + 1
        self.z = backend.array(dsm)
        self.zp = backend.pad(self.z, self.pad, OUTSIDE)
        self.eye = backend.array(dsm + np.float32(cfg.observer_height))  # where each cell looks from
        self.shape = dsm.shape
        self.azimuths = sector_azimuths(cfg.sectors)

    def sector(self, k: int):
        """(H, W) horizon elevation angles in degrees for sector k, as a backend array."""
        return self.along(float(self.azimuths[k]), self.reach)

    def along(self, azimuth: float, reach: float, from_surface: bool = False):
        """(H, W) horizon angles (degrees) looking towards `azimuth`, rays `reach` cells long, seen from
        `observer_height` above each cell (or from the surface itself)."""
        be, (h, w), p = self.be, self.shape, self.pad
        best = be.full((h, w), float("-inf"))
        tmp = be.empty_like(best)
        tmp2 = be.empty_like(best)
        for taps, dist in ray_offsets(azimuth, self.cell, min(reach, self.reach), self.cfg.near_cells,
                                      self.cfg.growth):
            if len(taps) == 1:
                dr, dc, _ = taps[0]
                view = self.zp[p + dr:p + dr + h, p + dc:p + dc + w]
            else:
                view = be.weighted_sum([(self.zp[p + dr:p + dr + h, p + dc:p + dc + w], wt) for dr, dc, wt in taps],
                                       tmp2)
            be.max_into(best, view, self.z if from_surface else self.eye, 1.0 / dist, tmp)
        return be.xp.arctan(best) * DEG  # beyond the raster: atan(-huge) = -90°

    def sunlit(self, azimuth: float, elevation: float) -> np.ndarray:
        """(H, W) bool: the sun at (azimuth, elevation) is seen from the cell. The ray goes exactly towards the sun
        (no sector interpolation), only as far as the raster's relief could still rise above the sun, and from the
        surface itself, so a roof face turned away from the sun shades itself (a shadow map, not a panel's view)."""
        if elevation <= 0:
            return np.zeros(self.shape, bool)
        reach = self.relief / math.tan(math.radians(elevation)) / self.cell + 2
        return self.be.numpy(self.along(azimuth, reach, from_surface=True)) < elevation


def surface_normals(dsm: np.ndarray, cell: float) -> np.ndarray:
    """(H, W, 3) unit normals in (east, north, up) from Horn's 3x3 gradient (GDAL's and r.slope.aspect's)."""
    from scipy import ndimage

    gx = ndimage.sobel(dsm.astype(np.float64), axis=1, mode="nearest") / (8 * cell)  # dz/d(east)
    gy = -ndimage.sobel(dsm.astype(np.float64), axis=0, mode="nearest") / (8 * cell)  # dz/d(north): rows go south
    n = np.stack([-gx, -gy, np.ones_like(gx)], axis=-1)
    return (n / np.linalg.norm(n, axis=-1, keepdims=True)).astype(np.float32)


def slope_aspect(normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope (degrees from horizontal) and aspect (the downslope azimuth, degrees clockwise from north)."""
    slope = np.degrees(np.arccos(np.clip(normals[..., 2], -1, 1)))
    aspect = np.degrees(np.arctan2(normals[..., 0], normals[..., 1])) % 360
    return slope, aspect


def plane_horizon(normals, azimuth: float, xp=np):
    """Elevation (degrees) of a cell's own plane in direction `azimuth`: the least horizon it can have."""
    a = math.radians(azimuth)
    # along (sin a, cos a) the plane rises by −(n_e sin a + n_n cos a) / n_u per metre
    rise = -(normals[..., 0] * math.sin(a) + normals[..., 1] * math.cos(a)) / xp.clip(normals[..., 2], 1e-6, None)
    return xp.arctan(rise) * DEG


def sky_view_term(horizon_deg, normals, azimuth: float, xp=np):
    """One sector's share of Dozier & Frew's sky-view integral (to be multiplied by Δφ / 2π and summed)."""
    a = math.radians(azimuth)
    big_h = (90.0 - horizon_deg) / DEG  # the horizon's zenith angle
    cos_s = normals[..., 2]
    # sin S · cos(φ − A) is the horizontal part of the normal projected on the direction φ
    sin_s_cos = normals[..., 0] * math.sin(a) + normals[..., 1] * math.cos(a)
    return cos_s * xp.sin(big_h) ** 2 + sin_s_cos * (big_h - xp.sin(big_h) * xp.cos(big_h))
