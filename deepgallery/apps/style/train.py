"""Training loop for the fast style network (Johnson et al. 2016, Sec. 4.1): Adam, random photo crops.

    deepgallery train style --style swirl.jpg --out my_style --steps 2000
    deepgallery train style --distill-from swirl-full --out swirl_slim --steps 800    # a slim net (fast.SLIM)

`distill` trains a smaller TransformNet to reproduce a trained one (knowledge distillation, Hinton et al. 2015, here
as plain regression on images): random photo crops go through the teacher (its exact CPU path, fast_infer.py), and the
student is fitted to the teacher's output with L1 + L2 pixel losses, optionally plus perceptual terms (content loss
at relu2_2 and Gram loss at the style layers, both against the teacher's output, not the style image).

Resumable: the checkpoint (weights + Adam state + step) is written every `save_every` steps and picked up
again when the same --out is given (`core.checkpoint.resume`). `export_fp16` writes the small shipping version
(`core.checkpoint.export_half`: float16, no optimizer state).

One GPU or several (`core.distributed`): the same command runs under
``torchrun --nproc_per_node N -m deepgallery train style ...``. Every process draws the same global batch of
photo crops from the same seed and trains on its own slice of it (`distributed.shard`); DDP averages the gradients,
and since instance norm is per image, N processes take exactly the step one process takes with the whole batch.
Only process 0 writes the checkpoint. The loss network's forward runs in bfloat16 on a CUDA GPU
(`gatys.features`; the Gram matrices and losses stay float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from deepgallery.core import checkpoint, distributed
from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import load_rgb, to_tensor
from deepgallery.core.config import option
from deepgallery.core.errors import UserError, check_range
from deepgallery.core.runtime import seed_everything, torch_threads
from deepgallery.core.training import Steps

from .fast import SLIM, FastConfig, TransformNet, fast_checkpoint, load_fast, stylise_fast, total_variation
from .fast_infer import FastInference
from .gatys import NON_VGG_PERCEPTUAL_LAYERS, content_loss, features, gram, style_layer_loss, translated_layers
from .photos import folder_photos, offline_photos, random_crops


@dataclass
class FastTrainConfig:
    style: str = option("", "the style image to learn (not with --distill-from)")
    out: str = option("fast_style", "checkpoint path NAME (-> NAME.safetensors/.json); resumes if present")
    data: str = option("", "folder of training photos ('': the offline photos, scikit-image and matplotlib)")
    backbone: str = ""  # loss network; '' = the best installed for style
    steps: int = option(2000, "Adam steps (paper: 40k at batch 4 on COCO)", minimum=0, allow_zero=False)
    batch: int = option(4, "photos per step (paper: 4)", minimum=0, allow_zero=False)
    crop: int = option(128, "training patch side in px (paper: 256)", minimum=0, allow_zero=False)
    style_size: int = 256  # style image's longer side when computing its Grams
    lr: float = option(1e-3, "Adam learning rate (paper: 1e-3)", minimum=0, allow_zero=False)
    content_layer: str = "relu2_2"  # paper: relu2_2 of VGG16
    style_layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # paper's four
    content_weight: float = 1.0
    style_weight: float = option(3e3, "style loss weight, relative to content (our losses: see gatys.py)")
    tv_weight: float = option(1e-2, "total-variation loss weight")
    save_every: int = 50
    seed: int = option(0, "initial weights and crops")
    threads: int = option(0, "torch CPU threads (0: the default)", minimum=0)
    precision: str = "auto"  # loss network forward: auto = bfloat16 autocast on a CUDA GPU, float32 elsewhere
    model: FastConfig = field(default_factory=FastConfig)


def _check(cfg, ctx: distributed.Dist) -> None:
    """Shared start of training and distillation: positive sizes, a batch that splits over the processes."""
    for name in ("steps", "batch", "crop", "lr"):
        check_range(f"--{name}", getattr(cfg, name), 0, allow_zero=False)
    distributed.split_batch(cfg.batch, ctx, "--batch")


def _resume(cfg, model: torch.nn.Module, opt: torch.optim.Optimizer) -> int:
    """Load `cfg.out` into the model and optimizer if it exists (training and distillation resume alike);
    returns the step to continue from. A checkpoint of another network shape is a UserError: `resume` refuses
    tensors that do not fit the model. (Not `same={"model": ...}`: the saved config spells one shape in several
    ways, e.g. `width` is unused when both width lists are given, so comparing it would refuse nets that fit.)"""
    meta = checkpoint.resume(cfg.out, model, opt, how_to_fix="choose a new --out, or delete it to start again")
    return int(meta["step"]) if meta else 0


def _crops(photos: list[np.ndarray], cfg, rng: np.random.Generator, ctx: distributed.Dist) -> torch.Tensor:
    """This process's share (B / world, 3, crop, crop) in [0, 1] of a global batch of random photo crops that every
    process draws alike from the same generator."""
    x = torch.from_numpy(random_crops(photos, cfg.batch, cfg.crop, rng)).permute(0, 3, 1, 2).float() / 255
    return distributed.shard(x, ctx).to(ctx.device)


def train(cfg: FastTrainConfig, device: str = "auto") -> Path | None:
    """Train a fast network on `cfg.style`; returns the checkpoint path (None on the processes other than the
    first under torchrun: only that one writes)."""
    if not cfg.style:
        raise UserError("give the style image: --style PATH")
    return _in_process_group(cfg, device, _train)


def _in_process_group(cfg, device: str, body: Callable) -> Path | None:
    """`body(cfg, ctx)` alone or as one of torchrun's processes, with the config's threads; the checkpoint path on
    the first process, None on the others."""
    ctx = distributed.start(device)
    try:
        _check(cfg, ctx)
        with torch_threads(cfg.threads):
            body(cfg, ctx)
    finally:
        distributed.finish(ctx)
    return Path(cfg.out) if ctx.is_main else None


def perceptual_layers(net_name: str, cfg: FastTrainConfig) -> tuple[str, tuple[str, ...]]:
    """Johnson et al.'s loss layers for this backbone (VGG names, or their translation for another net)."""
    return translated_layers(net_name, (cfg.content_layer, cfg.style_layers),
                             (FastTrainConfig.content_layer, FastTrainConfig.style_layers), NON_VGG_PERCEPTUAL_LAYERS)


