"""`deepgallery train pose`: train the paper's PAF network on COCO keypoints (or on synthetic stick figures).

Plain PyTorch loop: Adam on the stage-wise L2 loss of Eq. 5, a checkpoint (safetensors + JSON, optimizer
included) every ``--save-every`` steps, ``--resume`` continues from it. The paper trains the full network
(VGG-19 stem from ImageNet) for days on GPUs; on this project's 2-core CPU only `--net small` on small data is
practical, which shows the machinery works (the loss falls) but does not give a useful pose model.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ...core import checkpoint
from ...core.errors import UserError, check_positive
from ...core.runtime import add_device_arg, choose_device, progress, seed_everything
from .data import CocoKeypoints, DataConfig, load_coco
from .model import PAFConfig, PAFNet, losses


@dataclass
class TrainConfig:
    """One training run."""

    steps: int = 2000  # optimizer steps
    batch: int = 8  # images per step
    lr: float = 1e-3  # Adam learning rate (the authors' Caffe run: SGD 4e-5 with summed, not averaged, losses)
    weight_decay: float = 0.0
    save_every: int = 200  # steps between checkpoints
    seed: int = 0


def add_args(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument("--coco-json", help="COCO person_keypoints_*.json")
    parser.add_argument("--images", help="the folder with that file's images (e.g. train2017/)")
    parser.add_argument("--synthetic", type=int, metavar="N",
                        help="instead of COCO: N generated stick-figure images in COCO format (a smoke test)")
    parser.add_argument("--out", default="runs/pose/paf", help="checkpoint NAME (NAME.safetensors + NAME.json)")
    parser.add_argument("--net", default="small", choices=("small", "paper"),
                        help="small: a CPU-sized network; paper: VGG-19 stem + 6 stages as in Fig. 3")
    parser.add_argument("--size", type=int, default=DataConfig.size, help="input side in px (default: 256)")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--save-every", type=int, default=d.save_every)
    parser.add_argument("--seed", type=int, default=d.seed)
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
        resume: bool = False, extra_config: dict | None = None) -> list[float]:
    """Train `model` on `dataset`; returns the loss of every step. Checkpoints go to `out`."""
    seed_everything(cfg.seed)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step = 0
    if resume and checkpoint.exists(out):
        tensors, _, meta = checkpoint.load(out)
        model.load_state_dict(tensors)
        checkpoint.restore_optimizer(opt, meta)
        step = int(meta.get("step", 0))
        print(f"resumed from {out} at step {step}")
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch, shuffle=True, drop_last=False,
                                         num_workers=0, generator=torch.Generator().manual_seed(cfg.seed))
    config = {"model": model.cfg.to_dict(), "train": asdict(cfg), **(extra_config or {})}
    history: list[float] = []

    def save(loss: float) -> None:
        checkpoint.save(out, model.state_dict(), config, meta={"step": step, "loss": loss}, optimizer=opt)

    bar = progress(total=cfg.steps, initial=step, desc="pose train")
    model.train()
    while step < cfg.steps:
        for x, s, paf, mask in loader:
            x, s, paf, mask = (t.to(device) for t in (x, s, paf, mask))
            loss, _ = losses(model(x), s, paf, mask)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            history.append(float(loss.detach()))
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.4f}")
            if step % cfg.save_every == 0 or step == cfg.steps:
                save(history[-1])
            if step >= cfg.steps:
                break
    bar.close()
    return history


def export(src: str | Path, dst: str | Path, meta: dict | None = None) -> Path:
    """A shippable copy of a training checkpoint: model weights only, as float16 (loading casts them back)."""
    tensors, config, old = checkpoint.load(src)
    info = {"step": old.get("step"), "loss": old.get("loss"), **(meta or {})}
    return checkpoint.save(dst, {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}, config,
                           meta=info)


def main(args: argparse.Namespace) -> int:
    for name in ("steps", "batch", "save_every", "lr"):
        check_positive(f"--{name.replace('_', '-')}", getattr(args, name))
    if args.size % 8 or args.size < 64:
        raise UserError(f"--size must be a multiple of 8 and at least 64, got {args.size}")
    device = choose_device(args.device)
    mcfg = PAFConfig.small() if args.net == "small" else PAFConfig()
    dcfg = replace(DataConfig(), size=args.size, stride=mcfg.stride,
                   sigma=7.0 * args.size / 368, limb_width=8.0 * args.size / 368)
    tcfg = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, save_every=args.save_every, seed=args.seed)
    with tempfile.TemporaryDirectory() as work:
        records = _records(args, Path(work))
        print(f"{len(records)} images with people; network {args.net} "
              f"({sum(p.numel() for p in PAFNet(mcfg).parameters()) / 1e6:.2f} M weights) on {device}")
        start = time.perf_counter()
        history = fit(PAFNet(mcfg), CocoKeypoints(records, dcfg, seed=args.seed), tcfg, args.out, device,
                      resume=args.resume, extra_config={"data": asdict(dcfg)})
    if history:
        k = max(1, len(history) // 10)
        first, last = sum(history[:k]) / k, sum(history[-k:]) / k
        print(f"loss {first:.4f} → {last:.4f} over {len(history)} steps ({time.perf_counter() - start:.0f} s)")
    print(f"checkpoint: {args.out}.safetensors (+ .json); run it with "
          f"`deepgallery run pose IMAGE --model paf --checkpoint {args.out}`")
    return 0
