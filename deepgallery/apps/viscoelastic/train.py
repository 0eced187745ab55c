"""Train the surrogates on solver samples (DeVries et al. 2017, section 2: sample the parameter space with the
viscoelastic code, fit a fully connected network by least squares on displacement).

Data, task "postseismic": ``samples`` points (xi, delta, T) drawn log-uniformly in xi and T (the solution
changes fastest near the fault and soon after the earthquake) and uniformly in delta, labelled by
``solver.surface_displacement`` with H = tau = s = 1. Task "cycle": (xi, delta, phase, T_c) with phase
uniform and T_c log-uniform, labelled by ``solver.cycle_velocity``. Task "layered": (xi, delta, h, r, T) from
``layered.sample_box``, labelled by the three-layer wavenumber/Talbot solver ``layered.dimensionless`` (minus the
elastic arctan term). A held-out set from another seed measures
the relative RMSE. The data are regenerated from the seed, so a checkpoint (weights + Adam state + step) is
all that resuming needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ...core import checkpoint
from ...core.errors import UserError
from ...core.runtime import progress, seed_everything
from . import layered, layered3d, okada, solver
from .model import (
    CycleConfig,
    Layered3DConfig,
    Layered3DSurrogate,
    LayeredConfig,
    LayeredSurrogate,
    Surrogate,
    SurrogateConfig,
    build,
)


@dataclass
class TrainConfig:
    steps: int = 15000  # Adam steps (the shipped single-event checkpoint: ~3.5 min on one busy CPU core)
    batch_size: int = 2048  # points per step
    lr: float = 3e-3  # peak learning rate, cosine-decayed to lr/100
    warmup: int = 200  # linear warm-up steps
    samples: int = 300_000  # solver-labelled training points (~5 s to generate)
    held_out: int = 20_000  # solver-labelled test points from another seed
    seed: int = 0
    save_every: int = 1000  # steps between checkpoints (resume point)


def layered_box(cfg: LayeredConfig) -> layered.Box:
    return layered.Box(**{k: getattr(cfg, k) for k in layered.Box.__dataclass_fields__})


def layered3d_box(cfg: Layered3DConfig) -> layered3d.Box3D:
    return layered3d.Box3D(**{k: getattr(cfg, k) for k in layered3d.Box3D.__dataclass_fields__})


def okada_dimensionless(inputs: np.ndarray) -> np.ndarray:
    """The elastic part u / s (n, 3) at layered3d inputs (x, y, L, delta, T): Okada (1985), surface-breaking."""
    x, y, L, delta, _ = inputs.T
    return okada.surface_displacement(x, y, L, 0.0, delta).T


def sample_points(n: int, cfg: SurrogateConfig | CycleConfig | LayeredConfig, seed: int,
                  progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dimensionless inputs (n, 3, 4 or 5) and (n,) solver targets (n, 3 for layered3d) for the task of `cfg`."""
    if isinstance(cfg, Layered3DConfig):  # (x, y, L, delta, T) -> Delta (u_x, u_y, u_z) / s, labels: LABELS_3D
        inputs = layered3d.sample_box(n, seed, layered3d_box(cfg))
        blocks = range(0, n, 1024)
        if progress_desc:
            blocks = progress(blocks, desc=progress_desc)
        return inputs, np.concatenate([layered3d.dimensionless(inputs[i:i + 1024], layered3d.LABELS_3D)
                                       for i in blocks])
    if isinstance(cfg, LayeredConfig):  # (xi, delta, h, r, T) -> postseismic u / s
        inputs = layered.sample_box(n, seed, layered_box(cfg))
        blocks = range(0, n, 4096)
        if progress_desc:
            blocks = progress(blocks, desc=progress_desc)
        u = np.concatenate([layered.dimensionless(inputs[i:i + 4096]) for i in blocks])
        with np.errstate(divide="ignore"):
            elastic = np.arctan(inputs[:, 1] / inputs[:, 0]) / math.pi
        return inputs, u - elastic
    rng = np.random.default_rng(seed)
    xi = np.expm1(rng.uniform(0.0, math.log1p(cfg.xi_max), n))
    delta = rng.uniform(cfg.delta_min, 1.0, n)
    if isinstance(cfg, CycleConfig):  # (xi, delta, phase, T_c) -> v / V
        phase = rng.uniform(0.0, 1.0, n)
        tc = np.exp(rng.uniform(math.log(cfg.tc_min), math.log(cfg.tc_max), n))
        return np.stack([xi, delta, phase, tc], axis=1), solver.cycle_velocity(xi, phase, delta, 1.0, 1.0, tc)
    T = np.expm1(rng.uniform(0.0, math.log1p(cfg.t_max), n))
    with np.errstate(divide="ignore"):
        elastic = np.arctan(delta / xi) / math.pi
    target = solver.surface_displacement(xi, T, delta, 1.0, 1.0) - elastic
    return np.stack([xi, delta, T], axis=1), target


def relative_rmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """||pred - ref|| / ||ref|| over all points."""
    return float(np.linalg.norm(pred - ref) / max(np.linalg.norm(ref), 1e-300))


