"""Hooks for the CLI, `deepgallery demo` and the web gallery (see core/app.py); the benchmark is in bench.py."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.errors import UserError, check_range
from ...core.runtime import torch_threads  # small batches through small convs: one thread is often fastest

# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    from ...core.runtime import add_device_arg
    from .sampler import SamplerConfig

    d = SamplerConfig()
    parser.add_argument("class_name", nargs="?", help="ImageNet class: a name, a word in one ('cat'), or 0..999")
    parser.add_argument("-n", "--samples", type=int, default=4, help="images to generate (default: 4)")
    parser.add_argument("--steps", type=int, default=d.steps, help=f"sampler steps (default: {d.steps})")
    parser.add_argument("--method", default="ppgn", choices=("ppgn", "am"),
                        help="ppgn: the paper's sampler; am: plain activation maximisation (baseline)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="start the chains from this photo instead of smooth noise")
    parser.add_argument("--size", type=int, default=d.size, help=f"image side in pixels (default: {d.size})")
    parser.add_argument("--eps1", type=float, default=d.eps1, help=f"prior term ε1 (default: {d.eps1})")
    parser.add_argument("--eps2", type=float, default=d.eps2, help=f"class term ε2 (default: {d.eps2})")
    parser.add_argument("--eps3", type=float, default=d.eps3, help=f"noise std ε3 (default: {d.eps3})")
    parser.add_argument("--prior", help="DAE checkpoint (NAME.safetensors + NAME.json; default: the shipped one)")
    parser.add_argument("-o", "--out", default="ppgn.png", help="output grid PNG; a JSON goes beside it")
    parser.add_argument("--list-classes", action="store_true", help="print the 1000 class names and exit")
    parser.add_argument("--threads", type=int, help="CPU threads for PyTorch (default: its own choice; 1 is "
                        "often faster on a busy machine)")
    add_device_arg(parser)


def run(args: argparse.Namespace) -> int:
    from .classifier import class_names

    if args.list_classes:
        for i, name in enumerate(class_names()):
            print(f"{i:4d}  {name}")
        return 0
    if not args.class_name:
        raise UserError("name a class to generate, e.g. `deepgallery run ppgn volcano` (--list-classes lists all)")
    for name in ("eps1", "eps2", "eps3"):
        check_range(f"--{name}", getattr(args, name), 0)
    from dataclasses import replace

    from ...core.runtime import choose_device
    from .pipeline import check_request, generate, write_outputs
    from .sampler import SamplerConfig

    choice = check_request(args.class_name, args.samples, args.steps, args.method)
    if not str(args.out).lower().endswith(".png"):
        raise UserError(f"{args.out}: the output must be a .png file")
    if choice.alternatives:
        print(f"'{args.class_name}' matches {1 + len(choice.alternatives)} classes; using '{choice.name}' "
              f"(others: {', '.join(choice.alternatives[:8])}{', …' if len(choice.alternatives) > 8 else ''})")
    cfg = replace(SamplerConfig(), size=args.size, eps1=args.eps1, eps2=args.eps2, eps3=args.eps3)
    if args.threads is not None:
        check_range("--threads", args.threads, 0, allow_zero=False)
    start = time.perf_counter()
    with torch_threads(args.threads):
        result = generate(args.class_name, args.samples, args.steps, args.method, args.seed, args.init, cfg,
                          args.prior, choose_device(args.device))
    png, js, record = write_outputs(result, args.out)
    print(f"{record['method']}: {record['class']} — confidence {', '.join(f'{c:.3f}' for c in record['confidence'])}"
          f" (mean {record['mean_confidence']:.3f}, {time.perf_counter() - start:.1f} s)")
    print(f"wrote {png} and {js}")
    return 0


def predict(class_name: str = "volcano", samples: int = 4, steps: int = 60, method: str = "ppgn", seed: int = 0,
            init: str | None = None) -> dict[str, Any]:
    """The web gallery's call: returns {"grid": PNG path, "result": dict with the confidences}."""
    from .pipeline import generate, write_outputs

    result = generate(class_name, int(samples), int(steps), method, int(seed), init or None)
    out = Path(tempfile.mkdtemp(prefix="deepgallery-ppgn-")) / "ppgn.png"
    png, _, record = write_outputs(result, out)
    return {"grid": png, "result": record}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.config import add_config_args, number
    from ...core.runtime import add_device_arg, add_precision_arg
    from .prior import DAEConfig
    from .train import TrainConfig

    parser.add_argument("--data", help="folder of your photos (default: the photos in scikit-image/matplotlib)")
    parser.add_argument("--out", default="runs/ppgn-dae", help="run folder: resumable state goes here")
    add_config_args(parser, TrainConfig)  # --steps --batch --crop --lr --seed
    add_config_args(parser, DAEConfig)  # --width
    parser.add_argument("--export", help="also write the fp16 prior the sampler loads (NAME -> NAME.safetensors)")
    parser.add_argument("--threads", type=number(int, "--threads", minimum=1),
                        help="CPU threads for PyTorch (the shipped prior: 1)")
    add_device_arg(parser)
    add_precision_arg(parser)


def train(args: argparse.Namespace) -> int:
    from ...core.config import config_from_args
    from ...core.distributed import run_training
    from .prior import DAEConfig
    from .train import TrainConfig, export_fp16, train_dae

    if args.crop % 4:
        raise UserError(f"--crop must be a multiple of 4 and at least 8, got {args.crop}")
    if args.width % 8:
        raise UserError(f"--width must be a multiple of 8 (GroupNorm of 8 groups), got {args.width}")
    dae_cfg = config_from_args(DAEConfig, args)

    def train_fn(cfg, ctx):
        with torch_threads(args.threads):
            return train_dae(args.out, cfg, dae_cfg, data=args.data, ctx=ctx, precision=args.precision)[0]

    def export(dae, path, cfg, command):
        return export_fp16(dae, path, {"steps": args.steps, "data": args.data or "built-in photos"})

    return run_training(args, TrainConfig, train_fn, export, app="ppgn", written="prior")


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """PPGN and the activation-maximisation baseline on the same class and seeds (≈30 s on 2 CPU cores)."""
    from .pipeline import generate, write_outputs

    items = []
    for method, title in (("ppgn", "PPGN-x sampler (prior + class + noise)"),
                          ("am", "Baseline: plain activation maximisation")):
        start = time.perf_counter()
        with torch_threads(1):
            result = generate("goldfish", samples=4, steps=40, method=method, seed=0)
        png, js, record = write_outputs(result, Path(out_dir) / f"{method}-goldfish.png")
        items.append(DemoItem(
            title=title, inputs={"class_name": "goldfish", "samples": "4", "steps": "40", "method": method},
            outputs=[png, js], text=f"confidence: {', '.join(f'{c:.3f}' for c in record['confidence'])}",
            seconds=time.perf_counter() - start))
    return items

