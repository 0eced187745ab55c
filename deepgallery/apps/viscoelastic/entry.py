"""Hooks for the CLI, the demo page and the web gallery (see docs/CONTRIBUTING.md); the benchmark is bench.py."""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

from ...core.app import DemoItem
from ...core.config import add_config_args, number
from ...core.errors import UserError
from ...core.runtime import add_device_arg, choose_device
from .compare import EVENT_TIMES, RUN_DEFAULTS, compare, depth_table, positive, read_params
from .compare import number as parse_number
from .physics import Cycle, EarthModel
from .report import DEMOS, print_run, summary_line, write_json
from .variants import VARIANTS, for_run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    d, c = EarthModel(), Cycle()
    parser.add_argument("--model", help="layered (default: elastic upper crust over a Maxwell lower crust over a "
                        "Maxwell mantle, the paper's rheology), savage-prescott (elastic layer over one Maxwell "
                        "half-space; also the earthquake-cycle model of --recurrence and the stresses of --depth), "
                        "or 3d (a finite vertical strike-slip fault of --fault-length from the surface to "
                        "--fault-depth in an elastic layer over a Maxwell half-space of --viscosity; along-strike "
                        "displacement u_x on the profile across the fault's centre)")
    parser.add_argument("--fault-length", type=float, help="L, km, of the 3-D fault (--model 3d; default 120)")
    parser.add_argument("--params", metavar="JSON", help="a JSON file with any of model, fault_depth, "
                        "layer_thickness, lower_crust_thickness, viscosity, mantle_viscosity, shear_modulus, slip, "
                        "recurrence, plate_rate, x, t, x_max, t_max, depth; flags given on the command line win")
    parser.add_argument("--fault-depth", type=float,
                        help=f"D, km: the fault slips from 0 to D (default {d.fault_depth})")
    parser.add_argument("--layer-thickness", type=float,
                        help=f"H, km: elastic layer (upper crust) over the Maxwell material "
                             f"(default {d.layer_thickness})")
    parser.add_argument("--lower-crust-thickness", type=float, help="H2, km: Maxwell lower crust under the elastic "
                        f"layer, layered model (default {d.lower_crust_thickness})")
    parser.add_argument("--viscosity", type=float, help="eta, Pa s, of the Maxwell material under the elastic layer: "
                        f"the lower crust (layered) or the half-space (savage-prescott) (default {d.viscosity:g})")
    parser.add_argument("--mantle-viscosity", type=float, help="eta3, Pa s, of the Maxwell mantle half-space, layered "
                        f"model (default {d.mantle_viscosity:g})")
    parser.add_argument("--shear-modulus", type=float, help=f"mu, GPa (default {d.shear_modulus})")
    parser.add_argument("--slip", type=float, help=f"s, m, coseismic slip (default {d.slip}; single event only)")
    parser.add_argument("--recurrence", type=float, help="T_r, yr: show a steady earthquake cycle with an event "
                        f"every T_r years (interseismic velocity) instead of one event (e.g. {c.recurrence:g})")
    parser.add_argument("--plate-rate", type=float, help=f"V, mm/yr, for --recurrence (default {c.plate_rate:g})")
    parser.add_argument("--x", type=float, nargs="+", help="distances from the fault, km, for the curves vs time "
                        "and the table (default 5 15 30 60)")
    parser.add_argument("--t", type=float, nargs="+", help="years after the (last) earthquake for the curves vs "
                        "distance and the table (default 0 2 10 30 100; with --recurrence 1%%..95%% of T_r)")
    parser.add_argument("--x-max", type=float, help="half-width of the profile, km (default 150)")
    parser.add_argument("--t-max", type=float, help="end of the curves vs time, years (default: the largest --t; "
                        "with --recurrence: T_r)")
    parser.add_argument("--depth", type=float, help="also print the solver's displacement and stresses "
                        "(sigma_xy, sigma_yz, MPa) at this depth, km, for every (--x, --t); single event only")
    parser.add_argument("--checkpoint", help="surrogate checkpoint (default: the shipped one)")
    parser.add_argument("-o", "--out", default="viscoelastic.png", help="output PNG (default viscoelastic.png)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    add_device_arg(parser)  # where the network computes; the solvers are numpy on the CPU


def run(args: argparse.Namespace) -> int:
    params = read_params(args.params)

    def pick(key, default):
        value = getattr(args, key)
        return value if value is not None else params.get(key, default)

    m = EarthModel(**{k: parse_number(k, pick(k, getattr(EarthModel(), k))) for k in EarthModel.__dataclass_fields__})
    cycle = None
    if pick("recurrence", None) is not None:
        cycle = Cycle(parse_number("recurrence", pick("recurrence", None)),
                      parse_number("plate_rate", pick("plate_rate", Cycle().plate_rate)))
    grid = {k: pick(k, v) for k, v in RUN_DEFAULTS.items()}
    kind = for_run(grid["model"], cycle is not None).kind
    device = choose_device(args.device)
    at_depth = None
    if grid["depth"] is not None:  # checked before anything is written
        if kind != "savage-prescott":  # solver.field: the single-layer solution at depth
            raise UserError("--depth (stresses at depth) is available for --model savage-prescott only")
        at_depth = depth_table(m, grid["x"], EVENT_TIMES if grid["t"] is None else grid["t"], grid["depth"], cycle)
    table, description = compare(m, grid["x"], grid["t"], grid["x_max"], grid["t_max"], Path(args.out),
                                 args.checkpoint, cycle, kind, parse_number("fault_length", grid["fault_length"]),
                                 device=device)
    print_run(description, table, args.out, m, at_depth, grid["depth"])
    if args.json:
        write_json(args.json, table, m, kind, cycle, at_depth, grid["depth"])
    return 0


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .model import SurrogateConfig
    from .train import TrainConfig

    parser.add_argument("--out", default="runs/viscoelastic/surrogate",
                        help="checkpoint path without suffix (writes OUT.safetensors + OUT.json)")
    for v in VARIANTS:
        if v.train_flag:
            parser.add_argument(f"--{v.train_flag}", action="store_true", help=v.train_help)
    parser.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    parser.add_argument("--overwrite", action="store_true", help="start over even if --out exists")
    add_config_args(parser, TrainConfig)
    parser.add_argument("--width", type=number(int, "--width", minimum=1), default=None,
                        help=f"hidden units (default {SurrogateConfig().width}; 3-D: 48)")
    parser.add_argument("--depth", type=number(int, "--depth", minimum=1), default=SurrogateConfig().depth,
                        help=f"hidden layers (default {SurrogateConfig().depth})")
    parser.add_argument("--threads", type=number(int, "--threads", minimum=0), default=0,
                        help="CPU threads for torch in each process (default: torch's choice)")
    add_device_arg(parser)  # several processes: torchrun --nproc_per_node N -m deepgallery train viscoelastic ...


def train(args: argparse.Namespace) -> int:
    from ...core import checkpoint
    from ...core.distributed import run_training
    from ...core.runtime import torch_threads
    from .train import TrainConfig
    from .train import train as train_loop

    chosen = [v for v in VARIANTS if v.train_flag and getattr(args, v.train_flag)]
    if len(chosen) > 1:
        raise UserError("choose one of " + ", ".join(f"--{v.train_flag}" for v in VARIANTS if v.train_flag))
    variant = chosen[0] if chosen else next(v for v in VARIANTS if v.train_flag is None)
    if not math.isfinite(args.lr):
        raise UserError(f"--lr must be a finite number, got {args.lr}")
    if checkpoint.exists(args.out) and not (args.resume or args.overwrite):
        raise UserError(f"{args.out} exists: add --resume to continue it or --overwrite to start over")
    mc = variant.config(**({"depth": args.depth} | ({"width": args.width} if args.width else {})))

    def train_fn(tc, ctx):
        with torch_threads(args.threads):
            return train_loop(args.out, tc, mc, resume=args.resume, ctx=ctx)

    return run_training(args, TrainConfig, train_fn, app="viscoelastic")


def demo(out_dir: Path) -> list[DemoItem]:
    out_dir = Path(out_dir)
    items = []
    for i, (title, m, cycle, xs, ts, x_max, kind) in enumerate(DEMOS):
        start = time.perf_counter()
        png = out_dir / f"viscoelastic-{i}.png"
        table, description = compare(m, xs, ts, x_max, None, png, cycle=cycle, model_kind=kind)
        inputs = {"model": kind} | {k: f"{v:g}" for k, v in m.as_dict().items()} | (
            {k: f"{v:g}" for k, v in cycle.__dict__.items()} if cycle else {})
        items.append(DemoItem(title=title, inputs=inputs, outputs=[png], text=f"{description}; {summary_line(table)}",
                              seconds=time.perf_counter() - start))
    return items


def predict(fault_depth: float = 15.0, layer_thickness: float = 30.0, viscosity: float = 1e19,
            shear_modulus: float = 30.0, slip: float = 5.0, t_max: float = 100.0, x_max: float = 150.0,
            lower_crust_thickness: float = 20.0, mantle_viscosity: float = 5e19, model: str = "layered",
            fault_length: float = 120.0) -> dict:
    """The web gallery's call: a PNG of network vs solver after one event and the table at a few (x, t)."""
    m = EarthModel(*(parse_number(k, v) for k, v in ((
        "fault_depth", fault_depth), ("layer_thickness", layer_thickness), ("viscosity", viscosity),
        ("shear_modulus", shear_modulus), ("slip", slip), ("lower_crust_thickness", lower_crust_thickness),
        ("mantle_viscosity", mantle_viscosity))))
    t_max, x_max = positive("t_max", t_max), positive("x_max", x_max)
    png = Path(tempfile.mkdtemp(prefix="viscoelastic-")) / "viscoelastic.png"
    times = [0.0, 0.05 * t_max, 0.2 * t_max, 0.5 * t_max, t_max]
    distances = [0.05 * x_max, 0.1 * x_max, 0.25 * x_max, 0.5 * x_max]
    table, _ = compare(m, distances, times, x_max, t_max, png, model_kind=model,
                       fault_length=parse_number("fault_length", fault_length))
    return {"plot": png, "table": {"headers": table["headers"], "data": table["data"]},
            "summary": table["summary"]}
