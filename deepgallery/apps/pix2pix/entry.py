"""CLI, demo and web hooks of pix2pix (the networks are in model.py, the data in pairs.py, the loop in train.py,
using a model in inference.py, the benchmark in bench.py).

    deepgallery run pix2pix translate SKETCH.png [-o photo.png]               draw edges, get a photo
    deepgallery run pix2pix translate PHOTO_OR_DIR_OR_VIDEO --photo            a photo's edges, re-drawn as a photo
    deepgallery run pix2pix translate X --checkpoint runs/facades/model        your own model
    deepgallery run pix2pix pairs PHOTOS --task edges|gray|segments --out DIR  make an A|B dataset from photos
    deepgallery train pix2pix --data DIR [--direction BtoA] [--device cuda]    (or under torchrun)
"""

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
WEB_EXAMPLES = [{"sketch": str(p), "photo": False, "seed": 0} for p in sorted(EXAMPLES.glob("*.png"))]


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    from .pairs import TASK_HELP, TASKS

    sub = parser.add_subparsers(dest="action", required=True, metavar="{translate,pairs}")
    p = sub.add_parser("translate", help="translate an image, a folder of images or a video")
    p.add_argument("input", help="a drawing / image, a folder of them, or a video (frame by frame)")
    p.add_argument("-o", "--out", help="output: a PNG for an image (default NAME-pix2pix.png), a folder for a "
                                       "folder (default NAME-pix2pix/), an MP4 or GIF for a video")
    p.add_argument("--checkpoint", default="edges2photo",
                   help=f"a shipped model ({', '.join(APP.checkpoints)}) or a trained one (NAME.safetensors + "
                        "NAME.json from `train pix2pix --export NAME`) (default: edges2photo)")
    p.add_argument("--photo", action="store_true",
                   help="the input is a photo: compute the model's input from it first (edges models: Canny)")
    p.add_argument("--size", type=number(int, "--size", minimum=0), default=256,
                   help="longer side the input is scaled to (default 256, the training size; 0 keeps it, up to "
                        "2048)")
    p.add_argument("--seed", type=number(int, "--seed", minimum=0), default=0,
                   help="the noise z (dropout at test time, as the paper): another seed, another output")
    p.add_argument("--no-noise", action="store_true", help="dropout off: the deterministic mean output")
    p.add_argument("--side-by-side", action="store_true", help="write the model's input and output side by side")
    add_device_arg(p, "cpu", "a 256 x 256 image takes well under a second on the CPU")
    p = sub.add_parser("pairs", help="make an A|B paired dataset (train/ and val/) from a folder of photos")
    p.add_argument("photos", help="a folder of photos (searched recursively)")
    p.add_argument("--task", default="edges", choices=TASKS,
                   help="; ".join(f"{t}: {h}" for t, h in TASK_HELP.items()) + " (default: edges)")
    p.add_argument("--out", required=True, help="the dataset folder to write (OUT/train, OUT/val)")
    p.add_argument("--crops", type=number(int, "--crops", minimum=1), default=4,
                   help="random square crops per photo (default 4)")
    p.add_argument("--side", type=number(int, "--side", minimum=32), default=256,
                   help="side of each half in pixels (default 256)")
    p.add_argument("--val-fraction", type=number(float, "--val-fraction", minimum=0, maximum=0.9), default=0.1,
                   help="photos kept for val/ (whole photos: none of their crops is trained on) (default 0.1)")
    p.add_argument("--seed", type=number(int, "--seed", minimum=0), default=0, help="crop positions and split")


def _model(name: str, device: str = "cpu"):
    from ...core.runtime import choose_device
    from .model import load, load_shipped

    model = load_shipped(name) if name in APP.checkpoints else load(name)
    model.net.to(choose_device(device))
    return model


def run(args: argparse.Namespace) -> int:
    if args.action == "pairs":
        return _pairs(args)
    return _translate(args)


def _pairs(args: argparse.Namespace) -> int:
    from .pairs import write_pairs

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    counts = write_pairs(args.photos, args.task, args.out, args.crops, args.side, args.val_fraction, args.seed, log)
    print(f"{counts['train']} training and {counts['val']} val pairs ({args.task} -> photo) in {args.out}"
          + (f"; skipped {counts['skipped']} unreadable file(s)" if counts["skipped"] else "")
          + f"\ntrain on them: deepgallery train pix2pix --data {args.out}")
    return 0


