"""`deepgallery train pose`: train the paper's PAF network on COCO keypoints (or on synthetic stick figures).

Plain PyTorch loop: Adam on the stage-wise L2 loss of Eq. 5, a checkpoint (safetensors + JSON, optimizer
included) every ``--save-every`` steps, ``--resume`` continues from it (`core.checkpoint.resume`). The same command
runs on several GPUs or processes under ``torchrun --nproc_per_node N -m deepgallery train pose ...``
(`core.distributed`: DDP, a DistributedSampler share of every global batch, rank 0 writes). The paper trains the
full network (VGG-19 stem from ImageNet) for days on GPUs; on this project's 2-core CPU only `--net small` on small
data is practical, which shows the machinery works (the loss falls) but does not give a useful pose model.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ...core import checkpoint, distributed
from ...core.config import add_config_args, option
from ...core.errors import UserError
from ...core.runtime import add_device_arg, seed_everything
from ...core.training import Steps
from .data import CocoKeypoints, DataConfig, load_coco
from .model import PAFConfig, PAFNet, losses


@dataclass
class TrainConfig:
    """One training run."""

    steps: int = option(2000, "optimizer steps", minimum=1)
    batch: int = option(8, "images per step (under torchrun: split over the processes)", minimum=1)
    lr: float = option(1e-3, "Adam learning rate (the authors' Caffe run: SGD 4e-5 with summed, not averaged, "
                             "losses)", minimum=0, allow_zero=False)
    weight_decay: float = 0.0
    save_every: int = option(200, "steps between checkpoints", minimum=1)
    seed: int = option(0, "initial weights, data order and augmentation", minimum=0)


def add_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--coco-json", help="COCO person_keypoints_*.json")
    parser.add_argument("--images", help="the folder with that file's images (e.g. train2017/)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="instead of COCO: N generated stick-figure images in COCO format (a smoke test)")
    parser.add_argument("--out", default="runs/pose/paf", help="checkpoint NAME (NAME.safetensors + NAME.json)")
    parser.add_argument("--net", default="small", choices=("small", "paper"),
                        help="small: a CPU-sized network; paper: VGG-19 stem + 6 stages as in Fig. 3")
    parser.add_argument("--size", type=int, default=DataConfig.size, help="input side in px (default: 256)")
    add_config_args(parser, TrainConfig)
    parser.add_argument("--resume", action="store_true", help="continue from --out if it exists")
    add_device_arg(parser)


def _records(args: argparse.Namespace, work: Path) -> list[dict]:
    if args.synthetic:
        from .synthetic import write_coco

        ann, images = write_coco(work / "synthetic", args.synthetic, size=(args.size, args.size), seed=args.seed)
        return load_coco(ann, images)
    if not (args.coco_json and args.images):
        raise UserError("give --coco-json FILE --images DIR (COCO keypoints), or --synthetic N for a smoke test")
    return load_coco(args.coco_json, args.images)


def fit(model: PAFNet, dataset: CocoKeypoints, cfg: TrainConfig, out: str | Path, device: torch.device,
        resume: bool = False, extra_config: dict | None = None, ctx: distributed.Dist | None = None) -> list[float]:
    """Train `model` on `dataset`; returns the loss of every step (averaged over processes). Checkpoints go to `out`.

    One process or several (`ctx` from `distributed.start`, under torchrun): each sees `cfg.batch / N` of every
    global batch through a DistributedSampler, DDP averages the gradients, so N processes take the steps one
    process takes with the whole batch; only rank 0 writes the checkpoint.
    """
    ctx = ctx or distributed.Dist(device=device)
    seed_everything(cfg.seed)
    net = distributed.wrap(model, ctx)  # on ctx.device; inside DDP when there are several processes
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    config = {"model": model.cfg.to_dict(), "train": asdict(cfg), **(extra_config or {})}
    meta = checkpoint.resume(out if resume else None, net, opt, same={"model": config["model"]})
    loader = distributed.loader(dataset, ctx, cfg.batch, seed=cfg.seed, drop_last=False, num_workers=0)

    def save(s: Steps) -> None:
        checkpoint.save(out, distributed.unwrap(net).state_dict(), config, meta={"step": s.step, "loss": s.losses[-1]},
                        optimizer=opt)

    net.train()
    epoch = 0
    with Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, desc="pose train", window=1, fmt=".4f",
               log=print, resumed=f"resumed from {out} at step {{step}}") as steps:
        while steps.step < cfg.steps:
            distributed.set_epoch(loader, epoch)  # a new order of the images every pass
            dataset.set_epoch(epoch)  # and new augmentations
            for x, s, paf, mask in loader:
                x, s, paf, mask = (t.to(ctx.device) for t in (x, s, paf, mask))  # x (b, 3, H, W), maps (b, ·, h, w)
                loss, _ = losses(net(x), s, paf, mask)
                opt.zero_grad(set_to_none=True)
                loss.backward()  # DDP: gradients averaged over the processes here
                opt.step()
                steps.done(distributed.mean(float(loss.detach()), ctx))
                if steps.step >= cfg.steps:
                    break
            epoch += 1
    return steps.losses


def export(src: str | Path, dst: str | Path, meta: dict | None = None) -> Path:
    """A shippable copy of a training checkpoint: model weights only, as float16 (loading casts them back)."""
    tensors, config, old = checkpoint.load(src)
    info = {"step": old.get("step"), "loss": old.get("loss"), **(meta or {})}
    return checkpoint.export_half(dst, tensors, config, meta=info)


def main(args: argparse.Namespace) -> int:
    if args.size % 8 or args.size < 64:
        raise UserError(f"--size must be a multiple of 8 and at least 64, got {args.size}")
    return distributed.run_training(args, TrainConfig, lambda tcfg, ctx: _train(args, tcfg, ctx), app="pose")


def _train(args: argparse.Namespace, tcfg: TrainConfig, ctx: distributed.Dist) -> list[float]:
    say = print if ctx.is_main else (lambda *a, **k: None)
    mcfg = PAFConfig.small() if args.net == "small" else PAFConfig()
    dcfg = replace(DataConfig(), size=args.size, stride=mcfg.stride,
                   sigma=7.0 * args.size / 368, limb_width=8.0 * args.size / 368)
    seed_everything(args.seed)  # the same initial weights in every process (and in every run)
    model = PAFNet(mcfg)
    with tempfile.TemporaryDirectory() as work:
        records = _records(args, Path(work))  # every process makes (or reads) the same records
        where = f"{ctx.world} processes on {ctx.device.type}" if ctx.active else str(ctx.device)
        say(f"{len(records)} images with people; network {args.net} "
            f"({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M weights) on {where}")
        start = time.perf_counter()
        history = fit(model, CocoKeypoints(records, dcfg, seed=args.seed), tcfg, args.out, ctx.device,
                      resume=args.resume, extra_config={"data": asdict(dcfg)}, ctx=ctx)
    if history:
        k = max(1, len(history) // 10)
        first, last = sum(history[:k]) / k, sum(history[-k:]) / k
        say(f"loss {first:.4f} → {last:.4f} over {len(history)} steps ({time.perf_counter() - start:.0f} s)")
    say(f"checkpoint: {args.out}.safetensors (+ .json); run it with "
        f"`deepgallery run pose IMAGE --model paf --checkpoint {args.out}`")
    return history
