"""Irradiation of every cell on its own tilted surface over a year, split as pvlib's isotropic model splits it:

    E_beam   = Σ_t DNI_t · max(0, n·s_t) · [e_t > h_φ(t)] · Δt        (the sun seen past the horizon)
    E_sky    = Σ_t DHI_t · V · Δt                                      (V: sky-view factor of the tilted cell)
    E_ground = Σ_t GHI_t · ρ · (1 − cos S) / 2 · Δt                    (ρ: ground albedo)

The beam sum is not evaluated per cell per hour. Each sun position is split between its two neighbouring azimuth
sectors (weights linear in azimuth, so a horizon interpolated between sectors); inside a sector the positions are
sorted by elevation, and because n·s is linear in s, the suffix sums S_j = Σ_{i≥j} w_i DNI_i s_i Δt (per month)
give any cell's beam as n · S_j with j the first position above the cell's horizon: one binary search and one
3-vector product per cell and sector, for the whole year at once. The max(0, ·) is kept by raising the horizon to
the cell's own plane (a face turned away from the sun is its own shade).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...core.config import option
from ...core.runtime import progress
from .shade import Backend, HorizonConfig, Horizons, plane_horizon, sky_view_term, surface_normals
from .sun import Sky


@dataclass
class IrradianceConfig:
    """The sky model's free parameters."""

    albedo: float = option(0.2, "ground reflectance for the ground-reflected part (0.2: grass and pavement)",
                           minimum=0, maximum=1)
    monthly: bool = option(True, "also sum every month separately (the monthly flux maps)")
    threads: int = option(2, "threads sharing the horizon sectors on the CPU (numpy path)", minimum=1)


@dataclass
class Flux:
    """Irradiation in kWh/m² per cell: (12, H, W) monthly parts (or (1, H, W) when only the year was asked)."""

    beam: np.ndarray
    sky: np.ndarray
    ground: np.ndarray
    svf: np.ndarray  # (H, W) sky-view factor of the tilted cell, 0..1
    masks: np.ndarray | None  # (M, H, W) bool: sun visible at the asked positions (None if none asked)

    @property
    def monthly(self) -> np.ndarray:
        return self.beam + self.sky + self.ground

    @property
    def annual(self) -> np.ndarray:
        return self.monthly.sum(axis=0)


