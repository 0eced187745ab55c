"""Hooks for the CLI, the demo page, the benchmark and the web gallery (see docs/CONTRIBUTING.md)."""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from ...core.atomic import write_text
from ...core.errors import UserError
from ...registry import DemoItem
from . import solver
from .physics import EarthModel, check_domain, check_grid

HERE = Path(__file__).parent
SHIPPED = HERE / "checkpoints" / "surrogate"
FIX = ("Train one with `deepgallery train viscoelastic --out PATH` and pass --checkpoint PATH, "
       "or reinstall deepgallery to restore the shipped checkpoint.")


def load(path: str | Path | None = None):
    """The trained surrogate (shipped one by default); UserError with the fix when missing or corrupt."""
    from .train import load_surrogate

    model, _ = load_surrogate(path or SHIPPED, how_to_fix=FIX)
    return model


# ---------------------------------------------------------------- run
def add_run_args(parser: argparse.ArgumentParser) -> None:
    d = EarthModel()
    parser.add_argument("--params", metavar="JSON", help="a JSON file with any of fault_depth, layer_thickness, "
                        "viscosity, shear_modulus, slip, x, t, x_max, t_max; flags given on the command line win")
    parser.add_argument("--fault-depth", type=float,
                        help=f"D, km: the fault slips from 0 to D (default {d.fault_depth})")
    parser.add_argument("--layer-thickness", type=float,
                        help=f"H, km: elastic layer over the Maxwell half-space (default {d.layer_thickness})")
    parser.add_argument("--viscosity", type=float, help=f"eta, Pa s, of the half-space (default {d.viscosity:g})")
    parser.add_argument("--shear-modulus", type=float, help=f"mu, GPa (default {d.shear_modulus})")
    parser.add_argument("--slip", type=float, help=f"s, m, coseismic slip (default {d.slip})")
    parser.add_argument("--x", type=float, nargs="+", help="distances from the fault, km, for the u(t) curves and "
                        "the table (default 5 15 30 60)")
    parser.add_argument("--t", type=float, nargs="+", help="years after the earthquake for the u(x) curves and the "
                        "table (default 0 2 10 30 100)")
    parser.add_argument("--x-max", type=float, help="half-width of the u(x) plot, km (default 150)")
    parser.add_argument("--t-max", type=float, help="end of the u(t) plot, years (default: the largest --t)")
    parser.add_argument("--checkpoint", help="surrogate checkpoint (default: the shipped one)")
    parser.add_argument("-o", "--out", default="viscoelastic.png", help="output PNG (default viscoelastic.png)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")


RUN_DEFAULTS = {"x": [5.0, 15.0, 30.0, 60.0], "t": [0.0, 2.0, 10.0, 30.0, 100.0], "x_max": 150.0, "t_max": None}


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
    allowed = set(EarthModel.__dataclass_fields__) | set(RUN_DEFAULTS)
    if not isinstance(data, dict) or set(data) - allowed:
        unknown = sorted(set(data) - allowed) if isinstance(data, dict) else data
        raise UserError(f"{p}: unknown keys {unknown}; allowed: {', '.join(sorted(allowed))}")
    return data


def _number(name: str, value) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number, got {value!r}") from None
    return out


def predict_arrays(m: EarthModel, distances, times, x_max: float, t_max: float | None, out_png: Path,
                   checkpoint: str | None = None) -> dict:
    """Check everything, then write the figure and return the table (the shared core of run/predict/demo)."""
    from .figure import comparison

    m.check()
    x, t = check_grid(distances, times)
    x_max = _number("x_max", x_max)
    if not math.isfinite(x_max) or x_max <= 0:
        raise UserError(f"x_max must be a finite distance > 0 km, got {x_max}")
    t_max = float(np.max(t)) if t_max is None else _number("t_max", t_max)
    if not math.isfinite(t_max) or t_max <= 0:
        raise UserError(f"t_max must be a finite time > 0 years, got {t_max}")
    model = load(checkpoint)
    check_domain(model.cfg, m, np.concatenate([x, [x_max]]), np.concatenate([t, [t_max]]))
    if Path(out_png).suffix.lower() != ".png":
        raise UserError(f"{out_png}: the figure is written as PNG; give a path ending in .png")
    return comparison(model, m, x, t, x_max, t_max, out_png)


