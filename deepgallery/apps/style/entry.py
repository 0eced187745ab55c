"""Hooks for the CLI, `deepgallery demo`, `deepgallery bench` and the web gallery (see core/app.py)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import add_config_args, config_from_args, number
from ...core.errors import UserError
from ...core.runtime import IMAGE_OPTIMISATION_PRECISION_WHY, add_device_arg, add_precision_arg

EXAMPLES = Path(__file__).parent / "examples"
BACKBONE_CHOICES = ("auto", "vgg19", "vgg16", "craft-vgg16bn", "efficientnet-lite0", "googlenet")

WEB_EXAMPLES = [
    {"content": str(EXAMPLES / "chelsea.jpg"), "style": str(EXAMPLES / "swirl.jpg"), "method": "gatys"},
    {"content": str(EXAMPLES / "chelsea.jpg"), "style": str(EXAMPLES / "mosaic.jpg"), "method": "gatys"},
    {"content": str(EXAMPLES / "chelsea.jpg"), "method": "fast", "fast_style": "mosaic"},
]

# ---------------------------------------------------------------------------------------------- run




def add_run_args(p: argparse.ArgumentParser) -> None:
    from .gatys import GatysConfig

    d = GatysConfig()
    p.add_argument("--content", required=True, help="photo (or video: .mp4 …) to stylise")
    p.add_argument("--style", action="append", default=[], help="style image; repeat to blend several styles")
    p.add_argument("-o", "--out", default="styled.png", help="output image (.png/.jpg) or video (.mp4/.gif)")
    p.add_argument("--method", default="gatys", choices=("gatys", "fast"),
                   help="gatys: optimise the image (slow, any style); fast: a trained feed-forward network")
    p.add_argument("--fast", default="swirl",
                   help="fast network: swirl, mosaic (shipped, slim), swirl-full, mosaic-full (full width, slower) "
                        "or a checkpoint path")
    p.add_argument("--size", type=int, default=d.size, help=f"longer side of the result in px (default {d.size})")
    p.add_argument("--iterations", type=number(int, "--iterations", minimum=1), default=d.iterations,
                   help="L-BFGS function evaluations per scale")
    p.add_argument("--scales", type=number(int, "--scales", minimum=1), default=d.scales,
                   help="coarse-to-fine levels for large images (2-3)")
    p.add_argument("--style-weight", type=number(float, "--style-weight", minimum=0), default=0.0,
                   help="beta (alpha = content weight); 0 = the backbone's default")
    p.add_argument("--content-weight", type=number(float, "--content-weight", minimum=0), default=d.content_weight,
                   help="alpha (default 1)")
    p.add_argument("--style-weights", type=float, nargs="+", default=[], help="blend weights, one per --style")
    p.add_argument("--style-scale", type=number(float, "--style-scale", minimum=0, allow_zero=False),
                   default=d.style_scale, help="style image size relative to the result (smaller: finer brush strokes)")
    p.add_argument("--pooling", default=d.pooling, choices=("avg", "max"), help="VGG pooling (paper: avg)")
    p.add_argument("--init", default=d.init, choices=("content", "noise"), help="start image (paper: noise)")
    p.add_argument("--preserve-colour", "--preserve-color", action="store_true", dest="preserve_colour",
                   help="keep the content's colours (luminance-only transfer)")
    p.add_argument("--backbone", default="auto", choices=BACKBONE_CHOICES, help="loss network (auto = best installed)")
    p.add_argument("--download", action="store_true", help="download torchvision weights for vgg19/vgg16 if missing")
    p.add_argument("--no-temporal", action="store_true", help="video: stylise frames independently")
    p.add_argument("--temporal-weight", type=number(float, "--temporal-weight", minimum=0), default=d.temporal_weight,
                   help=f"video: gamma of Ruder et al.'s temporal loss towards the flow-warped previous frame "
                        f"(default {d.temporal_weight:g}; 0 = only start from it)")
    p.add_argument("--frame-iterations", type=int, default=0, help="video: evaluations per later frame")
    p.add_argument("--max-frames", type=int, default=0, help="video: stop after N frames")
    p.add_argument("--every", type=number(int, "--every", minimum=1), default=1, help="video: every N-th frame")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = PyTorch default)")
    add_device_arg(p)
    add_precision_arg(p, "fp32", IMAGE_OPTIMISATION_PRECISION_WHY)


def _job(args: argparse.Namespace):
    from .gatys import GatysConfig
    from .pipeline import StyleJob

    cfg = GatysConfig(content_weight=args.content_weight, style_weight=args.style_weight, iterations=args.iterations,
                      size=args.size, scales=args.scales, pooling=args.pooling, init=args.init,
                      preserve_colour=args.preserve_colour, style_scale=args.style_scale, seed=args.seed,
                      style_weights=list(args.style_weights), temporal_weight=args.temporal_weight,
                      precision=args.precision)
    return StyleJob(content=args.content, styles=list(args.style), out=args.out, method=args.method, fast=args.fast,
                    backbone="" if args.backbone == "auto" else args.backbone, allow_download=args.download,
                    gatys=cfg, temporal=not args.no_temporal, frame_iterations=args.frame_iterations,
                    max_frames=args.max_frames, every=args.every, threads=args.threads, device=args.device)


def run(args: argparse.Namespace) -> int:
    from .pipeline import run_job

    print(run_job(_job(args)).summary())
    return 0


def predict(content: str | None = None, style: str | None = None, method: str = "gatys", fast_style: str = "swirl",
            size: int = 256, iterations: int = 60, preserve_colour: bool = False, backbone: str = "auto"
            ) -> dict[str, Any]:
    """The web gallery's call: {"image": stylised PNG, "info": which network and settings}."""
    from .gatys import GatysConfig
    from .pipeline import StyleJob, run_job

    if not content:
        raise UserError("upload a content photo")
    if method == "gatys" and not style:
        raise UserError("upload a style image (or choose method 'fast')")
    out = Path(tempfile.mkdtemp(prefix="deepgallery-style-")) / "styled.png"
    job = StyleJob(content=content, styles=[style] if style else [], out=str(out), method=method, fast=fast_style,
                   backbone="" if backbone == "auto" else backbone,
                   gatys=GatysConfig(size=int(size), iterations=int(iterations), preserve_colour=bool(preserve_colour)))
    res = run_job(job)
    return {"image": res.output, "info": res.summary()}


