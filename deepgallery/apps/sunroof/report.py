"""What a user opens: the flux map (GeoTIFF + PNG), monthly flux and hourly shade GeoTIFFs, the labels and
segments, a panel map, a JSON whose names follow the Solar API's buildingInsights where they mean the same
thing, and an HTML report with the maps and the energy table. Every file is written atomically."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from ...core.atomic import write_figure, write_text
from .geo import lonlat, write_geotiff
from .panels import assumptions
from .pipeline import Analysis, segments_raster

CARBON_KG_PER_MWH = 428.0  # the Solar API's default carbonOffsetFactorKgPerMwh is per region; a US-average figure


def _latlng(a: Analysis, row: float, col: float) -> dict:
    lon, lat = lonlat(a.surface, np.array([row]), np.array([col]))
    if np.isnan(lat[0]):
        return {"row": round(float(row), 2), "col": round(float(col), 2)}
    return {"latitude": round(float(lat[0]), 7), "longitude": round(float(lon[0]), 7)}


def _bbox(a: Analysis, rows: np.ndarray, cols: np.ndarray) -> dict:
    return {"sw": _latlng(a, float(rows.max()) + 0.5, float(cols.min()) - 0.5),
            "ne": _latlng(a, float(rows.min()) - 0.5, float(cols.max()) + 0.5)}


def _quantiles(values: np.ndarray) -> list[float]:
    return [round(float(v), 1) for v in np.quantile(values, np.linspace(0, 1, 11))] if len(values) else []


def insights(a: Analysis) -> dict:
    """{"site": ..., "buildings": [buildingInsights-like dicts]}."""
    annual = a.flux.annual
    cell = a.surface.cell
    out = []
    for r in a.results:
        rows, cols = np.nonzero(a.buildings == r.id)
        seg_stats = []
        for s in r.segments:
            vals = annual[s.cells[:, 0], s.cells[:, 1]]
            cr, cc = s.cells.mean(0)
            seg_stats.append({
                "segmentIndex": s.index, "pitchDegrees": round(s.pitch, 2), "azimuthDegrees": round(s.azimuth, 2),
                "stats": {"areaMeters2": round(s.area, 2), "groundAreaMeters2": round(s.ground_area, 2),
                          "sunshineQuantiles": _quantiles(vals)},
                "center": _latlng(a, cr, cc), "boundingBox": _bbox(a, s.cells[:, 0], s.cells[:, 1]),
                "planeHeightAtCenterMeters": round(s.height_at(cr, cc), 2),
                "unshadedFluxKwhPerM2": round(r.unshaded[s.index], 1)})
        configs = []
        for n in range(1, len(r.panels) + 1):
            top = r.panels[:n]
            summaries = []
            for s in r.segments:
                mine = [p for p in top if p.segment == s.index]
                if mine:
                    summaries.append({"pitchDegrees": round(s.pitch, 2), "azimuthDegrees": round(s.azimuth, 2),
                                      "panelsCount": len(mine), "segmentIndex": s.index,
                                      "yearlyEnergyDcKwh": round(sum(p.energy_dc for p in mine), 1)})
            configs.append({"panelsCount": n, "yearlyEnergyDcKwh": round(float(r.energy.dc_cumulative[n - 1]), 1),
                            "yearlyEnergyAcKwh": round(float(r.energy.ac_cumulative[n - 1]), 1),
                            "roofSegmentSummaries": summaries})
        panels = [{"center": _latlng(a, *p.center), "orientation": p.orientation, "segmentIndex": p.segment,
                   "yearlyEnergyDcKwh": round(p.energy_dc, 1), "sunshineKwhPerM2": round(p.flux, 1)}
                  for p in r.panels]
        roof_vals = annual[rows, cols]
        max_hours = max([s["stats"]["sunshineQuantiles"][-1] for s in seg_stats if s["stats"]["sunshineQuantiles"]],
                        default=0.0)
        pc = a.settings.panel
        out.append({
            "name": f"buildings/{r.id}", "center": _latlng(a, rows.mean(), cols.mean()),
            "boundingBox": _bbox(a, rows, cols), "imageryQuality": "USER_DSM",
            "solarPotential": {
                "maxArrayPanelsCount": len(r.panels),
                "maxArrayAreaMeters2": round(len(r.panels) * pc.panel_height * pc.panel_width, 2),
                "maxSunshineHoursPerYear": round(max_hours, 1),
                "carbonOffsetFactorKgPerMwh": CARBON_KG_PER_MWH,
                "wholeRoofStats": {"areaMeters2": round(sum(s.area for s in r.segments), 2),
                                   "groundAreaMeters2": round(len(rows) * cell ** 2, 2),
                                   "sunshineQuantiles": _quantiles(roof_vals)},
                "roofSegmentStats": seg_stats, "solarPanelConfigs": configs, "solarPanels": panels,
                "panelCapacityWatts": pc.panel_watts, "panelHeightMeters": pc.panel_height,
                "panelWidthMeters": pc.panel_width, "panelLifetimeYears": pc.lifetime,
                "financialAnalyses": r.finance}})
    months = a.flux.monthly
    return {"site": {"latitude": a.site.latitude, "longitude": a.site.longitude, "timezone": a.site.timezone,
                     "timezoneNote": a.site.timezone_note, "cellMeters": cell, "sky": a.sky.source,
                     "darkMonths": a.sky.dark_months,
                     "meanFluxKwhPerM2": round(float(a.flux.annual.mean()), 1),
                     "monthlyMeanFluxKwhPerM2": [round(float(m.mean()), 2) for m in months]},
            "notes": a.notes, "assumptions": assumptions(a.settings.panel, a.settings.finance),
            "buildings": out}


def energy_rows(a: Analysis) -> list[dict]:
    """One row per building for the table (largest array)."""
    rows = []
    for r in a.results:
        n = len(r.panels)
        fin = r.finance[-1] if r.finance else {}
        rows.append({"building": r.id, "segments": len(r.segments),
                     "roof m²": round(sum(s.area for s in r.segments), 1), "panels": n,
                     "kWp": round(n * a.settings.panel.panel_watts / 1000, 2),
                     "AC kWh/yr": round(float(r.energy.ac_cumulative[-1]), 0) if n else 0.0,
                     "kWh/kWp": round(float(r.energy.ac_cumulative[-1]) / (n * a.settings.panel.panel_watts / 1000),
                                      0) if n else 0.0,
                     "payback yr": fin.get("paybackYears")})
    return rows


# ------------------------------------------------------------------------------------------------ pictures


def _figure_png(path: Path, draw, size=(7, 6), axes: bool = False) -> Path:
    """One figure of `size` inches: `draw(fig, ax)` fills it (a map without axes unless `axes`), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=110)
    draw(fig, ax)
    if not axes:
        ax.set_axis_off()
    fig.tight_layout()
    return write_figure(path, fig, format="png")


