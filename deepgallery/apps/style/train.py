"""Training loop for the fast style network (Johnson et al. 2016, Sec. 4.1): Adam, random photo crops.

    deepgallery train style --style swirl.jpg --out my_style --steps 2000

Resumable: the checkpoint (weights + Adam state + step) is written every `save_every` steps and picked up
again when the same --out is given. `export_fp16` writes the small shipping version (no optimizer state).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepgallery.core import checkpoint
from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import load_rgb, to_tensor
from deepgallery.core.errors import UserError, check_positive
from deepgallery.core.runtime import progress, seed_everything

from .fast import FastConfig, TransformNet, total_variation
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


def train(cfg: FastTrainConfig) -> Path:
    if not cfg.style:
        raise UserError("give the style image: --style PATH")
    for name in ("steps", "batch", "crop", "lr"):
        check_positive(f"--{name}", getattr(cfg, name))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
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
    step = 0
    if checkpoint.exists(cfg.out):
        tensors, _, meta = checkpoint.load(cfg.out)
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
        checkpoint.restore_optimizer(opt, meta)
        step = int(meta.get("step", 0))
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


def export_fp16(src: str, dst: str) -> Path:
    """The shipping checkpoint: fp16 weights, the model config and the training facts, no optimizer state."""
    tensors, config, meta = checkpoint.load(src)
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    config = {**config, "out": Path(dst).name, "style": Path(config.get("style", "")).name, "threads": 0}
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


__all__ = ["FastTrainConfig", "export_fp16", "load_fast", "stylise_fast", "train"]
