"""Train the surrogates on solver samples (DeVries et al. 2017, section 2: sample the parameter space with the
viscoelastic code, fit a fully connected network by least squares on displacement).

Data: ``samples`` points of the variant's box labelled by its solver (samples.py, chosen through the variant
table in variants.py); a held-out set from another seed measures the relative RMSE. Batches: every epoch a
seeded permutation of the samples through ``core.distributed.loader``, so one process and N processes under
torchrun see the same global batches. The data and the batch order are regenerated from the seed, so a checkpoint
(weights + Adam state + step) is all that resuming (``core.checkpoint.resume``) needs.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .model import build
from .samples import SolverSamples, as_batch, relative_rmse
from .variants import by_task, for_config


@dataclass
class TrainConfig:
    steps: int = option(15000, "Adam steps (the shipped single-event checkpoint: ~3.5 min on one busy CPU core)",
                        minimum=1)
    batch_size: int = option(2048, "points per step, over all processes", minimum=1)
    lr: float = option(3e-3, "peak learning rate, cosine-decayed to lr/100", minimum=0, allow_zero=False)
    warmup: int = option(200, "linear warm-up steps", minimum=0)
    samples: int = option(300_000, "solver-labelled training points (~5 s to generate)", minimum=1)
    held_out: int = option(20_000, "solver-labelled test points from another seed", minimum=1)
    seed: int = option(0, "seed of the network's initialisation, the training data and the batch order")
    save_every: int = option(1000, "steps between checkpoints (resume points)", minimum=1)


def sample_points(n: int, cfg, seed: int, progress_desc: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Dimensionless inputs (n, 3, 4 or 5) and (n,) solver targets (n, 3 for layered3d) for the task of `cfg`."""
    return for_config(cfg).sample(n, cfg, seed, progress_desc)


@torch.no_grad()
def evaluate(model, inputs: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Relative RMSE on held-out points: of v/V (cycle), or of u/s (the elastic part added back on both sides)
    and of its postseismic part alone."""
    device = next(model.parameters()).device
    pred = model.dimensionless(torch.as_tensor(inputs, dtype=torch.float32).to(device)).cpu().double().numpy()
    elastic = by_task(model.task).elastic
    if elastic is None:
        return {"rel_rmse": relative_rmse(pred, target)}
    e = elastic(inputs)
    return {"rel_rmse": relative_rmse(pred + e, target + e), "rel_rmse_postseismic": relative_rmse(pred, target)}


def learning_rate(step: int, tc: TrainConfig) -> float:
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    progress_frac = (step - tc.warmup) / max(1, tc.steps - tc.warmup)
    return tc.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress_frac))))


class TrainingTarget(nn.Module):
    """The surrogate's dimensionless output as `forward`, so DistributedDataParallel sees (and syncs) the call."""

    def __init__(self, surrogate: nn.Module):
        super().__init__()
        self.surrogate = surrogate

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:  # (B, k) -> (B,) or (B, 3)
        return self.surrogate.dimensionless(inputs)


def train(out: str | Path, tc: TrainConfig, mc, resume: bool = False, log=print,
          ctx: distributed.Dist | None = None) -> dict[str, float]:
    """Train (or resume) and save to `out` (NAME.safetensors + NAME.json); returns held-out metrics (on the main
    process). `ctx` from ``core.distributed.start`` (default: one process on the CPU): under torchrun each process
    takes batch_size / N of every global batch, and the steps equal those of one process with the whole batch."""
    out, ctx = Path(out), ctx or distributed.Dist()
    log = log if ctx.is_main else (lambda *_: None)
    seed_everything(tc.seed)
    task = for_config(mc).task
    surrogate = build(task, mc.to_dict())
    optimizer = torch.optim.Adam(surrogate.parameters(), lr=tc.lr)
    meta = None
    if resume:
        meta = checkpoint.resume(out, surrogate, optimizer, same={"task": task, "model": mc},
                                 how_to_fix="resume with the same settings, or start over with --overwrite")
    start, losses = (int(meta["step"]), list(meta.get("losses", []))) if meta else (0, [])
    if start >= tc.steps:
        log(f"{out} already has {start} steps (>= --steps {tc.steps}); nothing to do")
        return dict(meta.get("metrics", {}))
    if start:
        log(f"resuming {out} at step {start}")
    if tc.samples < tc.batch_size:
        raise UserError(f"--samples {tc.samples} is below --batch-size {tc.batch_size}; raise --samples")

    t0 = time.perf_counter()
    x_train, y_train = sample_points(tc.samples, mc, tc.seed, progress_desc="solver labels" if ctx.is_main else None)
    x_test, y_test = sample_points(tc.held_out, mc, tc.seed + 10_000)
    log(f"{tc.samples + tc.held_out} solver samples in {time.perf_counter() - t0:.1f} s")
    data = SolverSamples(x_train, y_train, ctx.device)  # (S, 3..5) inputs, (S,) or (S, 3) targets
    # every epoch a fresh permutation (seeded, the same on every process); each process takes its share of each
    # global batch; the incomplete last batch is dropped so every step sees batch_size points
    loader = distributed.loader(data, ctx, tc.batch_size, seed=tc.seed, drop_last=True, collate_fn=as_batch)
    per_epoch = len(loader)
    net = distributed.wrap(TrainingTarget(surrogate), ctx)

    metrics: dict[str, float] = {}

    def save(s: Steps) -> None:
        nonlocal metrics
        if s.step % tc.save_every == 0 or s.step == tc.steps:  # a regular checkpoint measures the held-out error
            surrogate.eval()
            metrics = evaluate(surrogate, x_test, y_test)
            surrogate.train()
            s.bar.set_postfix(loss=f"{s.losses[-1]:.2e}", rel_rmse=f"{metrics['rel_rmse']:.4f}")
        meta = {"step": s.step, "losses": losses, "metrics": metrics, "seconds": round(time.perf_counter() - t0, 1),
                "device": str(ctx.device), "processes": ctx.world}
        config = {"task": task, "model": mc.to_dict(), "train": asdict(tc)}
        checkpoint.save(out, surrogate.state_dict(), config, meta, optimizer)

    net.train()
    running = 0.0
    with Steps(tc.steps, ctx, save, start=start, save_every=tc.save_every, desc="viscoelastic train",
               log=log) as steps:
        for _, (xb, yb) in steps.epochs(loader, per_epoch):  # a resumed run continues the interrupted epoch
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(steps.step, tc)
            loss = torch.mean((net(xb) - yb) ** 2)  # this process's share of the global batch
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients over the processes
            optimizer.step()
            running += loss.item()
            shown, done = {}, steps.step + 1  # the step this one completes
            if done % 100 == 0:
                losses.append([done, distributed.mean(running / 100, ctx)])
                shown, running = {"loss": f"{losses[-1][1]:.2e}"}, 0.0
            steps.done(loss.item(), postfix=shown)
    surrogate.eval()
    if ctx.is_main:
        parts = ", ".join(f"{k} {v:.5f}" for k, v in metrics.items())
        log(f"held-out {task}: {parts}; saved {out}.safetensors")
    return metrics
