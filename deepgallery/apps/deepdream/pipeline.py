"""From files to dreams: a photo, a zoom-in animation (MP4/GIF) or a video, with input checks, on the chosen
device (`--device`: the network and the images live there)."""

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
from deepgallery.core.errors import UserError
from deepgallery.core.flow import warp_previous
from deepgallery.core.media import is_video, read_video, save_image, video_info, write_video
from deepgallery.core.runtime import choose_device, progress, torch_threads

from .dream import DEFAULT_LAYER, DreamConfig, Objective, dream, zoom

HERE = Path(__file__).parent
EXAMPLES = HERE / "examples"
MAX_SIDE = 2048  # larger inputs are downscaled with a note
MIN_SIDE = 32
IMAGE_OUT = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
VIDEO_OUT = (".mp4", ".gif", ".webm", ".mkv")


@dataclass
class DreamJob:
    image: str  # a photo or a video ('' with zoom_frames: start from grey noise)
    out: str = "dream.png"
    backbone: str = ""  # '' = best installed for dreaming
    allow_download: bool = False
    guide: str = ""  # guide image for guided dreaming
    dream: DreamConfig = field(default_factory=DreamConfig)
    zoom_frames: int = 0  # > 0: zoom-in animation of this many frames (output .mp4/.gif)
    zoom_factor: float = 1.05  # per-frame zoom
    zoom_octaves: int = 1  # octaves per animation frame after the first (cheap, as in the notebook)
    fps: float = 12.0
    max_frames: int = 0  # video input: stop after N frames
    threads: int = 0  # CPU threads (0 = auto: PyTorch's default, 1 when the machine is oversubscribed)
    every: int = 1  # video input: every N-th frame
    blend: float = 0.5  # video: start each frame from this much of the previous dream, warped along the flow
    device: str = "auto"  # auto | cpu | cuda | mps (core.runtime.choose_device)
    precision: str = "fp32"  # network forward: fp32; bf16 (autocast) was no faster on an H200, only smaller


@dataclass
class DreamResult:
    output: Path
    backbone: str
    layer: str
    notes: list[str]
    seconds: float
    gain: float = 0.0  # objective after / before (the chosen activation's growth), for single images

    def summary(self) -> str:
        lines = [f"wrote {self.output} ({self.backbone}, layer {self.layer}, {self.seconds:.1f} s)"]
        if self.gain:
            lines.append(f"objective rose {self.gain:.2f}x")
        return "\n".join(lines + self.notes)


def _objective(job: DreamJob, device: torch.device):
    name = job.backbone or default_backbone("dream")
    if job.allow_download and name in ("vgg19", "vgg16", "googlenet"):
        download(name)
    net, prep = backbone(name)
    net = net.to(device)
    layer = job.dream.layer or DEFAULT_LAYER[name]
    guide = None
    notes = []
    if job.guide:
        g, note = load_rgb(job.guide, max_side=512, min_side=MIN_SIDE, what="guide image")
        guide = to_tensor(fit_side(g, min(job.dream.size, 512)), device)
        notes += [note] if note else []
    label = f"{name} [{net.source}]" + (f" on {device}" if device.type != "cpu" else "")
    return Objective(net, prep, layer, job.dream.channel, guide, job.precision), label, layer, notes


def run_job(job: DreamJob) -> DreamResult:
    """Run one job with the job's CPU threads (`auto_threads`); PyTorch's thread setting is restored afterwards."""
    with torch_threads(None):
        auto_threads(job.threads)
        return _run_job(job)


