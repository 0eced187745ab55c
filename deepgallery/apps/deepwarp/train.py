"""Training loop (Ganin et al. 2016, Sec. 3.4): L2 between the redirected eye and the target eye.

Pairs come from the procedural renderer (`render.py`) by default, or from a public gaze dataset
(`--data`: Columbia Gaze folder, see `data.py`). Plain PyTorch, Adam, resumable from its checkpoint
(`core.checkpoint.resume`). Under ``torchrun --nproc_per_node N -m deepgallery train deepwarp ...`` every process
draws the same global batch from the same seed and trains on its own slice of it (`core.distributed.shard`); DDP
averages the gradients, so N processes take the steps one process takes, and only rank 0 writes the checkpoint.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ...core import checkpoint, distributed
from ...core.config import add_config_args, number, option
from ...core.errors import UserError
from ...core.runtime import add_device_arg, seed_everything, torch_threads
from ...core.training import Steps
from . import APP
from .model import DeepWarp, DeepWarpConfig
from .render import PairBank


@dataclass
class TrainConfig:
    steps: int = option(3000, "optimizer steps", minimum=1)
    batch: int = option(16, "eye pairs per step (under torchrun: split over the processes)", minimum=1)
    bank_sets: int = option(768, "procedural eyes pre-rendered for training (render.PairBank)", minimum=1)
    bank_views: int = 6  # gazes per eye in the bank
    bank_cache: str | None = option(None, "keep the rendered bank in this .safetensors file between runs")
    lr: float = option(3e-3, "Adam learning rate (cosine-decayed to 5 %)", minimum=0, allow_zero=False)
    seed: int = option(0, "initial weights and batches", minimum=0)
    save_every: int = option(250, "steps between checkpoints (training resumes from the last)", minimum=1)
    threads: int = option(1, "CPU threads for torch (1 is fastest on a busy shared CPU)", minimum=1)
    iris_weight: float = option(0.02, "weight of the auxiliary iris-flow loss on renders (px²; 0: pixels only)",
                                minimum=0)
    init: str | None = option(None, "start from the weights of this checkpoint (fresh optimizer and schedule)")


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="deepwarp-train/deepwarp", help="checkpoint path (NAME → NAME.safetensors "
                                                                          "+ NAME.json); resumes if it exists")
    parser.add_argument("--data", help="a Columbia Gaze folder (default: procedural eye renders)")
    add_config_args(parser, TrainConfig)
    parser.add_argument("--channels", type=number(int, "--channels", minimum=1), default=DeepWarpConfig.channels,
                        help=f"conv width (default: {DeepWarpConfig.channels})")
    add_device_arg(parser)


def batches(cfg: TrainConfig, data: str | None, device):
    """Endless (x, angle, y) batches, procedural or from a dataset folder; procedural ones also carry the
    true iris flow and its weight (`render.iris_flow`) for the auxiliary loss."""
    if data:
        from .data import ColumbiaGazePairs

        yield from ColumbiaGazePairs(data).batches(cfg.batch, cfg.seed, device)
        return
    bank = PairBank.cached(cfg.bank_sets, cfg.bank_views, seed=cfg.seed, cache=cfg.bank_cache)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    while True:
        yield tuple(t.to(device) for t in bank.sample(cfg.batch, gen, iris=cfg.iris_weight > 0))


def iris_loss(flow: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
              total: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared flow error (px²) over the pixels where the iris is visible in both eyes of a pair.

    flow, target (B, 2, H, W), weight (B, 1, H, W). `total` is the weight the sum is divided by (default: this
    batch's, at least 1); a process training on a slice of a global batch passes the global weight / N, so that
    the N processes' losses average to the loss of the whole batch.
    """
    total = weight.sum().clamp(min=1.0) if total is None else total
    return (((flow - target) ** 2).sum(1, keepdim=True) * weight).sum() / total


