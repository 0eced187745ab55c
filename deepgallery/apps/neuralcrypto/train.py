"""Adversarial training of Alice, Bob and Eve (Abadi & Andersen 2016, Sections 2.2-2.5 and 3.1).

Losses, with bits in {-1, 1} and d the L1 distance counted in bits (|x - y| / 2 per position):

* Eve (Section 2.3):       L_E = E_{P,K}[ d(P, Eve(Alice(P, K))) ]                   -- bits Eve gets wrong
* Alice & Bob (eq. of 2.3): L_AB = E[ d(P, Bob(Alice(P, K), K)) ] / N + E[ (N/2 - d(P, P_Eve))^2 ] / (N/2)^2

Bob's term is divided by N and Eve's deviation from N/2 (random guessing) is squared per example, as in
the authors' released code (tensorflow/models, research/adversarial_crypto): it rewards making Eve's output
useless, not making Eve wrong (an always-wrong Eve would just flip her bits). Training alternates one
Alice/Bob minibatch step with `eve_steps_per_step` Eve steps (the paper: Eve trained twice per step,
"to give her a slight computational edge"), Adam with learning rate 0.0008, minibatches of 4096 fresh
random (plaintext, key) pairs, and stops once Bob and Eve pass the authors' thresholds.

Stopping is checked against a *fresh* Eve too (`probe_eve_steps`): the co-trained Eve can lose the game
while the cipher is still weak, which is exactly what the paper's evaluation (retraining Eves from scratch,
Section 3.1) exposes. So when both thresholds hold, a new Eve is trained from scratch against the frozen
Alice; if she reads more than the co-trained Eve, she becomes the adversary and training goes on. Only a
cipher that also defeats the probe stops training. The final evaluation uses other Eves and other data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from deepgallery.core import checkpoint
from deepgallery.core.config import option
from deepgallery.core.runtime import progress, seed_everything
from deepgallery.core.training import Steps

from .model import MixTransform, NetConfig, Trio, load_weights


@dataclass
class TrainConfig:
    """Adversarial training; defaults follow the paper except `steps` (a CPU budget, see README)."""

    n_bits: int = option(16, "N: plaintext, key and ciphertext length (Section 3.1)", minimum=0, allow_zero=False)
    batch_size: int = option(512, "fresh random (P, K) pairs per step (Section 3.1: 4096; 512 fits a CPU budget)",
                             minimum=0, allow_zero=False)
    lr: float = option(0.0008, "Adam learning rate (Section 3.1)", minimum=0, allow_zero=False)
    eve_steps_per_step: int = option(2, "Eve minibatches per Alice/Bob minibatch (Section 2.5: twice)", minimum=0)
    steps: int = option(15000, "most Alice/Bob steps; training stops earlier once both thresholds below are met",
                        minimum=0, allow_zero=False)
    stop_bob_bits: float = option(0.03, "stop when Bob's error is below this ... (authors' code: 0.02)",
                                  minimum=0, allow_zero=False)
    stop_eve_bits: float = option(7.3, "... and Eve's above this (authors' code: 7.7 of 16 bits)",
                                  minimum=0, allow_zero=False)
    eval_every: int = option(200, "steps between evaluations (authors' code: 200)", minimum=0, allow_zero=False)
    eval_examples: int = option(4096, "fresh random examples per evaluation (authors' code: one batch of 4096)",
                                minimum=0, allow_zero=False)
    probe_eve_steps: int = option(3000, "when both thresholds hold, retrain a fresh Eve this many steps; if she "
                                        "beats the threshold she replaces the co-trained Eve and training goes on "
                                        "(0: stop on the co-trained Eve alone, as the authors' code)",
                                  minimum=0, allow_zero=False)
    seed: int = option(0, "initialisation and data", minimum=0)


@dataclass
class History:
    """Bob's and Eve's error (bits wrong of N, L1) at each evaluation: the paper's Figure 2."""

    steps: list[int] = field(default_factory=list)
    bob: list[float] = field(default_factory=list)
    eve: list[float] = field(default_factory=list)
    probes: list[list[float]] = field(default_factory=list)  # [step, best fresh-Eve bits wrong] of each probe