# -------------------------------------------------------------------------------------------- train


class _ModeDefault:
    """A flag default that depends on the mode: training on a style image or distilling a trained net. argparse
    keeps it as given (it is no string to parse), the help shows both, `_mode_args` picks one."""

    def __init__(self, train: Any, distill: Any):
        self.train, self.distill = train, distill

    def __str__(self) -> str:
        return f"{self.train}; distillation: {self.distill}"


SHARED = ("out", "data", "steps", "batch", "crop", "lr", "seed", "threads")  # flags of both modes


def add_train_args(p: argparse.ArgumentParser) -> None:
    from .train import DistillConfig, FastTrainConfig

    d, dd = FastTrainConfig(), DistillConfig()
    p.add_argument("--distill-from", default="", metavar="CHECKPOINT",
                   help="train a (by default slim) net to reproduce this trained one: swirl-full, mosaic-full or a "
                        "checkpoint path; no style image or loss network needed")
    # the two configs' flags, once: the shared ones with both modes' defaults, then distillation's own
    add_config_args(p, FastTrainConfig, defaults={k: _ModeDefault(getattr(d, k), getattr(dd, k)) for k in SHARED
                                                  if getattr(d, k) != getattr(dd, k)})
    add_config_args(p, DistillConfig, skip=SHARED)
    p.add_argument("--width", type=int, default=0,
                   help="channels of the first layer C (paper 32; default 16, or the slim net when distilling)")
    p.add_argument("--res-blocks", type=int, default=0, help="residual blocks (default 5)")
    p.add_argument("--encoder-widths", type=int, nargs=3, default=None, metavar="C",
                   help="channels of the 9x9 conv and the two stride-2 convs (the last is the trunk); default C 2C 4C")
    p.add_argument("--decoder-widths", type=int, nargs=2, default=None, metavar="C",
                   help="channels of the two upsampling convs; default 2C C")
    p.add_argument("--backbone", default="auto", choices=BACKBONE_CHOICES, help="loss network")
    add_device_arg(p)
    add_precision_arg(p)


