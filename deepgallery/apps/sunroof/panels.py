"""Panels on the roof: a layout per segment, energy with pvlib's PVWatts, and a simple financial estimate.

Layout. Each segment gets a grid of panels aligned with its slope (rows along the contour), set back from its
edges; a panel is kept where every point of it lies on usable roof (inside the segment, on the plane, away from
chimneys and dormers) and its mean annual flux reaches `min_flux` of the segment's best. A few grid offsets are
tried and the one holding the most sunshine wins. Panels are then ranked by their energy across the building;
the configuration of n panels is the n best, as the Solar API's solarPanelConfigs are.

Energy. Each segment's plane-of-array irradiance hour by hour comes from pvlib (isotropic sky, the same sky as
the flux map); a panel's series is that, scaled by its shading factor (its mean annual flux from the shaded
flux map over the unshaded plane's). Then PVWatts: cell temperature (SAPM, roof mount), pvwatts_dc,
pvwatts_losses, and the PVWatts inverter at the array's DC/AC ratio.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from ...core.config import option
from .roofs import Segment
from .sun import Sky


@dataclass
class PanelConfig:
    """The panel and the array (defaults: the Solar API's reference panel and PVWatts' defaults)."""

    panel_height: float = option(1.879, "panel length in metres (the Solar API's reference panel)", minimum=0.2,
                                 allow_zero=False)
    panel_width: float = option(1.045, "panel width in metres", minimum=0.2, allow_zero=False)
    panel_watts: float = option(400.0, "panel capacity in watts DC at standard test conditions", minimum=1)
    orientation: Literal["portrait", "landscape"] = option("portrait", "panel's long side up the slope or along it")
    spacing: float = option(0.02, "gap between neighbouring panels, metres", minimum=0)
    setback: float = option(0.3, "metres kept free along every edge of a segment", minimum=0)
    min_flux: float = option(0.6, "skip spots with less than this fraction of the segment's best annual flux",
                             minimum=0, maximum=1)
    max_panels: int = option(0, "panels per building at most (0: as many as fit)", minimum=0)
    gamma_pdc: float = option(-0.0035, "power temperature coefficient, 1/°C (PVWatts standard module)", maximum=0)
    losses: float = option(14.08, "system losses, percent (PVWatts' default: soiling, wiring, mismatch, ...)",
                           minimum=0, maximum=99)
    dc_ac_ratio: float = option(1.2, "DC nameplate over inverter AC rating", minimum=0.5, maximum=3)
    inverter_efficiency: float = option(0.96, "nominal inverter efficiency (PVWatts)", minimum=0.5, maximum=1)
    air_temperature: float = option(20.0, "°C when the weather file gives none (clear-sky years)", minimum=-60,
                                    maximum=60)
    wind_speed: float = option(1.0, "m/s when the weather file gives none", minimum=0)
    lifetime: int = option(20, "panel lifetime in years (the Solar API's default)", minimum=1, maximum=60)


@dataclass
class FinanceConfig:
    """Every assumption of the financial estimate (defaults: round German household numbers in EUR; change them)."""

    cost_per_watt: float = option(1.5, "installed cost per watt DC, in your currency", minimum=0)
    incentive: float = option(0.0, "fraction of the installed cost paid back as an incentive (e.g. 0.3)",
                              minimum=0, maximum=1)
    electricity_price: float = option(0.35, "price of a kWh bought from the grid", minimum=0)
    export_price: float = option(0.08, "price paid for a kWh sent to the grid", minimum=0)
    consumption: float = option(4000.0, "the building's yearly electricity use, kWh", minimum=0)
    self_consumption: float = option(0.3, "share of the production used on site at most (the rest is exported)",
                                     minimum=0, maximum=1)
    price_increase: float = option(0.02, "yearly rise of electricity prices (fraction)", minimum=-0.5, maximum=1)
    degradation: float = option(0.005, "yearly loss of panel output (fraction)", minimum=0, maximum=0.2)
    discount_rate: float = option(0.04, "yearly discount rate for the net present value", minimum=0, maximum=1)
    maintenance: float = option(0.005, "yearly maintenance as a fraction of the installed cost", minimum=0,
                                maximum=0.5)


@dataclass
class Panel:
    segment: int  # Segment.index
    building: int
    center: tuple[float, float]  # (row, col), fractional cells
    corners: np.ndarray  # (4, 2) (row, col), fractional cells
    orientation: str
    flux: float  # mean annual kWh/m² on the panel (shaded)
    energy_dc: float = 0.0  # kWh/year DC before losses


def _frame(seg: Segment) -> tuple[np.ndarray, np.ndarray, float]:
    """Unit vectors (east, north) along the contour and up the slope, and cos(pitch)."""
    az = math.radians(seg.azimuth)
    down = np.array([math.sin(az), math.cos(az)])
    along = np.array([down[1], -down[0]])
    return along, -down, math.cos(math.radians(seg.pitch))


def layout(seg: Segment, usable: np.ndarray, flux: np.ndarray, cfg: PanelConfig, cell: float) -> list[Panel]:
    """Panels on one segment: the best of a few grid offsets (most sunshine on usable roof)."""
    along, up, cos_p = _frame(seg)
    rows, cols = seg.cells[:, 0], seg.cells[:, 1]
    east, north = (cols + 0.5) * cell, -(rows + 0.5) * cell
    u = east * along[0] + north * along[1]  # metres along the contour
    v = (east * up[0] + north * up[1]) / cos_p  # metres up the slope, measured on the slope
    pw, ph = (cfg.panel_width, cfg.panel_height) if cfg.orientation == "portrait" else (cfg.panel_height,
                                                                                       cfg.panel_width)
    step_u, step_v = pw + cfg.spacing, ph + cfg.spacing
    # sample points inside a panel (fractions of its width and height), a few per metre
    fu = (np.arange(max(2, int(pw / cell * 1.5))) + 0.5) / max(2, int(pw / cell * 1.5)) - 0.5
    fv = (np.arange(max(2, int(ph / cell * 1.5))) + 0.5) / max(2, int(ph / cell * 1.5)) - 0.5
    su, sv = np.meshgrid(fu * pw, fv * ph)
    su, sv = su.ravel(), sv.ravel()
    best_flux = float(flux[rows, cols].max()) if len(rows) else 0.0
    h, w = usable.shape
    best: list[Panel] = []
    best_score = 0.0
    for ou in np.linspace(0, step_u, 3, endpoint=False):
        for ov in np.linspace(0, step_v, 3, endpoint=False):
            cu = np.arange(u.min() + ou - step_u, u.max() + step_u, step_u) + pw / 2
            cv = np.arange(v.min() + ov - step_v, v.max() + step_v, step_v) + ph / 2
            gu, gv = np.meshgrid(cu, cv)
            gu, gv = gu.ravel(), gv.ravel()  # (P,) panel centres on the slope
            pu = gu[:, None] + su[None]  # (P, S)
            pv = (gv[:, None] + sv[None]) * cos_p  # back to horizontal distance
            pe = pu * along[0] + pv * up[0]
            pn = pu * along[1] + pv * up[1]
            pr = np.floor(-pn / cell).astype(int)
            pc = np.floor(pe / cell).astype(int)
            inside = (pr >= 0) & (pr < h) & (pc >= 0) & (pc < w)
            ok = inside.all(1)
            pr, pc = np.clip(pr, 0, h - 1), np.clip(pc, 0, w - 1)
            ok &= usable[pr, pc].all(1)
            mean_flux = flux[pr, pc].mean(1)
            ok &= mean_flux >= cfg.min_flux * best_flux
            score = float(mean_flux[ok].sum())
            if score > best_score:
                best_score = score
                panels = []
                for i in np.nonzero(ok)[0]:
                    corners = []
                    for du, dv in ((-pw / 2, -ph / 2), (pw / 2, -ph / 2), (pw / 2, ph / 2), (-pw / 2, ph / 2)):
                        ce = (gu[i] + du) * along[0] + (gv[i] + dv) * cos_p * up[0]
                        cn = (gu[i] + du) * along[1] + (gv[i] + dv) * cos_p * up[1]
                        corners.append((-cn / cell - 0.5, ce / cell - 0.5))
                    cr = -(gu[i] * along[1] + gv[i] * cos_p * up[1]) / cell - 0.5
                    cc = (gu[i] * along[0] + gv[i] * cos_p * up[0]) / cell - 0.5
                    panels.append(Panel(seg.index, seg.building, (float(cr), float(cc)), np.array(corners),
                                        cfg.orientation.upper(), float(mean_flux[i])))
                best = panels
    return best


def usable_roof(segments: list[Segment], dsm: np.ndarray, cfg: PanelConfig, cell: float) -> np.ndarray:
    """(H, W) int32: the segment id where a panel may stand (on the plane within 0.25 m, set back from edges)."""
    out = np.zeros(dsm.shape, np.int32)
    k = int(math.ceil(cfg.setback / cell))
    for s in segments:
        r, c = s.cells[:, 0], s.cells[:, 1]
        x, y = (c + 0.5) * cell, -(r + 0.5) * cell
        a, b, c0 = s.plane
        on_plane = np.abs(a * x + b * y + c0 - dsm[r, c]) < 0.25  # chimneys and dormers stand out of it
        r0, c0_ = r.min() - 1, c.min() - 1
        m = np.zeros((r.max() - r0 + 2, c.max() - c0_ + 2), bool)
        m[r[on_plane] - r0, c[on_plane] - c0_] = True
        if k:
            m = ndimage.binary_erosion(m, iterations=k)
        rr, cc = np.nonzero(m)
        rr, cc = rr + r0, cc + c0_
        keep = (rr >= 0) & (rr < dsm.shape[0]) & (cc >= 0) & (cc < dsm.shape[1])
        out[rr[keep], cc[keep]] = s.index
    return out


def plane_poa(sky: Sky, tilt: float, azimuth: float, albedo: float) -> np.ndarray:
    """(T,) unshaded plane-of-array irradiance, W/m², pvlib's isotropic model over the same sky."""
    import pvlib

    poa = pvlib.irradiance.get_total_irradiance(tilt, azimuth, 90 - sky.elevation, sky.azimuth, sky.dni, sky.ghi,
                                                sky.dhi, albedo=albedo, model="isotropic")
    return np.clip(np.nan_to_num(np.asarray(poa["poa_global"], float)), 0, None)