def hillshade(dsm: np.ndarray, cell: float) -> np.ndarray:
    from .shade import surface_normals

    n = surface_normals(dsm, cell)
    s = np.array([-0.5, 0.5, 0.707])
    return np.clip(n @ (s / np.linalg.norm(s)), 0, 1)


def flux_png(a: Analysis, path: Path) -> Path:
    def draw(fig, ax):
        im = ax.imshow(a.flux.annual, cmap="inferno", vmin=0, vmax=float(np.percentile(a.flux.annual, 99.5)))
        fig.colorbar(im, ax=ax, shrink=0.8, label="kWh/m² per year")
        ax.set_title("annual solar flux on every surface")

    return _figure_png(path, draw)


def panels_png(a: Analysis, path: Path) -> Path:
    from matplotlib.patches import Polygon

    seg = segments_raster(a)

    def draw(fig, ax):
        base = a.ortho if a.ortho is not None else hillshade(a.surface.dsm, a.surface.cell)
        ax.imshow(base, cmap="gray" if base.ndim == 2 else None)
        rng = np.random.default_rng(0)
        colours = rng.uniform(0.2, 1, (int(seg.max()) + 1, 4))
        colours[:, 3] = 0.45
        colours[0] = 0
        ax.imshow(colours[seg])
        for r in a.results:
            for p in r.panels:
                ax.add_patch(Polygon(p.corners[:, ::-1], closed=True, facecolor="#1b3a8a", edgecolor="white",
                                     linewidth=0.4, alpha=0.9))
            rows, cols = np.nonzero(a.buildings == r.id)
            ax.text(cols.mean(), rows.mean(), str(r.id), color="yellow", fontsize=7, ha="center", va="center")
        ax.set_title(f"{len(a.segments)} roof segments, {sum(len(r.panels) for r in a.results)} panels")

    return _figure_png(path, draw)


