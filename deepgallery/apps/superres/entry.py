"""Hooks for `deepgallery run|train|demo superres` and the web gallery (see core/app.py); the networks and the two
samplers are in model.py, data in data.py, the run pipeline and its grid in upscale.py, training in train.py, the
class-consistency judge in classifier.py, the benchmark in bench.py."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import config_from_args, number
from ...core.errors import UserError
from ...core.runtime import add_device_arg
from . import APP

EXAMPLES = Path(__file__).resolve().parent / "examples"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
WEB_EXAMPLES = [{"image": str(p), "samples": 4, "temperature": 0.8, "seed": 0} for p in sorted(EXAMPLES.glob("*.png"))]


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="an image, or a folder of images (one grid per image)")
    parser.add_argument("-k", "--samples", type=number(int, "--samples", minimum=1, maximum=64), default=4,
                        help="samples to draw per image (default: 4)")
    parser.add_argument("-t", "--temperature", type=number(float, "--temperature", minimum=0, maximum=10),
                        default=0.8, help="sampling temperature: 0 the most likely intensity each time, 1 the "
                                          "model's own distribution (default: 0.8)")
    parser.add_argument("--seed", type=number(int, "--seed", minimum=0), default=0, help="random seed (default: 0)")
    parser.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                        help="grey models know light objects on black: auto inverts an image on a light background")
    parser.add_argument("--naive", action="store_true", help="the naive sampler (whole network per subpixel, "
                                                             "slow) instead of the cached one; same samples")
    parser.add_argument("--checkpoint", help="a trained checkpoint (NAME.safetensors + NAME.json; default: the "
                                             "shipped Fashion-MNIST model)")
    parser.add_argument("-o", "--out", help="the grid PNG (one image) or a folder of grids (a folder input); "
                                            "default: superres-<name>.png / superres-out/")
    add_device_arg(parser, "cpu", "sampling is sequential: the CPU is as fast for a few samples")


def _load(name: str | None):
    from .model import load, load_shipped

    if not name or name in APP.checkpoints and name != "classifier":
        return load_shipped(name or "fashion")
    return load(name)


def _images(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"{folder}: no files to magnify")
    return files


def run(args: argparse.Namespace) -> int:
    import torch

    from ...core.media import read_image
    from ...core.runtime import choose_device, progress
    from .upscale import prepare, run_one

    if not args.input:
        raise UserError("give an image or a folder: deepgallery run superres small.png [--samples 4 --temperature 0.8]")
    src = Path(args.input).expanduser()
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    if src.is_file() and args.out and Path(args.out).suffix.lower() != ".png":
        raise UserError(f"{args.out}: the grid is written as PNG, give a name ending in .png")
    if src.is_file():
        read_image(src)  # a bad single file is the user's mistake: one line, exit 2, before any work
    device = choose_device(args.device)
    shipped = _load(args.checkpoint)
    shipped.model.to(device)
    if shipped.regression is not None:
        shipped.regression.to(device)
    size = shipped.cfg.high_size
    if src.is_file():
        prepare(src, shipped, args.invert)  # too small: one line before sampling
        out = Path(args.out or f"superres-{src.stem}.png")
        with progress(total=size, desc=f"sampling {args.samples} × {size} rows") as bar:
            path, notes, seconds = run_one(src, out, shipped, args.samples, args.temperature, args.seed, args.naive,
                                           args.invert, bar)
        for note in notes:
            print(f"note: {src.name} {note}")
        print(f"{args.samples} samples at T={args.temperature:g} ({seconds:.1f} s): {path}")
        return 0
    out_dir = Path(args.out or "superres-out")
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"cannot write into {out_dir}: it is a file, not a folder")
    done, skipped, start = 0, [], time.perf_counter()
    for path in progress(_images(src), desc="images"):
        try:
            with torch.no_grad():
                _, notes, _ = run_one(path, out_dir / f"superres-{path.stem}.png", shipped, args.samples,
                                      args.temperature, args.seed, args.naive, args.invert)
        except UserError as exc:
            skipped.append(path)
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        done += 1
    if not done:
        raise UserError(f"{src}: none of its {len(skipped)} files is a readable image")
    print(f"magnified {done} images, skipped {len(skipped)} unreadable file(s) "
          f"({time.perf_counter() - start:.1f} s): {out_dir}")
    return 0


def predict(image: Any = None, samples: int = 4, temperature: float = 0.8, seed: int = 0) -> dict[str, Any]:
    """The web gallery's call: the grid (input, nearest, regression, samples) and a line on what was done."""
    from ...core.config import check_range
    from .upscale import run_one

    if image is None:
        raise UserError("give a small image to magnify")
    check_range("samples", int(samples), 1, 16)
    check_range("temperature", float(temperature), 0, 10)
    shipped = _load(None)
    out = Path(tempfile.mkdtemp(prefix="deepgallery-superres-")) / "grid.png"
    path, notes, seconds = run_one(Path(image), out, shipped, int(samples), float(temperature), int(seed))
    text = f"{int(samples)} samples at temperature {float(temperature):g} in {seconds:.1f} s"
    return {"grid": path, "result": text + "".join(f"; {n}" for n in notes)}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = {"nargs": "+", "metavar": "KIND",
            "help": "fashion (default: Fashion-MNIST 7×7 → 28×28, Debian dataset-fashion-mnist), celeba DIR "
                    "(img_align_celeba/ + list_eval_partition.txt: the paper's 8×8 → 32×32 faces) or pairs FILE.npz "
                    "(an array `high` of images, optional `labels`)"}
    add_training_args(parser, TrainConfig, out="runs/superres", data=data)
    parser.add_argument("--classifier", action="store_true",
                        help="train bench's class-consistency judge (a small CNN on the 28×28 Fashion-MNIST "
                             "training images) instead of the super-resolution model")


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    if args.classifier:
        return _train_classifier(args, config_from_args(TrainConfig, args))
    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx), export,
                        app="superres")


def _train_classifier(args: argparse.Namespace, cfg) -> int:
    import torch

    from ...core.distributed import command_line
    from .classifier import export_classifier, train_classifier
    from .data import fashion_pairs

    data = fashion_pairs("train", cfg.limit)
    net, meta = train_classifier(data.high, data.labels, epochs=cfg.epochs, seed=cfg.seed)
    test = fashion_pairs("t10k")
    accuracy = float((net.predict(test.high) == test.labels).float().mean())
    print(f"classifier accuracy on the 10 000 Fashion-MNIST test images: {accuracy:.4f}")
    path = args.export or str(Path(args.out) / "classifier")
    meta.update({"command": command_line("superres"), "data": data.source, "images": len(data),
                 "test_accuracy": round(accuracy, 4), "torch": torch.__version__})
    print(f"classifier written to {export_classifier(net, path, meta)}")
    return 0


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped model on the built-in examples (Fashion-MNIST test images it never saw): 4 samples each."""
    from .upscale import run_one

    items = []
    shipped = _load(None)
    for path in sorted(EXAMPLES.glob("*.png")):
        start = time.perf_counter()
        out, notes, seconds = run_one(path, Path(out_dir) / f"superres-{path.stem}.png", shipped, 4, 0.8, 0)
        items.append(DemoItem(title=f"{path.stem}: 7×7 → 28×28, 4 samples at T=0.8",
                              inputs={"image": str(path), "samples": "4", "temperature": "0.8"}, outputs=[out],
                              text=f"sampled in {seconds:.1f} s; " + "; ".join(notes),
                              seconds=time.perf_counter() - start))
    return items
