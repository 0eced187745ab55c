"""Attackers of a frozen Alice: the paper's Eve and a suite beyond the paper (issue 18).

The paper (Section 3.1) judges a learned cipher by resetting Eve and retraining her from scratch against the
frozen Alice, keeping the best result; the authors' code resets her 5 times and trains each for up to
25 x 10,000 Adam steps at batch 4096, evaluating after every 10,000 (`Protocol`). An Eve of the paper's own
architecture is one attacker among many, so the suite adds stronger and different ones:

* `paper`  -- the paper's "mix & transform" Eve (`model.MixTransform`), ciphertext only;
* `mlp`    -- plain ReLU MLPs, 2 x 512 and 3 x 1024 units (the best of the two counts), ciphertext only;
* `linear` -- closed-form least squares from [ciphertext, 1] to plaintext: no training, no luck;
* `cpa`    -- a chosen-plaintext Eve: besides the target ciphertext C = Alice(P, K) she sees `known_pairs`
  (plaintext, ciphertext) pairs made by Alice under the *same* key K (an MLP, 3 x 1024);
* `ind_cpa` -- the indistinguishability game of Coutinho et al. 2018 (and of modern cryptography, IND-CPA):
  Eve knows two plaintexts P0 and P1, Alice encrypts one of them, chosen by a coin, under a *fresh* key, and
  Eve sees [P0, P1, C] and must tell which one it was (an MLP, 3 x 1024, one output in (-1, 1)).

Every attacker is scored as in the paper: bits wrong of N, the L1 distance sum |guess - P| / 2 with the guess
clamped to [-1, 1] (random guessing gets N/2 = 8 of 16), on fresh held-out examples.

`ind_cpa` is scored on the same scale: 16 x her mean L1 error on the coin (|guess - b| / 2, b in {-1, 1}), so a
coin flip is 8 and a perfect distinguisher 0. She is at least as strong as any ciphertext-only Eve (one that
reads P from C also tells P0 from P1) and she is the adversary under which the one-time pad is provably secure:
with a fresh uniform key, C is independent of the plaintext.

The same-key chosen-plaintext attacker (`cpa`) is different in kind. Shannon (1949): a cipher whose key is as
long as one block cannot keep a second block secret under the same key, so *no* such cipher -- the one-time pad
included, which she reads exactly as C xor C' xor P' -- can hold her near 8 bits. The system's own threat model
is one fresh key per block (`bits.py`); her row measures what reusing a key costs, not whether the cipher holds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from deepgallery.core.config import option
from deepgallery.core.runtime import progress

from .model import MLP, MixTransform, Trio
from .train import bits_wrong, random_bits

ATTACKERS = ("paper", "mlp", "linear", "cpa", "ind_cpa")
MLP_SIZES: tuple[tuple[int, int], ...] = ((2, 512), (3, 1024))  # (hidden layers, units): the MLP Eves


MLPEve = MLP  # a plain ReLU MLP Eve: (B, in_bits) -> depth x width ReLU -> (B, N) in (-1, 1)


@torch.no_grad()
def eavesdropped(trio: Trio, n: int, generator: torch.Generator, known_pairs: int = 0):
    """What an attacker sees and must guess: (inputs (n, (2 * known_pairs + 1) * N), plaintext (n, N)).

    inputs = [P'_1, C'_1, ..., P'_k, C'_k, C]: k chosen-plaintext pairs under the same key K, then the target
    ciphertext C = Alice(P, K). With k = 0 it is the ciphertext alone (the paper's Eve)."""
    device, n_bits = trio.device, trio.config.n_bits
    key, plain = random_bits(n, n_bits, generator, device), random_bits(n, n_bits, generator, device)  # (n, N)
    seen = []
    for _ in range(known_pairs):
        chosen = random_bits(n, n_bits, generator, device)  # (n, N)
        seen += [chosen, trio.encrypt(chosen, key)]
    seen.append(trio.encrypt(plain, key))
    return torch.cat(seen, dim=1), plain


@torch.no_grad()
def challenged(trio: Trio, n: int, generator: torch.Generator):
    """The indistinguishability game: (inputs [P0, P1, C] (n, 3N), coin b (n, 1) in {-1, 1}).

    C = Alice(P_b, K) with a fresh random key K per example; the other plaintext is an independent random one."""
    device, n_bits = trio.device, trio.config.n_bits
    sent, decoy, key = (random_bits(n, n_bits, generator, device) for _ in range(3))  # (n, N) each
    coin = random_bits(n, 1, generator, device)  # (n, 1): +1 -> P1 was sent, -1 -> P0
    first, second = torch.where(coin > 0, decoy, sent), torch.where(coin > 0, sent, decoy)
    return torch.cat([first, second, trio.encrypt(sent, key)], dim=1), coin


def coin_bits_wrong(guess: torch.Tensor, coin: torch.Tensor, n_bits: int) -> torch.Tensor:
    """The game's error on the scale of bits wrong of N, (B, 1) -> (B,): N x |guess - coin| / 2 (N/2 = a coin flip)."""
    return n_bits * (guess.clamp(-1, 1) - coin).abs().squeeze(1) / 2


def score(guess: torch.Tensor, plain: torch.Tensor) -> float:
    """Mean bits wrong (L1, the paper's measure) of a guess clamped to [-1, 1]."""
    return bits_wrong(guess.clamp(-1, 1), plain).mean().item()


@dataclass
class Protocol:
    """How each trained attacker is run: the authors' code resets Eve 5 times and trains each for up to
    25 x 10,000 steps at batch 4096, evaluating every 10,000 and keeping the best."""

    eves: int = option(5, "fresh Eves per attacker, each from scratch (the authors' code: 5 resets)",
                       minimum=0, allow_zero=False)
    max_steps: int = option(250_000, "most Adam steps per Eve (the authors' code: 25 x 10,000)",
                            minimum=0, allow_zero=False)
    batch_size: int = option(4096, "examples per Eve step (the paper: 4096)", minimum=0, allow_zero=False)
    eval_every: int = option(10_000, "steps between evaluations; the best one counts (the authors: 10,000)",
                             minimum=0, allow_zero=False)
    eval_examples: int = option(100_000, "fresh held-out examples per evaluation", minimum=0, allow_zero=False)
    lr: float = option(0.0008, "Eve's Adam learning rate (the paper's)", minimum=0, allow_zero=False)
    patience: int = option(0, "stop an Eve after this many evaluations without a gain of 0.01 bits (0: never, "
                              "as the authors)", minimum=0)
    known_pairs: int = option(1, "the chosen-plaintext Eve's (P', C') pairs under the target's key", minimum=0,
                              allow_zero=False)
    linear_examples: int = option(200_000, "examples the least-squares Eve is fitted on", minimum=0,
                                  allow_zero=False)
    max_seconds: float = option(0.0, "stop each Eve after this many seconds of training, evaluating once more "
                                     "(0: no limit, as the authors; a time box for a shared machine)", minimum=0)
    seed: int = option(4321, "the attackers' initialisation and data", minimum=0)


# A shorter protocol, clearly not the authors': `--quick` and the tests.
QUICK = Protocol(eves=1, max_steps=1000, batch_size=256, eval_every=250, eval_examples=20_000,
                 linear_examples=50_000)
QUICK_LABEL = "quick, not the authors': 1 Eve per attacker, 1,000 steps of 256 (a much weaker attack)"
AUTHORS_LABEL = "the authors': 5 Eves per attacker, up to 250,000 steps of 4096, evaluated every 10,000"


@dataclass
class AttackResult:
    attacker: str
    bits_wrong: float  # the best (lowest) evaluation of any of its Eves
    each: list[float] = field(default_factory=list)  # each Eve's best evaluation
    curves: list[list[float]] = field(default_factory=list)  # each Eve's evaluations
    steps: list[int] = field(default_factory=list)  # steps each Eve trained


IND_CPA = -1  # `known_pairs` value that selects the indistinguishability game instead of eavesdropping


def examples(trio: Trio, n: int, generator: torch.Generator, known_pairs: int = 0):
    """(inputs, target) of one attacker's task: eavesdropping with `known_pairs` same-key pairs, or the
    indistinguishability game (`known_pairs=IND_CPA`)."""
    return challenged(trio, n, generator) if known_pairs == IND_CPA else eavesdropped(trio, n, generator, known_pairs)


def attacker_loss(guess: torch.Tensor, target: torch.Tensor, n_bits: int) -> torch.Tensor:
    """Per-example bits wrong of N (B,): of the plaintext (L1), or of the game's coin scaled to N."""
    return coin_bits_wrong(guess, target, n_bits) if target.shape[1] == 1 else bits_wrong(guess, target)


def train_attacker(trio: Trio, make_eve: Callable[[], nn.Module], protocol: Protocol, generator: torch.Generator,
                   known_pairs: int = 0, desc: str = "Eve") -> tuple[float, list[float], int]:
    """Train one fresh Eve against frozen Alice; (best bits wrong, evaluations, steps trained).

    Stops early after `protocol.max_seconds` of training (0: no limit), evaluating once more."""
    eve = make_eve()
    opt = torch.optim.Adam(eve.parameters(), lr=protocol.lr)
    curve: list[float] = []
    best, stale, step = math.inf, 0, 0
    n_bits = trio.config.n_bits
    start = time.perf_counter()
    for step in progress(range(1, protocol.max_steps + 1), desc=desc, leave=False):
        inputs, target = examples(trio, protocol.batch_size, generator, known_pairs)  # (B, *), (B, N or 1)
        loss = attacker_loss(eve(inputs), target, n_bits).mean()  # L_E of Section 2.3
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out_of_time = bool(protocol.max_seconds) and time.perf_counter() - start > protocol.max_seconds
        if step % protocol.eval_every == 0 or step == protocol.max_steps or out_of_time:
            curve.append(round(evaluate_eve(trio, eve, protocol, generator, known_pairs), 4))
            stale = 0 if curve[-1] < best - 0.01 else stale + 1
            best = min(best, curve[-1])
            if (protocol.patience and stale >= protocol.patience) or out_of_time:
                break
    return best, curve, step


@torch.no_grad()
def evaluate_eve(trio: Trio, eve: nn.Module, protocol: Protocol, generator: torch.Generator,
                 known_pairs: int = 0) -> float:
    """Mean bits wrong of `eve` on `protocol.eval_examples` fresh examples, in chunks of 16,384."""
    total, done = 0.0, 0
    while done < protocol.eval_examples:
        n = min(16384, protocol.eval_examples - done)
        inputs, target = examples(trio, n, generator, known_pairs)
        total += attacker_loss(eve(inputs).clamp(-1, 1), target, trio.config.n_bits).mean().item() * n
        done += n
    return total / protocol.eval_examples


@torch.no_grad()
def linear_eve(trio: Trio, protocol: Protocol, generator: torch.Generator) -> float:
    """The least-squares Eve: W = argmin ||[C, 1] W - P||^2 on `linear_examples` pairs, scored on fresh ones.

    If the ciphertext is an affine function of the plaintext plus a key-dependent offset, this reads part of
    the message with no training at all."""
    inputs, plain = eavesdropped(trio, protocol.linear_examples, generator)  # (n, N), (n, N)
    design = torch.cat([inputs, torch.ones_like(inputs[:, :1])], dim=1).double()  # (n, N + 1)
    weights = torch.linalg.lstsq(design, plain.double()).solution  # (N + 1, N)
    test, truth = eavesdropped(trio, protocol.eval_examples, generator)
    guess = torch.cat([test, torch.ones_like(test[:, :1])], dim=1).double() @ weights  # (n, N)
    return round(score(guess.float(), truth), 4)


def attack(trio: Trio, attacker: str, protocol: Protocol | None = None,
           device: torch.device | str = "cpu") -> AttackResult:
    """Run one attacker of the suite against frozen Alice (`protocol.eves` fresh Eves; the best counts)."""
    protocol = protocol or Protocol()
    device = torch.device(device)
    trio = trio.to(device).requires_grad_(False)
    n = trio.config.n_bits
    generator = torch.Generator(device=device).manual_seed(protocol.seed + ATTACKERS.index(attacker))
    torch.manual_seed(protocol.seed + ATTACKERS.index(attacker))
    if attacker == "linear":
        bits = linear_eve(trio, protocol, generator)
        return AttackResult(attacker, bits, [bits])
    makers: list[tuple[str, Callable[[], nn.Module], int]]
    if attacker == "paper":
        makers = [("paper", lambda: MixTransform(n, n).to(device), 0)]
    elif attacker == "mlp":
        makers = [(f"mlp {d}x{w}", lambda d=d, w=w: MLPEve(n, n, d, w).to(device), 0) for d, w in MLP_SIZES]
    elif attacker == "cpa":
        k = protocol.known_pairs
        makers = [("cpa 3x1024", lambda: MLPEve((2 * k + 1) * n, n, 3, 1024).to(device), k)]
    elif attacker == "ind_cpa":
        makers = [("ind-cpa 3x1024", lambda: MLPEve(3 * n, 1, 3, 1024).to(device), IND_CPA)]
    else:
        raise ValueError(f"unknown attacker {attacker!r}; one of {ATTACKERS}")
    result = AttackResult(attacker, math.inf)
    for name, make, pairs in makers:
        for index in range(protocol.eves):
            best, curve, steps = train_attacker(trio, make, protocol, generator, pairs,
                                                desc=f"{name} Eve {index + 1}/{protocol.eves}")
            result.each.append(best)
            result.curves.append(curve)
            result.steps.append(steps)
    result.bits_wrong = min(result.each)
    return result


def suite(trio: Trio, protocol: Protocol | None = None, device: torch.device | str = "cpu",
          attackers: tuple[str, ...] = ATTACKERS, log: Callable[[str], None] | None = None) -> dict[str, AttackResult]:
    """Every attacker against frozen Alice: {name: AttackResult}."""
    results = {}
    for name in attackers:
        results[name] = attack(trio, name, protocol, device)
        if log:
            log(f"  {name:6s} Eve: {results[name].bits_wrong:.3f} bits wrong (each: "
                f"{', '.join(f'{b:.3f}' for b in results[name].each)})")
    return results
