"""Training the synthesis network: a plain PyTorch loop (resumable, one or several processes under torchrun).

    deepgallery train handwriting --out runs/hw                              # simulated writers (Hershey fonts)
    deepgallery train handwriting --data iam ~/IAM-OnDB --out runs/iam       # the paper's data, its own layout
    torchrun --nproc_per_node 4 -m deepgallery train handwriting --device cuda --data iam ~/IAM-OnDB --out runs/i4

The loss is eq. 26, the negative log-likelihood of every pen point, reported in nats per point. Every step
draws its global batch of lines from (seed, step) alone, the same on every process; each process takes its slice
(`core.distributed.shard`) and divides its summed loss by the global batch's point count, so N processes take one
process's step. Derivatives are clipped as in the paper (model.py). Every `save_every` steps the network and the
optimiser go to OUT/state; `--out` with a state resumes it; `--minutes` stops (and saves) after that long.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import ALPHABET, from_offsets, line_height, make_batch, read_iam_ondb, split_heldout, synthetic, to_offsets
from .model import NetConfig, SynthesisNet, log_likelihood, parameter_count, sequence_loss


@dataclass
class TrainConfig:
    """Training; the paper's network is the default shape, the shipped CPU model is smaller (its JSON says)."""

    hidden: int = option(400, "LSTM cells per layer (the paper: 400)", minimum=1)
    layers: int = option(3, "stacked LSTM layers (the paper: 3)", minimum=1)
    window: int = option(10, "Gaussians in the soft window, K (the paper: 10)", minimum=1)
    mixtures: int = option(20, "bivariate Gaussians in the output mixture, M (the paper: 20)", minimum=1)
    steps: int = option(20000, "optimiser steps", minimum=1)
    batch: int = option(32, "lines per step (the global batch, split over processes under torchrun)", minimum=1)
    optimizer: Literal["adam", "rmsprop"] = option(
        "adam", "adam, or rmsprop: the paper's RMSProp with momentum (Graves 2013 eqs. 38-41, lr 1e-4)")
    lr: float = option(1e-3, "learning rate (adam); rmsprop uses the paper's 1e-4 unless given", minimum=0,
                       allow_zero=False)
    lines: int = option(20000, "simulated lines to generate and train on (ignored with --data iam)", minimum=8)
    max_chars: int = option(28, "longest simulated line, in characters (shorter lines train faster)", minimum=4)
    rate: float = option(20.0, "simulated pen points per second (more: finer, longer sequences)", minimum=1)
    bucket: bool = option(True, "batches of lines of about the same length (less padding, faster steps)")
    minutes: float = option(0.0, "stop after this many minutes of training and save (0: run all steps)", minimum=0)
    seed: int = option(0, "initial weights, the batches, the simulated lines", minimum=0)
    save_every: int = field(default=250)  # steps between resumable checkpoints
    log_every: int = field(default=100)  # steps between log lines (beside the progress bar)


