"""Training the roof finder: a plain PyTorch loop over generated towns (or your tiles in the Inria layout).

    deepgallery train sunroof --out runs/roofs                        # generated towns, resumable
    deepgallery train sunroof --out runs/roofs --export my-roofnet    # + the fp16 checkpoint `run` can load
    deepgallery train sunroof --data ~/AerialImageDataset/train       # Inria tiles (images/ + gt/)
    torchrun --nproc_per_node 4 -m deepgallery train sunroof --device cuda --workers 8 --out runs/r4

Every example is drawn from (seed, step, index) alone, each process generating only its share of the global
batch, and the network has no batch statistics, so N processes take exactly one process's step. The loss is
the per-pixel cross-entropy averaged over the batch. Every `save_every` steps (and on Ctrl-C) the network and
the Adam state go to OUT/state; `--out` with a state resumes it.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import generated_sample, inria_sample, inria_tiles, read_inria
from .model import NetConfig, UNet, parameter_count


@dataclass
class TrainConfig:
    """Training; the defaults trained the shipped checkpoint on the CPU (see its JSON for the exact command)."""

    steps: int = option(500, "optimizer steps", minimum=1)
    batch: int = option(8, "crops per step (the global batch, split over processes under torchrun)", minimum=1)
    crop: int = option(96, "side of a training crop in cells (0.5 m), a multiple of 8", minimum=32)
    lr: float = option(2e-3, "Adam learning rate, cosine-decayed to 5 %", minimum=0, allow_zero=False)
    width: int = option(12, "channels of the U-Net's first level (then x2 per level)", minimum=4)
    depth: int = option(3, "U-Net levels below the first (poolings)", minimum=1, maximum=5)
    drop_rgb: float = option(0.3, "probability of hiding the orthophoto, so the network also reads the DSM alone",
                             minimum=0, maximum=1)
    workers: int = option(0, "processes generating towns ahead of the GPU (0: in this process)", minimum=0)
    minutes: float = option(0.0, "stop after this many minutes and save (0: no limit)", minimum=0)
    seed: int = option(0, "initial weights and the stream of generated towns", minimum=0)
    save_every: int = field(default=100)


def example_seeds(cfg: TrainConfig, step: int) -> list[int]:
    """The seeds of the global batch of `step`: the same on every process, whatever their number."""
    return [cfg.seed * 1_000_003 + step * cfg.batch + i for i in range(cfg.batch)]


def _inria_crop(paths: list[str], crop: int, seed: int):
    rng = np.random.default_rng(seed)
    s = inria_sample(read_inria(Path(paths[int(rng.integers(len(paths)))])))
    h, w = s.y.shape
    if min(h, w) < crop:
        raise UserError(f"Inria tiles must be at least {crop} pixels on a side (give a smaller --crop)")
    r, c = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    return s.x[:, r:r + crop, c:c + crop], s.y[r:r + crop, c:c + crop]


def _one(seed: int, crop: int, drop_rgb: float, paths: list[str] | None):
    if paths:
        return _inria_crop(paths, crop, seed)
    s = generated_sample(seed, crop, drop_rgb)
    return s.x, s.y


@dataclass
class TrainResult:
    net: UNet
    losses: list[float]
    step: int
    seconds: float


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print) -> TrainResult:
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    if cfg.crop % 2 ** cfg.depth:
        raise UserError(f"--crop must be a multiple of {2 ** cfg.depth} for a U-Net of depth {cfg.depth}")
    distributed.split_batch(cfg.batch, ctx, "--batch")
    paths = [str(p) for p in inria_tiles(data)] if data else None
    seed_everything(cfg.seed)
    ncfg = NetConfig(width=cfg.width, depth=cfg.depth)
    net = UNet(ncfg).to(ctx.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    state = Path(out) / "state"
    config = {"net": ncfg.to_dict(), "train": asdict(cfg), "data": data or "generated towns (scene.py)"}
    meta = checkpoint.resume(state, net, opt, same={"net": ncfg},
                             how_to_fix="give another --out, or the settings it was trained with")
    model = distributed.wrap(net, ctx)
    make = partial(_one, crop=cfg.crop, drop_rgb=cfg.drop_rgb, paths=paths)
    pool = ProcessPoolExecutor(cfg.workers) if cfg.workers else None

    def batch_of(s: int):
        mine = distributed.shard(torch.tensor(example_seeds(cfg, s)), ctx).tolist()
        return pool.map(make, mine) if pool else map(make, mine)

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), config, optimizer=opt,
                        meta={"step": s.step, "seconds": s.seconds, "loss": s.mean(50)})

    steps = Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, log=log, window=20,
                  desc=f"train roofnet ({parameter_count(net):,} parameters)")
    pending = batch_of(steps.step) if steps.step < cfg.steps else None
    try:
        with steps:
            for step in steps:
                items = list(pending)
                pending = batch_of(step + 1) if step + 1 < cfg.steps else None  # generated while we train
                x = torch.from_numpy(np.stack([a for a, _ in items])).to(ctx.device)  # (b, 8, C, C)
                y = torch.from_numpy(np.stack([b for _, b in items])).to(ctx.device)  # (b, C, C)
                done = step / cfg.steps  # with a time box, the schedule follows whichever ends first
                if cfg.minutes:
                    done = max(done, min(1.0, (steps.elapsed / 60) / cfg.minutes))
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))
                model.train()
                loss = F.cross_entropy(model(x), y)  # mean over this process's equal share: DDP's mean is global
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps.done(distributed.mean(loss.item(), ctx) if ctx.active else loss.item())
                if cfg.minutes and steps.elapsed / 60 >= cfg.minutes:
                    steps.log(f"time box of {cfg.minutes} min reached at step {steps.step}")
                    break  # the steps since the last checkpoint are saved as the block ends
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return TrainResult(net.eval(), steps.losses, steps.step, steps.seconds)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, data: str | None, command: str,
           extra: dict | None = None) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("roofnet"))."""
    config = {"net": result.net.cfg.to_dict(), "train": asdict(cfg)}
    meta = {"command": command, "steps": result.step, "seconds": round(result.seconds, 1),
            "parameters": parameter_count(result.net),
            "data": data or ("generated towns (deepgallery/apps/sunroof/scene.py: flat, gable, hip and shed roofs, "
                             "dormers, chimneys, trees, roads; 0.5 m cells), one new town crop per example, seeds "
                             f"{cfg.seed * 1_000_003}..{cfg.seed * 1_000_003 + result.step * cfg.batch - 1}"),
            "final_loss": float(np.mean(result.losses[-50:])) if result.losses else None, **(extra or {})}
    return checkpoint.export_half(path, result.net.state_dict(), config, meta)
