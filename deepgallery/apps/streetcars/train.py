"""Training the fine-grained car classifier (CarNet) on a folder-per-class dataset: a plain PyTorch loop.

    deepgallery train streetcars --data car_data/train --out runs/cars --export cars196        # Stanford Cars
    torchrun --nproc_per_node 4 -m deepgallery train streetcars --device cuda --data car_data/train --out runs/c4
    deepgallery run streetcars photos/ --regions regions.csv --classifier cars196 --attributes cars196.csv

Cross-entropy over the classes, SGD with momentum and weight decay as the paper's AlexNet-style net was trained
(cosine-decayed learning rate here), left-right flips. Batches come from a DistributedSampler and each image's
flip from (seed, epoch, index), so N processes with B/N images each take one process's step with B; only rank 0
writes. Every `save_every` steps (and on Ctrl-C / SIGTERM) the network and optimiser go to OUT/state; running
again with the same --out resumes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn import functional as F

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import CarImages, flips, read_class_folders, stratified_split
from .model import CarNet, CarNetConfig, normalise, parameter_count


@dataclass
class TrainConfig:
    """Training of CarNet (the paper: 2,657 classes, 415 k images, an AlexNet-sized net on GPUs)."""

    epochs: int = option(30, "passes over the training images", minimum=1)
    batch: int = option(64, "images per step (the global batch, split over processes under torchrun)", minimum=1)
    lr: float = option(0.02, "SGD learning rate (momentum 0.9), cosine-decayed to 2%%", minimum=0, allow_zero=False)
    weight_decay: float = option(5e-4, "L2 weight decay (AlexNet's)", minimum=0)
    size: int = option(96, "network input side in pixels (the paper: 227)", minimum=32)
    width: float = option(1.0, "multiplies the conv widths 32-64-96-96-64 and dense 512", minimum=0.1)
    val_fraction: float = option(0.1, "fraction of every class held out for validation", minimum=0, maximum=0.9)
    limit_per_class: int = option(0, "use at most N images per class (0: all); for quick trials", minimum=0)
    dropout: float = option(0.5, "dropout before the dense layers (AlexNet's)", minimum=0, maximum=0.9)
    seed: int = option(0, "initial weights, split and flips", minimum=0)
    save_every: int = field(default=200)  # steps between resumable checkpoints


def net_config(cfg: TrainConfig, classes: int) -> CarNetConfig:
    widths = [max(4, round(c * cfg.width)) for c in (32, 64, 96, 96, 64)]
    return CarNetConfig(classes=classes, size=cfg.size, widths=widths, dense=max(16, round(512 * cfg.width)),
                        dropout=cfg.dropout)


@dataclass
class TrainResult:
    net: CarNet
    classes: list[str]
    losses: list[float]
    val_accuracy: float | None
    step: int
    seconds: float


@torch.no_grad()
def accuracy(net: CarNet, images: CarImages, batch: int = 256) -> float:
    net.eval()
    right = 0
    for i in range(0, len(images), batch):
        logits = net(normalise(images.x[i:i + batch]))
        right += int((logits.argmax(1) == images.y[i:i + batch]).sum())
    return right / max(1, len(images))


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print, images: CarImages | None = None) -> TrainResult:
    """Train (or resume) CarNet on the folder-per-class `data` (or `images` already read)."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    if images is None:
        if not data:
            raise UserError("give --data FOLDER: one subfolder of car images per class (Stanford Cars' "
                            "car_data/train); no car images exist offline to train on by default")
        images = read_class_folders(data, cfg.size, cfg.limit_per_class, show_progress=ctx.is_main)
    if images.skipped and ctx.is_main:
        log(f"skipped {len(images.skipped)} unreadable file(s), e.g. {images.skipped[0]}")
    train_idx, val_idx = stratified_split(images.y, cfg.val_fraction, cfg.seed)
    train_set, val_set = images.subset(train_idx), images.subset(val_idx)
    if len(train_set) < cfg.batch:
        raise UserError(f"only {len(train_set)} training images, fewer than --batch {cfg.batch}")
    seed_everything(cfg.seed)  # the same initial weights on every process
    ncfg = net_config(cfg, len(images.classes))
    net = CarNet(ncfg).to(ctx.device)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    state = Path(out) / "state"
    config = {"net": ncfg.to_dict(), "classes": images.classes, "train": asdict(cfg)}
    meta = checkpoint.resume(state, net, opt, same={"net": ncfg, "classes": images.classes},
                             how_to_fix="give another --out, or the settings it was trained with")
    loader = distributed.loader(torch.utils.data.TensorDataset(torch.arange(len(train_set))), ctx, cfg.batch,
                                shuffle=True, seed=cfg.seed, drop_last=True)
    per_epoch = len(train_set) // cfg.batch  # from the global count, so N processes take one process's steps
    total = per_epoch * cfg.epochs
    model = distributed.wrap(net, ctx)

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), config, optimizer=opt,
                        meta={"step": s.step, "seconds": s.seconds, "loss": s.mean()})

    with Steps(total, ctx, save, meta=meta, save_every=cfg.save_every, log=log,
               desc=f"train CarNet ({parameter_count(net):,} parameters)") as steps:
        model.train()
        for mirrored, (idx,) in steps.epochs(loader, per_epoch, lambda epoch: flips(len(train_set), cfg.seed, epoch)):
            for group in opt.param_groups:  # cosine decay to 2 %, from the step alone: resumes exactly
                group["lr"] = cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * steps.step / total)))
            x = train_set.x[idx]  # (b, S, S, 3) uint8
            x = torch.where(mirrored[idx].view(-1, 1, 1, 1), x.flip(2), x)
            x, y = normalise(x).to(ctx.device), train_set.y[idx].to(ctx.device)
            loss = F.cross_entropy(model(x), y)  # mean over this process's b = B/N: DDP's mean gives B's
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps.done(loss.item())
    net.eval()
    val = None
    if len(val_set) and ctx.is_main:
        val = accuracy(net.cpu(), val_set)
        net.to(ctx.device)
        log(f"held-out accuracy {val:.3f} on {len(val_set)} images of {len(images.classes)} classes "
            f"({steps.elapsed:.0f} s)")
    return TrainResult(net, images.classes, steps.losses, val, steps.step, steps.seconds)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, data: str | None, command: str) -> Path:
    """The fp16 checkpoint `run streetcars --classifier` loads."""
    config = {"net": result.net.cfg.to_dict(), "classes": result.classes, "train": asdict(cfg)}
    meta = {"command": command, "data": data, "steps": result.step, "seconds": round(result.seconds, 1),
            "val_accuracy": result.val_accuracy, "parameters": parameter_count(result.net)}
    return checkpoint.export_half(path, result.net.state_dict(), config, meta)
