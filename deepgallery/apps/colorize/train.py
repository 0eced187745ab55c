"""Training the colorization network: a plain PyTorch loop (resumable; one or several processes under torchrun).

    deepgallery train colorize --out runs/corpus --export my-colorizer         # the offline photo corpus
    deepgallery train colorize --data ~/places365/train --labels folder --width 1 --size 224 --device cuda
    torchrun --nproc_per_node 8 -m deepgallery train colorize --data ~/places365/train --labels folder \\
        --width 1 --size 224 --batch 128 --steps 200000 --device cuda                  # the paper's setting

The loss is the paper's Eq. 2: the MSE between the predicted and true a*b* (both normalised to [0, 1]) plus α
times the classification network's cross-entropy on the scene label (α = 1/300 in the paper; 0 without labels).
Each step draws random crops of random photos (scale 0.35-1 of the shorter side, mirrored half the time), and
random user hints from the ground truth (Zhang et al. 2017; none for half the crops). Every `save_every` steps
the network and optimiser state go to OUT/state, from which `--out` resumes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch.nn import functional as F

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import CropDataset, Photos, corpus_photos, folder_photos, make_batch, pseudo_labels
from .model import NetConfig, build, parameter_count


@dataclass
class TrainConfig:
    """Training; the defaults trained the shipped CPU checkpoint (its JSON holds the exact command)."""

    steps: int = option(3000, "optimiser steps (the paper: ~200k steps of batch 128 on Places, 3 weeks on a GPU)",
                        minimum=1)
    batch: int = option(16, "crops per step (the global batch, split over processes under torchrun; paper: 128)",
                        minimum=1)
    size: int = option(128, "crop side in pixels, a multiple of 8 (the paper: 224)", minimum=8)
    crops_per_photo: int = option(64, "crops of every photo per epoch (an epoch is only a reshuffle point)",
                                  minimum=1)
    width: float = option(0.125, "channel multiplier of every layer; 1.0 is the paper's network", minimum=0,
                          allow_zero=False)
    hints: bool = option(True, "train with simulated user hints (Zhang et al. 2017), so --hint works")
    hint_none: float = option(0.5, "fraction of crops trained with no hint at all", minimum=0, maximum=1)
    labels: Literal["classifier", "folder", "none"] = option(
        "classifier", "scene labels for the classification head: the offline ImageNet classifier's top-1 "
                      "(pseudo labels), the data's subfolder names (Places, ImageNet), or none (alpha = 0)")
    alpha: float = option(1 / 300, "weight of the classification loss (Eq. 2; the paper: 1/300)", minimum=0)
    optimizer: Literal["adam", "adadelta"] = option(
        "adam", "adam (lr below, cosine-decayed; converges in far fewer steps, which a CPU budget needs) or the "
                "paper's adadelta (lr 1, rho 0.95)")
    lr: float = option(1e-3, "Adam's learning rate (adadelta: its own lr of 1.0)", minimum=0, allow_zero=False)
    minutes: float = option(0.0, "stop (and save) after this many minutes of training (0: run all steps)",
                            minimum=0)
    workers: int = option(0, "DataLoader worker processes preparing crops (0: in the training process)",
                          minimum=0)
    limit: int = option(0, "use only the first N photos (0: all); for quick trials", minimum=0)
    seed: int = option(0, "initial weights, crops and hints", minimum=0)
    save_every: int = field(default=250)  # steps between resumable checkpoints


@dataclass
class TrainResult:
    net: torch.nn.Module
    photos: Photos
    losses: list[float]
    step: int
    seconds: float


def load_photos(data: str | None, cfg: TrainConfig, device, log=print) -> Photos:
    """The training photos with their scene labels as `cfg.labels` asks."""
    if cfg.size % 8:
        raise UserError(f"--size must be a multiple of 8, got {cfg.size}")
    if data:
        photos = folder_photos(data, folder_labels=cfg.labels == "folder", limit=cfg.limit, log=log)
    else:
        if cfg.labels == "folder":
            raise UserError("--labels folder needs --data DIR with one subfolder per class")
        photos = corpus_photos("train")
        if cfg.limit:
            photos = Photos(photos.images[:cfg.limit], photos.labels[:cfg.limit], photos.names[:cfg.limit], [],
                            photos.manifest[:cfg.limit])
    if cfg.labels == "classifier" and cfg.alpha > 0:
        photos = pseudo_labels(photos, device)
    return photos


def net_config(cfg: TrainConfig, photos: Photos) -> NetConfig:
    with_head = cfg.labels != "none" and cfg.alpha > 0 and len(photos.classes) > 0
    return NetConfig(width=cfg.width, classes=len(photos.classes) if with_head else 0, hints=cfg.hints)


def make_optimizer(net: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(net.parameters(), lr=1.0, rho=0.95)  # the paper's optimiser
    return torch.optim.Adam(net.parameters(), lr=cfg.lr)


def loss_terms(net, x: torch.Tensor, target: torch.Tensor, labels: torch.Tensor, alpha: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 2: MSE on the normalised a*b* + α · cross-entropy of the scene class. Returns (total, mse, ce)."""
    ab, logits = net(x)
    mse = F.mse_loss(ab, target)
    ce = F.cross_entropy(logits, labels) if logits is not None else torch.zeros((), device=x.device)
    return mse + alpha * ce, mse, ce


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print, photos: Photos | None = None) -> TrainResult:
    """Train (or resume) the network on `data` (a folder; None: the offline corpus) or on `photos` given."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    photos = photos if photos is not None else load_photos(data, cfg, ctx.device, log if ctx.is_main else print)
    ncfg = net_config(cfg, photos)
    seed_everything(cfg.seed)  # the same initial weights on every process
    net = build(ncfg).to(ctx.device)
    opt = make_optimizer(net, cfg)
    state = Path(out) / "state"
    config = {"net": ncfg.to_dict(), "train": asdict(cfg)}
    meta = checkpoint.resume(state, net, opt, same={"net": ncfg},
                             how_to_fix="give another --out, or the settings it was trained with")
    dataset = CropDataset(photos, cfg.size, cfg.crops_per_photo, cfg.seed)
    per_epoch = len(dataset) // cfg.batch
    if per_epoch < 1:
        raise UserError(f"only {len(dataset)} crops per epoch, fewer than --batch {cfg.batch}; "
                        "raise --crops-per-photo")
    loader = distributed.loader(dataset, ctx, cfg.batch, shuffle=True, seed=cfg.seed, drop_last=True,
                                num_workers=cfg.workers, pin_memory=torch.device(ctx.device).type == "cuda")
    model = distributed.wrap(net, ctx)
    labelled = ncfg.classes > 0

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), config,
                        meta={"step": s.step, "seconds": s.seconds, "loss": s.mean()}, optimizer=opt)

    with Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, log=log, label="mse", fmt=".5f",
               desc=f"train colorize ({parameter_count(net):,} parameters, {len(photos)} photos)") as steps:
        model.train()
        for _, (crops, label, seeds) in steps.epochs(loader, per_epoch, dataset.set_epoch):
            if cfg.optimizer == "adam":  # cosine decay to 5 %, from the step (resumes exactly) or, with
                # --minutes, from the share of the time box spent if that is further along
                done = steps.step / cfg.steps
                if cfg.minutes:
                    done = min(1.0, max(done, steps.elapsed / (60 * cfg.minutes)))
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))
            x, target = make_batch(crops.to(ctx.device, non_blocking=True), seeds, cfg.hints, cfg.hint_none)
            label = label.to(ctx.device) if labelled else label
            loss, mse, _ = loss_terms(model, x, target, label, cfg.alpha if labelled else 0.0)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps.done(float(mse.item()))
            if cfg.minutes and _out_of_time(steps.t0, cfg.minutes, ctx):  # saved as the block ends
                if ctx.is_main:
                    log(f"time limit of {cfg.minutes:g} min reached at step {steps.step}")
                cfg = _stopped(cfg, steps.step)
                break
    net.eval()
    return TrainResult(net, photos, steps.losses, steps.step, steps.seconds)


def _out_of_time(t0: float, minutes: float, ctx: distributed.Dist) -> bool:
    """Every process stops at the same step: rank 0's clock decides."""
    late = float(time.time() - t0 > minutes * 60)
    if ctx.active:
        import torch.distributed as dist

        flag = torch.tensor([late], device=ctx.device)
        dist.broadcast(flag, 0)
        late = float(flag.item())
    return late > 0


def _stopped(cfg: TrainConfig, step: int) -> TrainConfig:
    from dataclasses import replace

    return replace(cfg, steps=step)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, data: str | None, command: str) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("colorize"))."""
    net = result.net
    config = {"net": net.cfg.to_dict(), "train": asdict(cfg)}
    labels = {"classifier": "pseudo scene labels: EfficientNet-Lite0 ImageNet top-1 of each whole photo",
              "folder": "subfolder names", "none": "none (alpha = 0)"}[cfg.labels]
    meta = {"command": command, "steps": result.step, "seconds": round(result.seconds, 1),
            "final_mse": round(sum(result.losses[-100:]) / max(1, len(result.losses[-100:])), 6)
            if result.losses else None,
            "parameters": parameter_count(net), "labels": labels,
            "data": data or "the offline photo corpus (deepgallery.core.photos), train split",
            "photos": result.photos.manifest or [{"file": n} for n in result.photos.names],
            "classes_used": sorted({result.photos.classes[k] for k in result.photos.labels if k >= 0}),
            "skipped": len(result.photos.skipped)}
    return checkpoint.export_half(path, net.state_dict(), config, meta)