def _train(cfg: FastTrainConfig, ctx: distributed.Dist) -> None:
    seed_everything(cfg.seed)
    style_img, _ = load_rgb(cfg.style, max_side=cfg.style_size, what="style image")
    photos = folder_photos(cfg.data) if cfg.data else offline_photos()
    name = cfg.backbone or default_backbone("style")
    net, prep = backbone(name)
    net = net.to(ctx.device)
    content_layer, style_layers = perceptual_layers(name, cfg)
    layers = net.check_layers([content_layer, *style_layers])
    with torch.no_grad():
        fs = features(net, prep, to_tensor(style_img, ctx.device), style_layers, cfg.precision)
        targets = {k: gram(v) for k, v in fs.items()}  # (1, N, N) per layer

    model = distributed.wrap(TransformNet(cfg.model), ctx)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = _resume(cfg, model, opt)
    rng = np.random.default_rng(cfg.seed + step)
    def loss_at(step: int) -> torch.Tensor:
        """Johnson et al.'s perceptual loss of one batch of crops (content + style + total variation)."""
        x = _crops(photos, cfg, rng, ctx)  # (B / world, 3, crop, crop)
        y = model(x)  # (B / world, 3, crop, crop)
        feats = features(net, prep, torch.cat([y, x]), layers, cfg.precision)
        b = x.shape[0]
        lc = content_loss(feats[content_layer][:b], feats[content_layer][b:].detach())
        ls = sum(style_layer_loss(gram(feats[k][:b]), targets[k].expand(b, -1, -1)) / b for k in style_layers)
        ls = ls / len(style_layers)
        return cfg.content_weight * lc + cfg.style_weight * ls + cfg.tv_weight * total_variation(y)

    meta = {"backbone": name, "style": Path(cfg.style).name,
            "data": cfg.data or "offline photos (scikit-image, matplotlib)"}
    _optimise(cfg, ctx, model, opt, step, "train style", loss_at, meta)


