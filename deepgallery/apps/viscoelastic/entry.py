"""Hooks for the CLI, the demo page, the benchmark and the web gallery (see docs/CONTRIBUTING.md)."""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from ...core.app import DemoItem
from ...core.atomic import write_text
from ...core.errors import UserError, unknown_name_error
from . import layered, layered3d, solver
from .figure import Quantity
from .physics import (
    Cycle,
    EarthModel,
    check_cycle_domain,
    check_domain,
    check_grid,
    check_layered3d_domain,
    check_layered_domain,
    layered3d_solver_displacement,
    layered3d_surrogate_displacement,
    layered_solver_displacement,
    layered_surrogate_displacement,
    solver_displacement,
    solver_velocity,
    surrogate_displacement,
    surrogate_velocity,
)

HERE = Path(__file__).parent
SHIPPED = {"postseismic": HERE / "checkpoints" / "surrogate", "cycle": HERE / "checkpoints" / "cycle",
           "layered": HERE / "checkpoints" / "layered", "layered3d": HERE / "checkpoints" / "layered3d"}
FIX = ("Train one with `deepgallery train viscoelastic --out PATH` (add --layered for the three-layer model, "
       "--layered3d for the 3-D finite-fault model, --cycle for the cycle model) and pass --checkpoint PATH, or "
       "reinstall deepgallery to restore the shipped checkpoints.")
MODELS = ("layered", "savage-prescott", "3d")  # --model: three-layer Maxwell earth (2-D), one Maxwell half-space
# (2-D), or the 3-D finite fault in an elastic layer over a Maxwell half-space (layered3d.py)


def load(path: str | Path | None = None, task: str = "postseismic"):
    """The trained surrogate for `task` (shipped one by default); UserError with the fix when missing/corrupt."""
    from .train import load_surrogate

    model, meta = load_surrogate(path or SHIPPED[task], how_to_fix=FIX)
    if meta["task"] != task:
        raise UserError(f"{path} holds a {meta['task']} model, but a {task} model is needed here. {FIX}")
    return model


# ---------------------------------------------------------------- run
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


RUN_DEFAULTS = {"x": [5.0, 15.0, 30.0, 60.0], "t": None, "x_max": 150.0, "t_max": None, "depth": None,
                "model": None, "fault_length": 120.0}
EVENT_TIMES = [0.0, 2.0, 10.0, 30.0, 100.0]  # yr after a single event
CYCLE_PHASES = [0.01, 0.1, 0.3, 0.6, 0.95]  # fractions of T_r