@dataclass
class ArrayEnergy:
    dc_per_panel: np.ndarray  # (P,) kWh/year DC before losses, in ranked order
    ac_cumulative: np.ndarray  # (P,) kWh/year AC for the configurations of 1..P panels
    dc_cumulative: np.ndarray  # (P,) kWh/year DC before losses


def energy(panels: list[Panel], segments: dict[int, Segment], unshaded: dict[int, float], sky: Sky,
           cfg: PanelConfig, albedo: float) -> ArrayEnergy:
    """Rank the panels by energy (in place: `panels` is sorted best first) and the AC of every top-n array."""
    import pvlib

    if not panels:
        z = np.zeros(0)
        return ArrayEnergy(z, z, z)
    temp = sky.temp_air if sky.temp_air is not None else np.full(len(sky), cfg.air_temperature)
    wind = sky.wind_speed if sky.wind_speed is not None else np.full(len(sky), cfg.wind_speed)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    series = {}
    for idx in {p.segment for p in panels}:
        s = segments[idx]
        series[idx] = plane_poa(sky, s.pitch, s.azimuth, albedo)
    dc = np.zeros((len(panels), len(sky)))
    for i, p in enumerate(panels):
        poa = series[p.segment] * (p.flux / max(unshaded[p.segment], 1e-9))
        t_cell = pvlib.temperature.sapm_cell(poa, temp, wind, **params)
        dc[i] = pvlib.pvsystem.pvwatts_dc(poa, t_cell, cfg.panel_watts, cfg.gamma_pdc)
    per_panel = dc.sum(1) * sky.hours / 1000.0
    order = np.argsort(-per_panel, kind="stable")
    panels[:] = [panels[i] for i in order]
    dc = dc[order]
    for p, e in zip(panels, per_panel[order], strict=True):
        p.energy_dc = float(e)
    cum = np.cumsum(dc, axis=0)  # (P, T) W of the n best panels
    n = np.arange(1, len(panels) + 1)[:, None]
    after_losses = cum * (1 - cfg.losses / 100)
    pac0 = n * cfg.panel_watts / cfg.dc_ac_ratio
    pdc0 = pac0 / cfg.inverter_efficiency
    ac = pvlib.inverter.pvwatts(after_losses, pdc0, cfg.inverter_efficiency)
    ac = np.clip(np.nan_to_num(np.asarray(ac, float)), 0, None)
    return ArrayEnergy(per_panel[order], ac.sum(1) * sky.hours / 1000.0, cum.sum(1) * sky.hours / 1000.0)


