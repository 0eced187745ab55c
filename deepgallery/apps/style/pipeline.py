"""From files to stylised files: input checks, backbone choice, Gatys or fast network, images and videos."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepgallery.core.backbones import backbone, default_backbone, download
from deepgallery.core.backbones.images import (
    auto_threads,
    check_side,
    even,
    fit_side,
    load_rgb,
    to_tensor,
    to_uint8,
)
from deepgallery.core.errors import UserError, unknown_name_error
from deepgallery.core.media import is_video, read_video, save_image, video_info, write_video
from deepgallery.core.runtime import progress

from .fast_infer import FastInference
from .gatys import GatysConfig, stylise
from .train import load_fast, stylise_fast
from .video import stylise_frames, temporal_target

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"
CHECKPOINTS = HERE / "checkpoints"
# fast networks that ship (checkpoints/<name>.safetensors): the default slim nets (fast.SLIM, style weight 3000)
# and the older full-width nets (width 16, style weight 800), all trained with the perceptual losses
SHIPPED = ("swirl", "mosaic", "swirl-full", "mosaic-full")
MAX_SIDE = {"gatys": 2048, "fast": 4096}  # larger inputs are downscaled with a note
MIN_SIDE = 32  # five poolings deep the style layers still need a few pixels


@dataclass
class StyleJob:
    content: str
    styles: list[str] = field(default_factory=list)
    out: str = "styled.png"
    method: str = "gatys"  # "gatys" (optimisation) or "fast" (feed-forward network)
    fast: str = "swirl"  # shipped fast network name or a checkpoint path
    backbone: str = ""  # '' = best installed
    allow_download: bool = False  # fetch torchvision weights for --backbone vgg19/vgg16 (needs internet)
    gatys: GatysConfig = field(default_factory=GatysConfig)
    temporal: bool = True  # video: start from the flow-warped previous result (+ gatys.temporal_weight loss)
    frame_iterations: int = 0  # video: L-BFGS evaluations per frame after the first (0 = iterations / 4)
    max_frames: int = 0  # video: stop after this many frames (0 = all)
    threads: int = 0  # CPU threads (0 = auto: PyTorch's default, 1 when the machine is oversubscribed)
    every: int = 1  # video: use every n-th frame


@dataclass
class StyleResult:
    output: Path
    backbone: str
    notes: list[str]
    seconds: float
    losses: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"wrote {self.output} ({self.backbone}, {self.seconds:.1f} s)", *self.notes]
        if self.losses:
            lines.append("loss " + ", ".join(f"{k} {v:.4g}" for k, v in self.losses.items()))
        return "\n".join(lines)


def fast_checkpoint(name_or_path: str) -> Path:
    if name_or_path in SHIPPED:
        return CHECKPOINTS / name_or_path
    p = Path(name_or_path)
    if p.with_suffix(".json").is_file() or p.with_name(p.name + ".json").is_file():
        return p
    raise unknown_name_error("fast style network", name_or_path, SHIPPED)


def _net(job: StyleJob):
    name = job.backbone or default_backbone("style")
    if job.allow_download and name in ("vgg19", "vgg16", "googlenet"):
        download(name)
    return backbone(name, pooling=job.gatys.pooling)


def run_job(job: StyleJob) -> StyleResult:
    """Run one job with the job's CPU threads; PyTorch's thread setting is restored afterwards."""
    before = torch.get_num_threads()
    try:
        auto_threads(job.threads)
        return _run_job(job)
    finally:
        torch.set_num_threads(before)


def _run_job(job: StyleJob) -> StyleResult:
    if job.method not in ("gatys", "fast"):
        raise unknown_name_error("method", job.method, ("gatys", "fast"))
    out = Path(job.out)
    video = is_video(job.content)
    if video and out.suffix.lower() not in (".mp4", ".gif", ".webm", ".mkv"):
        raise UserError(f"-o {out}: a video input needs a video output (.mp4 or .gif)")
    if not video and out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        raise UserError(f"-o {out}: an image input needs an image output (.png or .jpg)")
    check_side("--size", job.gatys.size, MIN_SIDE, MAX_SIDE[job.method])
    start = time.perf_counter()
    notes: list[str] = []
    if job.method == "fast":
        net, meta = load_fast(fast_checkpoint(job.fast))
        model = FastInference(net)  # the same function as `net`, rearranged for the CPU (fast_infer.py)
        label = f"fast network {job.fast} (trained {meta.get('step', '?')} steps on {meta.get('data', '?')})"

        def one(frame: np.ndarray, init=None, mask=None) -> np.ndarray:
            return to_uint8(stylise_fast(model, to_tensor(fit_side(frame, job.gatys.size))))
    else:
        if not job.styles:
            raise UserError("give a style image: --style painting.jpg (several: --style a.jpg --style b.jpg)")
        styles = []
        for s in job.styles:
            img, note = load_rgb(s, max_side=MAX_SIDE["gatys"], min_side=MIN_SIDE, what="style image")
            styles.append(to_tensor(img))
            notes += [note] if note else []
        net, prep = _net(job)
        label = f"Gatys et al. on {net.name} [{net.source}]"
        cfg = job.gatys
        losses: dict[str, float] = {}

        def one(frame: np.ndarray, init=None, mask=None) -> np.ndarray:
            """One image or video frame; later video frames get ω (`init`, H x W x 3) and its mask c (H x W)."""
            c = to_tensor(fit_side(frame, cfg.size))
            frame_cfg, temporal = cfg, None
            if init is not None:  # later video frames: fewer evaluations from the warped previous result
                k = job.frame_iterations or max(1, cfg.iterations // 4)
                frame_cfg = GatysConfig(**{**cfg.__dict__, "iterations": k, "scales": 1})
                temporal = temporal_target(init, mask)  # ω and c at the frame's size (stylise_frames)
                init = temporal.omega
            bar = progress(total=frame_cfg.iterations * max(1, frame_cfg.scales), desc="L-BFGS", leave=False)
            x, hist = stylise(net, prep, c, styles, frame_cfg, init=init, on_step=lambda i: bar.update(1),
                              temporal=temporal)
            bar.close()
            losses.update(hist[-1])
            return to_uint8(x)

    if video:
        info = video_info(job.content)
        total = info["frames"] // max(1, job.every)
        if job.max_frames:
            total = min(total, job.max_frames)
        frames = (fit_side(f, job.gatys.size)  # at the result's size: the optical flow is computed on them
                  for i, (_, _, f) in enumerate(read_video(job.content, every=job.every))
                  if not job.max_frames or i < job.max_frames)
        styled = (even(f) for f in stylise_frames(frames, one, temporal=job.temporal and job.method == "gatys"))
        write_video(out, progress(styled, total=total or None, desc="frames"), fps=info["fps"] / max(1, job.every))
    else:
        img, note = load_rgb(job.content, max_side=MAX_SIDE[job.method], min_side=MIN_SIDE, what="content image")
        notes += [note] if note else []
        result = one(img)
        save_image(out, result)
    res = StyleResult(out, label, notes, time.perf_counter() - start)
    if job.method == "gatys":
        res.losses = losses
    return res
