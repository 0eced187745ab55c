"""Training loop for the fast style network (Johnson et al. 2016, Sec. 4.1): Adam, random photo crops.

    deepgallery train style --style swirl.jpg --out my_style --steps 2000
    deepgallery train style --distill-from swirl-full --out swirl_slim --steps 800    # a slim net (fast.SLIM)

`distill` trains a smaller TransformNet to reproduce a trained one (knowledge distillation, Hinton et al. 2015, here
as plain regression on images): random photo crops go through the teacher (its exact CPU path, fast_infer.py), and the
student is fitted to the teacher's output with L1 + L2 pixel losses, optionally plus perceptual terms (content loss
at relu2_2 and Gram loss at the style layers, both against the teacher's output, not the style image).

Resumable: the checkpoint (weights + Adam state + step) is written every `save_every` steps and picked up
again when the same --out is given. `export_fp16` writes the small shipping version (no optimizer state).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from deepgallery.core import checkpoint
from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import load_rgb, to_tensor
from deepgallery.core.errors import UserError, check_positive
from deepgallery.core.runtime import progress, seed_everything

from .fast import SLIM, FastConfig, TransformNet, total_variation
from .fast_infer import FastInference
from .gatys import content_loss, gram, style_layer_loss
from .photos import folder_photos, offline_photos, random_crops


@dataclass
class FastTrainConfig:
    style: str = ""  # path of the style image
    out: str = "fast_style"  # checkpoint path (NAME -> NAME.safetensors + NAME.json); resumed if present
    data: str = ""  # folder of training photos; '' = the offline photos (scikit-image, matplotlib)
    backbone: str = ""  # loss network; '' = the best installed for style
    steps: int = 2000  # optimiser steps (paper: 40k at batch 4 on COCO)
    batch: int = 4  # paper: 4
    crop: int = 128  # training patch side (paper: 256)
    style_size: int = 256  # style image's longer side when computing its Grams
    lr: float = 1e-3  # Adam learning rate (paper: 1e-3)
    content_layer: str = "relu2_2"  # paper: relu2_2 of VGG16
    style_layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")  # paper's four
    content_weight: float = 1.0
    style_weight: float = 3e3  # relative to content (our losses: see gatys.py)
    tv_weight: float = 1e-2
    save_every: int = 50
    seed: int = 0
    threads: int = 0  # torch CPU threads (0 = default)
    model: FastConfig = field(default_factory=FastConfig)


def _check_and_seed(cfg) -> None:
    """Shared start of training and distillation: positive sizes, the thread count, the seed."""
    for name in ("steps", "batch", "crop", "lr"):
        check_positive(f"--{name}", getattr(cfg, name))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)


def _resume(cfg, model: TransformNet, opt: torch.optim.Optimizer) -> int:
    """Load `cfg.out` into the model and optimizer if it exists (training and distillation resume alike);
    returns the step to continue from. A checkpoint of another network shape is a UserError."""
    if not checkpoint.exists(cfg.out):
        return 0
    tensors, saved, meta = checkpoint.load(cfg.out)
    old = FastConfig(**saved.get("model", {}))
    if (old.encoder, old.decoder, old.res_blocks) != (cfg.model.encoder, cfg.model.decoder, cfg.model.res_blocks):
        raise UserError(f"{cfg.out} holds a network of another shape ({saved.get('model')}); choose a new --out")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    checkpoint.restore_optimizer(opt, meta)
    return int(meta.get("step", 0))


def train(cfg: FastTrainConfig) -> Path:
    if not cfg.style:
        raise UserError("give the style image: --style PATH")
    _check_and_seed(cfg)
    style_img, _ = load_rgb(cfg.style, max_side=cfg.style_size, what="style image")
    photos = folder_photos(cfg.data) if cfg.data else offline_photos()
    name = cfg.backbone or default_backbone("style")
    net, prep = backbone(name)
    layers = net.check_layers([cfg.content_layer, *cfg.style_layers])
    with torch.no_grad():
        fs = net.extract(prep.normalize(to_tensor(style_img)), cfg.style_layers)
        targets = {k: gram(v) for k, v in fs.items()}  # (1, N, N) per layer

    model = TransformNet(cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = _resume(cfg, model, opt)
    rng = np.random.default_rng(cfg.seed + step)
    history: list[float] = []
    bar = progress(total=cfg.steps, initial=step, desc="train style")
    t0 = time.time()
    while step < cfg.steps:
        x = torch.from_numpy(random_crops(photos, cfg.batch, cfg.crop, rng)).permute(0, 3, 1, 2).float() / 255
        y = model(x)  # (B, 3, crop, crop)
        feats = net.extract(prep.normalize(torch.cat([y, x])), layers)
        b = x.shape[0]
        lc = content_loss(feats[cfg.content_layer][:b], feats[cfg.content_layer][b:].detach())
        ls = sum(style_layer_loss(gram(feats[k][:b]), targets[k].expand(b, -1, -1)) / b for k in cfg.style_layers)
        ls = ls / len(cfg.style_layers)
        loss = cfg.content_weight * lc + cfg.style_weight * ls + cfg.tv_weight * total_variation(y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        history.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(history[-20:]):.4g}")
        if step % cfg.save_every == 0 or step == cfg.steps:
            meta = {"step": step, "loss": float(np.mean(history[-20:])), "backbone": name,
                    "style": Path(cfg.style).name, "data": cfg.data or "offline photos (scikit-image, matplotlib)",
                    "seconds": round(time.time() - t0, 1)}
            cfg_dict = asdict(cfg)
            checkpoint.save(cfg.out, model.state_dict(), cfg_dict, meta, optimizer=opt)
    bar.close()
    return Path(cfg.out)


@dataclass
class DistillConfig:
    teacher: str = ""  # checkpoint of the trained net to imitate (a shipped name such as swirl-full, or a path)
    out: str = "fast_style_slim"  # student checkpoint (NAME -> NAME.safetensors + NAME.json); resumed if present
    data: str = ""  # folder of training photos; '' = the offline photos (scikit-image, matplotlib)
    holdout: int = 2  # the last N photos are not trained on: `fidelity` measures on them
    steps: int = 800  # optimiser steps (the shipped slim nets: 800)
    batch: int = 2
    crop: int = 256  # training patch side
    lr: float = 2e-3  # Adam, cosine decay to lr / 20 over `steps`
    l1_weight: float = 1.0  # mean |student - teacher| on the output pixels, [0, 1] units
    l2_weight: float = 1.0  # mean squared difference
    perceptual_weight: float = 0.0  # > 0: add content (relu2_2) + Gram losses against the teacher's output
    backbone: str = ""  # loss network for the perceptual terms; '' = the best installed
    save_every: int = 25
    seed: int = 0
    threads: int = 0  # torch CPU threads (0 = default)
    model: FastConfig = field(default_factory=lambda: replace(SLIM))


def _lr_at(cfg: DistillConfig, step: int) -> float:
    """Cosine decay from lr to lr / 20 (a function of the step only, so a resumed run continues the schedule)."""
    t = min(step / max(cfg.steps, 1), 1.0)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def distill(cfg: DistillConfig) -> Path:
    """Train `cfg.model` (by default the slim fast.SLIM) to reproduce the teacher checkpoint's output."""
    if not cfg.teacher:
        raise UserError("give the network to distil: --distill-from CHECKPOINT (e.g. swirl-full)")
    _check_and_seed(cfg)
    from .pipeline import fast_checkpoint

    teacher_path = fast_checkpoint(cfg.teacher)
    teacher_net, teacher_meta = load_fast(teacher_path)
    teacher = FastInference(teacher_net)
    photos = folder_photos(cfg.data) if cfg.data else offline_photos()
    if cfg.holdout >= len(photos):
        raise UserError(f"--holdout {cfg.holdout} leaves no training photos (found {len(photos)})")
    photos = photos[:len(photos) - cfg.holdout]
    perceptual = None
    if cfg.perceptual_weight > 0:
        name = cfg.backbone or default_backbone("style")
        net, prep = backbone(name)
        tcfg = FastTrainConfig()
        perceptual = (net, prep, tcfg.content_layer, tcfg.style_layers,
                      net.check_layers([tcfg.content_layer, *tcfg.style_layers]))

    model = TransformNet(cfg.model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = _resume(cfg, model, opt)
    rng = np.random.default_rng(cfg.seed + step)
    history: list[float] = []
    bar = progress(total=cfg.steps, initial=step, desc="distil style")
    t0 = time.time()
    while step < cfg.steps:
        x = torch.from_numpy(random_crops(photos, cfg.batch, cfg.crop, rng)).permute(0, 3, 1, 2).float() / 255
        target = teacher(x).clone()  # (B, 3, crop, crop), the teacher's output on the same crops (a normal tensor)
        y = model(x)
        diff = y - target
        loss = cfg.l1_weight * diff.abs().mean() + cfg.l2_weight * diff.square().mean()
        if perceptual is not None:
            net, prep, cl, sl, layers = perceptual
            b = x.shape[0]
            feats = net.extract(prep.normalize(torch.cat([y, target])), layers)
            lc = content_loss(feats[cl][:b], feats[cl][b:].detach())
            ls = sum(style_layer_loss(gram(feats[k][:b]), gram(feats[k][b:]).detach()) for k in sl) / len(sl)
            loss = loss + cfg.perceptual_weight * (lc + FastTrainConfig().style_weight * ls)
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg, step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        history.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{np.mean(history[-20:]):.4g}")
        if step % cfg.save_every == 0 or step == cfg.steps:
            meta = {"step": step, "loss": float(np.mean(history[-20:])), "teacher": teacher_path.name,
                    "teacher_step": teacher_meta.get("step"), "style": teacher_meta.get("style", ""),
                    "backbone": teacher_meta.get("backbone", ""),
                    "data": cfg.data or "offline photos (scikit-image, matplotlib)",
                    "seconds": round(time.time() - t0, 1)}
            checkpoint.save(cfg.out, model.state_dict(), asdict(cfg), meta, optimizer=opt)
    bar.close()
    return Path(cfg.out)


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
    return checkpoint.save(dst, {k: v.half() for k, v in tensors.items()}, config, meta)


def load_fast(path: str | Path) -> tuple[TransformNet, dict]:
    """A TransformNet (float32, eval) from a checkpoint written by `train` or `export_fp16`."""
    tensors, config, meta = checkpoint.load(path, how_to_fix="train one with `deepgallery train style`")
    model = TransformNet(FastConfig(**config.get("model", {})))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), meta


def stylise_fast(model: TransformNet | FastInference, x: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (1, 3, H, W), both in [0, 1]. Pass `FastInference(model)` for the faster CPU path."""
    with torch.inference_mode():
        return model(x).clamp(0, 1)


__all__ = ["DistillConfig", "FastTrainConfig", "distill", "export_fp16", "fidelity", "load_fast", "psnr", "ssim",
           "stylise_fast", "train"]
