"""`deepgallery bench viscoelastic [--quick]`: held-out accuracy and same-batch speed, network against solver, for
the four shipped surrogates (the 3-D finite fault as the headline), beside a lookup table of solver values as the
classical peer (peer.py). See `bench` below and the app's README for what each number means."""

from __future__ import annotations

import math
import time

import numpy as np

from ...core.runtime import torch_threads
from . import layered, layered3d, solver
from .samples import elastic_okada, relative_rmse
from .train import evaluate, sample_points
from .variants import by_task


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

    model = by_task("layered3d").load()
    inputs, target = sample_points(n, model.cfg, seed=987_654)  # labels at LABELS_3D; a seed never used in training
    metrics = evaluate(model, inputs, target)
    x, y, L, delta, T = (torch.as_tensor(a, dtype=torch.float32) for a in inputs.T)
    ones = torch.ones(n)

    def solver_call():
        return layered3d.dimensionless(inputs) + elastic_okada(inputs)

    def net_call():
        post = evaluate_batched(model, x, y, T, L, delta, ones, ones, ones).double().numpy()
        return post + elastic_okada(inputs)

    def low_call():  # the solver at about the network's own accuracy
        return layered3d.dimensionless(inputs, layered3d.NETWORK_LEVEL_3D) + elastic_okada(inputs)

    with torch_threads(1):
        t_solver, t_net, t_low = _cpu_seconds([solver_call, net_call, low_call], repeats)
    return {**metrics, "speedup": t_solver / t_net, "speedup_vs_solver_at_network_accuracy": t_low / t_net,
            "solver_points_per_s": n / t_solver,
            "network_points_per_s": n / t_net, "network_parameters": sum(p.numel() for p in model.parameters())}


def _bench_task(task: str, n: int, repeats: int) -> dict:
    """Held-out accuracy and same-batch throughput of network vs solver for one task (one CPU thread each)."""
    import torch

    from . import peer
    from .model import evaluate_batched

    model = by_task(task).load()
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

    extra = {}
    with torch_threads(1):
        t_solver, t_net, t_table = _cpu_seconds([solver_call, net_call, table_call], repeats)
        if task == "layered":  # the solver at about the network's own accuracy (layered.NETWORK_LEVEL), same batch
            low = lambda: layered.dimensionless(inputs, layered.NETWORK_LEVEL)  # noqa: E731
            t_low, t_net2 = _cpu_seconds([low, net_call], repeats)
            extra["speedup_vs_solver_at_network_accuracy"] = t_low / t_net2
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
                       "shipped_checkpoints": "layered3d + layered + surrogate (savage_prescott) + cycle",
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
