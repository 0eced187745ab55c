"""Train the DICT word recogniser purely on synthetic data, as the paper did (Sec. 4.1–4.2).

Each round renders a fresh shard of word images with `synth.WordRenderer` (new fonts/colours/warps/photo
crops every round, so the model never sees the same image twice), then runs SGD over it. A checkpoint
(weights + optimizer + round) is saved after every round, so a killed run resumes where it stopped.

Incremental training: a many-way word classifier does not start learning from scratch easily, so the paper
trains its 90k-way DICT model on the first 5k words and adds more classes as training goes. We do the same
at our scale: the words in play grow geometrically from `start_words` to the whole dictionary over the
first `grow_rounds` rounds (in a fixed random order of the dictionary), then stay complete.

One process or several: under ``torchrun`` every process renders the same shard from the same seed, walks the
same shuffled batches and trains on its own slice of each (`core.distributed.shard`); DDP averages the
gradients. Batch normalisation normalises each process's slice with its own statistics, so N processes take
nearly, not exactly, the step one process takes with the whole batch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepgallery.core import checkpoint, distributed
from deepgallery.core.config import option
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import autocast, progress, seed_everything, torch_threads

from . import synth
from .model import WordCNN, WordCNNConfig, user_checkpoint


@dataclass
class TrainConfig:
    """How to train the recogniser (defaults: the shipped checkpoint's run)."""

    rounds: int = option(11, "render-then-train rounds; each renders a fresh synthetic shard", minimum=1)
    samples_per_round: int = option(1500, "word images rendered each round, spread evenly over the words in play",
                                    minimum=1)
    epochs_per_round: int = option(2, "passes over each shard (rendering costs about as much as a pass)",
                                   minimum=1)
    start_words: int = option(50, "incremental training: words in play in round 1", minimum=1)
    grow_rounds: int = option(4, "incremental training: the whole dictionary is in play from this round",
                              minimum=1)
    words: int = option(200, "dictionary size: the first N words of lexicon.txt (0 = all 500)", minimum=0)
    batch_size: int = option(32, "word images per step (the global batch: split over the processes under torchrun)",
                             minimum=1)  # small batches: more steps for the same CPU time
    lr: float = option(1.5e-3, "AdamW learning rate (paper: SGD with dropout; Adam converges faster on a CPU "
                       "budget)", minimum=0, allow_zero=False)
    weight_decay: float = field(default=1e-4)
    seed: int = option(0, "random seed (renders, batch order, initial weights)")
    threads: int = option(1, "CPU threads for torch (the machine is shared)", minimum=1)


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
    device = next(model.parameters()).device
    correct = 0
    for i in range(0, len(x), batch):
        logits = model(torch.from_numpy(x[i:i + batch].astype(np.float32))[:, None].to(device))  # (B, N)
        correct += int((logits.argmax(1).cpu().numpy() == y[i:i + batch]).sum())
    return correct / max(1, len(x))


def train(cfg: TrainConfig, out: str | Path | None = None, model_cfg: WordCNNConfig | None = None, log=print,
          ctx: distributed.Dist | None = None, precision: str = "auto") -> dict:
    """Train (or resume) the recogniser at `out` (default: `user_checkpoint()`); returns {"val_accuracy",
    "rounds", "words"}. `ctx` is `core.distributed.start(device)`; None: one CPU process."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch_size, ctx, "--batch-size")
    with torch_threads(max(1, cfg.threads)):
        return _train(cfg, Path(out or user_checkpoint()), model_cfg or WordCNNConfig(), log, ctx, precision)


def _train(cfg: TrainConfig, out: Path, model_cfg: WordCNNConfig, log, ctx: distributed.Dist,
           precision: str) -> dict:
    words = synth.lexicon()[: cfg.words or None]
    if len(words) < 2:
        raise UserError("the dictionary needs at least 2 words")
    model_cfg = replace(model_cfg, n_classes=len(words))
    seed_everything(cfg.seed)
    model = WordCNN(model_cfg).to(ctx.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    meta = checkpoint.resume(out, model, opt, same={"model": model_cfg, "words": list(words)},
                             how_to_fix="give another --out, or the --words it was trained with")
    start_round = int(meta.get("round", 0)) if meta else 0
    if meta and ctx.is_main:
        log(f"resuming from {out} at round {start_round}")
    net = distributed.wrap(model, ctx)  # DDP under torchrun (rank 0's weights on every process); `model` otherwise
    if ctx.rank:  # dropout masks: a stream of its own on every other process (rank 0 keeps the one-process stream)
        torch.manual_seed(cfg.seed * 1000 + ctx.rank)
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
        net.train()
        perm = np.concatenate([np.random.default_rng([rnd, e]).permutation(len(x))
                               for e in range(cfg.epochs_per_round)])
        losses = []
        for i in progress(range(0, len(perm), cfg.batch_size), desc=f"round {rnd + 1}/{cfg.rounds}",
                          enabled=ctx.is_main):
            idx = perm[i:i + cfg.batch_size]  # the global batch, the same on every process
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg.lr, step, total_steps)
            step += 1
            idx = idx[:len(idx) - len(idx) % ctx.world]  # a last partial batch: what splits evenly (torchrun only)
            if not len(idx):
                continue
            idx = distributed.shard(idx, ctx)  # this process's slice
            xb = torch.from_numpy(x[idx].astype(np.float32))[:, None].to(ctx.device)  # (B, 1, 32, 100)
            yb = torch.from_numpy(y[idx]).to(ctx.device)  # (B,)
            with autocast(ctx.device, precision):
                logits = net(xb)  # (B, N)
            loss = F.cross_entropy(logits.float(), yb)  # −log P(w | x), Eq. 5
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        round_loss = distributed.mean(float(np.mean(losses)), ctx)
        seen = np.isin(val_y, ids)
        val_acc = accuracy(model, val_x[seen], val_y[seen])  # on the words in play (all, once grown)
        if not ctx.is_main:
            continue
        log(f"round {rnd + 1}/{cfg.rounds}: {len(ids)} words, loss {round_loss:.3f}, "
            f"val word accuracy {val_acc:.3f} ({time.perf_counter() - t0:.0f} s)")
        config = {"model": model_cfg.to_dict(), "words": list(words), "train": asdict(cfg)}
        meta = {"round": rnd + 1, "val_accuracy": val_acc, "loss": round_loss,
                "data": "synthetic word images (synth.WordRenderer), no real data"}
        if rnd + 1 < cfg.rounds:  # resumable: fp16 weights (what the jaderberg backend reads) + the optimizer
            checkpoint.save(out, checkpoint.half(model.state_dict()), config, meta=meta, optimizer=opt)
        else:  # the last round: the shipped form, fp16 and no optimizer state
            checkpoint.export_half(out, model.state_dict(), config, meta=meta)
    return {"val_accuracy": val_acc, "rounds": cfg.rounds, "words": len(words)}
