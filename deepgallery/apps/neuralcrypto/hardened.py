"""The hardened cipher: Alice and Bob trained against an ensemble of Eves, in the spirit of Coutinho et al. 2018.

The paper's cipher (Section 2.5) leaks: for a fixed key its ciphertext is almost an affine function of the
plaintext (issue 18), and a large MLP Eve reads it. Coutinho et al. 2018 ("Learning Perfectly Secure
Cryptography to Protect Communications with Adversarial Neural Cryptography") reached a learned one-time pad
against a stronger adversary. Here:

* **an ensemble of Eves** trains against Alice: the paper's mix & transform Eve and a ReLU MLP Eve (twice per
  Alice/Bob step, as in the paper), and L_AB penalises each one's distance from N/2 bits wrong;
* **Alice and Bob are ReLU MLPs** (`parties`): with the mix & transform network even a *supervised* Alice
  taught the pad C_i = P_i xor K_i stalls at 4 of 16 bits wrong (measured; its sigmoid layers and shared
  convolution kernels make xor hard to reach), and against the ensemble Bob stalled at ~5 bits;
* **the Eves' pressure ramps up** over the first `eve_ramp` steps, so Alice and Bob first learn to
  communicate (without it every run we tried stalled with Bob at 5-6 bits wrong);
* **bits on the wire** (`discrete_cipher`: Alice's output rounded to {-1, 1}, straight-through gradient) is
  available but off by default: with 16 bits of ciphertext for 16 bits of plaintext the channel has no slack,
  and even Alice and Bob alone, without any Eve, stayed at 3-4 bits wrong through it.

Every `eval_every` steps a fresh MLP Eve is trained briefly against the frozen Alice (`probe_steps`); the run
stops once Bob and every Eve pass the thresholds. The chosen-plaintext Eve of `attacks.py` is not in the
ensemble: with a key as long as a block no cipher can beat her (see attacks.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from deepgallery.core import checkpoint
from deepgallery.core.config import option
from deepgallery.core.runtime import progress, seed_everything

from .model import MLP, NetConfig, Trio, load_trained, load_weights
from .train import bits_wrong, errors, minibatch


@dataclass
class HardenConfig:
    """Training of the hardened cipher (bits on the wire, an ensemble of Eves)."""

    n_bits: int = option(16, "N: plaintext, key and ciphertext length", minimum=0, allow_zero=False)
    batch_size: int = option(512, "fresh random (P, K) pairs per step", minimum=0, allow_zero=False)
    lr: float = option(0.002, "Adam learning rate of every party", minimum=0, allow_zero=False)
    eve_steps_per_step: int = option(2, "steps of each ensemble Eve per Alice/Bob step (the paper: 2)", minimum=0)
    mlp_depth: int = option(2, "hidden layers of the ensemble's MLP Eve", minimum=0, allow_zero=False)
    mlp_width: int = option(256, "units per hidden layer of the ensemble's MLP Eve", minimum=0, allow_zero=False)
    steps: int = option(20000, "most Alice/Bob steps", minimum=0, allow_zero=False)
    eve_ramp: int = option(3000, "the Eves' terms in L_AB grow from 0 to full weight over this many first steps, so "
                              "Alice and Bob first learn to communicate (0: full weight from the start)", minimum=0)
    eval_every: int = option(250, "steps between evaluations (and checkpoints)", minimum=0, allow_zero=False)
    eval_examples: int = option(8192, "fresh examples per evaluation", minimum=0, allow_zero=False)
    probe_steps: int = option(150, "steps of the fresh MLP Eve trained at each evaluation", minimum=0)
    stop_bob_bits: float = option(0.02, "stop when Bob is below this many bits wrong ...", minimum=0)
    stop_eve_bits: float = option(7.8, "... and every Eve (ensemble and probe) above this", minimum=0)
    discrete_cipher: bool = option(False, "round Alice's output to bits (straight-through gradient)")
    parties: Literal["mlp", "mix_transform"] = option(
        "mlp", "Alice's and Bob's network: mlp, or mix_transform (the paper's; against the ensemble Bob stalled at ~5 "
               "bits wrong)")
    parties_depth: int = option(2, "hidden layers of an mlp Alice and Bob", minimum=0, allow_zero=False)
    parties_width: int = option(128, "units per hidden layer of an mlp Alice and Bob", minimum=0, allow_zero=False)
    start_from: str = option("", "start Alice and Bob from this checkpoint (a path, or the shipped 'neuralcrypto'); "
                                 "empty: from scratch")
    seed: int = option(0, "initialisation and data", minimum=0)


TRAIN_COMMAND = "deepgallery train neuralcrypto --hardened --out runs/neuralcrypto/hardened [--resume]"


@dataclass
class HardenHistory:
    steps: list[int] = field(default_factory=list)
    bob: list[float] = field(default_factory=list)
    eves: list[list[float]] = field(default_factory=list)  # [paper Eve, MLP Eve, fresh probe] at each evaluation


def harden(config: HardenConfig, out: Path | None = None, resume: bool = False, device: torch.device | str = "cpu",
           log: Callable[[str], None] | None = None) -> tuple[Trio, HardenHistory, int]:
    """Train Alice and Bob against the ensemble; saves `out` at every evaluation. (trio, history, steps)."""
    device = torch.device(device)
    seed_everything(config.seed)
    n = config.n_bits
    trio = Trio(NetConfig(n, config.discrete_cipher, config.parties, config.parties_depth,
                          config.parties_width)).to(device)
    eves = [trio.eve, MLP(n, n, config.mlp_depth, config.mlp_width).to(device)]  # the paper's Eve, an MLP Eve
    history, step, seconds_before = HardenHistory(), 0, 0.0
    if config.start_from:  # e.g. the paper's cipher, which already decrypts: only the bits on the wire are new
        start_trio, _ = load_trained(config.start_from)
        trio.alice.load_state_dict(start_trio.alice.state_dict())
        trio.bob.load_state_dict(start_trio.bob.state_dict())
    if resume and out is not None and checkpoint.exists(out):  # Alice and Bob continue; the Eves start afresh
        tensors, _, meta = checkpoint.load(out)
        load_weights(trio, tensors, out)
        step, seconds_before = int(meta.get("step", 0)), float(meta.get("seconds", 0.0))
        history = HardenHistory(**meta.get("history", {}))
    opt_ab = torch.optim.Adam([*trio.alice.parameters(), *trio.bob.parameters()], lr=config.lr)
    opt_eves = [torch.optim.Adam(e.parameters(), lr=config.lr) for e in eves]
    generator = torch.Generator(device=device).manual_seed(config.seed + 7919 * step)
    start = time.perf_counter()

    def meta() -> dict[str, Any]:
        return {"step": step, "training_command": TRAIN_COMMAND,
                "seconds": round(seconds_before + time.perf_counter() - start, 1),
                "history": asdict(history),
                "trained_against": ["paper mix & transform Eve",
                                    f"MLP Eve {config.mlp_depth}x{config.mlp_width} ReLU",
                                    f"a fresh MLP Eve {config.mlp_depth}x{config.mlp_width} probe of "
                                    f"{config.probe_steps} steps at each evaluation (stopping rule only)"]}

    bar = progress(total=config.steps, initial=step, desc="hardened Alice/Bob steps")
    while step < config.steps:
        plain, key = minibatch(config.batch_size, n, generator, device)  # (B, N) each
        cipher = trio.encrypt(plain, key)  # (B, N) bits, straight-through
        bob = bits_wrong(trio.decrypt(cipher, key), plain)  # (B,)
        loss = bob.mean() / n
        weight = min(1.0, step / config.eve_ramp) if config.eve_ramp else 1.0
        for eve in eves:  # every Eve of the ensemble should be left at N/2 bits wrong
            loss = loss + weight * ((n / 2 - bits_wrong(eve(cipher), plain)) ** 2).mean() / (n / 2) ** 2
        opt_ab.zero_grad(set_to_none=True)
        loss.backward()
        opt_ab.step()
        for _ in range(config.eve_steps_per_step):
            plain, key = minibatch(config.batch_size, n, generator, device)
            with torch.no_grad():
                cipher = trio.encrypt(plain, key)
            for eve, opt in zip(eves, opt_eves, strict=True):
                eve_loss = bits_wrong(eve(cipher), plain).mean()
                opt.zero_grad(set_to_none=True)
                eve_loss.backward()
                opt.step()
        step += 1
        bar.update(1)
        if step % config.eval_every == 0 or step == config.steps:
            bob_bits, paper_bits = errors(trio, eves[0], config.eval_examples, generator)
            _, mlp_bits = errors(trio, eves[1], config.eval_examples, generator)
            probe_bits = probe(trio, config, generator)
            history.steps.append(step)
            history.bob.append(round(bob_bits, 4))
            history.eves.append([round(paper_bits, 4), round(mlp_bits, 4), round(probe_bits, 4)])
            bar.set_postfix(bob=f"{bob_bits:.3f}", eves=f"{paper_bits:.2f}/{mlp_bits:.2f}/{probe_bits:.2f}")
            if log:
                log(f"step {step}: Bob {bob_bits:.4f}, paper Eve {paper_bits:.3f}, MLP Eve {mlp_bits:.3f}, "
                    f"fresh MLP probe {probe_bits:.3f}")
            if out is not None:
                checkpoint.save(out, trio.state_dict(), asdict(config), meta())
            if bob_bits < config.stop_bob_bits and min(paper_bits, mlp_bits, probe_bits) > config.stop_eve_bits:
                break
    bar.close()
    if out is not None:
        checkpoint.save(out, trio.state_dict(), asdict(config), meta())
    return trio, history, step


def probe(trio: Trio, config: HardenConfig, generator: torch.Generator) -> float:
    """A fresh MLP Eve trained `probe_steps` steps against the frozen Alice: her bits wrong (N/2 if 0 steps)."""
    n = config.n_bits
    if config.probe_steps <= 0:
        return n / 2
    device = trio.device
    eve = MLP(n, n, config.mlp_depth, config.mlp_width).to(device)
    opt = torch.optim.Adam(eve.parameters(), lr=config.lr)
    for _ in range(config.probe_steps):
        plain, key = minibatch(config.batch_size, n, generator, device)
        with torch.no_grad():
            cipher = trio.encrypt(plain, key)
        loss = bits_wrong(eve(cipher), plain).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return errors(trio, eve, config.eval_examples, generator)[1]


# ---------------------------------------------------------------------------------------------- the one-time pad
@torch.no_grad()
def one_time_pad_map(trio: Trio, examples: int = 8192, seed: int = 0) -> dict[str, Any]:
    """Is Alice the one-time pad, ciphertext bit i = plaintext bit i xor key bit pi(i)?

    In {-1, 1} a xor b is -(a * b) (and xnor is a * b). For every ciphertext bit i this measures how often
    C_i = P_i * K_j * s (s = +1 xnor, -1 xor) over random examples, for every key bit j, and keeps the best j:
    {"agreement": [N] fraction of examples on which bit i follows its best (j, s), "key_bit": [N] pi(i),
    "sign": [N] s, "is_permutation": pi is a permutation, "correlation": [N, N] mean of C_i * P_i * K_j}.
    A learned one-time pad has every agreement at 1.0 and pi a permutation."""
    n = trio.config.n_bits
    device = trio.device
    generator = torch.Generator(device=device).manual_seed(seed)
    plain, key = minibatch(examples, n, generator, device)  # (E, N) each
    cipher = torch.where(trio.encrypt(plain, key) >= 0, 1.0, -1.0)  # (E, N): the bits on the wire
    corr = torch.einsum("ei,ei,ej->ij", cipher, plain, key) / examples  # (N, N): E[C_i P_i K_j]
    best = corr.abs().argmax(dim=1)  # (N,): pi(i)
    sign = torch.sign(corr[torch.arange(n), best])  # (N,)
    follows = cipher == plain * key[:, best] * sign  # (E, N)
    return {"agreement": follows.float().mean(dim=0).tolist(), "key_bit": best.tolist(), "sign": sign.tolist(),
            "is_permutation": len(set(best.tolist())) == n, "correlation": corr.tolist()}


def ship(trained: Path | str, out: Path | str, extra: dict[str, Any] | None = None) -> Path:
    """Export a hardened training checkpoint as a shipped one (fp16, no optimizer state) with the one-time-pad
    test of its Alice in its JSON; also draws OUT_otp.png. Returns the .safetensors path."""
    from .plots import plot_one_time_pad

    tensors, config, meta = checkpoint.load(trained)
    trio, _ = load_trained(trained)
    otp = one_time_pad_map(trio)
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    meta["one_time_pad"] = {k: otp[k] for k in ("agreement", "key_bit", "sign", "is_permutation")}
    meta.update(extra or {})
    path = checkpoint.export_half(out, tensors, config, meta)
    out = Path(out)
    plot_one_time_pad(otp, out.with_name(out.name + "_otp.png"))
    return path