def _run_job(job: DreamJob) -> DreamResult:
    out = Path(job.out)
    check_side("--size", job.dream.size, MIN_SIDE, MAX_SIDE)
    video_in = bool(job.image) and is_video(job.image)
    wants_video = job.zoom_frames > 0 or video_in
    if wants_video and out.suffix.lower() not in VIDEO_OUT:
        raise UserError(f"-o {out}: a zoom animation or a video needs a video output (.mp4 or .gif)")
    if not wants_video and out.suffix.lower() not in IMAGE_OUT:
        raise UserError(f"-o {out}: a single dream needs an image output (.png or .jpg)")
    if job.zoom_frames < 0 or job.zoom_factor < 1.0 or not 0.0 <= job.blend < 1.0:
        raise UserError("--zoom-frames must be >= 0, --zoom-factor >= 1 and --blend in [0, 1)")
    start = time.perf_counter()
    notes: list[str] = []
    img = None
    if job.image and not video_in:
        img, note = load_rgb(job.image, max_side=MAX_SIDE, min_side=MIN_SIDE, what="image")
        notes += [note] if note else []
    elif not job.image and job.zoom_frames <= 0:
        raise UserError("give a photo or a video (or --zoom-frames N to dream from grey noise)")
    device = choose_device(job.device)
    objective, label, layer, more = _objective(job, device)
    notes += more
    cfg = job.dream

    def one(x: torch.Tensor, c: DreamConfig = cfg) -> torch.Tensor:
        bar = progress(total=c.octaves * c.steps, desc="dream", leave=False)
        y = dream(x, objective, c, on_step=lambda i: bar.update(1))
        bar.close()
        return y

    gain = 0.0
    if video_in:
        info = video_info(job.image)
        total = info["frames"] // max(1, job.every)
        total = min(total, job.max_frames) if job.max_frames else total

        def frames():
            prev_frame = prev_dream = None
            for i, (_, _, f) in enumerate(read_video(job.image, every=job.every)):
                if job.max_frames and i >= job.max_frames:
                    return
                frame = fit_side(f, cfg.size)  # (H, W, 3) uint8
                x = to_tensor(frame, device)  # (1, 3, H, W)
                if prev_dream is not None and job.blend > 0 and prev_frame.shape == frame.shape:
                    x = carry_over(x, prev_dream, prev_frame, frame, job.blend)
                prev_frame, prev_dream = frame, to_uint8(one(x))
                yield even(prev_dream)

        write_video(out, progress(frames(), total=total or None, desc="frames"), fps=info["fps"] / max(1, job.every))
    elif job.zoom_frames > 0:
        if img is None:
            g = torch.Generator().manual_seed(cfg.seed)
            x = 0.5 + 0.1 * torch.randn(1, 3, cfg.size * 3 // 4, cfg.size, generator=g)
            x = x.clamp(0, 1).to(device)
        else:
            x = to_tensor(fit_side(img, cfg.size), device)
        later = DreamConfig(**{**cfg.__dict__, "octaves": max(1, job.zoom_octaves)})

        def frames():
            nonlocal x
            for k in progress(range(job.zoom_frames), desc="zoom"):
                x = one(x, cfg if k == 0 else later)
                yield even(to_uint8(x))
                x = zoom(x, job.zoom_factor)

        write_video(out, frames(), fps=job.fps)
    else:
        x = to_tensor(fit_side(img, cfg.size), device)  # (1, 3, H, W)
        y = one(x)
        with torch.no_grad():
            before, after = objective(x).item(), objective(y).item()
        gain = after / before if before > 0 else 0.0
        save_image(out, to_uint8(y))
    return DreamResult(out, label, layer, notes, time.perf_counter() - start, gain)


def carry_over(x: torch.Tensor, prev_dream: np.ndarray, prev_frame: np.ndarray, frame: np.ndarray,
               blend: float) -> torch.Tensor:
    """The start of a video frame's dream: the frame x (1, 3, H, W) blended with the previous dream warped along
    the optical flow into this frame (as Ruder et al. 2016 carry stylised frames over, `core.flow`):

        x0 = x + blend * c * (ω - x)

    where ω is the warped previous dream and c the flow's consistency mask — 0 at disocclusions and motion
    boundaries, where the plain frame is used. prev_dream, prev_frame, frame: RGB uint8 (H, W, 3).
    """
    omega, c = warp_previous(prev_dream, prev_frame, frame)  # (H, W, 3) uint8, (H, W) float32
    mask = torch.from_numpy(c)[None, None].to(x)  # (1, 1, H, W)
    return x + blend * mask * (to_tensor(omega).to(x) - x)


__all__ = ["DreamJob", "DreamResult", "carry_over", "run_job"]
