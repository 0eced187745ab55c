"""Train the DICT word recogniser purely on synthetic data, as the paper did (Sec. 4.1–4.2).

Each round renders a fresh shard of word images with `synth.WordRenderer` (new fonts/colours/warps/photo
crops every round, so the model never sees the same image twice), then runs SGD over it. A checkpoint
(weights + optimizer + round) is saved after every round, so a killed run resumes where it stopped.
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

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "jaderberg_dict500"


@dataclass
class TrainConfig:
    """How to train the recogniser (defaults: the shipped checkpoint's run)."""

    rounds: int = 8  # rounds of render-then-train; each renders a fresh synthetic shard
    per_word: int = 5  # samples of each dictionary word rendered per round
    epochs_per_round: int = 3  # passes over each shard (rendering costs about as much as a pass)
    words: int = 0  # use only the first N dictionary words (0 = all of lexicon.txt)
    batch_size: int = 32  # small batches: more steps for the same CPU time
    lr: float = 2e-3  # AdamW learning rate (paper: SGD with dropout; Adam converges faster on a CPU budget)
    weight_decay: float = 1e-4
    seed: int = 0
    threads: int = 1  # CPU threads for torch (the machine is shared)


def load_recogniser(path: str | Path = DEFAULT_CHECKPOINT) -> tuple[WordCNN, tuple[str, ...]]:
    """The trained model (eval mode, float32) and its dictionary, from a safetensors checkpoint."""
    tensors, config, meta = checkpoint.load(path, how_to_fix="train one with `deepgallery train textspot`")
    model = WordCNN(WordCNNConfig.from_dict(config["model"]))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), tuple(config["words"])


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
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.rounds, pct_start=0.15)
    for _ in range(start_round):
        sched.step()
    val_acc = accuracy(model, val_x, val_y) if start_round else 0.0
    for rnd in range(start_round, cfg.rounds):
        t0 = time.perf_counter()
        x, y = synth.make_word_dataset(words, cfg.per_word, seed=cfg.seed * 1000 + rnd)  # (N, 32, 100)
        model.train()
        perm = np.concatenate([np.random.default_rng([rnd, e]).permutation(len(x))
                               for e in range(cfg.epochs_per_round)])
        losses = []
        for i in progress(range(0, len(perm), cfg.batch_size), desc=f"round {rnd + 1}/{cfg.rounds}"):
            idx = perm[i:i + cfg.batch_size]
            xb = torch.from_numpy(x[idx].astype(np.float32))[:, None]  # (B, 1, 32, 100)
            loss = F.cross_entropy(model(xb), torch.from_numpy(y[idx]))  # −log P(w | x), Eq. 5
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        val_acc = accuracy(model, val_x, val_y)
        log(f"round {rnd + 1}/{cfg.rounds}: loss {np.mean(losses):.3f}  val word accuracy {val_acc:.3f}  "
            f"({time.perf_counter() - t0:.0f} s)")
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
        checkpoint.save(out, tensors, {"model": model_cfg.to_dict(), "words": list(words), "train": asdict(cfg)},
                        meta={"round": rnd + 1, "val_accuracy": val_acc, "loss": float(np.mean(losses)),
                              "data": "synthetic word images (synth.WordRenderer), no real data"},
                        optimizer=opt if rnd + 1 < cfg.rounds else None)
    return {"val_accuracy": val_acc, "rounds": cfg.rounds, "words": len(words)}
