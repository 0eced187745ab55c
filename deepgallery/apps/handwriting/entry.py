"""Hooks for `deepgallery run|train|demo handwriting` and the web gallery (see core/app.py); the network is in
model.py, the simulated writers in synth.py, IAM-OnDB and the stroke formats in data.py, training in train.py,
requests and output files in writer.py, the benchmark in bench.py."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import number
from ...core.errors import UserError

WEB_EXAMPLES = [
    {"text": "deep nets write by hand", "style": 1, "bias": 0.75, "seed": 0},
    {"text": "generating sequences by hand", "style": 2, "bias": 1.5, "seed": 1},
    {"text": "the quick brown fox", "style": 0, "bias": 0.0, "seed": 2},
]


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", nargs="?", help="the text to write (quote it)")
    parser.add_argument("--style", type=number(int, "--style", minimum=0), default=1,
                        help="0: the network's own style; 1-6: prime with a held-out writer's line (default: 1)")
    parser.add_argument("--bias", type=number(float, "--bias", minimum=0), default=0.75,
                        help="sampling bias b of eqs. 61-62: 0 samples the raw distribution, higher is neater "
                             "(default: 0.75)")
    parser.add_argument("--prime", help="write in this person's style: a JSON file of strokes [[[x, y, t], ...], "
                                        "...] (y down, t in seconds), or {\"strokes\": ..., \"text\": ...}")
    parser.add_argument("--prime-text", help="what the --prime strokes say (unless the JSON has \"text\")")
    parser.add_argument("--seed", type=number(int, "--seed", minimum=0), default=0, help="sampling seed (default: 0)")
    parser.add_argument("-o", "--out", default="handwriting",
                        help="output prefix: PREFIX.svg, PREFIX.png, PREFIX.gif, PREFIX-window.png "
                             "(default: handwriting)")
    parser.add_argument("--animation", choices=("gif", "mp4"), default="gif", help="the pen's animation format")
    parser.add_argument("--checkpoint", help="a trained checkpoint (NAME.safetensors + NAME.json; default: shipped)")


def _model(path: str | None):
    from .model import load, load_shipped

    return load(path) if path else load_shipped()


def _prefix(out: str) -> Path:
    p = Path(out).expanduser()
    return p.with_suffix("") if p.suffix.lower() in (".svg", ".png", ".gif", ".mp4") else p


def run(args: argparse.Namespace) -> int:
    from .data import check_text
    from .writer import prepare, sample, save

    check_text(args.text or "")  # the first mistake a user makes, before loading anything
    if args.prime_text and not args.prime:
        raise UserError("--prime-text says what --prime strokes read; give --prime strokes.json too")
    model = _model(args.checkpoint)
    req = prepare(model, args.text, args.style, args.bias, args.seed, args.prime, args.prime_text)
    start = time.perf_counter()
    written = sample(model, req)
    files = save(written, req.text, _prefix(args.out), args.animation)
    how = (f"primed with {'your strokes' if args.prime else f'style {req.style}'}" if req.prime else "unprimed")
    print(f"wrote {len(req.text)} characters in {sum(len(s) for s in written.strokes)} pen points "
          f"({how}, bias {req.bias:g}, {time.perf_counter() - start:.1f} s)"
          + ("" if written.finished else "; the window did not reach the end of the text (step limit)"))
    for kind, path in files.items():
        print(f"{kind}: {path}")
    return 0


def predict(text: str = "deep nets write by hand", style: int = 1, bias: float = 0.75, strokes: Any = None,
            prime_text: str = "", seed: int = 0) -> dict[str, Any]:
    """The web gallery's call: the line as PNG, its animation, the window figure and the SVG. `strokes` (the pad's
    JSON, a file of it, or a list) with `prime_text` primes the style; else `style` picks a shipped one."""
    from .writer import prepare, sample, save

    model = _model(None)
    req = prepare(model, text, int(style), float(bias), int(seed), strokes or None, prime_text)
    written = sample(model, req)
    out = Path(tempfile.mkdtemp(prefix="deepgallery-handwriting-")) / "handwriting"
    return save(written, req.text, out)


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = {"nargs": 2, "metavar": ("iam", "DIR"),
            "help": "train on IAM-OnDB: --data iam DIR (DIR holds lineStrokes/ and ascii/); default: simulated "
                    "writers of the Hershey fonts"}
    add_training_args(parser, TrainConfig, out="runs/handwriting", data=data)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    data = None
    if args.data:
        kind, folder = args.data
        if kind != "iam":
            raise UserError(f"--data {kind}: the dataset kind is iam (IAM-OnDB), e.g. --data iam ~/IAM-OnDB")
        data = folder
    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, data, ctx), export,
                        app="handwriting")


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped network writing the web examples: a shipped style, a neat high-bias line, the raw distribution."""
    from .writer import prepare, sample, save

    model = _model(None)
    items = []
    for i, ex in enumerate(WEB_EXAMPLES):
        start = time.perf_counter()
        req = prepare(model, ex["text"], ex["style"], ex["bias"], ex["seed"])
        written = sample(model, req)
        files = save(written, req.text, Path(out_dir) / f"example-{i + 1}")
        items.append(DemoItem(title=f"\"{ex['text']}\" (style {ex['style']}, bias {ex['bias']:g})",
                              inputs={k: str(v) for k, v in ex.items()},
                              outputs=[files["handwriting"], files["animation"], files["window"]],
                              text=f"{sum(len(s) for s in written.strokes)} pen points",
                              seconds=time.perf_counter() - start))
    page = _page([it.outputs[0] for it in items], Path(out_dir) / "page.png")
    items.append(DemoItem(title="the three lines on one page (the gallery card)", outputs=[page]))
    return items


def _page(pngs: list[Path], out: Path) -> Path:
    """Lines stacked on a white page of 16:10 (the gallery card's shape)."""
    import numpy as np

    from ...core.media import read_image, save_image

    lines = [read_image(p) for p in pngs]
    width = max(im.shape[1] for im in lines)
    height = max(sum(im.shape[0] for im in lines), int(width / 1.6))
    page = np.full((height, width, 3), 255, np.uint8)
    y = (height - sum(im.shape[0] for im in lines)) // 2
    for im in lines:
        page[y:y + im.shape[0], :im.shape[1]] = im
        y += im.shape[0]
    return save_image(out, page)