def _optimise(cfg, ctx: distributed.Dist, model, opt: torch.optim.Optimizer, step: int, desc: str,
              loss_at: Callable[[int], torch.Tensor], meta: dict) -> None:
    """The loop training and distillation share: Adam steps on `loss_at(step)` up to `cfg.steps`; a checkpoint
    (rank 0) every `cfg.save_every` steps and at the end, with the loss averaged over the processes; on Ctrl-C or
    SIGTERM, the steps since the last checkpoint are saved before the run stops."""

    def save(s: Steps) -> None:
        record = {"step": s.step, "loss": s.loss, **meta, "seconds": round(s.elapsed, 1)}
        checkpoint.save(cfg.out, distributed.unwrap(model).state_dict(), asdict(cfg), record, optimizer=opt)

    with Steps(cfg.steps, ctx, save, start=step, save_every=cfg.save_every, desc=desc, window=20, fmt=".4g",
               log=print, shared_loss=True) as steps:  # a checkpoint records the loss over all processes
        for step in steps:
            loss = loss_at(step)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps.done(loss.item())


@dataclass
class DistillConfig:
    teacher: str = ""  # checkpoint of the trained net to imitate (a shipped name such as swirl-full, or a path)
    out: str = option("fast_style_slim", "student checkpoint NAME (-> NAME.safetensors/.json); resumes if present")
    data: str = option("", "folder of training photos ('': the offline photos, scikit-image and matplotlib)")
    holdout: int = option(2, "distillation: the last N photos are not trained on (they measure the fidelity)",
                          minimum=0)
    steps: int = option(800, "optimiser steps (the shipped slim nets: 800)", minimum=0, allow_zero=False)
    batch: int = option(2, "photos per step", minimum=0, allow_zero=False)
    crop: int = option(256, "training patch side in px", minimum=0, allow_zero=False)
    lr: float = option(2e-3, "Adam learning rate, cosine decay to lr / 20 over the steps", minimum=0,
                       allow_zero=False)
    l1_weight: float = 1.0  # mean |student - teacher| on the output pixels, [0, 1] units
    l2_weight: float = 1.0  # mean squared difference
    perceptual_weight: float = option(0.0, "distillation: add content + Gram losses against the teacher's output "
                                           "(0: pixels only)")
    backbone: str = ""  # loss network for the perceptual terms; '' = the best installed
    save_every: int = 25
    seed: int = option(0, "initial weights and crops")
    threads: int = option(0, "torch CPU threads (0: the default)", minimum=0)
    precision: str = "auto"  # perceptual terms' loss network: bfloat16 autocast on a CUDA GPU under auto
    model: FastConfig = field(default_factory=lambda: replace(SLIM))


def _lr_at(cfg: DistillConfig, step: int) -> float:
    """Cosine decay from lr to lr / 20 (a function of the step only, so a resumed run continues the schedule)."""
    t = min(step / max(cfg.steps, 1), 1.0)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def distill(cfg: DistillConfig, device: str = "auto") -> Path | None:
    """Train `cfg.model` (by default the slim fast.SLIM) to reproduce the teacher checkpoint's output; returns the
    checkpoint path (None on the processes other than the first under torchrun)."""
    if not cfg.teacher:
        raise UserError("give the network to distil: --distill-from CHECKPOINT (e.g. swirl-full)")
    return _in_process_group(cfg, device, _distill)


