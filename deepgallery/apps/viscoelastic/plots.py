"""The comparison figure and table: network (dashed) over solver (solid), vs distance and vs time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.atomic import atomic_path

Field = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x km, t yr) broadcast -> value


@dataclass
class Quantity:
    """What is plotted: its name, unit, and the two evaluators being compared."""

    name: str  # e.g. "surface displacement u"
    unit: str  # e.g. "m"
    solver: Field
    network: Field
    title: str  # the model's parameters, one line
    time_label: str = "time after the earthquake t (yr)"
    distance_label: str = "distance from fault x (km)"
    distance_symbol: str = "x"


def comparison(q: Quantity, distances: np.ndarray, times: np.ndarray, x_max: float, t_range: tuple[float, float],
               out_png: str | Path) -> dict:
    """Write the two-panel PNG and return {"headers", "data", "summary"} for the requested (x, t) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = np.linspace(-x_max, x_max, 400)  # (X,) an even count never lands on the fault trace x = 0
    ts = np.linspace(*t_range, 200)  # (Tn,)
    left = [f(xs[None, :], times[:, None]) for f in (q.solver, q.network)]  # 2 x (len(times), X)
    right = [f(distances[:, None], ts[None, :]) for f in (q.solver, q.network)]  # 2 x (len(distances), Tn)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(times), len(distances))))
    for i, t in enumerate(times):
        ax1.plot(xs, left[0][i], color=colors[i], lw=2, alpha=0.6, label=f"t = {t:.3g} yr")
        ax1.plot(xs, left[1][i], color="k", lw=0.8, ls="--")
    ax1.set(xlabel=q.distance_label, ylabel=f"{q.name} ({q.unit})",
            title="vs distance at several times (solid: solver, dashed: network)")
    ax1.legend(fontsize=8)
    for i, x in enumerate(distances):
        ax2.plot(ts, right[0][i], color=colors[i], lw=2, alpha=0.6, label=f"{q.distance_symbol} = {x:.3g} km")
        ax2.plot(ts, right[1][i], color="k", lw=0.8, ls="--")
    ax2.set(xlabel=q.time_label, ylabel=f"{q.name} ({q.unit})", title="vs time at several distances")
    ax2.legend(fontsize=8)
    fig.suptitle(q.title, fontsize=9)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)

    grid_x, grid_t = np.meshgrid(distances, times, indexing="ij")  # (nx, nt)
    a_all, b_all = q.solver(grid_x, grid_t).ravel(), q.network(grid_x, grid_t).ravel()
    rows = [[float(x), float(t), round(float(a), 5), round(float(b), 5), round(float(b - a), 5) + 0.0]
            for x, t, a, b in zip(grid_x.ravel(), grid_t.ravel(), a_all, b_all, strict=True)]
    curves_solver = np.concatenate([left[0].ravel(), right[0].ravel()])
    curves_net = np.concatenate([left[1].ravel(), right[1].ravel()])
    rel = float(np.linalg.norm(curves_net - curves_solver) / max(np.linalg.norm(curves_solver), 1e-300))
    return {"headers": [f"{q.distance_symbol} (km)", "t (yr)", f"solver ({q.unit})", f"network ({q.unit})",
                        f"network - solver ({q.unit})"],
            "data": rows,
            "summary": {"rel_rmse_on_plotted_curves": rel,
                        "max_abs_error": float(np.max(np.abs(curves_net - curves_solver))), "unit": q.unit}}
