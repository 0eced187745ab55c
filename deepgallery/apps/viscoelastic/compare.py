"""One request, network against solver: read and check the parameters, pick the variant, write the figure and
return the table (the shared core of `run`, `predict` and the demo), and the solver's stresses at depth."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from . import solver
from .physics import Cycle, EarthModel, check_grid
from .plots import comparison
from .variants import Request, for_run

RUN_DEFAULTS = {"x": [5.0, 15.0, 30.0, 60.0], "t": None, "x_max": 150.0, "t_max": None, "depth": None,
                "model": None, "fault_length": 120.0}
EVENT_TIMES = [0.0, 2.0, 10.0, 30.0, 100.0]  # yr after a single event
CYCLE_PHASES = [0.01, 0.1, 0.3, 0.6, 0.95]  # fractions of T_r


def read_params(path: str | None) -> dict:
    """The `--params` JSON file as a dict of known keys; UserError (one line) otherwise."""
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


def number(name: str, value) -> float:
    """`value` as a float, or a UserError naming `name`."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"{name} must be a number, got {value!r}") from None


def positive(name: str, value) -> float:
    value = number(name, value)
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"{name} must be a finite number > 0, got {value}")
    return value


def compare(m: EarthModel, distances, times, x_max, t_max, out_png: Path, checkpoint: str | None = None,
            cycle: Cycle | None = None, model_kind: str | None = None, fault_length: float = 120.0,
            device="cpu") -> tuple[dict, str]:
    """Check everything, then write the figure; returns the table {"headers", "data", "summary"} and a line
    describing the model (its time scales). The network computes on `device`."""
    variant = for_run(model_kind, cycle is not None)
    m.check()
    if cycle is not None:
        cycle.check()
        times = [f * cycle.recurrence for f in CYCLE_PHASES] if times is None else times
    x, t = check_grid(distances, EVENT_TIMES if times is None else times)
    if cycle is not None:
        cycle.check(t)
    x_max = positive("x_max", x_max)
    if Path(out_png).suffix.lower() != ".png":
        raise UserError(f"{out_png}: the figure is written as PNG; give a path ending in .png")
    if cycle is None:
        t_max = positive("t_max", float(np.max(t)) if t_max is None else t_max)
    else:  # the curves vs time end just before the next event
        t_max = min(positive("t_max", cycle.recurrence if t_max is None else t_max), cycle.recurrence * (1 - 1e-3))
    if variant.fault_length:  # the finite fault's length is an input of the 3-D model only
        fault_length = positive("fault_length", fault_length)
    request = Request(m, cycle, fault_length, x, t, x_max, t_max)
    net = variant.load(checkpoint).to(device)
    variant.check(net.cfg, request)
    return comparison(variant.quantity(net, request), x, t, x_max, (0.0, t_max), out_png), variant.describe(request)


def depth_table(m: EarthModel, distances, times, depth, cycle: Cycle | None) -> dict:
    """Solver only (solver.field): w (m), sigma_xy and sigma_yz (MPa) at depth z (km) for every (x, t)."""
    if cycle is not None:
        raise UserError("--depth is available for a single event only (drop --recurrence)")
    depth = number("depth", depth)
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