def fit(model: DeepWarp, cfg: TrainConfig, out: str | Path | None = None, data: str | None = None,
        device: torch.device | None = None, log=print, ctx: distributed.Dist | None = None) -> list[float]:
    """Train `model` in place; returns the loss of every step (of the whole global batch). Saves/resumes at `out`
    when given. `ctx` (from `distributed.start`) makes it one of several processes under torchrun."""
    ctx = ctx or distributed.Dist(device=device or torch.device("cpu"))
    device = ctx.device
    say = log if ctx.is_main else (lambda _: None)
    net = distributed.wrap(model, ctx)  # on `device`; inside DDP when there are several processes
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    same = model.cfg.to_dict()  # a checkpoint of another network shape is refused, not half-loaded
    meta = checkpoint.resume(out, net, opt, same=same)
    if meta is None and cfg.init:
        checkpoint.resume(cfg.init, net, None, same=same, how_to_fix="choose a checkpoint with the same --channels")
        say(f"initialised from {cfg.init}")
    net.train()
    data_iter = batches(cfg, data, device)  # the same global batches in every process (same seed)

    def save(s: Steps) -> None:
        checkpoint.save(out, distributed.unwrap(net).state_dict(), model.cfg.to_dict(),
                        meta={"step": s.step, "loss": s.mean(), "train": asdict(cfg),
                              "data": data or "procedural renders"}, optimizer=opt)

    with Steps(cfg.steps, ctx, save if out is not None else None, meta=meta, save_every=cfg.save_every,
               desc="deepwarp", log=log, resumed=f"resumed {out} at step {{step}}") as steps:
        for step in steps:
            for group in opt.param_groups:  # cosine decay to 5 % of the base rate
                group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.steps))))
            # x (B, 3, H, W), angle (B, 2), y (B, 3, H, W)[, iris flow (B, 2, H, W), weight]
            batch = next(data_iter)
            x, angle, y, *iris = distributed.shard(batch, ctx)  # this process's slice
            pred = net(x, angle)
            loss = ((pred["out"] - y) ** 2).mean()  # Sec. 3.4: L2 to the target eye
            if iris and cfg.iris_weight > 0:  # the iris moves rigidly with the eyeball: supervise its flow
                total = batch[4].sum().clamp(min=1.0) / ctx.world  # the global batch's iris weight
                loss = loss + cfg.iris_weight * (iris_loss(pred["flow"], *iris, total=total)
                                                 + iris_loss(pred["coarse_flow"], *iris, total=total))
            opt.zero_grad(set_to_none=True)
            loss.backward()  # DDP: gradients averaged over the processes here
            opt.step()
            steps.done(distributed.mean(loss.item(), ctx))
            if steps.step % 50 == 0:
                say(f"step {steps.step}/{cfg.steps} loss {steps.mean():.5f} ({steps.elapsed:.0f} s)")
    return steps.losses


def main(args: argparse.Namespace) -> int:
    for name in ("steps", "batch", "save_every", "threads", "bank_sets"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be ≥ 1")
    if args.iris_weight < 0:
        raise UserError("--iris-weight must be ≥ 0")
    if args.init and not checkpoint.exists(args.init):
        raise UserError(f"--init {args.init}: no such checkpoint")
    if args.data and not Path(args.data).is_dir():
        raise UserError(f"--data {args.data}: not a folder")
    return distributed.run_training(args, TrainConfig, lambda cfg, ctx: _train(args, cfg, ctx), app="deepwarp")


def _train(args: argparse.Namespace, cfg: TrainConfig, ctx: distributed.Dist) -> None:
    distributed.split_batch(args.batch, ctx, "--batch")
    with torch_threads(args.threads):
        seed_everything(args.seed)  # the same initial weights and batches in every process
        model = DeepWarp(DeepWarpConfig(channels=args.channels))
        fit(model, cfg, out=args.out, data=args.data, ctx=ctx)
    if ctx.is_main:
        where = f"{ctx.world} processes on {ctx.device.type}" if ctx.active else str(ctx.device)
        print(f"wrote {args.out}.safetensors (trained on {where})")


def export_fp16(src: str | Path, dst: str | Path | None = None) -> Path:
    """Ship a training checkpoint (default: over the shipped one): model tensors only, float16."""
    tensors, config, meta = checkpoint.load(src)
    keep = {k: v for k, v in meta.items() if not k.startswith("_")}
    return checkpoint.export_half(APP.checkpoint("deepwarp") if dst is None else dst, tensors, config, meta=keep)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    add_args(p)
    raise SystemExit(main(p.parse_args()))