def random_bits(n: int, n_bits: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """(n, n_bits) uniformly random bits in {-1, 1}."""
    return torch.randint(0, 2, (n, n_bits), generator=generator, device=device).float() * 2 - 1


def minibatch(size: int, n_bits: int, generator: torch.Generator, device: torch.device):
    """A fresh (plaintext, key) pair of (size, n_bits) random bits each."""
    return random_bits(size, n_bits, generator, device), random_bits(size, n_bits, generator, device)


def bits_wrong(guess: torch.Tensor, plain: torch.Tensor) -> torch.Tensor:
    """L1 distance in bits per example, (B, N) -> (B,): sum |guess - plain| / 2 (0 = all right, N = all wrong)."""
    return (guess - plain).abs().sum(dim=1) / 2


def eve_loss(trio: Trio, eve: MixTransform, plain: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """L_E: Eve's mean bits wrong; Alice is fixed here (her ciphertext carries no gradient)."""
    with torch.no_grad():
        cipher = trio.encrypt(plain, key)
    return bits_wrong(eve(cipher), plain).mean()


def alice_bob_loss(trio: Trio, plain: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """L_AB: Bob's error / N + Eve's squared distance from N/2 bits wrong, scaled by (N/2)^2."""
    n = plain.shape[1]
    cipher = trio.encrypt(plain, key)
    bob = bits_wrong(trio.decrypt(cipher, key), plain)  # (B,)
    eve = bits_wrong(trio.eavesdrop(cipher), plain)  # (B,)
    return bob.mean() / n + ((n / 2 - eve) ** 2).mean() / (n / 2) ** 2


@torch.no_grad()
def errors(trio: Trio, eve: MixTransform, n: int, generator: torch.Generator) -> tuple[float, float]:
    """(Bob's, Eve's) mean bits wrong on `n` fresh random examples."""
    device = trio.device
    plain, key = minibatch(n, trio.config.n_bits, generator, device)
    cipher = trio.encrypt(plain, key)
    return (bits_wrong(trio.decrypt(cipher, key), plain).mean().item(),
            bits_wrong(eve(cipher), plain).mean().item())


def retrain_fresh_eve(trio: Trio, steps: int, batch_size: int, lr: float, measure_every: int,
                      measure_examples: int, generator: torch.Generator,
                      desc: str = "fresh Eve") -> tuple[list[float], dict[str, torch.Tensor]]:
    """Train a new Eve from scratch against the frozen Alice (Section 3.1's evaluation).

    Returns her bits wrong at every measurement and the weights of her best (lowest) measurement.
    """
    device = trio.device
    n = trio.config.n_bits
    eve = trio.fresh_eve()
    opt = torch.optim.Adam(eve.parameters(), lr=lr)
    curve: list[float] = []
    best_bits, best_state = float("inf"), {}
    for step in progress(range(1, steps + 1), desc=desc, leave=False):
        plain, key = minibatch(batch_size, n, generator, device)
        loss = eve_loss(trio, eve, plain, key)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % measure_every == 0 or step == steps:
            _, eve_bits = errors(trio, eve, measure_examples, generator)
            curve.append(round(eve_bits, 4))
            if eve_bits < best_bits:
                best_bits = eve_bits
                best_state = {k: v.detach().clone() for k, v in eve.state_dict().items()}
    return curve, best_state


class OptimizerPair:
    """Alice/Bob's and Eve's Adam optimizers seen as one, so `core.checkpoint` stores both for resuming."""

    def __init__(self, alice_bob: torch.optim.Optimizer, eve: torch.optim.Optimizer):
        self.alice_bob, self.eve = alice_bob, eve

    def _count(self) -> int:
        return sum(len(g["params"]) for g in self.alice_bob.param_groups)

    def state_dict(self) -> dict[str, Any]:
        first, second, offset = self.alice_bob.state_dict(), self.eve.state_dict(), self._count()
        state = dict(first["state"])
        state.update({i + offset: s for i, s in second["state"].items()})
        groups = first["param_groups"] + [{**g, "params": [i + offset for i in g["params"]]}
                                          for g in second["param_groups"]]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        offset, n_first = self._count(), len(self.alice_bob.param_groups)
        groups = sd["param_groups"]
        self.alice_bob.load_state_dict({"state": {i: s for i, s in sd["state"].items() if i < offset},
                                        "param_groups": groups[:n_first]})
        self.eve.load_state_dict({"state": {i - offset: s for i, s in sd["state"].items() if i >= offset},
                                  "param_groups": [{**g, "params": [i - offset for i in g["params"]]}
                                                   for g in groups[n_first:]]})


@dataclass
class TrainResult:
    trio: Trio
    history: History
    step: int  # Alice/Bob steps done in total
    converged_step: int | None  # first evaluation step where both stopping thresholds held
    seconds: float  # training time of this call plus earlier (resumed) calls
    seconds_to_converge: float | None
    optimizers: OptimizerPair | None = None  # both Adam states, for saving a resumable checkpoint

    def meta(self) -> dict[str, Any]:
        """What a checkpoint records about the training (read back by `load_training_state`)."""
        return {"step": self.step, "history": asdict(self.history), "converged_step": self.converged_step,
                "seconds": round(self.seconds, 2), "seconds_to_converge": self.seconds_to_converge}


def train(config: TrainConfig, checkpoint_path: Path | None = None, resume: bool = False,
          device: torch.device | str = "cpu", log: Callable[[str], None] | None = None) -> TrainResult:
    """Train Alice, Bob and Eve; saves (and resumes from) `checkpoint_path` at every evaluation if given."""
    device = torch.device(device)
    seed_everything(config.seed)
    trio = Trio(NetConfig(config.n_bits)).to(device)
    opt_ab = torch.optim.Adam([*trio.alice.parameters(), *trio.bob.parameters()], lr=config.lr)
    opt_eve = torch.optim.Adam(trio.eve.parameters(), lr=config.lr)
    optimizers = OptimizerPair(opt_ab, opt_eve)
    generator = torch.Generator(device=device).manual_seed(config.seed)
    history, converged, converge_seconds, meta = History(), None, None, None
    if resume and checkpoint_path is not None and checkpoint.exists(checkpoint_path):
        state = load_training_state(checkpoint_path, trio, optimizers)
        history, converged, converge_seconds = state["history"], state["converged_step"], state["sttc"]
        meta = {"step": state["step"], "seconds": state["seconds"]}
        generator.manual_seed(config.seed + 7919 * state["step"])  # a fresh, reproducible data stream after resuming

    def result() -> TrainResult:
        return TrainResult(trio, history, steps.step, converged, steps.seconds, converge_seconds, optimizers)

    def save(_: Steps) -> None:
        checkpoint.save(checkpoint_path, trio.state_dict(), asdict(config), result().meta(), optimizer=optimizers)

    def probe(at_step: int) -> float | None:
        """Retrain a fresh Eve against frozen Alice; a stronger one replaces the co-trained Eve."""
        nonlocal opt_eve
        if config.probe_eve_steps <= 0:
            return None
        probe_gen = torch.Generator(device=device).manual_seed(config.seed * 100_003 + at_step)
        curve, state = retrain_fresh_eve(trio, config.probe_eve_steps, config.batch_size, config.lr,
                                         max(1, config.probe_eve_steps // 4), config.eval_examples, probe_gen,
                                         desc="probe: fresh Eve")
        history.probes.append([at_step, min(curve)])
        if min(curve) <= config.stop_eve_bits:
            trio.eve.load_state_dict(state)
            opt_eve = torch.optim.Adam(trio.eve.parameters(), lr=config.lr)  # her moments belonged to the old Eve
            optimizers.eve = opt_eve
        return min(curve)

    n = config.n_bits
    # a checkpoint at every evaluation (the loop ends at the last step or at convergence, an evaluation step too)
    with Steps(config.steps, save=save if checkpoint_path is not None else None, meta=meta,
               save_every=config.eval_every, desc="Alice/Bob steps", log=log,
               resumed=f"resumed from {checkpoint_path} at step {{step}}") as steps:
        if converged is not None:  # resumed from a run that had already stopped
            steps.stop()
        for step in steps:
            plain, key = minibatch(config.batch_size, n, generator, device)
            loss = alice_bob_loss(trio, plain, key)
            opt_ab.zero_grad(set_to_none=True)
            loss.backward()
            opt_ab.step()
            for _ in range(config.eve_steps_per_step):
                plain, key = minibatch(config.batch_size, n, generator, device)
                loss_eve = eve_loss(trio, trio.eve, plain, key)
                opt_eve.zero_grad(set_to_none=True)
                loss_eve.backward()
                opt_eve.step()
            taken = step + 1
            postfix = None
            if taken % config.eval_every == 0 or taken == config.steps:
                bob, eve = errors(trio, trio.eve, config.eval_examples, generator)
                history.steps.append(taken)
                history.bob.append(round(bob, 4))
                history.eve.append(round(eve, 4))
                postfix = {"bob": f"{bob:.3f}", "eve": f"{eve:.2f}"}
                if bob < config.stop_bob_bits and eve > config.stop_eve_bits:
                    probe_bits = probe(taken)
                    if probe_bits is None or probe_bits > config.stop_eve_bits:
                        converged, converge_seconds = taken, round(steps.seconds, 2)
                        steps.stop()
            steps.done(postfix=postfix)  # saves at an evaluation step, the last one included
    return result()


def load_training_state(path: Path, trio: Trio, optimizers: OptimizerPair | None = None) -> dict[str, Any]:
    """Load weights (and optimizer states) saved by `train` into `trio`; returns the training metadata."""
    tensors, _, meta = checkpoint.load(path, how_to_fix="Train again with `deepgallery train neuralcrypto`.")
    load_weights(trio, tensors, path)
    if optimizers is not None:
        checkpoint.restore_optimizer(optimizers, meta)
    h = meta.get("history") or {}
    return {"history": History(h.get("steps", []), h.get("bob", []), h.get("eve", []), h.get("probes", [])),
            "step": int(meta.get("step", 0)), "converged_step": meta.get("converged_step"),
            "seconds": float(meta.get("seconds", 0.0)), "sttc": meta.get("seconds_to_converge"), "meta": meta}
