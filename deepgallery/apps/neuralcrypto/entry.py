"""Hooks for `deepgallery run|train|demo neuralcrypto` and the web gallery (see core/app.py).

The pieces live beside: `exchange.py` (one message through Alice, Bob and Eve), `model.py` (the networks and
`load_trained`), `train.py` / `evaluate.py` (the paper's training and evaluation), `plots.py`, `bench.py`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from deepgallery.core.config import add_config_args, config_from_args, number
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import add_device_arg

from . import APP

DEVICE_WHY = "these networks are tiny: a GPU pays only at the paper's batch 4096"


# ---------------------------------------------------------------------------------------------- run
def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--message", help="the text to encrypt (UTF-8, up to 4096 bytes)")
    parser.add_argument("--checkpoint", help="a trained checkpoint's path, or a shipped one by name: "
                        f"{', '.join(APP.checkpoints)} (default: neuralcrypto, the paper's cipher)")
    parser.add_argument("--seed", type=number(int, "--seed", minimum=0),
                        help="seed for the random keys (default: fresh keys every run)")
    parser.add_argument("-o", "--plot", help="also write a PNG of the bits (plaintext, key, ciphertext, Bob, Eve)")
    add_device_arg(parser, "cpu", DEVICE_WHY)


def run(args: argparse.Namespace) -> int:
    from deepgallery.core.runtime import choose_device

    from .exchange import exchange

    if args.message is None:
        raise UserError('give the text to encrypt: deepgallery run neuralcrypto --message "attack at dawn"')
    if args.plot and Path(args.plot).suffix.lower() != ".png":
        raise UserError(f"--plot {args.plot}: the picture is written as PNG, give a name ending in .png")
    result, arrays = exchange(args.message, args.checkpoint, args.seed, device=choose_device(args.device))
    print(result.report())
    if args.plot:
        from .plots import plot_exchange

        print(f"bits plot: {plot_exchange(arrays, result, Path(args.plot))}")
    return 0


def predict(message: str = "", **_: Any) -> dict[str, Any]:
    """Web gallery: encrypt `message`, return the report text and a plot of the bits."""
    import tempfile

    from .exchange import exchange
    from .plots import plot_exchange

    result, arrays = exchange(message)
    out = Path(tempfile.mkdtemp(prefix="neuralcrypto-")) / "bits.png"
    return {"result": result.report(), "plot": plot_exchange(arrays, result, out),
            "bits_wrong": {"bob": result.bob_bits_wrong, "eve": result.eve_bits_wrong,
                           "total": result.blocks * result.n_bits}}


# ---------------------------------------------------------------------------------------------- train
def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .evaluate import EvalConfig
    from .hardened import HardenConfig
    from .train import TrainConfig

    add_config_args(parser, TrainConfig)
    add_config_args(parser, EvalConfig, prefix="eval-")
    parser.add_argument("--hardened", action="store_true",
                        help="train the hardened cipher instead (hardened.py: Alice and Bob against an ensemble of "
                             "Eves); its settings are the --hardened-* flags")
    add_config_args(parser, HardenConfig, prefix="hardened-")
    parser.add_argument("--out", default="runs/neuralcrypto/neuralcrypto",
                        help="checkpoint path without suffix; writes OUT.safetensors, OUT.json and OUT.png")
    parser.add_argument("--resume", action="store_true", help="continue from OUT if it exists")
    add_device_arg(parser, "cpu", DEVICE_WHY)


def train(args: argparse.Namespace) -> int:
    from deepgallery.core import checkpoint
    from deepgallery.core.runtime import choose_device, torch_threads

    from .evaluate import EvalConfig, evaluate
    from .plots import plot_training
    from .train import TrainConfig
    from .train import train as train_loop

    train_cfg, eval_cfg = config_from_args(TrainConfig, args), config_from_args(EvalConfig, args, prefix="eval-")
    device = choose_device(args.device)
    out = Path(args.out)
    if out.suffix in (".safetensors", ".json"):
        out = out.with_suffix("")
    if checkpoint.exists(out) and not args.resume:
        raise UserError(f"{out}.safetensors exists; add --resume to continue it or choose another --out")
    if args.hardened:
        return _train_hardened(args, out, device)
    with torch_threads(1):  # tiny layers: one thread is fastest, and kinder to a shared machine
        result = train_loop(train_cfg, out, resume=args.resume, device=device, log=print)
        print(f"trained {result.step} steps in {result.seconds:.0f} s: Bob {result.history.bob[-1]:.3f}, "
              f"Eve {result.history.eve[-1]:.2f} bits wrong of {train_cfg.n_bits}"
              + (f" (thresholds met at step {result.converged_step})" if result.converged_step else
                 " (thresholds not met: try more --steps or another --seed)"))
        print(f"evaluating: {eval_cfg.eves} fresh Eves x {eval_cfg.eve_steps} steps against frozen Alice and Bob")
        ev = evaluate(result.trio, eval_cfg, device)
    tensors = dict(result.trio.state_dict())
    if ev.best_eve_state is not None:
        tensors.update({f"eve_best.{k}": v for k, v in ev.best_eve_state.items()})
    meta = result.meta()
    meta["evaluation"] = {"bob_bits_wrong": ev.bob_bits, "eve_bits_wrong_each": ev.eve_bits_each,
                          "best_eve_bits_wrong": ev.best_eve_bits, "success": ev.success,
                          "curves": ev.curves, "config": asdict(eval_cfg)}
    checkpoint.save(out, tensors, asdict(train_cfg), meta, optimizer=result.optimizers)
    plot = plot_training(result.history, ev, out.with_name(out.name + ".png"), train_cfg.n_bits)
    print(f"Bob {ev.bob_bits:.3f} bits wrong; best of {eval_cfg.eves} retrained Eves {ev.best_eve_bits:.2f} "
          f"of {train_cfg.n_bits} -> {'SUCCESS' if ev.success else 'not a success'} "
          f"(needs Bob < {eval_cfg.success_bob_bits} and Eve >= {eval_cfg.success_eve_bits})")
    print(f"checkpoint: {out}.safetensors\nplot: {plot}")
    return 0


def _train_hardened(args: argparse.Namespace, out: Path, device) -> int:
    from deepgallery.core.runtime import torch_threads

    from .hardened import HardenConfig, harden, one_time_pad_map

    config = config_from_args(HardenConfig, args, prefix="hardened-")
    with torch_threads(1):
        trio, history, steps = harden(config, out, resume=args.resume, device=device, log=print)
    otp = one_time_pad_map(trio.cpu())
    print(f"trained {steps} steps: Bob {history.bob[-1]:.4f} bits wrong; Eves " + ", ".join(
        f"{name} {bits:.2f}" for name, bits in zip(history.names, history.eves[-1], strict=True)))
    print(f"one-time pad? lowest agreement of C_i with P_sigma(i) xor K_pi(i): {min(otp['agreement']):.4f}; "
          f"sigma = {otp['plain_bit']}, pi = {otp['key_bit']} "
          f"({'both permutations' if otp['is_permutation'] else 'not both permutations'})")
    print(f"checkpoint: {out}.safetensors (attack it: deepgallery bench neuralcrypto, or attacks.suite)")
    return 0


# ---------------------------------------------------------------------------------------------- demo
DEMO_MESSAGES = ("attack at dawn", "Alice → Bob: Eve can't read this ✓")


def demo(out_dir: Path) -> list:
    """Two messages through the paper's checkpoint, one through the hardened one with its one-time-pad map, plus
    the paper's checkpoint's training curve."""
    from deepgallery.core.app import DemoItem

    from .exchange import exchange
    from .plots import plot_exchange

    out_dir = Path(out_dir)
    items = []
    for i, message in enumerate(DEMO_MESSAGES):
        start = time.perf_counter()
        result, arrays = exchange(message, seed=i)
        plot = plot_exchange(arrays, result, out_dir / f"exchange_{i}.png")
        items.append(DemoItem(title=f"Encrypt {message!r}", inputs={"message": message}, outputs=[plot],
                              text=result.report(), seconds=time.perf_counter() - start))
    if "hardened" in APP.checkpoints:  # the hardened cipher (issue 18) and its one-time-pad test
        from deepgallery.core.atomic import write_bytes

        start = time.perf_counter()
        result, arrays = exchange(DEMO_MESSAGES[0], "hardened", seed=0)
        plot = plot_exchange(arrays, result, out_dir / "exchange_hardened.png")
        items.append(DemoItem(title=f"Encrypt {DEMO_MESSAGES[0]!r} with the hardened cipher",
                              inputs={"message": DEMO_MESSAGES[0], "checkpoint": "hardened"}, outputs=[plot],
                              text=result.report(), seconds=time.perf_counter() - start))
        otp_png = APP.checkpoint("hardened").with_name("hardened_otp.png")
        if otp_png.is_file():
            target = write_bytes(out_dir / "hardened_otp.png", otp_png.read_bytes())
            items.append(DemoItem(title="Is the hardened cipher a one-time pad? (ciphertext bit vs key bit)",
                                  outputs=[target], text="a permutation matrix of ones: C_i = P_sigma(i) xor K_pi(i)"))
    shipped = APP.checkpoint("neuralcrypto")
    curve = shipped.with_suffix(".png")
    if curve.is_file():
        from deepgallery.core.atomic import write_bytes

        target = write_bytes(out_dir / "training.png", curve.read_bytes())
        meta = json.loads(shipped.with_suffix(".json").read_text(encoding="utf-8"))["meta"]
        ev = meta.get("evaluation", {})
        items.append(DemoItem(title="Training of the shipped checkpoint (the paper's Figure 2)", outputs=[target],
                              text=f"Bob {ev.get('bob_bits_wrong')} bits wrong; best retrained Eve "
                                   f"{ev.get('best_eve_bits_wrong')} of 16"))
    return items