def run(args: argparse.Namespace) -> int:
    params = _read_params(args.params)
    fields = {}
    for key in EarthModel.__dataclass_fields__:
        value = getattr(args, key)
        fields[key] = _number(key, value if value is not None else params.get(key, getattr(EarthModel(), key)))
    m = EarthModel(**fields)
    grid = {k: getattr(args, k) if getattr(args, k) is not None else params.get(k, v) for k, v in RUN_DEFAULTS.items()}
    table = predict_arrays(m, grid["x"], grid["t"], grid["x_max"], grid["t_max"], Path(args.out), args.checkpoint)
    print(f"tau = 2 eta / mu = {m.tau_years:.4g} yr")
    print("  ".join(f"{h:>20}" for h in table["headers"]))
    for row in table["data"]:
        print("  ".join(f"{v:>20g}" for v in row))
    s = table["summary"]
    print(f"relative RMSE network vs solver on the plotted curves: {s['rel_rmse_on_plotted_curves']:.2e} "
          f"(max |error| {1000 * s['max_abs_error_m']:.3g} mm)")
    print(f"figure: {args.out}")
    if args.json:
        write_text(args.json, json.dumps({"model": m.as_dict(), **table}, indent=2) + "\n")
    return 0


# ---------------------------------------------------------------- train
def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .model import SurrogateConfig
    from .train import TrainConfig

    tc, mc = TrainConfig(), SurrogateConfig()
    parser.add_argument("--out", default="runs/viscoelastic/surrogate",
                        help="checkpoint path without suffix (writes OUT.safetensors + OUT.json)")
    parser.add_argument("--resume", action="store_true", help="continue the checkpoint at --out")
    parser.add_argument("--overwrite", action="store_true", help="start over even if --out exists")
    parser.add_argument("--steps", type=int, default=tc.steps, help=f"Adam steps (default {tc.steps})")
    parser.add_argument("--batch-size", type=int, default=tc.batch_size, help=f"(default {tc.batch_size})")
    parser.add_argument("--lr", type=float, default=tc.lr, help=f"peak learning rate (default {tc.lr})")
    parser.add_argument("--samples", type=int, default=tc.samples,
                        help=f"solver-labelled training points (default {tc.samples})")
    parser.add_argument("--held-out", type=int, default=tc.held_out, help=f"test points (default {tc.held_out})")
    parser.add_argument("--save-every", type=int, default=tc.save_every, help="steps between checkpoints")
    parser.add_argument("--width", type=int, default=mc.width, help=f"hidden units (default {mc.width})")
    parser.add_argument("--depth", type=int, default=mc.depth, help=f"hidden layers (default {mc.depth})")
    parser.add_argument("--seed", type=int, default=tc.seed)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")


def train(args: argparse.Namespace) -> int:
    import torch

    from ...core import checkpoint
    from .model import SurrogateConfig
    from .train import TrainConfig
    from .train import train as train_loop

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
    train_loop(args.out, tc, SurrogateConfig(width=args.width, depth=args.depth), resume=args.resume)
    return 0