def labels_png(a: Analysis, path: Path) -> Path:
    palette = np.array([[90, 90, 90], [220, 80, 60], [40, 150, 60]], np.uint8)

    def draw(fig, ax):
        ax.imshow(palette[a.labels])
        ax.set_title("ground (grey) / roof (red) / tree (green)")

    return _figure_png(path, draw, size=(5, 5))


def monthly_png(a: Analysis, path: Path) -> Path:
    roof = a.buildings > 0
    months = a.flux.monthly

    def draw(fig, ax):
        names = "J F M A M J J A S O N D".split()
        ax.bar(range(12), [float(m[roof].mean()) if roof.any() else float(m.mean()) for m in months],
               color="#e8a33d")
        ax.set_xticks(range(12), names)
        ax.set_ylabel("kWh/m² (roofs)")
        ax.set_title("monthly flux on the roofs")

    return _figure_png(path, draw, size=(6, 3), axes=True)


def report_html(a: Analysis, path: Path, pictures: dict[str, str], info: dict) -> Path:
    rows = energy_rows(a)
    head = "".join(f"<th>{html.escape(k)}</th>" for k in (rows[0] if rows else {"building": 0}))
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r.values()) + "</tr>" for r in rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in a.notes) or "<li>none</li>"
    site = info["site"]
    imgs = "".join(f'<figure><img src="{html.escape(f)}" alt="{html.escape(t)}"><figcaption>{html.escape(t)}'
                   "</figcaption></figure>" for t, f in pictures.items())
    fin = a.settings.finance
    text = f"""<!doctype html><html><head><meta charset="utf-8"><title>sunroof report</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}img{{max-width:520px}}figure{{display:inline-block}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}</style></head><body>
<h1>Rooftop solar potential</h1>
<p>Site {site['latitude']:.5f}, {site['longitude']:.5f} ({html.escape(site['timezone'])});
cells of {site['cellMeters']:g} m;
sky: {html.escape(site['sky'])}; mean flux {site['meanFluxKwhPerM2']} kWh/m²/year.</p>
{imgs}
<h2>Buildings (largest array each)</h2><table><tr>{head}</tr>{body}</table>
<p>Money: installed cost {fin.cost_per_watt}/W, electricity {fin.electricity_price}/kWh (export {fin.export_price}),
self-consumption up to {fin.self_consumption:.0%}, prices +{fin.price_increase:.0%}/year; all are flags of
<code>deepgallery run sunroof</code>. Full numbers per panel count:
<a href="building_insights.json">building_insights.json</a>.</p>
<h2>Notes</h2><ul>{notes}</ul></body></html>"""
    return write_text(path, text)


def write_all(a: Analysis, out: Path) -> dict[str, Path]:
    """Every output into folder `out`; returns name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    s = a.surface
    files = {
        "flux_tif": write_geotiff(out / "flux.tif", a.flux.annual.astype(np.float32), s,
                                  descriptions=["annual kWh/m2"]),
        "monthly_tif": write_geotiff(out / "monthly_flux.tif", a.flux.monthly.astype(np.float32), s,
                                     descriptions=[f"month {m + 1} kWh/m2" for m in range(12)]),
        "hourly_shade_tif": write_geotiff(out / "hourly_shade.tif", a.hourly_shade, s,
                                          descriptions=[f"month {m + 1}, 15th: bit h = sun seen at local hour h"
                                                        for m in range(12)]),
        "labels_tif": write_geotiff(out / "labels.tif", a.labels, s, descriptions=["0 ground, 1 roof, 2 tree"]),
        "segments_tif": write_geotiff(out / "segments.tif", segments_raster(a), s,
                                      descriptions=["roof segment index"]),
        "flux": flux_png(a, out / "flux.png"),
        "panels": panels_png(a, out / "panels.png"),
        "labels": labels_png(a, out / "labels.png"),
        "monthly": monthly_png(a, out / "monthly.png"),
    }
    info = insights(a)
    files["insights"] = write_text(out / "building_insights.json", json.dumps(info, indent=1, allow_nan=False,
                                                                            default=_json_default))
    pictures = {"annual flux": "flux.png", "segments and panels": "panels.png", "roof finder": "labels.png",
                "monthly flux": "monthly.png"}
    files["report"] = report_html(a, out / "report.html", pictures, info)
    return files


def _json_default(v):
    if isinstance(v, (np.floating, np.integer)):
        return v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    raise TypeError(type(v))