def _mode_args(args: argparse.Namespace, distilling: bool) -> argparse.Namespace:
    """The parsed flags with each mode-dependent default resolved for this mode."""
    return argparse.Namespace(**{k: (v.distill if distilling else v.train) if isinstance(v, _ModeDefault) else v
                                 for k, v in vars(args).items()})


def _model_config(args: argparse.Namespace, distilling: bool):
    from dataclasses import replace

    from .fast import SLIM, FastConfig

    explicit = args.width or args.res_blocks or args.encoder_widths or args.decoder_widths
    if distilling and not explicit:
        return replace(SLIM)
    try:
        return FastConfig(width=args.width or 16, res_blocks=args.res_blocks or 5,
                          encoder_widths=tuple(args.encoder_widths or ()),
                          decoder_widths=tuple(args.decoder_widths or ()))
    except ValueError as e:
        raise UserError(f"network shape: {e}") from None


def train(args: argparse.Namespace) -> int:
    from .train import DistillConfig, FastTrainConfig, distill
    from .train import train as train_fast

    backbone = "" if args.backbone == "auto" else args.backbone
    if args.distill_from:
        if args.style:
            raise UserError("--style and --distill-from exclude each other: the teacher network carries the style")
        cfg = config_from_args(DistillConfig, _mode_args(args, True), teacher=args.distill_from, backbone=backbone,
                               precision=args.precision, model=_model_config(args, True))
        path = distill(cfg, args.device)
    else:
        cfg = config_from_args(FastTrainConfig, _mode_args(args, False), backbone=backbone, precision=args.precision,
                               model=_model_config(args, False))
        path = train_fast(cfg, args.device)
    if path is not None:  # None on the processes other than the first under torchrun
        print(f"wrote {path}.safetensors; stylise with: deepgallery run style --method fast --fast {path} --content X")
    return 0


# --------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """Gatys with two styles (small, few iterations), the blend of both, and the two shipped fast networks."""
    from .gatys import GatysConfig
    from .pipeline import StyleJob, run_job

    out_dir = Path(out_dir)
    content = str(EXAMPLES / "chelsea.jpg")
    swirl, mosaic = str(EXAMPLES / "swirl.jpg"), str(EXAMPLES / "mosaic.jpg")
    jobs = [
        ("Gatys: cat x swirl (128 px, 30 L-BFGS evaluations)", [swirl], {}),
        ("Gatys: cat x mosaic, colours preserved", [mosaic], {"preserve_colour": True}),
    ]
    items = []
    for i, (title, styles, extra) in enumerate(jobs):
        start = time.perf_counter()
        job = StyleJob(content=content, styles=styles, out=str(out_dir / f"gatys_{i}.png"),
                       gatys=GatysConfig(size=128, iterations=30, **extra))
        res = run_job(job)
        items.append(DemoItem(title, {"content": content, "style": styles[0]}, [res.output], text=res.summary(),
                              seconds=time.perf_counter() - start))
    for name in ("swirl", "mosaic"):
        start = time.perf_counter()
        res = run_job(StyleJob(content=content, out=str(out_dir / f"fast_{name}.png"), method="fast", fast=name,
                               gatys=GatysConfig(size=384)))
        items.append(DemoItem(f"fast network '{name}' (Johnson et al.)", {"content": content}, [res.output],
                              text=res.summary(), seconds=time.perf_counter() - start))
    return items
