"""Training a plankton classifier: a plain PyTorch loop (resumable, one or several processes under torchrun).

    deepgallery train plankton --data ~/ndsb/train --out runs/ndsb            # your folder-per-class images
    deepgallery train plankton --out runs/fmnist --export my-cyclic           # rotated Fashion-MNIST (offline)
    deepgallery train plankton --kind plain --out runs/fmnist-plain           # the plain CNN of equal size
    torchrun --nproc_per_node 4 -m deepgallery train plankton --device cuda --data ~/ndsb/train --out runs/n4

The loss is the competition's: the multi-class log loss (cross-entropy), optionally with class weights (rare
classes count more). Each example's augmentation is drawn from (seed, epoch, example index), and batches come
from a DistributedSampler, so N processes with batch B/N each take exactly the step one process takes with B.
Every `save_every` steps (and on Ctrl-C / SIGTERM) the network and the Adam state go to OUT/state; `--out` with a
state resumes it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import torch
from torch.nn import functional as F

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import (
    AugmentConfig,
    ImageSet,
    affine,
    as_input,
    class_weights,
    random_params,
    read_class_folders,
    rotated_fashion_mnist,
    stratified_split,
)
from .model import NetConfig, build, parameter_count, plain_config_matching
from .predict import logloss, probabilities


@dataclass
class TrainConfig:
    """Training; the defaults trained the shipped checkpoints (a CPU budget: two epochs of rotated Fashion-MNIST)."""

    kind: Literal["cyclic", "plain"] = option("cyclic", "cyclic: the team's network; plain: a CNN of equal size")
    epochs: int = option(2, "passes over the training images (the team: hundreds of chunks, days on a GPU)",
                         minimum=1)
    batch: int = option(64, "images per step (the global batch, split over processes under torchrun)", minimum=1)
    lr: float = option(2e-3, "Adam learning rate, cosine-decayed to 2%% (the team: Nesterov momentum 0.003)",
                       minimum=0, allow_zero=False)
    weight_decay: float = option(1e-5, "L2 weight decay", minimum=0)
    val_fraction: float = option(0.1, "fraction of every class held out for validation (stratified)", minimum=0,
                                 maximum=0.9)
    balance: bool = option(False, "weight the loss by inverse class frequency (NDSB's classes are very uneven)")
    augment: bool = option(True, "the team's random affine augmentation of every training image")
    limit: int = option(0, "use only the first N images of the data (0: all); for quick trials", minimum=0)
    size: int = option(32, "network input side in pixels, a multiple of 8 (the team: 95)", minimum=8)
    width: int = option(8, "channels of the first conv stage (then x2, x4)", minimum=1)
    dense: int = option(64, "dense units (the plain CNN gets more to match the parameter count)", minimum=1)
    dropout: float = option(0.1, "dropout before dense layers (the team: 0.5)", minimum=0, maximum=0.9)
    pool: Literal["mean", "rms"] = option("mean", "cyclic pooling over the four rotations (the team: rms)")
    seed: int = option(0, "initial weights, split, augmentation, data rendering", minimum=0)
    save_every: int = field(default=200)  # steps between resumable checkpoints


def net_config(cfg: TrainConfig, classes: int) -> NetConfig:
    cyclic = NetConfig(kind="cyclic", size=cfg.size, widths=[cfg.width, 2 * cfg.width, 4 * cfg.width],
                       dense=cfg.dense, classes=classes, dropout=cfg.dropout, pool=cfg.pool)
    return cyclic if cfg.kind == "cyclic" else plain_config_matching(cyclic)


def load_data(data: str | None, cfg: TrainConfig) -> ImageSet:
    """The training images: a folder-per-class dataset, or (None) the rotated Fashion-MNIST training split."""
    if cfg.size % 8:
        raise UserError(f"--size must be a multiple of 8, got {cfg.size}")
    if data:
        images = read_class_folders(data, cfg.size)
        return images.subset(range(min(len(images), cfg.limit))) if cfg.limit else images
    return rotated_fashion_mnist("train", cfg.size, cfg.seed, cfg.limit)


@dataclass
class TrainResult:
    net: torch.nn.Module
    classes: list[str]
    losses: list[float]  # per step, this process's share of the batch
    val_logloss: float | None
    step: int
    seconds: float


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print, images: ImageSet | None = None) -> TrainResult:
    """Train (or resume) one network on `data` (or `images` already prepared); returns it with its losses."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    images = images if images is not None else load_data(data, cfg)
    if images.skipped and ctx.is_main:
        log(f"skipped {len(images.skipped)} unreadable file(s), e.g. {images.skipped[0]}")
    train_idx, val_idx = stratified_split(images.y, cfg.val_fraction, cfg.seed)
    train_set, val_set = images.subset(train_idx), images.subset(val_idx)
    if len(train_set) < cfg.batch:
        raise UserError(f"only {len(train_set)} training images, fewer than --batch {cfg.batch}")
    classes = images.classes
    seed_everything(cfg.seed)  # the same initial weights on every process
    ncfg = net_config(cfg, len(classes))
    net = build(ncfg).to(ctx.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = Path(out) / "state"
    config = {"net": ncfg.to_dict(), "classes": classes, "train": asdict(cfg)}
    meta = checkpoint.resume(state, net, opt, same={"net": ncfg, "classes": classes},
                             how_to_fix="give another --out, or the settings it was trained with")
    weights = class_weights(train_set.y, len(classes)) if cfg.balance else torch.ones(len(classes))
    dataset = torch.utils.data.TensorDataset(torch.arange(len(train_set)))
    loader = distributed.loader(dataset, ctx, cfg.batch, shuffle=True, seed=cfg.seed, drop_last=True)
    # steps per epoch from the global count: a DistributedSampler pads the last shard with repeated images, which
    # could add a step one process would not take; stopping here keeps N processes on one process's steps
    per_epoch = len(train_set) // cfg.batch
    total = per_epoch * cfg.epochs
    model = distributed.wrap(net, ctx)
    aug = AugmentConfig()

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), config, meta={"step": s.step, "seconds": s.seconds, "loss": s.mean()},
                        optimizer=opt)

    with Steps(total, ctx, save, meta=meta, save_every=cfg.save_every, log=log,
               desc=f"train {ncfg.kind} ({parameter_count(net):,} parameters)") as steps:
        model.train()
        # every example's augmentation for an epoch, from (seed, epoch): the same whatever the process count
        augmentations = partial(_augmentations, len(train_set), aug, cfg.seed)
        for params, (idx,) in steps.epochs(loader, per_epoch, augmentations):
            for group in opt.param_groups:  # cosine decay to 2 %, from the step alone: resumes exactly
                group["lr"] = cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * steps.step / total)))
            x, size, y = as_input(train_set.x[idx]), train_set.size[idx], train_set.y[idx]  # (b, 1, S, S)
            if cfg.augment:
                x = affine(x, params[idx])
            x, size, y = x.to(ctx.device), size.to(ctx.device), y.to(ctx.device)
            ce = F.cross_entropy(model(x, size), y, reduction="none")  # (b,)
            # sum over this process's examples / its share of the global batch: DDP's mean over processes then
            # gives sum over the global batch / B, one process's loss exactly
            loss = (ce * weights.to(ce)[y]).sum() / len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps.done(loss.item())
    net.eval()
    val = None
    if len(val_set) and ctx.is_main:
        from .model import Classifier

        probs = probabilities([Classifier(net.cpu(), classes, {})], val_set.x, val_set.size)
        val = logloss(probs, val_set.y.numpy())
        net.to(ctx.device)
        log(f"held-out log loss {val:.4f} on {len(val_set)} images ({steps.elapsed:.0f} s)")
    return TrainResult(net, classes, steps.losses, val, steps.step, steps.seconds)


def _augmentations(n: int, aug: AugmentConfig, seed: int, epoch: int):
    return random_params(n, aug, torch.Generator().manual_seed(seed * 7919 + epoch))


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, data: str | None, command: str) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("cyclic") / ("plain"))."""
    config = {"net": result.net.cfg.to_dict(), "classes": result.classes, "train": asdict(cfg)}
    meta = {"command": command, "data": data or "rotated Fashion-MNIST (Debian dataset-fashion-mnist), train split",
            "steps": result.step, "seconds": round(result.seconds, 1), "val_logloss": result.val_logloss,
            "parameters": parameter_count(result.net)}
    return checkpoint.export_half(path, result.net.state_dict(), config, meta)
