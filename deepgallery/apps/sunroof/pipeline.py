"""The whole analysis of one surface model, step by step as the issue lists it:

1. roofs:   the U-Net labels ground / roof / tree (or footprints say where buildings are);
2. planes:  robust plane fitting inside every building;
3. shade:   horizons per azimuth sector, the sun of every hour of the year looked up against them;
4. flux:    beam + sky-diffuse + ground-reflected on every cell's own (fitted) surface, monthly and annual;
5. panels:  a layout per segment, ranked, PVWatts AC energy for 1..N panels, and the money.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .geo import Site, Surface
from .irradiance import Flux, IrradianceConfig, compute
from .panels import ArrayEnergy, FinanceConfig, Panel, PanelConfig, energy, layout, usable_roof
from .roofs import PlaneConfig, Segment, buildings_from_labels, plane_normals, roof_segments, segment_raster
from .scene import ROOF, TREE
from .shade import HorizonConfig, surface_normals
from .sun import Sky, representative_days


@dataclass
class Settings:
    irradiance: IrradianceConfig = field(default_factory=IrradianceConfig)
    horizon: HorizonConfig = field(default_factory=HorizonConfig)
    planes: PlaneConfig = field(default_factory=PlaneConfig)
    panel: PanelConfig = field(default_factory=PanelConfig)
    finance: FinanceConfig = field(default_factory=FinanceConfig)
    device: str | None = None  # None: numpy; "cpu"/"cuda": torch
    show_progress: bool = False


@dataclass
class BuildingResult:
    id: int
    segments: list[Segment]
    panels: list[Panel]  # ranked, best first
    energy: ArrayEnergy
    finance: list[dict]  # one per configuration (a few representative sizes)
    unshaded: dict[int, float]  # segment index -> unshaded annual kWh/m² of its plane


@dataclass
class Analysis:
    surface: Surface
    site: Site
    sky: Sky
    labels: np.ndarray  # (H, W) uint8 ground/roof/tree
    buildings: np.ndarray  # (H, W) int32 ids
    segments: list[Segment]
    flux: Flux
    hourly_shade: np.ndarray  # (12, H, W) uint32: bit h set when the sun is seen at local hour h on the 15th
    results: list[BuildingResult]
    settings: Settings
    ortho: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def label_roofs(surface: Surface, ortho: np.ndarray | None, net=None, device: str = "cpu") -> np.ndarray:
    """Ground / roof / tree per cell from the shipped (or given) network."""
    from .data import features
    from .model import load_shipped

    net = net or load_shipped()
    return net.predict(features(surface.dsm, surface.cell, ortho), device=device)


def unshaded_annual(sky: Sky, seg: Segment, albedo: float) -> float:
    from .panels import plane_poa

    return float(plane_poa(sky, seg.pitch, seg.azimuth, albedo).sum() * sky.hours / 1000.0)


def analyse(surface: Surface, site: Site, sky: Sky, settings: Settings | None = None, labels: np.ndarray | None = None,
            ortho: np.ndarray | None = None, footprints: np.ndarray | None = None, net=None) -> Analysis:
    settings = settings or Settings()
    notes = list(surface.notes)
    if sky.dark_months:
        names = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
        notes.append("polar night: the sun stays below the horizon all of " +
                     ", ".join(names[m] for m in sky.dark_months) + " (zero irradiation there)")
    cell = surface.cell
    if labels is None:
        labels = label_roofs(surface, ortho, net, device=settings.device or "cpu")
    if footprints is not None:
        # footprints decide where buildings are; inside them, whatever is not a tree is roof
        buildings = np.where(labels != TREE, footprints, 0).astype(np.int32)
        labels = np.where(buildings > 0, ROOF, np.where(labels == ROOF, 0, labels)).astype(np.uint8)
    else:
        buildings = buildings_from_labels(labels, cell, settings.planes)
    normals = surface_normals(surface.dsm, cell)
    segments = roof_segments(surface.dsm, normals, buildings, cell, settings.planes)
    fitted = plane_normals(normals, segments)
    az, el = representative_days(site)
    flux = compute(surface.dsm, cell, sky, settings.irradiance, settings.horizon, normals=fitted,
                   masks_at=(az.ravel(), el.ravel()), device=settings.device, show_progress=settings.show_progress)
    masks = flux.masks.reshape(12, 24, *surface.shape)
    bits = (masks.astype(np.uint32) << np.arange(24, dtype=np.uint32)[None, :, None, None]).sum(1, dtype=np.uint32)
    annual = flux.annual
    usable = usable_roof(segments, surface.dsm, settings.panel, cell)
    by_index = {s.index: s for s in segments}
    results = []
    for b in range(1, int(buildings.max()) + 1):
        segs = [s for s in segments if s.building == b]
        if not segs:
            continue
        unshaded = {s.index: unshaded_annual(sky, s, settings.irradiance.albedo) for s in segs}
        panels: list[Panel] = []
        for s in segs:
            panels += layout(s, usable == s.index, annual, settings.panel, cell)
        ae = energy(panels, by_index, unshaded, sky, settings.panel, settings.irradiance.albedo)
        if settings.panel.max_panels and len(panels) > settings.panel.max_panels:
            n = settings.panel.max_panels
            panels = panels[:n]
            ae = ArrayEnergy(ae.dc_per_panel[:n], ae.ac_cumulative[:n], ae.dc_cumulative[:n])
        from .panels import finance

        sizes = sorted({n for n in (4, 8, 12, 16, 20, 30, 40, len(panels)) if 1 <= n <= len(panels)})
        fin = [finance(n, float(ae.ac_cumulative[n - 1]), settings.panel, settings.finance) for n in sizes]
        results.append(BuildingResult(b, segs, panels, ae, fin, unshaded))
    return Analysis(surface, site, sky, labels, buildings, segments, flux, bits, results, settings, ortho, notes)


def segments_raster(a: Analysis) -> np.ndarray:
    return segment_raster(a.segments, a.surface.shape)
