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

* **a learned one-time pad** (the shipped cipher, 2026-12-05): a stream Alice whose keystream is one layer,
  monotone in the key (`keystream_depth` 0, `keystream_monotone`), with a term in L_AB for correlated keystream
  bits (`decorrelate`) and a key reader (`key_reader`). Monotone, balanced, pairwise uncorrelated bits can only
  each follow a key bit of their own (Harris 1960), so the term leads to a permutation of the key; which one is
  learned. The 2x128 MLP keystream of the first hardened cipher reused key bits instead.

Every `eval_every` steps a fresh MLP Eve is trained briefly against the frozen Alice (`probe_steps`); the run
stops once Bob and every Eve pass the thresholds. The chosen-plaintext Eve of `attacks.py` is not in the
ensemble: with a key as long as a block no cipher can beat her (see attacks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from deepgallery.core import checkpoint
from deepgallery.core.config import option
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import seed_everything
from deepgallery.core.training import Steps

from .attacks import coin_bits_wrong
from .model import MLP, MixTransform, NetConfig, StreamAlice, Trio, load_trained, load_weights
from .train import bits_wrong, errors, minibatch, random_bits

ENSEMBLE = ("paper", "mlp", "linear", "ind_cpa")  # the Eves Alice and Bob train against (attacks.py's names)


@dataclass
class HardenConfig:
    """Training of the hardened cipher: quadratic Alice and Bob, bits on the wire, an ensemble of Eves."""

    n_bits: int = option(16, "N: plaintext, key and ciphertext length", minimum=0, allow_zero=False)
    batch_size: int = option(512, "fresh random (P, K) pairs per step", minimum=0, allow_zero=False)
    lr: float = option(0.002, "Adam learning rate of every party", minimum=0, allow_zero=False)
    eve_steps_per_step: int = option(2, "steps of each ensemble Eve per Alice/Bob step (the paper: 2)", minimum=0)
    ensemble: str = option(",".join(ENSEMBLE), "the Eves Alice and Bob train against, comma-separated, of "
                                               f"{', '.join(ENSEMBLE)} (attacks.py)")
    mlp_depth: int = option(2, "hidden layers of the ensemble's MLP Eves", minimum=0, allow_zero=False)
    mlp_width: int = option(256, "units per hidden layer of the ensemble's MLP Eves", minimum=0, allow_zero=False)
    eve_reset: int = option(1000, "start every ensemble Eve afresh this often (steps; 0: never), so a new Eve can "
                                  "find what an old, stuck one no longer looks for", minimum=0)
    steps: int = option(3000, "most Alice/Bob steps (training stops earlier once the thresholds below hold)",
                        minimum=0, allow_zero=False)
    eve_ramp: int = option(0, "the Eves' terms in L_AB grow from 0 to full weight over this many first steps "
                              "(0: full weight from the start)", minimum=0)
    eval_every: int = option(250, "steps between evaluations (and checkpoints)", minimum=0, allow_zero=False)
    eval_examples: int = option(8192, "fresh examples per evaluation", minimum=0, allow_zero=False)
    probe_steps: int = option(300, "steps of the fresh MLP Eve trained at each evaluation", minimum=0)
    stop_bob_bits: float = option(0.01, "stop when Bob is below this many bits wrong ...", minimum=0)
    stop_eve_bits: float = option(7.8, "... and every Eve (ensemble and probe) above this", minimum=0)
    bob_loss: Literal["squared", "l1"] = option(
        "squared", "Bob's term of L_AB: squared error (per bit, / 4) or the paper's L1 bits wrong (/ N); through bits "
                   "on the wire, L1 left Bob at ~1.7 bits wrong after 3,000 steps, squared at ~0.2 (measured)")
    eves_shape_keystream_only: bool = option(
        True, "a stream Alice: the Eves' terms of L_AB reach her keystream network only, Bob's term both (without "
              "it the Eves' pressure made Alice blur her code, and Bob, instead of drawing a random keystream)")
    discrete_cipher: bool = option(True, "round Alice's output to bits (straight-through gradient), so no "
                                         "real-valued offset of the key can leak")
    parties: Literal["stream", "quadratic", "mlp", "mix_transform"] = option(
        "stream", "Alice's and Bob's networks: stream (a learned stream cipher: Alice = code(P) x keystream(K), Bob "
                  "= decode(C x keystream(K)), model.StreamAlice), quadratic (one layer over the bits and their "
                  "pairwise products), mlp, or mix_transform (the paper's; against the ensemble Bob stalled at ~5 "
                  "bits wrong)")
    parties_depth: int = option(2, "hidden layers of an mlp Alice and Bob", minimum=0, allow_zero=False)
    parties_width: int = option(128, "units per hidden layer of an mlp Alice and Bob", minimum=0, allow_zero=False)
    keystream_depth: int = option(
        0, "hidden layers of a stream Alice's keystream network (0: one linear layer over the key, then sign: the only "
           "keystreams of that form that keep every key bit are signed permutations of the key, i.e. one-time pads; "
           "-1: as --hardened-parties-depth, the shipped cipher of 2026-12-04, whose keystream reused key bits)",
        minimum=-1)
    keystream_monotone: bool = option(
        True, "with --hardened-keystream-depth 0: keystream bit i = sign(sum_j A_ij K_j + b_i), A_ij = |W_ij| / "
              "sum_j |W_ij| (rows of A sum to 1), monotone in every "
              "key bit. Two monotone functions are never negatively correlated (Harris 1960), and uncorrelated only "
              "if they share no key bit, so 16 balanced, pairwise uncorrelated keystream bits (the decorrelation "
              "term) must each follow one key bit of its own: a one-time pad, which key bit learned")
    decorrelate: float = option(
        10.0, "weight of the keystream-decorrelation term in L_AB: the mean squared correlation, over a batch of keys, "
             "of every pair of keystream bits and of each bit with 1 (a key bit used twice correlates two keystream "
             "bits and leaks the xor of two plaintext bits); 0: off", minimum=0)
    key_reader: float = option(
        1.0, "weight of the key-reader term: a ReLU MLP (the parties' size) learns to read the key K back from the "
             "keystream bits, and its squared error joins L_AB (gradient to the keystream network), so the keystream "
             "keeps all 16 bits of the key -- a bijection of a uniform key is uniform, i.e. a one-time pad; 0: off "
             "(a stream Alice only)", minimum=0)
    start_from: str = option("", "start Alice and Bob from this checkpoint (a path, or the shipped 'neuralcrypto'); "
                                 "empty: from scratch")
    seed: int = option(0, "initialisation and data", minimum=0)

    def eve_names(self) -> tuple[str, ...]:
        names = tuple(name.strip() for name in self.ensemble.split(",") if name.strip())
        unknown = [name for name in names if name not in ENSEMBLE]
        if unknown:
            raise UserError(f"--hardened-ensemble: unknown Eve {unknown[0]!r}; choose from {', '.join(ENSEMBLE)}")
        return names


TRAIN_COMMAND = "deepgallery train neuralcrypto --hardened --out runs/neuralcrypto/hardened [--resume]"


@dataclass
class HardenHistory:
    steps: list[int] = field(default_factory=list)
    bob: list[float] = field(default_factory=list)
    eves: list[list[float]] = field(default_factory=list)  # each ensemble Eve, then the fresh probe, per evaluation
    names: list[str] = field(default_factory=list)  # the columns of `eves`


class LinearEve(nn.Module):
    """The least-squares Eve inside training: refitted in closed form (ridge) on every batch it sees, so she is
    always the best affine reader of the current Alice; her guess passes gradients to Alice's ciphertext."""

    def __init__(self, n_bits: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(n_bits + 1, n_bits))  # (N + 1, N)

    @torch.no_grad()
    def fit(self, cipher: torch.Tensor, plain: torch.Tensor) -> None:
        design = torch.cat([cipher, torch.ones_like(cipher[:, :1])], dim=1)  # (B, N + 1)
        gram = design.T @ design + 1e-3 * torch.eye(design.shape[1], device=design.device)
        self.weights.copy_(torch.linalg.solve(gram, design.T @ plain))

    def forward(self, cipher: torch.Tensor) -> torch.Tensor:
        return (torch.cat([cipher, torch.ones_like(cipher[:, :1])], dim=1) @ self.weights).clamp(-1, 1)  # (B, N)


def make_eve(name: str, config: HardenConfig, device: torch.device) -> nn.Module:
    n = config.n_bits
    eve: nn.Module
    if name == "paper":
        eve = MixTransform(n, n)
    elif name == "mlp":
        eve = MLP(n, n, config.mlp_depth, config.mlp_width)
    elif name == "ind_cpa":  # sees [P0, P1, C], says which plaintext was sent
        eve = MLP(3 * n, 1, config.mlp_depth, config.mlp_width)
    else:
        eve = LinearEve(n)
    return eve.to(device)


def eve_bits_wrong(name: str, eve: nn.Module, cipher: torch.Tensor, plain: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    """Per-example bits wrong of N (B,) of one ensemble Eve on ciphertexts `cipher` of `plain` (fresh keys).

    The ind_cpa Eve plays the indistinguishability game on the same ciphertexts: a random decoy plaintext and a
    coin decide whether she sees [P, decoy, C] or [decoy, P, C]."""
    if name != "ind_cpa":
        return bits_wrong(eve(cipher), plain)
    n = plain.shape[1]
    decoy = random_bits(plain.shape[0], n, generator, plain.device)  # (B, N)
    coin = random_bits(plain.shape[0], 1, generator, plain.device)  # (B, 1): +1 -> P was the second one
    first, second = torch.where(coin > 0, decoy, plain), torch.where(coin > 0, plain, decoy)
    return coin_bits_wrong(eve(torch.cat([first, second, cipher], dim=1)), coin, n)


def harden(config: HardenConfig, out: Path | None = None, resume: bool = False, device: torch.device | str = "cpu",
           log: Callable[[str], None] | None = None, max_seconds: float = 0.0) -> tuple[Trio, HardenHistory, int]:
    """Train Alice and Bob against the ensemble; saves `out` at every evaluation (and on Ctrl-C/SIGTERM).
    `max_seconds` (0: none) stops after that much wall-clock time, e.g. a GPU time box. (trio, history, steps)."""
    device = torch.device(device)
    seed_everything(config.seed)
    n, names = config.n_bits, config.eve_names()
    trio = Trio(NetConfig(n, config.discrete_cipher, config.parties, config.parties_depth,
                          config.parties_width, config.keystream_depth, config.keystream_monotone)).to(device)
    history, resumed = HardenHistory(names=[*names, "fresh MLP probe"]), None
    if config.start_from:  # e.g. the paper's cipher, which already decrypts: only the bits on the wire are new
        start_trio, _ = load_trained(config.start_from)
        trio.alice.load_state_dict(start_trio.alice.state_dict())
        trio.bob.load_state_dict(start_trio.bob.state_dict())
    if resume and out is not None and checkpoint.exists(out):  # Alice and Bob continue; the Eves start afresh
        tensors, _, resumed = checkpoint.load(out)
        load_weights(trio, tensors, out)
        history = HardenHistory(**resumed.get("history", {}))
    opt_ab = torch.optim.Adam([*trio.alice.parameters(), *trio.bob.parameters()], lr=config.lr)
    eves: dict[str, nn.Module] = {}
    opt_eves: dict[str, torch.optim.Optimizer] = {}

    def reset_eves() -> None:
        for name in names:
            eves[name] = make_eve(name, config, device)
            if name != "linear":
                opt_eves[name] = torch.optim.Adam(eves[name].parameters(), lr=config.lr)

    reset_eves()
    reader = opt_reader = None  # the key reader: K from keystream(K); not saved (it is no party of the cipher)
    if config.key_reader and config.parties == "stream":
        reader = MLP(n, n, config.parties_depth, config.parties_width).to(device)
        opt_reader = torch.optim.Adam(reader.parameters(), lr=config.lr)
    first_step = int(resumed.get("step", 0)) if resumed else 0
    generator = torch.Generator(device=device).manual_seed(config.seed + 7919 * first_step)

    def meta() -> dict[str, Any]:
        return {"step": steps.step, "training_command": TRAIN_COMMAND, "seconds": round(steps.seconds, 1),
                "history": asdict(history), "device": str(device),
                "trained_against": [ENSEMBLE_NAMES[name].format(c=config) for name in names]
                + [f"a fresh MLP Eve {config.mlp_depth}x{config.mlp_width} probe of {config.probe_steps} steps at "
                   "each evaluation (stopping rule only)"]}

    def save(_: Steps) -> None:
        checkpoint.save(out, trio.state_dict(), asdict(config), meta())

    best_eve = -1.0
    if out is not None and checkpoint.exists(best_path(out)) and resume:
        best_meta = checkpoint.load(best_path(out))[2]
        best_eve = min(best_meta["history"]["eves"][-1])
    # a checkpoint at every evaluation; one that ends the loop early (the stopping rule, the time box) is saved as
    # the `with` block ends
    start = {"step": first_step, "seconds": float(resumed.get("seconds", 0.0))} if resumed else None
    with Steps(config.steps, save=save if out is not None else None, meta=start, save_every=config.eval_every,
               desc="hardened Alice/Bob steps") as steps:
        for step in steps:
            if config.eve_reset and step and step % config.eve_reset == 0:
                reset_eves()
            plain, key = minibatch(config.batch_size, n, generator, device)  # (B, N) each
            cipher = trio.encrypt(plain, key)  # (B, N) bits, straight-through
            guess = trio.decrypt(cipher, key)  # (B, N)
            if config.bob_loss == "l1":
                loss = bits_wrong(guess, plain).mean() / n
            else:  # squared error: a gradient that shrinks as Bob gets a bit right, unlike L1's
                loss = ((guess - plain) ** 2).mean() / 4
            weight = min(1.0, step / config.eve_ramp) if config.eve_ramp else 1.0
            seen = cipher  # what the Eves see: the same bits, but maybe a gradient to the keystream only
            if config.parties == "stream" and config.eves_shape_keystream_only:
                seen = trio.encrypt(plain, key, frozen_code=True)
            if "linear" in eves:
                eves["linear"].fit(seen.detach(), plain)
            for name, eve in eves.items():  # every Eve of the ensemble should be left at N/2 bits wrong
                eve_bits = eve_bits_wrong(name, eve, seen, plain, generator)  # (B,)
                loss = loss + weight * ((n / 2 - eve_bits) ** 2).mean() / (n / 2) ** 2 / len(eves)
            if config.decorrelate and config.parties == "stream":
                loss = loss + config.decorrelate * keystream_correlation(trio.alice.stream(key))
            if reader is not None and opt_reader is not None:  # the keystream must keep the whole key
                loss = loss + config.key_reader * ((reader(trio.alice.stream(key)) - key) ** 2).mean() / 4
                opt_reader.zero_grad(set_to_none=True)
            opt_ab.zero_grad(set_to_none=True)
            loss.backward()
            opt_ab.step()
            if opt_reader is not None:
                opt_reader.step()
            for _ in range(config.eve_steps_per_step):
                plain, key = minibatch(config.batch_size, n, generator, device)
                with torch.no_grad():
                    cipher = trio.encrypt(plain, key)
                for name, opt in opt_eves.items():
                    eve_loss = eve_bits_wrong(name, eves[name], cipher, plain, generator).mean()
                    opt.zero_grad(set_to_none=True)
                    eve_loss.backward()
                    opt.step()
            taken = step + 1
            postfix = None
            out_of_time = bool(max_seconds) and steps.elapsed > max_seconds
            evaluated = taken % config.eval_every == 0 or taken == config.steps or out_of_time
            if evaluated:
                bob_bits, eve_bits = evaluate_ensemble(trio, eves, config, generator)
                probe_bits = probe(trio, config, generator)
                history.steps.append(taken)
                history.bob.append(round(bob_bits, 4))
                history.eves.append([round(b, 4) for b in [*eve_bits, probe_bits]])
                postfix = {"bob": f"{bob_bits:.3f}", "eves": "/".join(f"{b:.2f}" for b in history.eves[-1])}
                if log:
                    log(f"step {taken}: Bob {bob_bits:.4f}; " + ", ".join(
                        f"{name} Eve {b:.3f}" for name, b in zip(history.names, history.eves[-1], strict=True)))
                if bob_bits < config.stop_bob_bits and min(history.eves[-1]) > config.stop_eve_bits or out_of_time:
                    steps.stop()
            steps.done(postfix=postfix)  # saves OUT at an evaluation step
            if evaluated and bob_bits < BEST_BOB_BITS and min(history.eves[-1]) > best_eve and out is not None:
                best_eve = min(history.eves[-1])  # the best cipher so far: OUT_best (the game is noisy)
                checkpoint.save(best_path(out), trio.state_dict(), asdict(config), meta())
    return trio, history, steps.step


def keystream_correlation(stream: torch.Tensor) -> torch.Tensor:
    """Mean squared correlation of a batch of keystreams (B, N) in {-1, 1}: every pair of bits, E[s_i s_j] (i < j),
    and every bit with a constant, E[s_i]. 0 for independent, balanced bits; a key bit used twice makes one
    E[s_i s_j] = +-1."""
    n = stream.shape[1]
    second = stream.T @ stream / stream.shape[0]  # (N, N): E[s_i s_j]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool, device=stream.device), diagonal=1)
    return torch.cat([second[upper], stream.mean(dim=0)]).pow(2).mean()


BEST_BOB_BITS = 0.05  # the goal's line for Bob: OUT_best keeps the evaluation with the strongest Eves above it


def best_path(out: Path) -> Path:
    """Where `harden` keeps the best evaluation so far: Bob below the goal's 0.05 bits wrong and the highest
    weakest Eve (ensemble and fresh probe). Adversarial training does not settle: a later step can be worse."""
    out = Path(out)
    return out.with_name(out.name + "_best")


ENSEMBLE_NAMES = {"paper": "paper mix & transform Eve", "mlp": "MLP Eve {c.mlp_depth}x{c.mlp_width} ReLU",
                  "linear": "least-squares Eve refitted on every batch",
                  "ind_cpa": "indistinguishability (IND-CPA, fresh key) Eve, MLP {c.mlp_depth}x{c.mlp_width}"}


@torch.no_grad()
def evaluate_ensemble(trio: Trio, eves: dict[str, nn.Module], config: HardenConfig,
                      generator: torch.Generator) -> tuple[float, list[float]]:
    """(Bob's bits wrong, each ensemble Eve's) on `eval_examples` fresh examples."""
    plain, key = minibatch(config.eval_examples, config.n_bits, generator, trio.device)
    cipher = trio.encrypt(plain, key)
    bob = bits_wrong(trio.decrypt(cipher, key), plain).mean().item()
    return bob, [eve_bits_wrong(name, eve, cipher, plain, generator).mean().item() for name, eve in eves.items()]


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
    """Is Alice a one-time pad, ciphertext bit i = plaintext bit sigma(i) xor key bit pi(i) (up to a flip)?

    In {-1, 1} a xor b is -(a * b) (and xnor is a * b). For every ciphertext bit i this measures E[C_i P_k K_j]
    over random examples for every plaintext bit k and key bit j, and keeps the best (k, j) and sign s:
    {"agreement": [N] fraction of examples on which C_i = s P_sigma(i) K_pi(i) holds, "plain_bit": [N] sigma(i),
    "key_bit": [N] pi(i), "sign": [N] s, "is_permutation": sigma and pi are both permutations,
    "correlation": [N, N] max over k of |E[C_i P_k K_j]| (ciphertext bit i, key bit j)}.
    A learned one-time pad has every agreement at 1.0 and both maps permutations; then C is uniformly random
    whatever P is (each ciphertext bit is masked by its own fresh key bit), and no Eve of any size can do better
    than guessing."""
    n = trio.config.n_bits
    device = trio.device
    generator = torch.Generator(device=device).manual_seed(seed)
    plain, key = minibatch(examples, n, generator, device)  # (E, N) each
    cipher = torch.where(trio.encrypt(plain, key) >= 0, 1.0, -1.0)  # (E, N): the bits on the wire
    corr = torch.einsum("ei,ek,ej->ikj", cipher, plain, key) / examples  # (N, N, N): E[C_i P_k K_j]
    best = corr.abs().flatten(1).argmax(dim=1)  # (N,): the best (k, j) pair of each ciphertext bit
    plain_bit, key_bit = best // n, best % n  # (N,) each
    rows = torch.arange(n, device=device)
    sign = torch.sign(corr[rows, plain_bit, key_bit])  # (N,)
    follows = cipher == plain[:, plain_bit] * key[:, key_bit] * sign  # (E, N)
    return {"agreement": follows.float().mean(dim=0).tolist(), "plain_bit": plain_bit.tolist(),
            "key_bit": key_bit.tolist(), "sign": sign.tolist(),
            "is_permutation": len(set(key_bit.tolist())) == n and len(set(plain_bit.tolist())) == n,
            "correlation": corr.abs().amax(dim=1).tolist()}


@torch.no_grad()
def distinct_keystreams(trio: Trio) -> int:
    """How many different keystreams a stream Alice makes over *all* 2^N keys (N <= 20): exhaustive, no sampling.

    2^N means the keystream is a bijection of the key; a bijection of a uniform key is uniform, so then C = code(P)
    xor keystream(K) is uniform whatever P is -- perfect secrecy for one block per key, against every Eve of any
    size, whether or not each bit uses one key bit. Fewer means some keystreams are more likely than others."""
    n = trio.config.n_bits
    if not isinstance(trio.alice, StreamAlice) or n > 20:
        raise ValueError("distinct_keystreams needs a stream Alice of at most 20 bits")
    keys = ((torch.arange(2 ** n, device=trio.device)[:, None] >> torch.arange(n, device=trio.device)) & 1) * 2.0 - 1
    return int(torch.unique(trio.alice.stream(keys), dim=0).shape[0])


def ship(trained: Path | str, out: Path | str, extra: dict[str, Any] | None = None, eve_steps: int = 1000) -> Path:
    """Export a hardened training checkpoint as a shipped one (fp16, no optimizer state) with the one-time-pad
    test of its Alice in its JSON; also draws OUT_otp.png. A fresh paper's Eve is trained `eve_steps` steps
    against the frozen Alice and stored as the Eve that `run` shows guessing. Returns the .safetensors path."""
    from .plots import plot_one_time_pad
    from .train import retrain_fresh_eve

    tensors, config, meta = checkpoint.load(trained)
    trio, _ = load_trained(trained)
    otp = one_time_pad_map(trio)
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    meta["one_time_pad"] = {k: otp[k] for k in ("agreement", "plain_bit", "key_bit", "sign", "is_permutation")}
    if isinstance(trio.alice, StreamAlice) and trio.config.n_bits <= 20:
        meta["one_time_pad"]["distinct_keystreams"] = distinct_keystreams(trio)
    tensors = {k: v for k, v in tensors.items() if not k.startswith("eve_best.")}
    if eve_steps:
        trio.requires_grad_(False)
        curve, best = retrain_fresh_eve(trio, eve_steps, 512, 0.0008, max(1, eve_steps // 4), 8192,
                                        torch.Generator().manual_seed(99), desc="Eve for run")
        tensors.update({f"eve_best.{k}": v for k, v in best.items()})
        meta["eve_for_run"] = {"steps": eve_steps, "bits_wrong": min(curve)}
    meta.update(extra or {})
    path = checkpoint.export_half(out, tensors, config, meta)
    out = Path(out)
    plot_one_time_pad(otp, out.with_name(out.name + "_otp.png"))
    return path
