"""Hooks for `deepgallery run|train|demo sunroof` and the web gallery (see core/app.py). The analysis is in
pipeline.py (roofs, planes, shade, flux, panels), the outputs in report.py, the benchmark in bench.py."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import add_config_args, config_from_args, number
from ...core.errors import UserError
from ...core.runtime import add_device_arg

DEFAULT_TOWN_SEED = 7
TOWN_SITE = (48.137, 11.575)  # generated towns are placed in Munich (UTM zone 32N), at 0.5 m per cell
WEB_EXAMPLES = [{"town_seed": DEFAULT_TOWN_SEED, "panels": 0}]


# ---------------------------------------------------------------------------------------------- run


def _configs():
    from .irradiance import IrradianceConfig
    from .panels import FinanceConfig, PanelConfig
    from .roofs import PlaneConfig
    from .shade import HorizonConfig

    return IrradianceConfig, HorizonConfig, PlaneConfig, PanelConfig, FinanceConfig


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dsm", nargs="?", help="digital surface model, a GeoTIFF in a projected CRS (metres)")
    parser.add_argument("--ortho", help="RGB orthophoto GeoTIFF of the same area (better roof finding)")
    parser.add_argument("--footprints", help="building footprints as GeoJSON polygons in the DSM's CRS")
    parser.add_argument("--weather", help="typical-year weather file, TMY3 (.csv) or EPW (.epw); default clear sky")
    parser.add_argument("--town", type=number(int, "--town", minimum=0),
                        help="no DSM: analyse the generated town of this seed (what the demo shows)")
    parser.add_argument("--town-size", type=number(int, "--town-size", minimum=64, maximum=4096), default=256,
                        help="cells per side of the generated town (0.5 m each)")
    parser.add_argument("--step-minutes", type=number(int, "--step-minutes", minimum=1, maximum=60), default=60,
                        help="time step of the sun over the year (default: hourly)")
    parser.add_argument("--linke", type=number(float, "--linke", minimum=1, maximum=10),
                        help="a fixed Linke turbidity (default: pvlib's monthly climatology for the site)")
    parser.add_argument("--checkpoint", help="a roof network from `deepgallery train sunroof --export NAME`")
    parser.add_argument("-o", "--out", default="sunroof-out", help="output folder (default: sunroof-out)")
    for cls in _configs():
        add_config_args(parser, cls)
    add_device_arg(parser, "cpu", "cpu: numpy shade; cuda: the torch path on a GPU (also for the network)")


def town_surface(seed: int, size: int = 256):
    """A generated town as a georeferenced Surface (UTM 32N around Munich), its photo and its truth."""
    from affine import Affine
    from pyproj import Transformer
    from rasterio.crs import CRS

    from .geo import Surface
    from .scene import town

    sc = town(size=size, cell=0.5, seed=seed)
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32632", always_xy=True).transform(TOWN_SITE[1], TOWN_SITE[0])
    transform = Affine(0.5, 0, round(x) - size * 0.25, 0, -0.5, round(y) + size * 0.25)
    return Surface(dsm=sc.dsm, cell=0.5, transform=transform, crs=CRS.from_epsg(32632)), sc


def analyse_inputs(dsm: str | None, ortho: str | None = None, footprints: str | None = None,
                   weather: str | None = None, town_seed: int | None = None, town_size: int = 256,
                   step_minutes: int = 60, linke: float | None = None, checkpoint: str | None = None,
                   settings=None):
    """Read and check every input (all mistakes raise before anything is written), then analyse."""
    from . import sun
    from .geo import read_dsm, read_footprints, read_ortho, site_of
    from .pipeline import Settings, analyse

    settings = settings or Settings()
    photo = None
    if dsm:
        surface = read_dsm(dsm)
        if ortho:
            photo = read_ortho(ortho, surface)
    else:
        if ortho or footprints:
            raise UserError("--ortho and --footprints need a DSM; give the DSM GeoTIFF first")
        surface, sc = town_surface(DEFAULT_TOWN_SEED if town_seed is None else town_seed, town_size)
        photo = sc.ortho
    prints = read_footprints(footprints, surface) if footprints else None
    site = site_of(surface)
    sky = sun.weather_file(weather, site) if weather else sun.clear_sky(site, step_minutes, linke)
    net = None
    if checkpoint:
        from .model import load

        net = load(checkpoint)
    return analyse(surface, site, sky, settings, ortho=photo, footprints=prints, net=net)


def _settings(args: argparse.Namespace):
    from .pipeline import Settings

    irr, hor, planes, panel, fin = (config_from_args(c, args) for c in _configs())
    device = None if args.device in ("cpu", "auto") else args.device
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA GPU is visible; use --device cpu")
    return Settings(irr, hor, planes, panel, fin, device=device, show_progress=True)


def write_outputs(analysis, out: Path) -> dict[str, Path]:
    """All files into a temporary folder beside `out`, then moved into `out` (nothing half-written)."""
    from ...core.atomic import unwritable
    from .report import write_all

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; give a folder for the outputs")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise unwritable(out, exc) from None
    try:
        files = write_all(analysis, staging)
        out.mkdir(exist_ok=True)
        moved = {}
        for name, path in files.items():
            target = out / Path(path).name
            os.replace(path, target)
            moved[name] = target
        return moved
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def summary_lines(analysis) -> list[str]:
    from .report import energy_rows

    lines = [f"site {analysis.site.latitude:.4f}, {analysis.site.longitude:.4f} ({analysis.site.timezone}), "
             f"{analysis.sky.source}; {len(analysis.results)} buildings, {len(analysis.segments)} roof segments"]
    lines += [f"note: {n}" for n in analysis.notes]
    for r in energy_rows(analysis):
        lines.append(f"building {r['building']}: {r['segments']} segments, {r['roof m²']} m² roof, {r['panels']} "
                     f"panels ({r['kWp']} kWp) -> {r['AC kWh/yr']:.0f} kWh/yr AC, payback {r['payback yr']} yr")
    return lines


def run(args: argparse.Namespace) -> int:
    if not args.dsm and args.town is None:
        raise UserError("give a DSM GeoTIFF (deepgallery run sunroof dsm.tif --ortho photo.tif -o out/) "
                        "or --town SEED for a generated town")
    settings = _settings(args)
    start = time.perf_counter()
    analysis = analyse_inputs(args.dsm, args.ortho, args.footprints, args.weather, args.town, args.town_size,
                              args.step_minutes, args.linke, args.checkpoint, settings)
    files = write_outputs(analysis, Path(args.out))
    for line in summary_lines(analysis):
        print(line)
    print(f"wrote {len(files)} files to {args.out} ({time.perf_counter() - start:.1f} s): report.html, "
          "building_insights.json, flux.tif/png, monthly_flux.tif, hourly_shade.tif, ...")
    return 0


def predict(dsm: Any = None, ortho: Any = None, town_seed: int = DEFAULT_TOWN_SEED, panels: int = 0) -> dict[str, Any]:
    """The web gallery's call: a DSM GeoTIFF (or a generated town) → flux map, panel map, table, insights."""
    from .pipeline import Settings
    from .report import energy_rows

    settings = Settings()
    settings.panel.max_panels = int(panels or 0)
    analysis = analyse_inputs(str(dsm) if dsm else None, str(ortho) if ortho else None, town_seed=int(town_seed),
                              settings=settings)
    out = Path(tempfile.mkdtemp(prefix="sunroof-"))
    files = write_outputs(analysis, out)
    import json

    return {"flux": files["flux"], "panels": files["panels"], "table": energy_rows(analysis),
            "insights": json.loads(files["insights"].read_text(encoding="utf-8"))}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = ("a folder in the Inria Aerial Image Labeling layout (images/ + gt/ GeoTIFFs); default: generated "
            "towns")
    add_training_args(parser, TrainConfig, out="runs/sunroof", data=data)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx),
                        lambda result, path, cfg, command: export(result, path, cfg, args.data, command),
                        app="sunroof")


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The generated town: flux map, segments and panels, the energy table (and the whole report)."""
    start = time.perf_counter()
    analysis = analyse_inputs(None, town_seed=DEFAULT_TOWN_SEED)
    files = write_outputs(analysis, Path(out_dir) / "town")
    text = "\n".join(summary_lines(analysis))
    return [DemoItem(title=f"generated town (seed {DEFAULT_TOWN_SEED}, 128 m x 128 m, clear sky, Munich)",
                     inputs={"town_seed": str(DEFAULT_TOWN_SEED)},
                     outputs=[files["flux"], files["panels"], files["labels"], files["monthly"], files["report"],
                              files["insights"]], text=text, seconds=time.perf_counter() - start)]