class GravesRMSProp(torch.optim.Optimizer):
    """The paper's optimiser (Section 4.2, eqs. 38-41): RMSProp with a running mean of the gradient subtracted
    (ℵ = 0.95) and momentum (ℶ = 0.9), learning rate ℷ = 1e-4, ℸ = 1e-4."""

    def __init__(self, params, lr: float = 1e-4, alpha: float = 0.95, momentum: float = 0.9, eps: float = 1e-4):
        super().__init__(params, {"lr": lr, "alpha": alpha, "momentum": momentum, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            a, m, lr, eps = group["alpha"], group["momentum"], group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["n"], st["g"], st["delta"] = (torch.zeros_like(p) for _ in range(3))
                eps_i = p.grad
                st["n"].mul_(a).addcmul_(eps_i, eps_i, value=1 - a)  # eq. 38
                st["g"].mul_(a).add_(eps_i, alpha=1 - a)  # eq. 39
                denom = (st["n"] - st["g"] ** 2 + eps).sqrt()
                st["delta"].mul_(m).addcdiv_(eps_i, denom, value=-lr)  # eq. 40
                p.add_(st["delta"])  # eq. 41


@dataclass
class Pool:
    """The training (or held-out) lines as offsets with their texts."""

    offsets: list[np.ndarray]
    texts: list[str]
    rate: float = 0.0  # pen points per second

    def save(self, path: Path) -> None:
        lengths = np.array([len(o) for o in self.offsets])
        np.savez_compressed(path, offsets=np.concatenate(self.offsets), lengths=lengths,
                            texts=np.array(self.texts))

    @classmethod
    def load(cls, path: Path) -> Pool:
        z = np.load(path, allow_pickle=False)
        return cls(np.split(z["offsets"], np.cumsum(z["lengths"])[:-1]), [str(t) for t in z["texts"]])


def pen_rate(strokes_per_line: list[list[np.ndarray]]) -> float:
    """Points per second of a pen, from the timestamps of its strokes (the median over strokes)."""
    rates = [(len(s) - 1) / (s[-1, 2] - s[0, 2]) for line in strokes_per_line for s in line
             if len(s) > 2 and s[-1, 2] > s[0, 2]]
    return float(np.median(rates)) if rates else 100.0


def _workers() -> int:
    import os

    return max(1, min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def load_pools(data: str | None, cfg: TrainConfig, out: Path | None, log=print) -> tuple[Pool, Pool, str]:
    """(train, held-out, description): simulated writers, or an IAM-OnDB folder split by writer."""
    if data:
        lines = read_iam_ondb(data)
        if lines.skipped:
            log(f"skipped {len(lines.skipped)} line(s), e.g. {lines.skipped[0]}")
        train_idx, held_idx = split_heldout(lines)
        offs = [to_offsets(ln.strokes) for ln in lines.lines]
        texts = [ln.text for ln in lines.lines]
        rate = pen_rate([ln.strokes for ln in lines.lines[:200]])
        pick = lambda idx: Pool([offs[i] for i in idx], [texts[i] for i in idx], rate)  # noqa: E731
        return pick(train_idx), pick(held_idx or train_idx[:1]), f"IAM-OnDB at {data} ({len(lines)} lines)"
    cache = out / f"pool-{cfg.lines}-{cfg.rate:g}-{cfg.max_chars}-{cfg.seed}.npz" if out else None
    if cache and cache.is_file():
        train = Pool.load(cache)
        train.rate = cfg.rate
    else:
        o, t, _ = synthetic(cfg.lines, heldout=False, seed=cfg.seed, rate=cfg.rate, workers=_workers(),
                            max_chars=cfg.max_chars)
        train = Pool(o, t, cfg.rate)
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            train.save(cache)
    o, t, _ = synthetic(max(8, min(256, cfg.lines // 20)), heldout=True, seed=cfg.seed + 1, rate=cfg.rate,
                            max_chars=cfg.max_chars)
    return train, Pool(o, t, cfg.rate), (f"{cfg.lines} lines by simulated writers (Hershey fonts, deepgallery.apps."
                               f"handwriting.synth, seed {cfg.seed}, {cfg.rate:g} points/s)")


def data_scale(pool: Pool) -> tuple[float, float]:
    """The offsets' standard deviation (the input and output unit) and a typical line height in that unit."""
    sample = pool.offsets[:2000]
    scale = float(np.concatenate([o[:, :2] for o in sample]).std()) or 1.0
    heights = [line_height([np.c_[s, np.zeros(len(s))] for s in from_offsets(o)]) for o in sample[:500]]
    return scale, float(np.median(heights)) / scale


@dataclass
class TrainResult:
    net: SynthesisNet
    losses: list[float]
    heldout_nll: float | None
    step: int
    seconds: float
    data: str


@torch.no_grad()
def heldout_nll(net: SynthesisNet, pool: Pool, batch: int = 32, device="cpu") -> float:
    """Nats per pen point on `pool` (eq. 26 without clipping), the bench's nll_heldout."""
    net.eval()
    total, count = 0.0, 0.0
    for i in range(0, len(pool.offsets), batch):
        b = make_batch(pool.offsets[i:i + batch], pool.texts[i:i + batch], net.cfg.scale, net.cfg.alphabet).to(device)
        y_hat, _, _ = net(b.inputs(), b.chars, b.char_mask)
        total -= (log_likelihood(net.mixture(y_hat), b.x) * b.mask).sum().item()
        count += b.mask.sum().item()
    return total / max(count, 1.0)


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print, pools: tuple[Pool, Pool, str] | None = None) -> TrainResult:
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    out = Path(out)
    train_pool, held_pool, described = pools or load_pools(data, cfg, out, log)
    scale, height = data_scale(train_pool)
    seed_everything(cfg.seed)  # the same initial weights on every process
    ncfg = NetConfig(alphabet=ALPHABET, hidden=cfg.hidden, layers=cfg.layers, window=cfg.window,
                     mixtures=cfg.mixtures, scale=round(scale, 5), rate=round(train_pool.rate or cfg.rate, 2),
                     line_height=round(height, 4))
    net = SynthesisNet(ncfg).to(ctx.device)
    lr = cfg.lr if cfg.optimizer == "adam" or cfg.lr != 1e-3 else 1e-4
    opt = (torch.optim.Adam(net.parameters(), lr=lr) if cfg.optimizer == "adam"
           else GravesRMSProp(net.parameters(), lr=lr))
    state = out / "state"
    shape = {k: v for k, v in ncfg.to_dict().items() if k in ("alphabet", "hidden", "layers", "window", "mixtures")}
    meta = checkpoint.resume(state, net, opt, same={"shape": shape},
                             how_to_fix="give another --out, or the settings it was trained with")
    if meta:
        net.cfg = NetConfig(**meta["net"])  # the scale it started with, not this run's estimate
    model = distributed.wrap(net, ctx)
    by_length = np.argsort([len(o) for o in train_pool.offsets], kind="stable")

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), {"shape": shape, "train": asdict(cfg)},
                        meta={"step": s.step, "seconds": s.seconds, "net": net.cfg.to_dict(), "loss": s.mean()},
                        optimizer=opt)

    with Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, log=log, label="nll",
               desc=f"train synthesis net ({parameter_count(net):,} parameters)") as steps:
        for step in steps:
            if cfg.minutes and steps.elapsed > cfg.minutes * 60:
                steps.log(f"time box of {cfg.minutes:g} min reached at step {step}")
                break  # the steps since the last checkpoint are saved as the block ends
            idx = batch_indices(by_length, cfg, step)
            total_points = float(sum(len(train_pool.offsets[i]) for i in idx))
            mine = distributed.shard(torch.from_numpy(idx), ctx).tolist()
            batch = make_batch([train_pool.offsets[i] for i in mine], [train_pool.texts[i] for i in mine],
                               net.cfg.scale).to(ctx.device)
            model.train()
            # summed over this process's points / its share of the global count: DDP's mean over the processes
            # then gives the global sum / the global count, one process's loss exactly
            loss = sequence_loss(model if not ctx.active else _Wrapped(model), batch, total_points / ctx.world)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            # the gradients are the same on every process now (DDP averaged them), so is this decision
            norm = torch.nn.utils.clip_grad_norm_(net.parameters(), float("inf"))
            if torch.isfinite(norm):
                opt.step()
            else:
                steps.log(f"step {step}: non-finite gradient, step skipped")
            steps.done(loss.item())  # this process's estimate of the global mean
            if steps.step % cfg.log_every == 0:
                steps.log(f"step {steps.step} nll {steps.mean(cfg.log_every):.4f} ({steps.elapsed:.0f} s)")
    net.eval()
    held = None
    if ctx.is_main and held_pool.offsets:
        held = heldout_nll(net, held_pool, device=ctx.device)
        log(f"held-out {held:.3f} nats per point on {len(held_pool.offsets)} lines ({steps.elapsed:.0f} s)")
    return TrainResult(net, steps.losses, held, steps.step, steps.seconds, described)


def batch_indices(by_length: np.ndarray, cfg: TrainConfig, step: int) -> np.ndarray:
    """The global batch of `step`, from (seed, step) alone (every process draws the same): with `bucket`, lines of
    about the same length (a random run of the pool sorted by length: little padding, the loop over the points is
    the cost); else any lines."""
    rng = np.random.default_rng([cfg.seed, step])
    n = len(by_length)
    if not cfg.bucket or n <= cfg.batch:
        return rng.choice(n, size=cfg.batch, replace=n < cfg.batch)
    start = int(rng.integers(0, n - cfg.batch + 1))
    return by_length[start:start + cfg.batch]


class _Wrapped:
    """`sequence_loss` calls net(...) and net.mixture(...): under DDP the forward goes through the wrapper (so the
    gradients are synchronised), the mixture through the module."""

    def __init__(self, ddp):
        self.ddp, self.cfg = ddp, ddp.module.cfg

    def __call__(self, *a, **k):
        return self.ddp(*a, **k)

    def mixture(self, *a, **k):
        return self.ddp.module.mixture(*a, **k)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, command: str) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("synthesis"))."""
    meta = {"command": command, "data": result.data, "steps": result.step, "seconds": round(result.seconds, 1),
            "heldout_nll": result.heldout_nll, "parameters": parameter_count(result.net),
            "final_train_nll": float(np.mean(result.losses[-100:])) if result.losses else None}
    return checkpoint.export_half(path, result.net.state_dict(), {"net": result.net.cfg.to_dict(),
                                                                 "train": asdict(cfg)}, meta)