def _read_params(path: str | None) -> dict:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such parameter file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{p}: not valid JSON (expected e.g. {{\"fault_depth\": 15, \"viscosity\": 1e19}})") from None
    allowed = set(EarthModel.__dataclass_fields__) | set(Cycle.__dataclass_fields__) | set(RUN_DEFAULTS)
    if not isinstance(data, dict) or set(data) - allowed:
        unknown = sorted(set(data) - allowed) if isinstance(data, dict) else data
        raise UserError(f"{p}: unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}")
    return data


def _number(name: str, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number, got {value!r}") from None


def _positive(name: str, value) -> float:
    value = _number(name, value)
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a finite number > 0, got {value}")
    return value


def _title(m: EarthModel, extra: str, model: str = "savage-prescott") -> str:
    if model == "layered":
        tau2, tau3 = m.maxwell_years
        return (f"D = {m.fault_depth:g} km, elastic H1 = {m.layer_thickness:g} km, lower crust H2 = "
                f"{m.lower_crust_thickness:g} km (eta {m.viscosity:.3g} Pa s, eta/mu = {tau2:.3g} yr), mantle eta "
                f"{m.mantle_viscosity:.3g} Pa s ({tau3:.3g} yr), mu = {m.shear_modulus:g} GPa, {extra}")
    return (f"D = {m.fault_depth:g} km, H = {m.layer_thickness:g} km, eta = {m.viscosity:.3g} Pa s, "
            f"mu = {m.shear_modulus:g} GPa (tau = 2 eta/mu = {m.tau_years:.3g} yr), {extra}")


def model_name(name, cycle: bool) -> str:
    """--model resolved: layered by default, savage-prescott for the cycle; UserError for unknown names."""
    if name is None:
        return "savage-prescott" if cycle else "layered"
    if name not in MODELS:
        raise unknown_name_error("model", str(name), MODELS)
    if cycle and name != "savage-prescott":
        raise UserError("--recurrence (the earthquake cycle) is available for --model savage-prescott only")
    return name


def predict_arrays(m: EarthModel, distances, times, x_max, t_max, out_png: Path, checkpoint: str | None = None,
                   cycle: Cycle | None = None, model_kind: str | None = None, fault_length: float = 120.0) -> dict:
    """Check everything, then write the figure and return the table (the shared core of run/predict/demo)."""
    from .figure import comparison

    model_kind = model_name(model_kind, cycle is not None)
    m.check()
    if cycle is not None:
        cycle.check()
        times = [f * cycle.recurrence for f in CYCLE_PHASES] if times is None else times
    x, t = check_grid(distances, EVENT_TIMES if times is None else times)
    if cycle is not None:
        cycle.check(t)
    x_max = _positive("x_max", x_max)
    if Path(out_png).suffix.lower() != ".png":
        raise UserError(f"{out_png}: the figure is written as PNG; give a path ending in .png")
    if model_kind == "3d":
        t_max = _positive("t_max", float(np.max(t)) if t_max is None else t_max)
        fault_length = _positive("fault_length", fault_length)
        model = load(checkpoint, "layered3d")
        check_layered3d_domain(model.cfg, m, fault_length, 0.0, np.append(x, x_max), np.append(t, t_max))
        q = Quantity("along-strike displacement u_x at the fault's centre", "m",
                     lambda a, b: layered3d_solver_displacement(m, fault_length, a, b)[0],
                     lambda a, b: layered3d_surrogate_displacement(model, m, fault_length, a, b)[0],
                     f"3-D: L = {fault_length:g} km, D = {m.fault_depth:g} km, elastic H = {m.layer_thickness:g} km "
                     f"over Maxwell eta = {m.viscosity:.3g} Pa s (eta/mu = {m.maxwell_years[0]:.3g} yr), "
                     f"s = {m.slip:g} m", distance_label="distance across the fault y (km), at x = 0",
                     distance_symbol="y")
    elif model_kind == "layered":
        t_max = _positive("t_max", float(np.max(t)) if t_max is None else t_max)
        model = load(checkpoint, "layered")
        check_layered_domain(model.cfg, m, np.append(x, x_max), np.append(t, t_max))
        q = Quantity("surface displacement u", "m", lambda a, b: layered_solver_displacement(m, a, b),
                     lambda a, b: layered_surrogate_displacement(model, m, a, b),
                     _title(m, f"s = {m.slip:g} m", "layered"))
    elif cycle is None:
        t_max = _positive("t_max", float(np.max(t)) if t_max is None else t_max)
        model = load(checkpoint, "postseismic")
        check_domain(model.cfg, m, np.append(x, x_max), np.append(t, t_max))
        q = Quantity("surface displacement u", "m", lambda a, b: solver_displacement(m, a, b),
                     lambda a, b: surrogate_displacement(model, m, a, b), _title(m, f"s = {m.slip:g} m"))
    else:
        t_max = _positive("t_max", cycle.recurrence if t_max is None else t_max)
        t_max = min(t_max, cycle.recurrence * (1 - 1e-3))
        model = load(checkpoint, "cycle")
        check_cycle_domain(model.cfg, m, cycle, np.append(x, x_max), t)
        q = Quantity("interseismic velocity v", "mm/yr", lambda a, b: solver_velocity(m, cycle, a, b),
                     lambda a, b: surrogate_velocity(model, m, cycle, a, b),
                     _title(m, f"T_r = {cycle.recurrence:g} yr, V = {cycle.plate_rate:g} mm/yr "
                               f"(s = {cycle.plate_rate * cycle.recurrence / 1000:g} m)"),
                     time_label="time since the last earthquake t (yr)")
    return comparison(q, x, t, x_max, (0.0, t_max), out_png)


def run(args: argparse.Namespace) -> int:
    params = _read_params(args.params)

    def pick(key, default):
        value = getattr(args, key)
        return value if value is not None else params.get(key, default)

    m = EarthModel(**{k: _number(k, pick(k, getattr(EarthModel(), k))) for k in EarthModel.__dataclass_fields__})
    cycle = None
    if pick("recurrence", None) is not None:
        cycle = Cycle(_number("recurrence", pick("recurrence", None)),
                      _number("plate_rate", pick("plate_rate", Cycle().plate_rate)))
    grid = {k: pick(k, v) for k, v in RUN_DEFAULTS.items()}
    kind = model_name(grid["model"], cycle is not None)
    at_depth = None
    if grid["depth"] is not None:  # checked before anything is written
        if kind != "savage-prescott":
            raise UserError("--depth (stresses at depth) is available for --model savage-prescott only")
        at_depth = depth_table(m, grid["x"], EVENT_TIMES if grid["t"] is None else grid["t"], grid["depth"], cycle)
    table = predict_arrays(m, grid["x"], grid["t"], grid["x_max"], grid["t_max"], Path(args.out), args.checkpoint,
                           cycle, kind, _number("fault_length", grid["fault_length"]))
    if kind == "3d":
        print(f"model: 3d; fault length {grid['fault_length']:g} km; Maxwell time eta/mu {m.maxwell_years[0]:.4g} yr; "
              "u_x along the profile x = 0 (y = distance)")
    elif kind == "layered":
        tau2, tau3 = m.maxwell_years
        print(f"model: layered; Maxwell times eta/mu: lower crust {tau2:.4g} yr, mantle {tau3:.4g} yr")
    else:
        print(f"model: savage-prescott; tau = 2 eta / mu = {m.tau_years:.4g} yr"
              + (f", T_r / tau = {cycle.recurrence / m.tau_years:.3g}" if cycle else ""))
    print("  ".join(f"{h:>22}" for h in table["headers"]))
    for row in table["data"]:
        print("  ".join(f"{v:>22g}" for v in row))
    s = table["summary"]
    print(f"relative RMSE network vs solver on the plotted curves: {s['rel_rmse_on_plotted_curves']:.2e} "
          f"(max |error| {s['max_abs_error']:.3g} {s['unit']})")
    print(f"figure: {args.out}")
    if at_depth is not None:
        where = "elastic layer" if grid["depth"] < m.layer_thickness else "Maxwell half-space"
        print(f"solver at depth {grid['depth']:g} km ({where}):")
        print("  ".join(f"{h:>16}" for h in at_depth["headers"]))
        for row in at_depth["data"]:
            print("  ".join(f"{v:>16.6g}" for v in row))
    if args.json:
        record = {"model": m.as_dict(), "model_kind": kind, "cycle": cycle and cycle.__dict__, **table}
        if at_depth is not None:
            record["at_depth"] = {"depth_km": grid["depth"], **at_depth}
        write_text(args.json, json.dumps(record, indent=2) + "\n")
    return 0


def depth_table(m: EarthModel, distances, times, depth, cycle: Cycle | None) -> dict:
    """Solver only (solver.field): w (m), sigma_xy and sigma_yz (MPa) at depth z (km) for every (x, t)."""
    if cycle is not None:
        raise UserError("--depth is available for a single event only (drop --recurrence)")
    depth = _number("depth", depth)
    if not math.isfinite(depth) or depth < 0:
        raise UserError(f"depth must be a finite number >= 0 km, got {depth}")
    m.check()
    x, t = check_grid(distances, times)
    if np.any(x == 0):
        raise UserError("--depth needs distances off the fault plane (x != 0)")
    gx, gt = np.meshgrid(x, t, indexing="ij")
    # x in km and w in m: mu (GPa) * dw/dx (m/km) is the stress in MPa
    w, sxy, syz = solver.field(gx, depth, gt, m.fault_depth, m.layer_thickness, m.tau_years, m.slip, m.shear_modulus)
    rows = [[float(a), float(b), float(c), float(d), float(e)] for a, b, c, d, e in
            zip(gx.ravel(), gt.ravel(), w.ravel(), sxy.ravel(), syz.ravel(), strict=True)]
    return {"headers": ["x (km)", "t (yr)", "w (m)", "sigma_xy (MPa)", "sigma_yz (MPa)"], "data": rows}


# ---------------------------------------------------------------- train
def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .model import SurrogateConfig
    from .train import TrainConfig

    tc, mc = TrainConfig(), SurrogateConfig()
    parser.add_argument("--out", default="runs/viscoelastic/surrogate",
                        help="checkpoint path without suffix (writes OUT.safetensors + OUT.json)")
    parser.add_argument("--cycle", action="store_true",
                        help="train the earthquake-cycle velocity model instead of the single-event one")
    parser.add_argument("--layered", action="store_true",
                        help="train the three-layer model (elastic upper crust, Maxwell lower crust and mantle; "
                             "labels from the wavenumber/Talbot solver, ~25 s per 300k points)")
    parser.add_argument("--layered3d", action="store_true",
                        help="train the 3-D finite-fault model (elastic layer over a Maxwell half-space; labels "
                             "from layered3d.py at ~1.5 ms per point: ~3 min per 120k points)")
    parser.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    parser.add_argument("--overwrite", action="store_true", help="start over even if --out exists")
    parser.add_argument("--steps", type=int, default=tc.steps, help=f"Adam steps (default {tc.steps})")
    parser.add_argument("--batch-size", type=int, default=tc.batch_size, help=f"(default {tc.batch_size})")
    parser.add_argument("--lr", type=float, default=tc.lr, help=f"peak learning rate (default {tc.lr})")
    parser.add_argument("--samples", type=int, default=tc.samples,
                        help=f"solver-labelled training points (default {tc.samples})")
    parser.add_argument("--held-out", type=int, default=tc.held_out, help=f"test points (default {tc.held_out})")
    parser.add_argument("--save-every", type=int, default=tc.save_every, help="steps between checkpoints")
    parser.add_argument("--width", type=int, default=None, help=f"hidden units (default {mc.width})")
    parser.add_argument("--depth", type=int, default=mc.depth, help=f"hidden layers (default {mc.depth})")
    parser.add_argument("--seed", type=int, default=tc.seed)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")


def train(args: argparse.Namespace) -> int:
    import torch

    from ...core import checkpoint
    from .model import CycleConfig, Layered3DConfig, LayeredConfig, SurrogateConfig
    from .train import TrainConfig
    from .train import train as train_loop

    if args.cycle + args.layered + args.layered3d > 1:
        raise UserError("choose one of --cycle, --layered and --layered3d")
    config_cls = (CycleConfig if args.cycle else LayeredConfig if args.layered else
                  Layered3DConfig if args.layered3d else SurrogateConfig)
    args.width = config_cls().width if args.width is None else args.width
    for name in ("steps", "batch_size", "samples", "held_out", "save_every", "width", "depth"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UserError(f"--lr must be > 0, got {args.lr}")
    if checkpoint.exists(args.out) and not (args.resume or args.overwrite):
        raise UserError(f"{args.out} exists: add --resume to continue it or --overwrite to start over")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    tc = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, samples=args.samples,
                     held_out=args.held_out, seed=args.seed, save_every=args.save_every)
    train_loop(args.out, tc, config_cls(width=args.width, depth=args.depth), resume=args.resume)
    return 0


# ---------------------------------------------------------------- bench
def _cpu_seconds(calls: list, repeats: int) -> list[float]:
    """Best-of-`repeats` CPU time of each call, interleaved. CPU time of this process (not wall time) keeps the
    ratio fair on a machine shared with other jobs; both sides run on one thread, so it equals their work."""
    best = [math.inf] * len(calls)
    for _ in range(repeats):
        for i, fn in enumerate(calls):
            start = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - start)
    return best


HEADLINE = "3d"  # which layered model is the bench headline: "3d" (layered3d.py) or "2d" (layered.py)
TABLE_SHAPE = {"postseismic": (64, 16, 64), "cycle": (24, 8, 24, 12),  # the interpolation-table peer's grid
               "layered": (16, 6, 5, 5, 16)}


def _bench_3d(n: int, repeats: int) -> dict:
    """The 3-D finite fault: held-out accuracy of u = Okada + Delta (all three components) and same-batch speed,
    network (+ Okada) vs solver (Okada + layered3d at DEFAULT_3D), one CPU thread each."""
    import torch

    from .model import evaluate_batched
    from .train import evaluate, okada_dimensionless, sample_points

    model = load(task="layered3d")
    inputs, target = sample_points(n, model.cfg, seed=987_654)  # labels at LABELS_3D; a seed never used in training
    metrics = evaluate(model, inputs, target)
    x, y, L, delta, T = (torch.as_tensor(a, dtype=torch.float32) for a in inputs.T)
    ones = torch.ones(n)

    def solver_call():
        return layered3d.dimensionless(inputs) + okada_dimensionless(inputs)

    def net_call():
        post = evaluate_batched(model, x, y, T, L, delta, ones, ones, ones).double().numpy()
        return post + okada_dimensionless(inputs)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    def low_call():  # the solver at about the network's own accuracy
        return layered3d.dimensionless(inputs, layered3d.NETWORK_LEVEL_3D) + okada_dimensionless(inputs)

    try:
        t_solver, t_net, t_low = _cpu_seconds([solver_call, net_call, low_call], repeats)
    finally:
        torch.set_num_threads(threads)
    return {**metrics, "speedup": t_solver / t_net, "speedup_vs_solver_at_network_accuracy": t_low / t_net,
            "solver_points_per_s": n / t_solver,
            "network_points_per_s": n / t_net, "network_parameters": sum(p.numel() for p in model.parameters())}


def _bench_task(task: str, n: int, repeats: int) -> dict:
    """Held-out accuracy and same-batch throughput of network vs solver for one task (one CPU thread each)."""
    import torch

    from . import peer
    from .model import evaluate_batched
    from .train import evaluate, relative_rmse, sample_points

    model = load(task=task)
    inputs, target = sample_points(n, model.cfg, seed=987_654)  # a seed never used in training
    metrics = evaluate(model, inputs, target)
    cols = list(inputs.T)  # (xi, delta, T) or (xi, delta, phase, T_c), each (n,)
    ones = np.ones(n)
    cycle = task == "cycle"
    table = peer.build_table(model.cfg, TABLE_SHAPE[task])
    if task == "layered":
        xi, delta, h, r, T = cols
        solver_call = lambda: layered.dimensionless(inputs)  # noqa: E731
        net_args = (xi, T, delta, ones, h, ones, r, ones)
        terms = np.array([layered.wavenumber_grid(v)[0].size * layered.DEFAULT.talbot_nodes // 2 for v in xi])
        with np.errstate(divide="ignore"):
            elastic = lambda: np.arctan(delta / xi) / np.pi  # noqa: E731
        table_call = lambda: peer.predict(table, inputs, "layered") + elastic()  # noqa: E731
        metrics["peer_table_rel_rmse"] = relative_rmse(table_call(), target + elastic())
    elif not cycle:
        xi, delta, T = cols
        solver_call = lambda: solver.surface_displacement(xi, T, delta, 1.0, 1.0, 1.0)  # noqa: E731
        net_args = (xi, T, delta, ones, ones, ones)
        terms = np.array([solver.n_terms(v) for v in T])
        with np.errstate(divide="ignore"):
            elastic = lambda: np.arctan(delta / xi) / np.pi  # noqa: E731
        table_call = lambda: peer.predict(table, inputs, False) + elastic()  # noqa: E731
        table_pred = table_call()
        metrics["peer_table_rel_rmse"] = relative_rmse(table_pred, target + elastic())
    else:
        xi, delta, phase, tc = cols
        solver_call = lambda: solver.cycle_velocity(xi, phase, delta, 1.0, 1.0, tc)  # noqa: E731
        net_args = (xi, phase, delta, ones, ones, tc, ones)
        M = solver.CYCLE_EVENTS
        terms = np.array([sum(solver.n_terms((p + k) * c) for k in range(M)) for p, c in zip(phase, tc, strict=True)])
        table_call = lambda: peer.predict(table, inputs, True)  # noqa: E731
        metrics["peer_table_rel_rmse"] = relative_rmse(table_call(), target)

    def net_call():
        return evaluate_batched(model, *[torch.as_tensor(a, dtype=torch.float32) for a in net_args]).double().numpy()

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    extra = {}
    try:
        t_solver, t_net, t_table = _cpu_seconds([solver_call, net_call, table_call], repeats)
        if task == "layered":  # the solver at about the network's own accuracy (layered.NETWORK_LEVEL), same batch
            low = lambda: layered.dimensionless(inputs, layered.NETWORK_LEVEL)  # noqa: E731
            t_low, t_net2 = _cpu_seconds([low, net_call], repeats)
            extra["speedup_vs_solver_at_network_accuracy"] = t_low / t_net2
    finally:
        torch.set_num_threads(threads)
    return {**metrics, "speedup": t_solver / t_net, **extra, "solver_points_per_s": n / t_solver,
            "network_points_per_s": n / t_net, "solver_terms_mean": float(terms.mean()),
            "network_parameters": sum(p.numel() for p in model.parameters()),
            "peer_table_speedup": t_solver / t_table, "peer_table_entries": int(np.prod(TABLE_SHAPE[task]))}


def bench(quick: bool = False) -> dict:
    """Accuracy on held-out parameters and same-batch speed, network vs solver, for the three shipped models.

    Headline (``rel_rmse``, ``speedup``, ...): the three-layer Maxwell model (layered.py, the paper's rheology) --
    log1p-uniform xi = |x|/H1 in [0, 20] and T = t/tau2 in [0, 100], uniform D/H1 in [0.1, 1] and H2/H1 in
    [0.25, 3], log-uniform eta3/eta2 in [0.1, 10]; solver: wavenumber integral + Talbot inversion at its default
    settings (``layered.DEFAULT``), whose own error against ``layered.REFERENCE`` is measured here too
    (``solver_max_abs_error``). Secondary (suffix ``_savage_prescott`` and ``_cycle``): the single-layer event and
    cycle models. Batches are drawn like the training data from a seed never used in training: single event --
    log-uniform xi = |x|/H in [0, 40] and T = t/tau in [0, 200], uniform D/H in [0.05, 1]; cycle -- the same
    xi and D/H, uniform phase t/T_r, log-uniform T_r/tau in [0.1, 30]. Solvers: eq. (1) and the cycle sum
    in numpy float64, vectorised over points in cache-sized chunks sorted by cost; networks: float32 torch,
    batched in cache-sized chunks, including the numpy <-> torch conversions. One thread each, same batch,
    same run; best of `repeats` in CPU seconds, interleaved. Peer: linear interpolation in a table of
    solver values on a grid in the network's coordinates (peer.py).
    """
    n_3d, n_layered, n, n_cycle, repeats = ((400, 5_000, 20_000, 10_000, 3) if quick else
                                            (3_000, 40_000, 200_000, 50_000, 5))
    acc3 = layered3d.accuracy(n=30 if quick else 200)
    three = _bench_3d(n_3d, repeats)
    three["solver_max_abs_error"] = acc3["max_abs_error"]
    three["solver_rel_rmse_postseismic_vs_reference"] = acc3["rel_rmse_postseismic"]
    acc = layered.accuracy(n=100 if quick else 400)
    two = _bench_task("layered", n_layered, repeats)
    two["solver_max_abs_error"] = acc["max_abs_error"]
    two["solver_rel_rmse_vs_reference"] = acc["rel_rmse"]
    event = _bench_task("postseismic", n, repeats)
    cycle = _bench_task("cycle", n_cycle, repeats)
    head, other = (three, "2d") if HEADLINE == "3d" else (two, "3d")
    metrics = {**head, **{f"{k}_3d": v for k, v in three.items()}, **{f"{k}_2d": v for k, v in two.items()},
               **{f"{k}_savage_prescott": v for k, v in event.items()},
               **{f"{k}_cycle": v for k, v in cycle.items()}}
    return {"metrics": metrics, "device": "cpu",
            "config": {"headline": f"{HEADLINE} (the other layered model: suffix _{other}; both always as _3d/_2d)",
                       "points_3d": n_3d, "points_2d": n_layered, "points_savage_prescott": n,
                       "points_cycle": n_cycle,
                       "repeats": repeats, "threads": 1, "clock": "process CPU time",
                       "checkpoints": "shipped layered3d + layered + surrogate (savage_prescott) + cycle",
                       "box_3d": layered3d.BOX_3D.as_dict(),
                       "solver_3d": {"settings": layered3d.DEFAULT_3D.as_dict(),
                                     "labels": layered3d.LABELS_3D.as_dict(),
                                     "network_level_settings": layered3d.NETWORK_LEVEL_3D.as_dict(),
                                     "reference": layered3d.REFERENCE_3D.as_dict(),
                                     "accuracy_vs_reference": acc3,
                                     "method": "point-dislocation P-SV/SH wavenumber kernels, 6x6 + 3x3 layer/"
                                               "half-space system per (k, p), Talbot inversion, Hankel transforms "
                                               "(J1-J3, Gauss-Legendre), Gauss-Legendre along strike; + Okada (1985) "
                                               "for the elastic part (also on the network side)"},
                       "layered_box": layered.BOX.as_dict(),
                       "layered_solver": {"settings": layered.DEFAULT.as_dict(),
                                          "network_level_settings": layered.NETWORK_LEVEL.as_dict(),
                                          "reference": layered.REFERENCE.as_dict(),
                                          "accuracy_vs_reference": acc,
                                          "method": "sine-transform wavenumber integral (composite Gauss-Legendre) "
                                                    "x Talbot inversion (Weideman-Trefethen cot contour)"},
                       "cycle_events_explicit": solver.CYCLE_EVENTS,
                       "peer_table_shape": TABLE_SHAPE,
                       "goal": {"rel_rmse": 0.01, "speedup": 500}}}


# ---------------------------------------------------------------- demo and web
DEMOS = [
    ("3-D: a 120 km long fault, surface to 15 km, in a 30 km elastic layer over a Maxwell half-space (1e19 Pa s)",
     EarthModel(), None, [5.0, 15.0, 30.0, 60.0], [0.0, 2.0, 10.0, 30.0, 100.0], 150.0, "3d"),
    ("Three layers: 5 m event, elastic upper crust 30 km, lower crust 20 km (1e19 Pa s), mantle 5e19 Pa s",
     EarthModel(), None, [5.0, 15.0, 30.0, 60.0], [0.0, 2.0, 10.0, 30.0, 100.0], 150.0, "layered"),
    ("Three layers: fault through a 15 km upper crust, strong lower crust (1e20 Pa s) over a weak mantle (1e19)",
     EarthModel(fault_depth=15.0, layer_thickness=15.0, lower_crust_thickness=20.0, viscosity=1e20,
                mantle_viscosity=1e19), None, [5.0, 20.0, 50.0, 100.0], [0.0, 1.0, 5.0, 20.0, 100.0], 200.0,
     "layered"),
    ("Savage-Prescott: fault through the whole layer (D = H = 20 km) over a weak half-space (eta = 3e18 Pa s)",
     EarthModel(fault_depth=20.0, layer_thickness=20.0, viscosity=3e18), None, [5.0, 20.0, 50.0, 100.0],
     [0.0, 1.0, 5.0, 20.0, 50.0], 200.0, "savage-prescott"),
    ("Earthquake cycle: an event every 150 yr on a fault loaded at 35 mm/yr (eta = 1e19 Pa s)",
     EarthModel(), Cycle(), [5.0, 15.0, 30.0, 60.0], None, 150.0, "savage-prescott"),
]


def demo(out_dir: Path) -> list[DemoItem]:
    out_dir = Path(out_dir)
    items = []
    for i, (title, m, cycle, xs, ts, x_max, kind) in enumerate(DEMOS):
        start = time.perf_counter()
        png = out_dir / f"viscoelastic-{i}.png"
        table = predict_arrays(m, xs, ts, x_max, None, png, cycle=cycle, model_kind=kind)
        s = table["summary"]
        inputs = {"model": kind} | {k: f"{v:g}" for k, v in m.as_dict().items()} | (
            {k: f"{v:g}" for k, v in cycle.__dict__.items()} if cycle else {})
        scale = (f"Maxwell times eta/mu = {m.maxwell_years[0]:.3g} / {m.maxwell_years[1]:.3g} yr"
                 if kind == "layered" else f"Maxwell time eta/mu = {m.maxwell_years[0]:.3g} yr, fault length 120 km"
                 if kind == "3d" else f"tau = 2 eta/mu = {m.tau_years:.3g} yr")
        items.append(DemoItem(
            title=title, inputs=inputs, outputs=[png],
            text=f"{scale}; network vs solver on the plotted curves: relative "
                 f"RMSE {s['rel_rmse_on_plotted_curves']:.2e}, max |error| {s['max_abs_error']:.3g} {s['unit']}",
            seconds=time.perf_counter() - start))
    return items


def predict(fault_depth: float = 15.0, layer_thickness: float = 30.0, viscosity: float = 1e19,
            shear_modulus: float = 30.0, slip: float = 5.0, t_max: float = 100.0, x_max: float = 150.0,
            lower_crust_thickness: float = 20.0, mantle_viscosity: float = 5e19, model: str = "layered",
            fault_length: float = 120.0) -> dict:
    """The web gallery's call: a PNG of network vs solver after one event and the table at a few (x, t)."""
    m = EarthModel(*(_number(k, v) for k, v in ((
        "fault_depth", fault_depth), ("layer_thickness", layer_thickness), ("viscosity", viscosity),
        ("shear_modulus", shear_modulus), ("slip", slip), ("lower_crust_thickness", lower_crust_thickness),
        ("mantle_viscosity", mantle_viscosity))))
    t_max, x_max = _positive("t_max", t_max), _positive("x_max", x_max)
    png = Path(tempfile.mkdtemp(prefix="viscoelastic-")) / "viscoelastic.png"
    times = [0.0, 0.05 * t_max, 0.2 * t_max, 0.5 * t_max, t_max]
    distances = [0.05 * x_max, 0.1 * x_max, 0.25 * x_max, 0.5 * x_max]
    table = predict_arrays(m, distances, times, x_max, t_max, png, model_kind=model,
                           fault_length=_number("fault_length", fault_length))
    return {"plot": png, "table": {"headers": table["headers"], "data": table["data"]},
            "summary": table["summary"]}