# ---------------------------------------------------------------- bench
def bench(quick: bool = False) -> dict:
    """Held-out accuracy and same-batch speed of network vs solver (both vectorised, one CPU thread each).

    The batch is drawn like the training data (log-uniform xi = |x|/H in [0, 40] and T = t/tau in [0, 200],
    uniform D/H in [0.05, 1]) from a seed never used in training. The solver is eq. (1) in numpy float64
    (O(N(T)) image terms per point, points sorted by T in vectorised chunks); the network is the float32
    MLP in torch, batched, including the numpy <-> torch conversions.
    """
    import torch

    from .train import evaluate, sample_points

    model = load()
    cfg = model.cfg
    n, repeats = (20_000, 2) if quick else (200_000, 3)
    inputs, target = sample_points(n, cfg, seed=987_654)  # (n, 3), (n,)
    metrics = evaluate(model, inputs, target)
    xi, delta, T = inputs.T

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def time_it(fn) -> float:
            best = math.inf
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - start)
            return best

        t_solver = time_it(lambda: solver.surface_displacement(xi, T, delta, 1.0, 1.0, 1.0))
        with torch.inference_mode():
            ones = np.ones_like(xi)

            def net():
                cols = [torch.as_tensor(a, dtype=torch.float32) for a in (xi, T, delta, ones, ones, ones)]
                return model(*cols).double().numpy()

            t_net = time_it(net)
    finally:
        torch.set_num_threads(threads)
    terms = np.array([solver.n_terms(v) for v in T])
    metrics.update({
        "speedup": t_solver / t_net,
        "solver_points_per_s": n / t_solver,
        "network_points_per_s": n / t_net,
        "solver_terms_mean": float(terms.mean()),
    })
    return {"metrics": metrics, "device": "cpu",
            "config": {"points": n, "repeats": repeats, "threads": 1, "checkpoint": "surrogate (shipped)",
                       "model": cfg.to_dict(), "goal": {"rel_rmse": 0.01, "speedup": 500}}}


# ---------------------------------------------------------------- demo and web
DEMOS = [
    ("Postseismic relaxation after a 5 m strike-slip event (D = 15 km, H = 30 km, eta = 1e19 Pa s)",
     EarthModel(), [5.0, 15.0, 30.0, 60.0], [0.0, 2.0, 10.0, 30.0, 100.0], 150.0),
    ("Fault through the whole layer (D = H = 20 km) over a weak asthenosphere (eta = 3e18 Pa s)",
     EarthModel(fault_depth=20.0, layer_thickness=20.0, viscosity=3e18), [5.0, 20.0, 50.0, 100.0],
     [0.0, 1.0, 5.0, 20.0, 50.0], 200.0),
]


def demo(out_dir: Path) -> list[DemoItem]:
    out_dir = Path(out_dir)
    items = []
    for i, (title, m, xs, ts, x_max) in enumerate(DEMOS):
        start = time.perf_counter()
        png = out_dir / f"viscoelastic-{i}.png"
        table = predict_arrays(m, xs, ts, x_max, None, png)
        s = table["summary"]
        items.append(DemoItem(
            title=title, inputs={k: f"{v:g}" for k, v in m.as_dict().items()}, outputs=[png],
            text=f"tau = 2 eta/mu = {s['tau_years']:.3g} yr; network vs solver on the plotted curves: relative "
                 f"RMSE {s['rel_rmse_on_plotted_curves']:.2e}, max |error| {1000 * s['max_abs_error_m']:.3g} mm",
            seconds=time.perf_counter() - start))
    return items


def predict(fault_depth: float = 15.0, layer_thickness: float = 30.0, viscosity: float = 1e19,
            shear_modulus: float = 30.0, slip: float = 5.0, t_max: float = 100.0, x_max: float = 150.0) -> dict:
    """The web gallery's call: a PNG of network vs solver and the table at a few (x, t)."""
    m = EarthModel(*(_number(k, v) for k, v in ((
        "fault_depth", fault_depth), ("layer_thickness", layer_thickness), ("viscosity", viscosity),
        ("shear_modulus", shear_modulus), ("slip", slip))))
    t_max, x_max = _number("t_max", t_max), _number("x_max", x_max)
    png = Path(tempfile.mkdtemp(prefix="viscoelastic-")) / "viscoelastic.png"
    times = [0.0, 0.05 * t_max, 0.2 * t_max, 0.5 * t_max, t_max]
    distances = [0.05 * x_max, 0.1 * x_max, 0.25 * x_max, 0.5 * x_max]
    table = predict_arrays(m, distances, times, x_max, t_max, png)
    return {"plot": png, "table": {"headers": table["headers"], "data": table["data"]},
            "summary": table["summary"]}
