"""The comparison figure and table: surrogate (dashed) over solver (solid), vs distance and vs time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.atomic import atomic_path
from .physics import EarthModel, solver_displacement, surrogate_displacement


def comparison(model, m: EarthModel, distances: np.ndarray, times: np.ndarray, x_max: float, t_max: float,
               out_png: str | Path) -> dict:
    """Write the two-panel PNG and return {"headers", "data", "summary"} for the requested (x, t) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = np.linspace(-x_max, x_max, 400)  # (X,) an even count never lands on the fault trace x = 0
    ts = np.linspace(0.0, t_max, 200)  # (Tn,)
    u_x_solver = solver_displacement(m, xs[None, :], times[:, None])  # (len(times), X)
    u_x_net = surrogate_displacement(model, m, xs[None, :], times[:, None])
    u_t_solver = solver_displacement(m, distances[:, None], ts[None, :])  # (len(distances), Tn)
    u_t_net = surrogate_displacement(model, m, distances[:, None], ts[None, :])

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(len(times), len(distances))))
    for i, t in enumerate(times):
        ax1.plot(xs, u_x_solver[i], color=colors[i], lw=2, alpha=0.6, label=f"t = {t:g} yr")
        ax1.plot(xs, u_x_net[i], color="k", lw=0.8, ls="--")
    ax1.set(xlabel="distance from fault x (km)", ylabel="surface displacement u (m)",
            title="u(x) at several times (solid: solver, dashed: network)")
    ax1.legend(fontsize=8)
    for i, x in enumerate(distances):
        ax2.plot(ts, u_t_solver[i], color=colors[i], lw=2, alpha=0.6, label=f"x = {x:g} km")
        ax2.plot(ts, u_t_net[i], color="k", lw=0.8, ls="--")
    ax2.set(xlabel="time after the earthquake t (yr)", ylabel="surface displacement u (m)",
            title="u(t) at several distances")
    ax2.legend(fontsize=8)
    fig.suptitle(f"D = {m.fault_depth:g} km, H = {m.layer_thickness:g} km, eta = {m.viscosity:.3g} Pa s, "
                 f"mu = {m.shear_modulus:g} GPa (tau = 2 eta/mu = {m.tau_years:.3g} yr), s = {m.slip:g} m",
                 fontsize=9)
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)

    grid_x, grid_t = np.meshgrid(distances, times, indexing="ij")  # (nx, nt)
    u_solver = solver_displacement(m, grid_x, grid_t)
    u_net = surrogate_displacement(model, m, grid_x, grid_t)
    rows = [[float(x), float(t), round(float(a), 5), round(float(b), 5), round(1000 * float(b - a), 3) + 0.0]
            for x, t, a, b in zip(grid_x.ravel(), grid_t.ravel(), u_solver.ravel(), u_net.ravel(), strict=True)]
    curves_solver = np.concatenate([u_x_solver.ravel(), u_t_solver.ravel()])
    curves_net = np.concatenate([u_x_net.ravel(), u_t_net.ravel()])
    rel = float(np.linalg.norm(curves_net - curves_solver) / max(np.linalg.norm(curves_solver), 1e-300))
    return {"headers": ["x (km)", "t (yr)", "solver u (m)", "network u (m)", "network - solver (mm)"],
            "data": rows,
            "summary": {"rel_rmse_on_plotted_curves": rel,
                        "max_abs_error_m": float(np.max(np.abs(curves_net - curves_solver))),
                        "tau_years": m.tau_years}}
