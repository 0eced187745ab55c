"""Hooks for `deepgallery run|train|demo colorize` and the web gallery (see core/app.py); the network is in
model.py, colorizing a photo / folder / video in pipeline.py, hints in hints.py, the benchmark in bench.py."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import number
from ...core.errors import UserError
from ...core.runtime import add_device_arg

EXAMPLES = Path(__file__).resolve().parent / "examples"
# The gallery's examples: held-out photos (never trained on) — one with a hint on the jacket, the old scan, a plain one
WEB_EXAMPLES = [
    {"image": EXAMPLES / "person.jpg", "hints": "138,110,#1f5fd0", "denoise": False},
    {"image": EXAMPLES / "horses-old-scan.jpg", "hints": "", "denoise": True},
    {"image": EXAMPLES / "giraffe.jpg", "hints": "", "denoise": False},
]


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="a photo, a folder of photos, or a video (MP4, MKV, WebM, ...)")
    parser.add_argument("-o", "--out", help="output: an image file for a photo (default: NAME-color.png), a folder "
                                            "for a folder (default: NAME-color/), a video file for a video "
                                            "(default: NAME-color.mp4)")
    parser.add_argument("--hint", action="append", metavar="X,Y,#RRGGBB",
                        help="a colour hint: pixel X,Y of the input should be this colour (give it several times)")
    parser.add_argument("--spread", action=argparse.BooleanOptionalAction, default=True,
                        help="enforce each hint and spread it over the region of similar lightness around it "
                             "(Levin et al. 2004's optimisation on the network's output; default: on)")
    parser.add_argument("--denoise", action="store_true",
                        help="smooth film grain / scan noise of old photos before colorizing")
    parser.add_argument("--size", type=number(int, "--size", minimum=64, maximum=2048), default=512,
                        help="the network works at this longer side; the colour is then upsampled to the full "
                             "picture (default: 512)")
    parser.add_argument("--side-by-side", action="store_true", help="also write NAME-compare.png: input | result")
    parser.add_argument("--temporal", type=number(float, "--temporal", minimum=0, maximum=0.95), default=0.6,
                        help="video: weight of the previous frame's colour carried along the optical flow "
                             "(0: every frame alone; default: 0.6)")
    parser.add_argument("--checkpoint", help="a trained checkpoint (NAME.safetensors + NAME.json; default: shipped)")
    add_device_arg(parser, "cpu", "a small network: the CPU colorizes a 512-pixel photo in well under a second")


def _model(path: str | None, device: str = "cpu"):
    from ...core.runtime import choose_device
    from .model import load, load_shipped

    colorizer = load(path) if path else load_shipped()
    colorizer.net.to(choose_device(device))
    return colorizer


def run(args: argparse.Namespace) -> int:
    from ...core import media
    from . import hints as hint_mod
    from . import pipeline

    if not args.input:
        raise UserError("give a photo, a folder or a video: deepgallery run colorize old.jpg [--hint X,Y,#RRGGBB]")
    src = Path(args.input).expanduser()
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    hints = hint_mod.parse(args.hint)
    if src.is_dir():
        if hints:
            raise UserError("--hint is for one photo (its pixel positions); leave it out for a folder")
        out = Path(args.out) if args.out else src.with_name(src.name + "-color")
        colorizer = _model(args.checkpoint, args.device)
        summary = pipeline.colorize_folder(colorizer, src, out, size=args.size, denoise=args.denoise,
                                           compare=args.side_by_side)
        print(f"colorized {summary['done']} photo(s), skipped {summary['skipped']} unreadable file(s) "
              f"({summary['seconds']:.1f} s): {out}")
        for bad in summary["skipped_files"]:
            print(f"skipped: {bad}", file=sys.stderr)
        return 0
    if media.is_video(src):
        if hints:
            raise UserError("--hint is for a photo; a video is colorized automatically")
        out = Path(args.out) if args.out else src.with_name(src.stem + "-color.mp4")
        if out.suffix.lower() not in (".mp4", ".mkv", ".webm", ".mov", ".gif"):
            raise UserError(f"{out}: write the video as .mp4 (or .mkv, .webm, .mov, .gif)")
        pipeline.check_video(src)
        colorizer = _model(args.checkpoint, args.device)
        report = pipeline.colorize_video(colorizer, src, out, size=args.size, denoise=args.denoise,
                                         temporal=args.temporal)
        print(f"colorized {report['frames']} frames ({report['seconds']:.1f} s): {out}; "
              f"flicker {report['flicker']:.2f} (mean a*b* change per frame in still regions; "
              f"{report['flicker_per_frame']:.2f} frame by frame)")
        return 0
    out = Path(args.out) if args.out else src.with_name(src.stem + "-color.png")
    if out.suffix.lower() not in media.IMAGE_SUFFIXES:
        raise UserError(f"{out}: give an image file name (.png, .jpg, ...)")
    rgb, note = pipeline.read_photo(src)
    hint_mod.check_inside(hints, rgb.shape[1], rgb.shape[0])
    colorizer = _model(args.checkpoint, args.device)
    start = time.perf_counter()
    result = pipeline.colorize(colorizer, rgb, hints=hints, size=args.size, denoise=args.denoise, spread=args.spread)
    seconds = time.perf_counter() - start
    if note:
        print(note, file=sys.stderr)
    media.save_image(out, result)
    print(f"colorized {src.name} ({rgb.shape[1]}x{rgb.shape[0]}, {len(hints)} hint(s), {seconds:.2f} s): {out}")
    if args.side_by_side:
        compare = out.with_name(out.stem + "-compare.png")
        media.save_image(compare, pipeline.side_by_side(pipeline.gray_input(rgb, args.denoise), result))
        print(f"before | after: {compare}")
    return 0


def predict(image: Any = None, hints: str = "", denoise: bool = False) -> dict[str, Any]:
    """The web gallery's call: one photo (a path), optional hints ("x,y,#RRGGBB" per line); returns the
    before|after comparison and the colorized photo as PNG files."""
    import tempfile

    from ...core import media
    from . import hints as hint_mod
    from . import pipeline

    if image is None:
        raise UserError("give a photo to colorize")
    rgb, _ = pipeline.read_photo(Path(image))
    points = hint_mod.parse(hints or "")
    hint_mod.check_inside(points, rgb.shape[1], rgb.shape[0])
    result = pipeline.colorize(_model(None), rgb, hints=points, denoise=bool(denoise))
    folder = Path(tempfile.mkdtemp(prefix="colorize-"))
    out = media.save_image(folder / "colorized.png", result)
    compare = media.save_image(folder / "comparison.png",
                               pipeline.side_by_side(pipeline.gray_input(rgb, bool(denoise)), result))
    return {"comparison": compare, "image": out}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = ("a folder of colour photos, any layout (ImageNet's or Places' train/ work; with --labels folder the"
            " first subfolder is the class); default: the offline photo corpus, train split")
    add_training_args(parser, TrainConfig, out="runs/colorize", data=data)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    def report(result) -> None:
        print(f"trained {result.step} steps ({result.seconds:.0f} s); state in {Path(args.out) / 'state'}")

    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx),
                        lambda result, path, cfg, command: export(result, path, cfg, args.data, command),
                        app="colorize", report=report)


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped network on the built-in examples: held-out photos made grayscale, an old sepia scan, and a
    photo fixed with one colour hint."""
    from . import pipeline

    return pipeline.demo_items(_model(None), Path(out_dir), EXAMPLES)
