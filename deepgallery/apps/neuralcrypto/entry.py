"""Hooks for `deepgallery run|train|bench|demo neuralcrypto` and the web gallery (see core/app.py)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from deepgallery.core.errors import UserError

HERE = Path(__file__).parent
SHIPPED = HERE / "checkpoints" / "neuralcrypto"
FIX = "Train one with `deepgallery train neuralcrypto --out PATH` or use the shipped one (leave --checkpoint out)."


# ---------------------------------------------------------------------------------------------- numbers
def _number(kind: type, name: str, minimum: float | None = None, allow_zero: bool = False):
    """An argparse type that turns a bad number into a one-line UserError (the CLI exits 2, no usage dump)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise UserError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if value != value or (minimum is not None and (value < minimum or (value == minimum and not allow_zero))):
            bound = f">= {minimum}" if allow_zero else f"> {minimum}"
            raise UserError(f"{name} must be {bound}, got {text}")
        return value

    return parse


# ---------------------------------------------------------------------------------------------- run
@dataclass
class Exchange:
    """One message through Alice, Bob and Eve."""

    message: str
    cipher_hex: str  # Alice's ciphertext, each value's sign read as a bit
    bob_text: str
    eve_text: str
    bob_bits_wrong: int  # hard bit errors over all blocks
    eve_bits_wrong: int
    blocks: int
    n_bits: int

    def report(self) -> str:
        from .bits import printable

        total = self.blocks * self.n_bits
        rate = lambda k: f"{k}/{total} bits wrong ({k / self.blocks:.2f} of {self.n_bits} per block)"  # noqa: E731
        return "\n".join([
            f"plaintext : {printable(self.message)}",
            f"ciphertext: {self.cipher_hex}  ({self.blocks} blocks of {self.n_bits} bits, one random key each)",
            f"Bob  (has the key): {printable(self.bob_text)}",
            f"     {rate(self.bob_bits_wrong)}",
            f"Eve  (no key)     : {printable(self.eve_text)}",
            f"     {rate(self.eve_bits_wrong)}; random guessing gets {self.n_bits // 2} of {self.n_bits} wrong",
        ])


def load_trained(path: str | os.PathLike | None = None):
    """(Trio with the best retrained Eve if saved, metadata) from a checkpoint; UserError with a fix if bad."""
    from deepgallery.core import checkpoint

    from .model import NetConfig, Trio
    from .train import load_weights

    path = Path(path) if path else SHIPPED
    tensors, config, meta = checkpoint.load(path, how_to_fix=FIX)
    n_bits = config.get("n_bits", 16)
    if not isinstance(n_bits, int) or n_bits <= 0 or n_bits % 8:
        raise UserError(f"checkpoint {path} has an unusable n_bits={n_bits!r} (corrupt?). {FIX}")
    trio = Trio(NetConfig(n_bits))
    load_weights(trio, tensors, path)
    best = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("eve_best.")}
    if best:
        try:
            trio.eve.load_state_dict(best)
        except RuntimeError:
            raise UserError(f"checkpoint {path}: the saved best Eve has the wrong shape (corrupt?). {FIX}") from None
    return trio, meta


def exchange(message: str, checkpoint_path: str | os.PathLike | None = None, seed: int | None = None):
    """Encrypt `message` block by block with fresh random keys; Bob decrypts, Eve guesses. -> (Exchange, arrays)."""
    import numpy as np
    import torch

    from .bits import bits_wrong, blocks_to_text, text_to_blocks

    trio, _ = load_trained(checkpoint_path)
    n = trio.config.n_bits
    plain_np, n_bytes = text_to_blocks(message, n)
    rng = np.random.default_rng(seed)
    key_np = rng.integers(0, 2, plain_np.shape).astype(np.float32) * 2 - 1
    with torch.no_grad():
        plain, key = torch.from_numpy(plain_np), torch.from_numpy(key_np)
        cipher = trio.encrypt(plain, key)
        bob, eve = trio.decrypt(cipher, key).numpy(), trio.eavesdrop(cipher).numpy()
    cipher_bits = (cipher.numpy() > 0).astype(np.uint8).reshape(-1)
    result = Exchange(
        message=message,
        cipher_hex=np.packbits(cipher_bits).tobytes().hex(),
        bob_text=blocks_to_text(bob, n_bytes),
        eve_text=blocks_to_text(eve, n_bytes),
        bob_bits_wrong=int(bits_wrong(bob, plain_np).sum()),
        eve_bits_wrong=int(bits_wrong(eve, plain_np).sum()),
        blocks=len(plain_np),
        n_bits=n,
    )
    return result, {"plain": plain_np, "key": key_np, "cipher": cipher.numpy(), "bob": bob, "eve": eve}


