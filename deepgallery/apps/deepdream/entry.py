"""Hooks for the CLI, `deepgallery demo`, `deepgallery bench` and the web gallery (see core/app.py)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import number
from ...core.errors import UserError
from ...core.runtime import IMAGE_OPTIMISATION_PRECISION_WHY, add_device_arg, add_precision_arg

EXAMPLES = Path(__file__).parent / "examples"
BACKBONE_CHOICES = ("auto", "googlenet", "vgg16", "vgg19", "efficientnet-lite0", "craft-vgg16bn")

WEB_EXAMPLES = [
    {"image": str(EXAMPLES / "astronaut.jpg")},
    {"image": str(EXAMPLES / "coffee.jpg"), "backbone": "craft-vgg16bn", "layer": "relu4_2"},
]




def add_run_args(p: argparse.ArgumentParser) -> None:
    from .dream import DreamConfig
    from .pipeline import MAX_SIDE, MIN_SIDE

    d = DreamConfig()
    p.add_argument("image", nargs="?", default="", help="photo or video to dream on (none: grey noise, with --zoom)")
    p.add_argument("-o", "--out", default="dream.png", help="output .png/.jpg, or .mp4/.gif for --zoom-frames/video")
    p.add_argument("--backbone", default="auto", choices=BACKBONE_CHOICES, help="network (auto = best installed)")
    p.add_argument("--layer", default="", help="layer to amplify (default per backbone, e.g. inception4c, block9)")
    p.add_argument("--channel", type=number(int, "--channel", minimum=-1), default=-1,
                   help="amplify only this channel of the layer (-1: all)")
    p.add_argument("--guide", default="", help="guide image: dream the features it contains")
    p.add_argument("--octaves", type=number(int, "--octaves", minimum=1, maximum=12), default=d.octaves,
                   help=f"scales, 1..12 (default {d.octaves})")
    p.add_argument("--octave-scale", type=number(float, "--octave-scale", minimum=1, maximum=4, allow_zero=False),
                   default=d.octave_scale, help=f"size ratio between octaves, > 1 and <= 4 (default {d.octave_scale})")
    p.add_argument("--steps", type=number(int, "--steps", minimum=0), default=d.steps,
                   help=f"ascent steps per octave, >= 0 (default {d.steps})")
    p.add_argument("--step-size", type=number(float, "--step-size", minimum=0, maximum=255, allow_zero=False),
                   default=d.step_size * 255, help="step on the 0-255 pixel scale, > 0 and <= 255")
    p.add_argument("--jitter", type=number(int, "--jitter", minimum=0), default=d.jitter,
                   help=f"random shift in px before each step, >= 0 (default {d.jitter})")
    p.add_argument("--size", type=number(int, "--size"), default=d.size,
                   help=f"longer side of the result in px, {MIN_SIDE}..{MAX_SIDE} (default {d.size})")
    p.add_argument("--zoom-frames", type=number(int, "--zoom-frames", minimum=0), default=0,
                   help="make a zoom-in animation of N frames")
    p.add_argument("--zoom-factor", type=number(float, "--zoom-factor", minimum=1, maximum=2), default=1.05,
                   help="zoom per frame, 1..2 (default 1.05)")
    p.add_argument("--fps", type=number(float, "--fps", minimum=0, maximum=240, allow_zero=False), default=12.0,
                   help="frames per second of a zoom animation (default 12)")
    p.add_argument("--max-frames", type=number(int, "--max-frames", minimum=0), default=0,
                   help="video: stop after N frames (0: all)")
    p.add_argument("--every", type=number(int, "--every", minimum=1), default=1, help="video: every N-th frame")
    p.add_argument("--blend", type=number(float, "--blend", minimum=0, maximum=0.99), default=0.5,
                   help="video: share of the previous dream, warped along the optical flow, in each start frame, "
                        "0..0.99 (default 0.5)")
    p.add_argument("--download", action="store_true", help="download torchvision weights for googlenet/vgg if missing")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=number(int, "--threads", minimum=0), default=0,
                   help="CPU threads (0 = PyTorch default)")
    add_device_arg(p)
    add_precision_arg(p, "fp32", IMAGE_OPTIMISATION_PRECISION_WHY)


def _job(args: argparse.Namespace):
    from .dream import DreamConfig
    from .pipeline import DreamJob

    cfg = DreamConfig(layer=args.layer, channel=args.channel, octaves=args.octaves, octave_scale=args.octave_scale,
                      steps=args.steps, step_size=args.step_size / 255, jitter=args.jitter, size=args.size,
                      seed=args.seed)
    return DreamJob(image=args.image, out=args.out, backbone="" if args.backbone == "auto" else args.backbone,
                    allow_download=args.download, guide=args.guide, dream=cfg, zoom_frames=args.zoom_frames,
                    zoom_factor=args.zoom_factor, fps=args.fps, max_frames=args.max_frames, every=args.every,
                    blend=args.blend, threads=args.threads, device=args.device, precision=args.precision)


def run(args: argparse.Namespace) -> int:
    from .pipeline import run_job

    print(run_job(_job(args)).summary())
    return 0


def predict(image: str | None = None, backbone: str = "auto", layer: str = "", channel: int = -1,
            guide: str | None = None, octaves: int = 3, steps: int = 8, size: int = 320, zoom_frames: int = 0
            ) -> dict[str, Any]:
    """The web gallery's call: {"image" or "video": the dream, "info": network, layer and time}."""
    from .dream import DreamConfig
    from .pipeline import DreamJob, run_job

    if not image and not zoom_frames:
        raise UserError("upload a photo (or ask for a zoom animation from noise)")
    out_dir = Path(tempfile.mkdtemp(prefix="deepgallery-deepdream-"))
    out = out_dir / ("dream.mp4" if zoom_frames else "dream.png")
    job = DreamJob(image=image or "", out=str(out), backbone="" if backbone == "auto" else backbone,
                   guide=guide or "", zoom_frames=int(zoom_frames),
                   dream=DreamConfig(layer=layer or "", channel=int(channel), octaves=int(octaves), steps=int(steps),
                                     size=int(size), step_size=2.0 / 255))
    res = run_job(job)
    return {("video" if zoom_frames else "image"): res.output, "info": res.summary()}


