"""Train the DICT word recogniser purely on synthetic data, as the paper did (Sec. 4.1–4.2).

Each round renders a fresh shard of word images with `synth.WordRenderer` (new fonts/colours/warps/photo
crops every round, so the model never sees the same image twice), then runs SGD over it. A checkpoint
(weights + optimizer + round) is saved after every round, so a killed run resumes where it stopped.

Incremental training: a many-way word classifier does not start learning from scratch easily, so the paper
trains its 90k-way DICT model on the first 5k words and adds more classes as training goes. We do the same
at our scale: the words in play grow geometrically from `start_words` to the whole dictionary over the
first `grow_rounds` rounds (in a fixed random order of the dictionary), then stay complete.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepgallery.core import checkpoint
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import progress, seed_everything

from . import synth
from .model import WordCNN, WordCNNConfig

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "jaderberg_dict200"


@dataclass
class TrainConfig:
    """How to train the recogniser (defaults: the shipped checkpoint's run)."""

    rounds: int = 11  # rounds of render-then-train; each renders a fresh synthetic shard
    samples_per_round: int = 1500  # word images rendered per round, spread evenly over the words in play
    epochs_per_round: int = 2  # passes over each shard (rendering costs about as much as a pass)
    start_words: int = 50  # incremental training: words in play in the first round ...
    grow_rounds: int = 4  # ... growing geometrically to the whole dictionary by this round
    words: int = 200  # the dictionary: the first N words of lexicon.txt (0 = all 500)
    batch_size: int = 32  # small batches: more steps for the same CPU time
    lr: float = 1.5e-3  # AdamW learning rate (paper: SGD with dropout; Adam converges faster on a CPU budget)
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1  # CPU threads for torch (the machine is shared)


def user_checkpoint() -> Path:
    """Where `deepgallery train textspot` writes by default (the shipped checkpoint stays untouched)."""
    from deepgallery.core import assets

    return assets.home() / "textspot" / "jaderberg_dict"


def load_recogniser(path: str | Path | None = None) -> tuple[WordCNN, tuple[str, ...]]:
    """The trained model (eval mode, float32) and its dictionary, from a safetensors checkpoint: `path`, else
    the user's own (`user_checkpoint()`) if trained, else the shipped one."""
    if path is None:
        path = user_checkpoint() if checkpoint.exists(user_checkpoint()) else DEFAULT_CHECKPOINT
    tensors, config, meta = checkpoint.load(path, how_to_fix="train one with `deepgallery train textspot`")
    model = WordCNN(WordCNNConfig.from_dict(config["model"]))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), tuple(config["words"])


def learning_rate(peak: float, step: int, total: int, warmup: int = 50) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay to 5% of `peak` at `total` steps."""
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * frac)))


def words_in_play(cfg: TrainConfig, n_words: int, rnd: int) -> np.ndarray:
    """Class ids trained in round `rnd` (0-based): a growing prefix of a fixed random order of the words."""
    order = np.random.default_rng(cfg.seed).permutation(n_words)
    start = min(max(2, cfg.start_words), n_words)
    if rnd + 1 >= cfg.grow_rounds:
        return order
    n = round(start * (n_words / start) ** (rnd / max(1, cfg.grow_rounds - 1)))
    return order[:n]


@torch.no_grad()
def accuracy(model: WordCNN, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    """Share of samples whose top-1 dictionary word is the right one."""
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(torch.from_numpy(x[i:i + batch].astype(np.float32))[:, None])
        correct += int((logits.argmax(1).numpy() == y[i:i + batch]).sum())
    return correct / max(1, len(x))


def train(cfg: TrainConfig, out: str | Path = DEFAULT_CHECKPOINT, model_cfg: WordCNNConfig | None = None,
          log=print) -> dict:
    """Train (or resume) the recogniser; returns {"val_accuracy", "rounds", "words"}."""
    torch.set_num_threads(max(1, cfg.threads))
    words = synth.lexicon()[: cfg.words or None]
    if len(words) < 2:
        raise UserError("the dictionary needs at least 2 words")
    model_cfg = model_cfg or WordCNNConfig()
    model_cfg.n_classes = len(words)
    seed_everything(cfg.seed)
    model = WordCNN(model_cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_round = 0
    if checkpoint.exists(out):
        tensors, config, meta = checkpoint.load(out)
        if list(config.get("words", [])) == list(words) and config.get("model") == model_cfg.to_dict():
            model.load_state_dict({k: v.float() for k, v in tensors.items()})
            checkpoint.restore_optimizer(opt, meta)
            start_round = int(meta.get("round", 0))
            log(f"resuming from {out} at round {start_round}")
    val_x, val_y = synth.make_word_dataset(words, 2, seed=10_000 + cfg.seed)  # held-out renders
    steps_per_round = -(-cfg.samples_per_round * cfg.epochs_per_round // cfg.batch_size)
    total_steps, step = cfg.rounds * steps_per_round, start_round * steps_per_round
    val_acc = accuracy(model, val_x, val_y) if start_round >= cfg.grow_rounds else 0.0
    for rnd in range(start_round, cfg.rounds):
        t0 = time.perf_counter()
        ids = words_in_play(cfg, len(words), rnd)
        per_word = max(1, -(-cfg.samples_per_round // len(ids)))
        x, y = synth.make_word_dataset([words[i] for i in ids], per_word, seed=cfg.seed * 1000 + rnd)
        y = ids[y]  # (N,) class ids in the whole dictionary; x (N, 32, 100)
        model.train()
        perm = np.concatenate([np.random.default_rng([rnd, e]).permutation(len(x))
                               for e in range(cfg.epochs_per_round)])
        losses = []
        for i in progress(range(0, len(perm), cfg.batch_size), desc=f"round {rnd + 1}/{cfg.rounds}"):
            idx = perm[i:i + cfg.batch_size]
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg.lr, step, total_steps)
            step += 1
            xb = torch.from_numpy(x[idx].astype(np.float32))[:, None]  # (B, 1, 32, 100)
            loss = F.cross_entropy(model(xb), torch.from_numpy(y[idx]))  # −log P(w | x), Eq. 5
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        seen = np.isin(val_y, ids)
        val_acc = accuracy(model, val_x[seen], val_y[seen])  # on the words in play (all, once grown)
        log(f"round {rnd + 1}/{cfg.rounds}: {len(ids)} words, loss {np.mean(losses):.3f}, "
            f"val word accuracy {val_acc:.3f} ({time.perf_counter() - t0:.0f} s)")
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        checkpoint.save(out, tensors, {"model": model_cfg.to_dict(), "words": list(words), "train": asdict(cfg)},
                        meta={"round": rnd + 1, "val_accuracy": val_acc, "loss": float(np.mean(losses)),
                              "data": "synthetic word images (synth.WordRenderer), no real data"},
                        optimizer=opt if rnd + 1 < cfg.rounds else None)
    return {"val_accuracy": val_acc, "rounds": cfg.rounds, "words": len(words)}