def _sector_weights(azimuth: np.ndarray, sectors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each azimuth's two neighbouring sectors and the weight of the first (linear interpolation)."""
    pos = (np.asarray(azimuth) % 360) / (360.0 / sectors)
    k0 = np.floor(pos).astype(int) % sectors
    w1 = pos - np.floor(pos)
    return k0, (k0 + 1) % sectors, 1.0 - w1


def _suffix_tables(sky: Sky, sectors: int, months: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sector: (sorted elevations (n,), suffix sums (n + 1, months, 3) of w·DNI·s·Δt in kWh/m²)."""
    k0, k1, w0 = _sector_weights(sky.azimuth, sectors)
    s = sky.direction()
    month = sky.month if months == 12 else np.zeros(len(sky), int)
    energy = sky.dni * sky.hours / 1000.0
    tables = []
    for k in range(sectors):
        idx = np.concatenate([np.nonzero(k0 == k)[0], np.nonzero(k1 == k)[0]])
        wts = np.concatenate([w0[k0 == k], 1 - w0[k1 == k]])
        order = np.argsort(sky.elevation[idx], kind="stable")
        idx, wts = idx[order], wts[order]
        contrib = np.zeros((len(idx) + 1, months, 3))
        contrib[np.arange(len(idx)), month[idx]] = (wts * energy[idx])[:, None] * s[idx]
        suffix = np.cumsum(contrib[::-1], axis=0)[::-1]  # suffix[j] = Σ_{i ≥ j}
        tables.append((sky.elevation[idx].astype(np.float32), suffix.astype(np.float32)))
    return tables


def compute(dsm: np.ndarray, cell: float, sky: Sky, cfg: IrradianceConfig | None = None,
            horizon: HorizonConfig | None = None, normals: np.ndarray | None = None,
            masks_at: tuple[np.ndarray, np.ndarray] | None = None, device: str | None = None,
            show_progress: bool = False) -> Flux:
    """The year's irradiation of every cell of `dsm` (metres, cells of `cell` metres) under `sky`.

    `normals` (H, W, 3) replace the DSM's own (e.g. fitted roof planes); `masks_at` = (azimuths, elevations) in
    degrees asks for sun/shade masks at those positions; `device` None runs numpy, "cpu"/"cuda" runs torch.
    """
    cfg, horizon = cfg or IrradianceConfig(), horizon or HorizonConfig()
    be = Backend(device)
    xp = be.xp
    h, w = dsm.shape
    months = 12 if cfg.monthly else 1
    n_np = surface_normals(dsm, cell) if normals is None else normals.astype(np.float32)
    n = be.array(n_np)
    flat_n = n.reshape(-1, 3)
    hz = Horizons(dsm, cell, horizon, be)
    tables = _suffix_tables(sky, horizon.sectors, months)
    # per cell, the suffix sums of its lit sun vectors (months x 3), dotted with the normal once at the end
    threads = max(1, min(cfg.threads, horizon.sectors)) if not be.is_torch else 1
    bar = progress(total=horizon.sectors, desc="horizons", enabled=show_progress)

    def sectors(first: int):
        """Sectors first, first + threads, ...: numpy releases the GIL in its loops, so threads share the work."""
        lit_sum = be.full((h * w, months * 3), 0.0)
        svf = be.full((h, w), 0.0)
        for k in range(first, horizon.sectors, threads):
            az = float(hz.azimuths[k])
            raw = hz.sector(k)  # (H, W) degrees
            eff = xp.maximum(raw, plane_horizon(n, az, xp))  # never below the cell's own plane
            # the sky is above the horizontal: below it a cell sees ground (the ground-reflected term's share)
            svf += sky_view_term(xp.clip(eff, 0.0, None), n, az, xp)
            elev, suffix = tables[k]
            if len(elev):
                j = be.searchsorted(be.array(elev), eff.reshape(-1))  # (H·W,) first position above the horizon
                lit_sum += be.array(suffix.reshape(len(suffix), months * 3))[j]  # (H·W, months·3)
            bar.update(1)
        return lit_sum, svf

    if threads == 1:
        lit_sum, svf = sectors(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(sectors, range(threads)))
        lit_sum, svf = parts[0]
        for more_lit, more_svf in parts[1:]:
            lit_sum += more_lit
            svf += more_svf
    bar.close()
    svf = svf / horizon.sectors
    beam = (lit_sum.reshape(h * w, months, 3) * flat_n[:, None, :]).sum(-1)  # n · S, (H·W, months)
    beam_np = np.clip(be.numpy(beam).T, 0, None).reshape(months, h, w)
    svf_np = np.clip(be.numpy(svf), 0, 1)
    month = sky.month if months == 12 else np.zeros(len(sky), int)
    dhi = np.bincount(month, sky.dhi * sky.hours / 1000.0, minlength=months)  # kWh/m² per month
    ghi = np.bincount(month, sky.ghi * sky.hours / 1000.0, minlength=months)
    tilt_factor = (1 - n_np[..., 2]) / 2  # (1 − cos S) / 2
    sky_part = dhi[:, None, None] * svf_np[None]
    ground_part = cfg.albedo * ghi[:, None, None] * tilt_factor[None]
    masks = None
    if masks_at is not None:  # traced exactly towards each asked sun position, from the surface itself
        az_m, el_m = (np.asarray(v, float).ravel() for v in masks_at)
        masks = np.stack([hz.sunlit(a, e) for a, e in zip(az_m, el_m, strict=True)]) if len(az_m) else None
    return Flux(beam=beam_np.astype(np.float32), sky=sky_part.astype(np.float32),
                ground=ground_part.astype(np.float32), svf=svf_np.astype(np.float32), masks=masks)