def _translate(args: argparse.Namespace) -> int:
    from ...core.media import VIDEO_SUFFIXES, is_video, save_image

    src = Path(args.input).expanduser()
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    from ...core.runtime import choose_device

    choose_device(args.device)  # an absent GPU is one line, before any work
    noise, seed = not args.no_noise, args.seed
    if src.is_dir():
        out = Path(args.out or f"{src.name}-pix2pix")
        if out.exists() and not out.is_dir():
            raise UserError(f"{out}: is a file; for a folder of inputs give an output folder")
        from .inference import translate_folder

        model = _model(args.checkpoint, args.device)
        start = time.perf_counter()
        done, bad = translate_folder(src, out, model, args.photo, args.size, seed, noise, args.side_by_side,
                                     log=lambda m: print(m, file=sys.stderr))
        print(f"translated {done} images, skipped {len(bad)} unreadable file(s) "
              f"({time.perf_counter() - start:.1f} s): {out}/")
        return 0
    if is_video(src):
        out = Path(args.out or f"{src.stem}-pix2pix.mp4")
        if out.suffix.lower() not in VIDEO_SUFFIXES:
            raise UserError(f"{out}: a video is written as MP4 or GIF; give a name ending in .mp4 or .gif")
        from .inference import translate_video

        model = _model(args.checkpoint, args.device)
        frames = translate_video(src, out, model, args.photo, args.size, seed, noise, args.side_by_side)
        print(f"translated {frames} frames: {out}")
        return 0
    out = Path(args.out or f"{src.stem}-pix2pix.png")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"):
        raise UserError(f"{out}: the result is an image; give a name ending in .png or .jpg")
    from .inference import read_drawing, translate_image

    image = read_drawing(src)  # a bad file is one line before any model loads
    model = _model(args.checkpoint, args.device)
    start = time.perf_counter()
    x, y = translate_image(image, model, args.photo, args.size, seed, noise, src.name)
    import numpy as np

    save_image(out, np.concatenate([x, y], axis=1) if args.side_by_side else y)
    print(f"{src.name} -> {out} ({y.shape[1]}x{y.shape[0]}, {model.name}, "
          f"{(time.perf_counter() - start) * 1000:.0f} ms)")
    return 0


def predict(sketch: Any = None, photo: bool = False, seed: int = 0) -> dict[str, Any]:
    """The web gallery's call: the sketch (a path, PIL image or array) through both shipped generators."""
    if sketch is None:
        raise UserError("draw something on the sketch pad first (or upload a drawing)")
    import tempfile

    from ...core.media import save_image
    from .inference import as_array, translate_image
    from .model import load_shipped

    image = as_array(sketch)
    gan, l1 = load_shipped("edges2photo"), load_shipped("edges2photo_l1")
    x, y = translate_image(image, gan, bool(photo), 256, int(seed))
    _, y_l1 = translate_image(image, l1, bool(photo), 256, int(seed))
    out = Path(tempfile.mkdtemp(prefix="pix2pix-"))
    return {"photo": save_image(out / "photo.png", y), "photo_l1": save_image(out / "photo_l1.png", y_l1),
            "edges": save_image(out / "edges.png", x)}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = ("paired data: a folder of A|B images (with train/ and val/, as the authors' datasets) or holding A/"
            " and B/ with files of the same names; default: pairs made on the fly from the offline photo corpus"
            " for --task")
    export = ("also write the fp16 generator `run pix2pix translate --checkpoint` loads (NAME -> "
              "NAME.safetensors + NAME.json)")
    add_training_args(parser, TrainConfig, out="runs/pix2pix", data=data, export=export)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    def report(result) -> None:
        recent = result.losses["l1"][-50:]
        print(f"{result.step} steps, L1 {sum(recent) / max(1, len(recent)):.4f} (last 50 steps of this run); "
              f"state in {args.out}/state")

    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx), export,
                        app="pix2pix", report=report)


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The shipped generators on the built-in sketches (edge maps of held-out photos and a hand-drawn one)."""
    import numpy as np
    from PIL import Image

    from ...core.media import save_image

    items = []
    for path in sorted(EXAMPLES.glob("*.png")):
        start = time.perf_counter()
        result = predict(str(path))
        shown = {key: np.asarray(Image.open(result[key]).convert("RGB")) for key in ("edges", "photo", "photo_l1")}
        outputs = [save_image(Path(out_dir) / f"{path.stem}-{key}.png", image) for key, image in shown.items()]
        outputs.append(save_image(Path(out_dir) / f"{path.stem}-pair.png",  # edges | photo, as the paper's figures
                                  np.concatenate([shown["edges"], shown["photo"]], axis=1)))
        items.append(DemoItem(title=f"{path.stem}: edges -> photo (cGAN + L1, then L1 alone)",
                              inputs={"sketch": str(path)}, outputs=outputs, seconds=time.perf_counter() - start))
    return items