def demo(out_dir: Path) -> list[DemoItem]:
    """A dream, a single-channel dream, the text-tuned CRAFT network's dream, and a short zoom GIF (small sizes)."""
    from .dream import DreamConfig
    from .pipeline import DreamJob, run_job

    out_dir = Path(out_dir)
    astro, coffee = str(EXAMPLES / "astronaut.jpg"), str(EXAMPLES / "coffee.jpg")
    fast = {"octaves": 3, "steps": 6, "size": 224, "step_size": 6 / 255}
    jobs = [
        ("dream at the default layer", DreamJob(astro, str(out_dir / "astronaut.png"), dream=DreamConfig(**fast))),
        ("one channel (block9, channel 7)", DreamJob(coffee, str(out_dir / "coffee_channel.png"),
                                                     backbone="efficientnet-lite0",
                                                     dream=DreamConfig(layer="block9", channel=7, **fast))),
        ("guided by the astronaut photo", DreamJob(coffee, str(out_dir / "coffee_guided.png"), guide=astro,
                                                   dream=DreamConfig(**fast))),
        ("the text-detector network (CRAFT VGG16-BN) dreams letters", DreamJob(
            coffee, str(out_dir / "coffee_craft.png"), backbone="craft-vgg16bn",
            dream=DreamConfig(layer="relu4_2", octaves=2, steps=6, size=192, step_size=5 / 255))),
        ("zoom-in animation, 8 frames", DreamJob(astro, str(out_dir / "zoom.gif"), zoom_frames=8, zoom_factor=1.08,
                                                 dream=DreamConfig(octaves=2, steps=5, size=160, step_size=5 / 255))),
    ]
    items = []
    for title, job in jobs:
        start = time.perf_counter()
        res = run_job(job)
        items.append(DemoItem(title, {"image": job.image}, [res.output], text=res.summary(),
                              seconds=time.perf_counter() - start))
    return items