def _distill(cfg: DistillConfig, ctx: distributed.Dist) -> None:
    seed_everything(cfg.seed)
    teacher_path = fast_checkpoint(cfg.teacher)
    teacher_net, teacher_meta = load_fast(teacher_path)
    # the teacher's exact CPU path (fast_infer.py) on the CPU; the plain module, float32, on a GPU
    teacher = FastInference(teacher_net) if ctx.device.type == "cpu" else teacher_net.to(ctx.device)
    photos = folder_photos(cfg.data) if cfg.data else offline_photos()
    if cfg.holdout >= len(photos):
        raise UserError(f"--holdout {cfg.holdout} leaves no training photos (found {len(photos)})")
    photos = photos[:len(photos) - cfg.holdout]
    perceptual = None
    if cfg.perceptual_weight > 0:
        name = cfg.backbone or default_backbone("style")
        net, prep = backbone(name)
        net = net.to(ctx.device)
        content_layer, style_layers = perceptual_layers(name, FastTrainConfig())
        perceptual = (net, prep, content_layer, style_layers, net.check_layers([content_layer, *style_layers]))

    model = distributed.wrap(TransformNet(cfg.model), ctx)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = _resume(cfg, model, opt)
    rng = np.random.default_rng(cfg.seed + step)
    def loss_at(step: int) -> torch.Tensor:
        """L1 + L2 to the teacher's output on the same crops (+ perceptual terms), at the scheduled rate."""
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, step)
        x = _crops(photos, cfg, rng, ctx)  # (B / world, 3, crop, crop)
        with torch.inference_mode():
            target = teacher(x)  # (B / world, 3, crop, crop), the teacher's output on the same crops
        target = target.clone()  # a normal tensor, outside inference mode
        y = model(x)
        diff = y - target
        loss = cfg.l1_weight * diff.abs().mean() + cfg.l2_weight * diff.square().mean()
        if perceptual is not None:
            net, prep, cl, sl, layers = perceptual
            b = x.shape[0]
            feats = features(net, prep, torch.cat([y, target]), layers, cfg.precision)
            lc = content_loss(feats[cl][:b], feats[cl][b:].detach())
            ls = sum(style_layer_loss(gram(feats[k][:b]), gram(feats[k][b:]).detach()) for k in sl) / len(sl)
            loss = loss + cfg.perceptual_weight * (lc + FastTrainConfig().style_weight * ls)
        return loss

    meta = {"teacher": teacher_path.name, "teacher_step": teacher_meta.get("step"),
            "style": teacher_meta.get("style", ""), "backbone": teacher_meta.get("backbone", ""),
            "data": cfg.data or "offline photos (scikit-image, matplotlib)"}
    _optimise(cfg, ctx, model, opt, step, "distil style", loss_at, meta)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of two images in [0, 1]."""
    mse = (a - b).double().square().mean().item()
    return 10 * math.log10(1 / max(mse, 1e-12))


def ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean structural similarity (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5) of (B, 3, H, W) images in
    [0, 1], per channel, averaged."""
    from torch.nn import functional as F

    g = torch.exp(-((torch.arange(11, dtype=torch.float64) - 5) ** 2) / (2 * 1.5 ** 2))
    g = g / g.sum()
    win = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)
    a, b = a.double(), b.double()

    def blur(t):
        return F.conv2d(t, win, groups=3)

    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma ** 2, blur(b * b) - mb ** 2, blur(a * b) - ma * mb
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2))
    return s.mean().item()


def fidelity(student, teacher, photos: list[np.ndarray]) -> dict[str, float]:
    """PSNR / SSIM / max |difference| of the student's output against the teacher's on whole photos (mean over
    photos); models as for `stylise_fast`."""
    out: dict[str, list[float]] = {"psnr": [], "ssim": [], "mean_abs": []}
    for p in photos:
        x = to_tensor(p)
        a, b = stylise_fast(student, x), stylise_fast(teacher, x)
        out["psnr"].append(psnr(a, b))
        out["ssim"].append(ssim(a, b))
        out["mean_abs"].append((a - b).abs().mean().item())
    return {k: float(np.mean(v)) for k, v in out.items()}


def export_fp16(src: str, dst: str) -> Path:
    """The shipping checkpoint: fp16 weights, the model config and the training facts, no optimizer state."""
    tensors, config, meta = checkpoint.load(src)
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    config = {**config, "out": Path(dst).name, "threads": 0}
    for key in ("style", "teacher"):  # no local paths in a shipped file
        if key in config:
            config[key] = Path(config[key]).name
    return checkpoint.export_half(dst, tensors, config, meta)


__all__ = ["DistillConfig", "FastTrainConfig", "distill", "export_fp16", "fidelity", "psnr", "ssim", "train"]
