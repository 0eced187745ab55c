"""Hooks for `deepgallery run|train|demo plankton` and the web gallery (see core/app.py); the benchmark is in
bench.py, the networks in model.py, data and augmentation in data.py, averaging and log loss in predict.py."""

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
from . import APP

EXAMPLES = Path(__file__).resolve().parent / "examples"


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="an image, or a folder of images (every file in it is classified)")
    parser.add_argument("-k", "--top", type=number(int, "--top", minimum=1), default=3,
                        help="classes to list per image (default: 3)")
    parser.add_argument("--tta", action="store_true", help="average over 8 test-time transforms of each image")
    parser.add_argument("--checkpoint", action="append",
                        help="a trained checkpoint (NAME.safetensors + NAME.json); give it several times to "
                             "average several models (default: the shipped cyclic network)")
    parser.add_argument("-o", "--out", help="the CSV of top-k classes (a folder's default: plankton-top.csv)")
    parser.add_argument("--submission", help="for a folder: also write the Kaggle submission CSV "
                                             "(image,class1,...,classK of probabilities)")
    add_device_arg(parser, "cpu", "small networks: the CPU is as fast for one image")


def _models(names: list[str] | None):
    from .model import load, load_shipped

    if not names:
        return [load_shipped("cyclic")]
    models = [load_shipped(n) if n in APP.checkpoints else load(n) for n in names]
    first = models[0].classes
    for m in models[1:]:
        if m.classes != first:
            raise UserError("the checkpoints to average know different classes; give models trained on the same data")
    return models


def _classify(paths: list[Path], models, tta: bool):
    from .data import read_unlabelled
    from .predict import probabilities

    images = read_unlabelled(paths, models[0].cfg.size)
    probs = probabilities(models, images.x, images.size, tta=8 if tta else 0)
    return images, probs


def _top(probs, classes: list[str], k: int) -> list[tuple[str, float]]:
    order = probs.argsort()[::-1][:k]
    return [(classes[i], float(probs[i])) for i in order]


def _write_top_csv(out: Path, names: list[str], probs, classes: list[str], k: int) -> Path:
    """One row per image: its name and its top-k classes with their probabilities (written atomically)."""
    import csv

    from ...core.atomic import atomic_path

    with atomic_path(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["image", *[c for i in range(1, k + 1) for c in (f"class{i}", f"p{i}")]])
        for name, row in zip(names, probs, strict=True):
            w.writerow([name, *[v for c, p in _top(row, classes, k) for v in (c, f"{p:.4f}")]])
    return out


def run(args: argparse.Namespace) -> int:
    if not args.input:
        raise UserError("give an image or a folder: deepgallery run plankton photo.png [--tta]")
    src = Path(args.input).expanduser()
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    for target in (args.out, args.submission):
        if target and Path(target).suffix.lower() != ".csv":
            raise UserError(f"{target}: the table is written as CSV, give a name ending in .csv")
    if src.is_file():
        from .data import read_grey  # a bad single file is the user's mistake: one line, exit 2

        read_grey(src)
    models = _models(args.checkpoint)
    classes = models[0].classes
    k = min(args.top, len(classes))
    if src.is_file():
        _, probs = _classify([src], models, args.tta)
        print(f"{src.name}: " + ", ".join(f"{c} {p:.3f}" for c, p in _top(probs[0], classes, k)))
        if args.out:
            print(f"table: {_write_top_csv(Path(args.out), [src.name], probs, classes, k)}")
        return 0
    from .data import folder_images, write_submission

    start = time.perf_counter()
    images, probs = _classify(folder_images(src), models, args.tta)
    if not len(images):
        raise UserError(f"{src}: none of its {len(images.skipped)} files is a readable image")
    for bad in images.skipped:
        print(f"skipped (not a readable image): {bad}", file=sys.stderr)
    out = _write_top_csv(Path(args.out or "plankton-top.csv"), images.names, probs, classes, k)
    print(f"classified {len(images)} images, skipped {len(images.skipped)} unreadable file(s) "
          f"({time.perf_counter() - start:.1f} s): {out}")
    if args.submission:
        print(f"submission: {write_submission(args.submission, images.names, probs, classes)}")
    return 0


def predict(image: Any = None, top: int = 3, tta: bool = True, model: str = "cyclic") -> dict[str, Any]:
    """The web gallery's call: the top classes of one image (a path; the API saves PIL images and arrays to one)
    and every class's probability."""
    if image is None:
        raise UserError("give an image to classify")
    from .data import read_grey

    read_grey(Path(image))
    if model not in ("cyclic", "plain", "both"):
        raise UserError(f"unknown model {model!r}; choose cyclic, plain or both")
    models = _models(["cyclic", "plain"] if model == "both" else [model])
    _, probs = _classify([Path(image)], models, bool(tta))
    classes = models[0].classes
    top = _top(probs[0], classes, max(1, min(int(top), len(classes))))
    return {"result": "\n".join(f"{c}: {p:.3f}" for c, p in top),
            "probabilities": {c: round(float(p), 5) for c, p in zip(classes, probs[0], strict=True)}}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = ("a folder with one subfolder of images per class (NDSB train/, WHOI-Plankton); default: "
            "Fashion-MNIST at random rotations (Debian dataset-fashion-mnist)")
    add_training_args(parser, TrainConfig, out="runs/plankton", data=data)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx),
                        lambda result, path, cfg, command: export(result, path, cfg, args.data, command),
                        app="plankton")


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped network on the built-in examples (Fashion-MNIST test images, rotated), with and without TTA."""
    from ...core.atomic import write_bytes

    items = []
    for path in sorted(EXAMPLES.glob("*.png")):
        start = time.perf_counter()
        result = predict(path, top=3, tta=True)
        shown = write_bytes(Path(out_dir) / path.name, path.read_bytes())
        items.append(DemoItem(title=f"{path.stem} (rotated test image)", inputs={"image": str(path), "tta": "true"},
                              outputs=[shown], text=result["result"], seconds=time.perf_counter() - start))
    return items
