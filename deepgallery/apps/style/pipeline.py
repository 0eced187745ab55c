"""From files to stylised files: input checks, backbone choice, Gatys or fast network, images and videos, on the
chosen device (`--device`: the backbone, the images and L-BFGS's state all live there)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
from deepgallery.core.runtime import choose_device, progress, torch_threads

from .fast import fast_checkpoint, load_fast, stylise_fast
from .fast_infer import FastInference
from .gatys import GatysConfig, stylise
from .video import stylise_frames, temporal_target

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"
MAX_SIDE = {"gatys": 2048, "fast": 4096}  # larger inputs are downscaled with a note
MIN_SIDE = 32  # five poolings deep the style layers still need a few pixels


@dataclass
class StyleJob:
    content: str
    styles: list[str] = field(default_factory=list)
    out: str = "styled.png"
    method: str = "gatys"  # "gatys" (optimisation) or "fast" (feed-forward network)
    fast: str = "swirl"  # shipped fast network name (APP.checkpoints) or a checkpoint path
    backbone: str = ""  # '' = best installed
    allow_download: bool = False  # fetch torchvision weights for --backbone vgg19/vgg16 (needs internet)
    gatys: GatysConfig = field(default_factory=GatysConfig)
    temporal: bool = True  # video: start from the flow-warped previous result (+ gatys.temporal_weight loss)
    frame_iterations: int = 0  # video: L-BFGS evaluations per frame after the first (0 = iterations / 4)
    max_frames: int = 0  # video: stop after this many frames (0 = all)
    threads: int = 0  # CPU threads (0 = auto: PyTorch's default, 1 when the machine is oversubscribed)
    every: int = 1  # video: use every n-th frame
    device: str = "auto"  # auto | cpu | cuda | mps (core.runtime.choose_device)


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


def _net(job: StyleJob):
    name = job.backbone or default_backbone("style")
    if job.allow_download and name in ("vgg19", "vgg16", "googlenet"):
        download(name)
    return backbone(name, pooling=job.gatys.pooling)


def run_job(job: StyleJob) -> StyleResult:
    """Run one job with the job's CPU threads (`auto_threads`); PyTorch's thread setting is restored afterwards."""
    with torch_threads(None):
        auto_threads(job.threads)
        return _run_job(job)


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
    device = choose_device(job.device)
    start = time.perf_counter()
    notes: list[str] = []
    if job.method == "fast":
        net, meta = load_fast(fast_checkpoint(job.fast))
        # on the CPU the same function rearranged for oneDNN (fast_infer.py); elsewhere the plain module, float32
        model = FastInference(net) if device.type == "cpu" else net.to(device)
        label = f"fast network {job.fast} (trained {meta.get('step', '?')} steps on {meta.get('data', '?')})"

        def one(frame: np.ndarray, init=None, mask=None) -> np.ndarray:
            return to_uint8(stylise_fast(model, to_tensor(fit_side(frame, job.gatys.size), device)))
    else:
        if not job.styles:
            raise UserError("give a style image: --style painting.jpg (several: --style a.jpg --style b.jpg)")
        styles = []
        for s in job.styles:
            img, note = load_rgb(s, max_side=MAX_SIDE["gatys"], min_side=MIN_SIDE, what="style image")
            styles.append(to_tensor(img, device))
            notes += [note] if note else []
        net, prep = _net(job)
        net = net.to(device)
        label = f"Gatys et al. on {net.name} [{net.source}]"
        cfg = job.gatys
        losses: dict[str, float] = {}

        def one(frame: np.ndarray, init=None, mask=None) -> np.ndarray:
            """One image or video frame; later video frames get ω (`init`, H x W x 3) and its mask c (H x W)."""
            c = to_tensor(fit_side(frame, cfg.size), device)  # (1, 3, H, W)
            frame_cfg, temporal = cfg, None
            if init is not None:  # later video frames: fewer evaluations from the warped previous result
                k = job.frame_iterations or max(1, cfg.iterations // 4)
                frame_cfg = GatysConfig(**{**cfg.__dict__, "iterations": k, "scales": 1})
                temporal = temporal_target(init, mask, device)  # ω and c at the frame's size (stylise_frames)
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
    if device.type != "cpu":
        label += f" on {device}"
    res = StyleResult(out, label, notes, time.perf_counter() - start)
    if job.method == "gatys":
        res.losses = losses
    return res
