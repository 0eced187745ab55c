"""The paper's evaluation (Section 3.1): freeze Alice and Bob, train fresh Eves from scratch, keep the best.

An Eve trained alongside Alice and Bob only shows that *that* Eve lost the game. To test the learned
cryptosystem itself the paper resets Eve several times and retrains her from scratch against the frozen
Alice, reporting the best result. A run counts as a success when Bob decrypts (error below
`success_bob_bits`) and even the best retrained Eve stays near random guessing (at least
`success_eve_bits` of N wrong; guessing gets N/2 = 8 of 16 wrong). The authors' code retrains 5 Eves for
up to 250,000 steps each; the thresholds 0.05 and 7.0 are this project's success rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from deepgallery.core.config import option

from .model import MixTransform, Trio
from .train import errors, retrain_fresh_eve


@dataclass
class EvalConfig:
    """Retraining of fresh Eves against a frozen Alice (the authors: 5 Eves of up to 250,000 steps each)."""

    eves: int = option(3, "fresh Eves trained from scratch, one after another", minimum=0, allow_zero=False)
    eve_steps: int = option(3000, "Adam steps per fresh Eve", minimum=0, allow_zero=False)
    batch_size: int = option(512, "examples per Eve step", minimum=0, allow_zero=False)
    lr: float = option(0.0008, "Eve's Adam learning rate (the paper's)", minimum=0, allow_zero=False)
    measure_every: int = option(250, "steps between measurements of each Eve (the best measurement counts)",
                                minimum=0, allow_zero=False)
    measure_examples: int = option(16384, "fresh examples per measurement (4 minibatches of 4096: less noise)",
                                   minimum=0, allow_zero=False)
    success_bob_bits: float = option(0.05, "success needs Bob below this many bits wrong ...",
                                     minimum=0, allow_zero=False)
    success_eve_bits: float = option(7.0, "... and the best retrained Eve at least this many of 16 wrong",
                                     minimum=0, allow_zero=False)
    seed: int = option(1234, "Eves' initialisation and data", minimum=0)


@dataclass
class EvalResult:
    bob_bits: float  # Bob's mean bits wrong (L1) on fresh examples
    eve_bits_each: list[float]  # each retrained Eve's best (lowest) bits wrong
    curves: list[list[float]] = field(default_factory=list)  # each Eve's bits wrong at every measurement
    best_eve_state: dict[str, torch.Tensor] | None = None  # weights of the best retrained Eve
    success: bool = False

    @property
    def best_eve_bits(self) -> float:
        return min(self.eve_bits_each)


def evaluate(trio: Trio, config: EvalConfig | None = None, device: torch.device | str = "cpu") -> EvalResult:
    """Retrain `config.eves` fresh Eves against frozen Alice and Bob and judge success."""
    config = config or EvalConfig()
    device = torch.device(device)
    torch.manual_seed(config.seed)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    trio.requires_grad_(False)  # Alice and Bob are frozen
    bob_bits, _ = errors(trio, trio.eve, config.measure_examples, generator)
    best_each, curves, best_state, best_overall = [], [], None, float("inf")
    for index in range(config.eves):
        curve, state = retrain_fresh_eve(trio, config.eve_steps, config.batch_size, config.lr,
                                         config.measure_every, config.measure_examples, generator,
                                         desc=f"fresh Eve {index + 1}/{config.eves}")
        curves.append(curve)
        best_each.append(min(curve))
        if min(curve) < best_overall:
            best_overall, best_state = min(curve), state
    trio.requires_grad_(True)
    return EvalResult(round(bob_bits, 4), best_each, curves, best_state, judge(bob_bits, min(best_each), config))


def judge(bob_bits: float, best_eve_bits: float, config: EvalConfig | None = None) -> bool:
    """The success rule alone (used by tests and the bench)."""
    config = config or EvalConfig()
    return bob_bits < config.success_bob_bits and best_eve_bits >= config.success_eve_bits


def load_eve(state: dict[str, torch.Tensor], n_bits: int) -> MixTransform:
    eve = MixTransform(n_bits, n_bits)
    eve.load_state_dict(state)
    return eve