@torch.no_grad()
def evaluate(model, inputs: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Relative RMSE on held-out points: of v/V (cycle), or of u/s and of its postseismic part."""
    pred = model.dimensionless(torch.as_tensor(inputs, dtype=torch.float32)).double().numpy()
    if isinstance(model, Layered3DSurrogate):  # u = Okada + Delta, all three components
        elastic = okada_dimensionless(inputs)
        return {"rel_rmse": relative_rmse(pred + elastic, target + elastic),
                "rel_rmse_postseismic": relative_rmse(pred, target)}
    if not isinstance(model, (Surrogate, LayeredSurrogate)):
        return {"rel_rmse": relative_rmse(pred, target)}
    post = pred
    with np.errstate(divide="ignore"):
        elastic = np.arctan(inputs[:, 1] / inputs[:, 0]) / math.pi
    return {"rel_rmse": relative_rmse(post + elastic, target + elastic),
            "rel_rmse_postseismic": relative_rmse(post, target)}


def learning_rate(step: int, tc: TrainConfig) -> float:
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    progress_frac = (step - tc.warmup) / max(1, tc.steps - tc.warmup)
    return tc.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress_frac))))


def load_surrogate(path: str | Path, how_to_fix: str = "") -> tuple[Surrogate, dict]:
    """Model from a checkpoint (UserError if missing/corrupt) and its meta."""
    tensors, config, meta = checkpoint.load(path, how_to_fix=how_to_fix)
    model = build(config.get("task", "postseismic"), config.get("model", {}))
    try:
        model.load_state_dict(tensors)
    except RuntimeError:
        raise UserError(f"checkpoint {path} does not match the surrogate's layers. {how_to_fix}".strip()) from None
    model.eval()
    return model, {**meta, "train": config.get("train", {}), "task": config.get("task", "postseismic")}


def train(out: str | Path, tc: TrainConfig, mc: SurrogateConfig | CycleConfig, resume: bool = False,
          log=print) -> dict[str, float]:
    """Train (or resume) and save to `out` (NAME.safetensors + NAME.json); returns held-out metrics."""
    out = Path(out)
    seed_everything(tc.seed)
    task = {CycleConfig: "cycle", LayeredConfig: "layered", Layered3DConfig: "layered3d"}.get(type(mc), "postseismic")
    model, start, losses = build(task, mc.to_dict()), 0, []
    optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
    if resume:
        tensors, config, meta = checkpoint.load(out, how_to_fix="start without --resume to train from scratch.")
        if config.get("model") != mc.to_dict() or config.get("task", "postseismic") != task:
            raise UserError(f"{out} holds a {config.get('task', 'postseismic')} model {config.get('model')}; "
                            "resume with the same settings")
        model.load_state_dict(tensors)
        checkpoint.restore_optimizer(optimizer, meta)
        start, losses = int(meta.get("step", 0)), list(meta.get("losses", []))
        if start >= tc.steps:
            log(f"{out} already has {start} steps (>= --steps {tc.steps}); nothing to do")
            return dict(meta.get("metrics", {}))
        log(f"resuming {out} at step {start}")

    t0 = time.perf_counter()
    x_train, y_train = sample_points(tc.samples, mc, tc.seed, progress_desc="solver labels")
    x_test, y_test = sample_points(tc.held_out, mc, tc.seed + 10_000)
    log(f"{tc.samples + tc.held_out} solver samples in {time.perf_counter() - t0:.1f} s")
    x_train_t = torch.as_tensor(x_train, dtype=torch.float32)  # (S, 3 or 4)
    y_train_t = torch.as_tensor(y_train, dtype=torch.float32)  # (S,)
    gen = torch.Generator().manual_seed(tc.seed * 1_000_003 + start)  # a resumed run draws fresh batches

    def save(step: int, metrics: dict) -> None:
        meta = {"step": step, "losses": losses, "metrics": metrics, "seconds": round(time.perf_counter() - t0, 1)}
        config = {"task": task, "model": mc.to_dict(), "train": asdict(tc)}
        checkpoint.save(out, model.state_dict(), config, meta, optimizer)

    metrics: dict[str, float] = {}
    model.train()
    bar = progress(range(start, tc.steps), total=tc.steps - start, desc="viscoelastic train")
    running = 0.0
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, tc)
        idx = torch.randint(0, tc.samples, (tc.batch_size,), generator=gen)
        pred = model.dimensionless(x_train_t[idx])  # (B,)
        loss = torch.mean((pred - y_train_t[idx]) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running += loss.item()
        if (step + 1) % 100 == 0:
            losses.append([step + 1, running / 100])
            bar.set_postfix(loss=f"{running / 100:.2e}")
            running = 0.0
        if (step + 1) % tc.save_every == 0 or step + 1 == tc.steps:
            model.eval()
            metrics = evaluate(model, x_test, y_test)
            model.train()
            save(step + 1, metrics)
            bar.set_postfix(loss=f"{loss.item():.2e}", rel_rmse=f"{metrics['rel_rmse']:.4f}")
    model.eval()
    if not metrics:
        metrics = evaluate(model, x_test, y_test)
    parts = ", ".join(f"{k} {v:.5f}" for k, v in metrics.items())
    log(f"held-out {task}: {parts}; saved {out}.safetensors")
    return metrics