def finance(panels_count: int, yearly_ac: float, panel: PanelConfig, cfg: FinanceConfig) -> dict:
    """Cost, first-year savings, payback and net present value of one array over the panels' lifetime."""
    kw = panels_count * panel.panel_watts / 1000
    cost = kw * 1000 * cfg.cost_per_watt * (1 - cfg.incentive)
    cumulative, npv, payback, first = 0.0, -cost, None, 0.0
    for year in range(panel.lifetime):
        produced = yearly_ac * (1 - cfg.degradation) ** year
        used = min(produced * cfg.self_consumption, cfg.consumption)
        price = cfg.electricity_price * (1 + cfg.price_increase) ** year
        export = cfg.export_price * (1 + cfg.price_increase) ** year
        saving = used * price + (produced - used) * export - cfg.maintenance * cost
        if year == 0:
            first = saving
        if payback is None and cumulative + saving >= cost:
            payback = year + (cost - cumulative) / max(saving, 1e-9)
        cumulative += saving
        npv += saving / (1 + cfg.discount_rate) ** (year + 1)
    return {"panelsCount": panels_count, "capacityKw": round(kw, 3), "installationCost": round(cost, 2),
            "firstYearSavings": round(first, 2), "lifetimeSavings": round(cumulative, 2),
            "netPresentValue": round(npv, 2), "paybackYears": None if payback is None else round(payback, 1)}


def assumptions(panel: PanelConfig, fin: FinanceConfig) -> dict:
    return {"panel": asdict(panel), "finance": asdict(fin)}