def plot_exchange(arrays: dict, result: Exchange, path: Path, max_blocks: int = 24) -> Path:
    """Rows of bits (plaintext, key, ciphertext, Bob's and Eve's outputs) for the first blocks, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepgallery.core.atomic import atomic_path

    names = [("plain", "plaintext P"), ("key", "key K"), ("cipher", "ciphertext C\n= Alice(P, K)"),
             ("bob", f"Bob(C, K)\n{result.bob_bits_wrong} bits wrong"),
             ("eve", f"Eve(C)\n{result.eve_bits_wrong} bits wrong")]
    shown = min(result.blocks, max_blocks)
    fig, axes = plt.subplots(1, len(names), figsize=(10, 1.3 + 0.125 * shown), squeeze=False)
    for ax, (key, title) in zip(axes[0], names, strict=True):
        ax.imshow(arrays[key][:shown], cmap="coolwarm", vmin=-1, vmax=1, aspect="equal", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel(f"{shown} of {result.blocks} blocks" if shown < result.blocks else "one row per block")
    fig.suptitle(f"{result.n_bits}-bit blocks: red = 1, blue = 0 (outputs in between are uncertain)", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--message", help="the text to encrypt (UTF-8, up to 4096 bytes)")
    parser.add_argument("--checkpoint", help="trained checkpoint (default: the shipped one)")
    parser.add_argument("--seed", type=_number(int, "--seed", 0, allow_zero=True),
                        help="seed for the random keys (default: fresh keys every run)")
    parser.add_argument("-o", "--plot", help="also write a PNG of the bits (plaintext, key, ciphertext, Bob, Eve)")


def run(args: argparse.Namespace) -> int:
    if args.message is None:
        raise UserError('give the text to encrypt: deepgallery run neuralcrypto --message "attack at dawn"')
    if args.plot and Path(args.plot).suffix.lower() != ".png":
        raise UserError(f"--plot {args.plot}: the picture is written as PNG, give a name ending in .png")
    result, arrays = exchange(args.message, args.checkpoint, args.seed)
    print(result.report())
    if args.plot:
        print(f"bits plot: {plot_exchange(arrays, result, Path(args.plot))}")
    return 0


def predict(message: str = "", **_: Any) -> dict[str, Any]:
    """Web gallery: encrypt `message`, return the report text and a plot of the bits."""
    import tempfile

    result, arrays = exchange(message)
    out = Path(tempfile.mkdtemp(prefix="neuralcrypto-")) / "bits.png"
    return {"result": result.report(), "plot": plot_exchange(arrays, result, out),
            "bits_wrong": {"bob": result.bob_bits_wrong, "eve": result.eve_bits_wrong,
                           "total": result.blocks * result.n_bits}}


# ---------------------------------------------------------------------------------------------- train
def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .evaluate import EvalConfig
    from .train import TrainConfig

    for cls, prefix in ((TrainConfig, ""), (EvalConfig, "eval-")):
        for f in fields(cls):
            flag = f"--{prefix}{f.name.replace('_', '-')}"
            kind = {"int": int, "float": float}[str(f.type)]
            zero_ok = f.name in ("seed", "eve_steps_per_step")
            parser.add_argument(flag, dest=f"{prefix.replace('-', '_')}{f.name}", default=f.default,
                                type=_number(kind, flag, 0, allow_zero=zero_ok),
                                help=f"{f.metadata['help']} (default: {f.default})")
    parser.add_argument("--out", default="runs/neuralcrypto/neuralcrypto",
                        help="checkpoint path without suffix; writes OUT.safetensors, OUT.json and OUT.png")
    parser.add_argument("--resume", action="store_true", help="continue from OUT if it exists")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda", "mps"),
                        help="where to compute (default: cpu; these networks are tiny)")


def _configs(args: argparse.Namespace):
    from .evaluate import EvalConfig
    from .train import TrainConfig

    train_cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
    eval_cfg = EvalConfig(**{f.name: getattr(args, f"eval_{f.name}") for f in fields(EvalConfig)})
    return train_cfg, eval_cfg


def train(args: argparse.Namespace) -> int:
    import torch

    from deepgallery.core import checkpoint
    from deepgallery.core.runtime import choose_device

    from .evaluate import evaluate
    from .train import train as train_loop

    train_cfg, eval_cfg = _configs(args)
    device = choose_device(args.device)
    torch.set_num_threads(1)  # tiny layers: one thread is fastest, and kinder to a shared machine
    out = Path(args.out)
    if out.suffix in (".safetensors", ".json"):
        out = out.with_suffix("")
    if checkpoint.exists(out) and not args.resume:
        raise UserError(f"{out}.safetensors exists; add --resume to continue it or choose another --out")
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


def plot_training(history, evaluation, path: Path, n_bits: int = 16) -> Path:
    """The paper's Figure 2: Bob's and Eve's bits wrong over training steps, plus the best retrained Eve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepgallery.core.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(history.steps, history.bob, label="Bob", color="tab:blue")
    ax.plot(history.steps, history.eve, label="Eve (trained alongside)", color="tab:red")
    if evaluation is not None:
        ax.axhline(evaluation.best_eve_bits, color="tab:red", ls="--", lw=1,
                   label=f"best of {len(evaluation.eve_bits_each)} retrained Eves: {evaluation.best_eve_bits:.2f}")
    ax.axhline(n_bits / 2, color="grey", ls=":", lw=1, label="random guessing")
    ax.set_xlabel("Alice/Bob training steps")
    ax.set_ylabel(f"bits wrong (of {n_bits})")
    ax.set_ylim(0, n_bits * 0.75)
    ax.set_title("Bob's and Eve's reconstruction error (cf. Abadi & Andersen 2016, Fig. 2)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------------------------------------- bench
def _one_seed(payload: tuple[dict, dict]) -> dict:
    """Train and evaluate one seed (runs in a worker process, one thread)."""
    import torch

    from .evaluate import EvalConfig, evaluate
    from .train import TrainConfig
    from .train import train as train_loop

    os.environ["DEEPGALLERY_QUIET"] = "1"
    torch.set_num_threads(1)
    train_cfg, eval_cfg = TrainConfig(**payload[0]), EvalConfig(**payload[1])
    start = time.perf_counter()
    result = train_loop(train_cfg)
    ev = evaluate(result.trio, eval_cfg)
    return {"seed": train_cfg.seed, "steps": result.step, "converged_step": result.converged_step,
            "seconds_to_converge": result.seconds_to_converge, "bob": ev.bob_bits, "eve": ev.best_eve_bits,
            "eve_each": ev.eve_bits_each, "success": ev.success, "seconds": round(time.perf_counter() - start, 1)}


def summarize(runs: list[dict]) -> dict[str, Any]:
    """The issue's metrics: seeds, successes, and medians over the successful seeds (None if there are none)."""
    ok = [r for r in runs if r["success"]]

    def median(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return round(float(statistics.median(values)), 4) if values else None

    return {
        "seeds": len(runs),
        "seeds_succeeded": len(ok),
        "bob_bits_wrong": median([r["bob"] for r in ok]),
        "eve_bits_wrong": median([r["eve"] for r in ok]),
        "seconds_to_converge": median([r["seconds_to_converge"] for r in ok]),
        "steps_to_converge": median([r["converged_step"] for r in ok]),
    }


BENCH_FULL = {"seeds": 5, "train": {}, "eval": {}}
BENCH_QUICK = {"seeds": 2, "train": {"steps": 10000, "probe_eve_steps": 1500}, "eval": {"eves": 2, "eve_steps": 1500}}


def bench(quick: bool = False) -> dict[str, Any]:
    """Train `seeds` independent Alice/Bob/Eve trios, evaluate each with fresh Eves, report as the paper."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    from .evaluate import EvalConfig
    from .train import TrainConfig

    plan = BENCH_QUICK if quick else BENCH_FULL
    train_cfgs = [asdict(TrainConfig(**{**plan["train"], "seed": s})) for s in range(plan["seeds"])]
    eval_cfg = asdict(EvalConfig(**plan["eval"]))
    # One process per seed (one thread each): 5 equal jobs on 2 cores finish sooner as 5 than in rounds of 2.
    workers = plan["seeds"]
    runs = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_one_seed, (t, eval_cfg)) for t in train_cfgs]):
            r = future.result()
            runs.append(r)
            print(f"seed {r['seed']}: {r['steps']} steps, Bob {r['bob']:.3f}, best Eve {r['eve']:.2f} "
                  f"({', '.join(f'{e:.2f}' for e in r['eve_each'])}) -> {'success' if r['success'] else 'failed'} "
                  f"[{r['seconds']:.0f} s]", flush=True)
    runs.sort(key=lambda r: r["seed"])
    metrics = summarize(runs)
    return {"metrics": metrics, "device": "cpu",
            "config": {"train": {k: v for k, v in train_cfgs[0].items() if k != "seed"}, "eval": eval_cfg,
                       "workers": workers, "runs": runs}}


# ---------------------------------------------------------------------------------------------- demo
DEMO_MESSAGES = ("attack at dawn", "Alice → Bob: Eve can't read this ✓")


def demo(out_dir: Path) -> list:
    """Two messages through the shipped checkpoint, plus the shipped training curve."""
    from deepgallery.core.app import DemoItem

    out_dir = Path(out_dir)
    items = []
    for i, message in enumerate(DEMO_MESSAGES):
        start = time.perf_counter()
        result, arrays = exchange(message, seed=i)
        plot = plot_exchange(arrays, result, out_dir / f"exchange_{i}.png")
        items.append(DemoItem(title=f"Encrypt {message!r}", inputs={"message": message}, outputs=[plot],
                              text=result.report(), seconds=time.perf_counter() - start))
    curve = HERE / "checkpoints" / "neuralcrypto.png"
    if curve.is_file():
        from deepgallery.core.atomic import write_bytes

        target = write_bytes(out_dir / "training.png", curve.read_bytes())
        meta = json.loads((HERE / "checkpoints" / "neuralcrypto.json").read_text(encoding="utf-8"))["meta"]
        ev = meta.get("evaluation", {})
        items.append(DemoItem(title="Training of the shipped checkpoint (the paper's Figure 2)", outputs=[target],
                              text=f"Bob {ev.get('bob_bits_wrong')} bits wrong; best retrained Eve "
                                   f"{ev.get('best_eve_bits_wrong')} of 16"))
    return items
