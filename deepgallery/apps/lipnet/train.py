"""Training LipNet with the CTC loss: a plain PyTorch loop (resumable, one or several processes under torchrun).

    deepgallery train lipnet --out runs/lipnet --export my-lipnet                 # rendered talking mouths (offline)
    deepgallery train lipnet --data grid ~/GRID --split unseen --out runs/grid    # the GRID corpus, its own layout
    torchrun --nproc_per_node 4 -m deepgallery train lipnet --device cuda --data grid ~/GRID --out runs/grid4

As in the paper (§4.1, §4.2): Adam, mouth crops normalised per channel (here by default by each clip's own
statistics, not the training set's), the CTC loss per sentence, and its augmentations: every clip mirrored with
probability ½, and each frame deleted or duplicated with probability 0.05 (then trimmed or padded back to the clip's
length). Augmentation is drawn from (seed, step, clip index) and batches come from a DistributedSampler, so N
processes with B/N clips each take the step one process takes with B.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.nn import functional as F

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .model import LipNet, NetConfig, as_input, ctc_loss, parameter_count
from .text import encode


@dataclass
class TrainConfig:
    """Training; the defaults trained the shipped checkpoint (a CPU budget, far below the paper's)."""

    steps: int = option(4000, "optimiser steps (the paper: until convergence on a GPU, days)", minimum=1)
    batch: int = option(4, "clips per step, the global batch split over processes (the paper: 50)", minimum=1)
    lr: float = option(2e-3, "Adam learning rate (the paper: 1e-4 with batch 50)", minimum=0, allow_zero=False)
    width: float = option(0.25, "network width: channels 32/64/96 and GRU 256 times this (the paper: 1)",
                          minimum=0.05)
    temporal: bool = option(True, "spatiotemporal convolutions (LipNet); off: per-frame 2-D ones (Baseline-2D)")
    dropout: float = option(0.1, "spatial dropout after each convolution (the paper: 0.5)", minimum=0, maximum=0.9)
    clips: int = option(1600, "rendered training clips (the offline data; ignored with --data grid)", minimum=1)
    split: Literal["unseen", "overlapped"] = option(
        "unseen", "GRID split to train on: unseen (speakers 1, 2, 20, 22 held out) or overlapped")
    mirror: bool = option(True, "the paper's horizontal-flip augmentation")
    frame_jitter: float = option(0.05, "probability of deleting or duplicating each frame (the paper: 0.05)",
                                 minimum=0, maximum=0.5)
    seed: int = option(0, "initial weights, batch order, augmentation", minimum=0)
    word_loss: float = option(0.5, "weight of the per-frame word-naming loss on rendered clips (their word "
                              "timings; not in the paper, 0: CTC alone)", minimum=0)
    clip_norm: bool = option(True, "standardise each clip by its own colour statistics (off: the training set's, "
                             "as the paper)")
    save_every: int = field(default=100)  # steps between resumable checkpoints


def net_config(cfg: TrainConfig, words: bool = True) -> NetConfig:
    from .render import ALL_WORDS

    return NetConfig(width=cfg.width, temporal=cfg.temporal, dropout=cfg.dropout, clip_norm=cfg.clip_norm,
                     words=len(ALL_WORDS) if words and cfg.word_loss > 0 else 0)


class ClipSet(torch.utils.data.Dataset):
    """Clips (N, T, 50, 100, 3) uint8 with their sentences (and, for rendered clips, (N, T) word labels per
    frame); items are indices (clips are taken by the loop)."""

    def __init__(self, clips, sentences: list[str], manifest: dict, words: np.ndarray | None = None):
        self.clips, self.sentences, self.manifest, self.words = clips, sentences, manifest, words

    def __len__(self) -> int:
        return len(self.sentences)

    def __getitem__(self, i: int) -> int:
        return i


def load_data(data: list[str] | None, cfg: TrainConfig, out: Path) -> ClipSet:
    """The training clips: rendered talking mouths (default) or a GRID corpus folder (`--data grid DIR`)."""
    if not data or data == ["rendered"]:
        from .render import TRAIN_FACES, render_cache, training_words, word_phonemes

        clips, sentences = render_cache(out / "rendered", cfg.clips)
        words = np.stack([training_words(i) for i in range(cfg.clips)]) if cfg.word_loss > 0 else None
        import json

        faces = json.loads((Path(__file__).parent / "faces" / "faces.json").read_text())["faces"]
        manifest = {"kind": "rendered", "clips": cfg.clips, "faces": {f: faces[f]["source"] for f in TRAIN_FACES},
                    "phonemes": f"espeak-ng word timings for {len(word_phonemes())} GRID words (phonemes.json)",
                    "looks": "a new look per clip (mirror, colour cast, skin tone, mouth size)"}
        return ClipSet(clips, sentences, manifest, words)
    if data[0] == "grid" and len(data) == 2:
        from .grid import grid_clips

        clips, sentences, manifest = grid_clips(data[1], cfg.split, "train", out / "grid-crops")
        return ClipSet(clips, sentences, manifest)
    raise UserError("--data takes `rendered` (the default) or `grid DIR` (a GRID corpus folder: sN/*.mpg, align/)")


def augment(clip: np.ndarray, rng: np.random.Generator, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The paper's augmentation of one (T, H, W, 3) clip: mirror, and delete/duplicate frames; returns the clip
    and, per new frame, the frame it came from."""
    t = len(clip)
    frames = np.arange(t)
    if cfg.mirror and rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    if cfg.frame_jitter > 0:
        u = rng.random(t)
        repeat = np.where(u < cfg.frame_jitter / 2, 0, np.where(u < cfg.frame_jitter, 2, 1))
        idx = np.repeat(np.arange(t), repeat)[:t]
        frames = np.pad(idx, (0, t - len(idx)), mode="edge")
        clip = clip[frames]
    return np.ascontiguousarray(clip), frames


@dataclass
class TrainResult:
    net: LipNet
    losses: list[float]
    step: int
    seconds: float
    manifest: dict
    saved_ctc: float | None = None  # the saved state's recent CTC (a resumed run that took no new step)


def train(out: str | Path, cfg: TrainConfig, data: list[str] | None = None, ctx: distributed.Dist | None = None,
          log=print) -> TrainResult:
    """Train (or resume) LipNet; returns the network with its per-step losses."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    out = Path(out)
    if cfg.batch % ctx.world:
        raise UserError(f"--batch {cfg.batch} cannot be split evenly over {ctx.world} processes; "
                        f"use a multiple of {ctx.world}")
    dataset = load_data(data, cfg, out) if ctx.is_main else None
    distributed.barrier(ctx)
    if dataset is None:  # the other processes read what rank 0 rendered or cropped
        dataset = load_data(data, cfg, out)
    if len(dataset) < cfg.batch:
        raise UserError(f"only {len(dataset)} training clips, fewer than --batch {cfg.batch}")
    seed_everything(cfg.seed)  # the same initial weights on every process
    ncfg = net_config(cfg, words=dataset.words is not None)
    net = LipNet(ncfg).to(ctx.device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    state = out / "state"
    config = {"net": ncfg.to_dict(), "train": asdict(cfg)}
    meta = checkpoint.resume(state, net, opt, same={"net": ncfg},
                             how_to_fix="give another --out, or the settings it was trained with")
    loader = distributed.loader(dataset, ctx, cfg.batch, shuffle=True, seed=cfg.seed, drop_last=True)
    model = distributed.wrap(net, ctx)
    word_losses: list[float] = []  # word-naming cross-entropy per frame, per step

    def save(s: Steps) -> None:
        checkpoint.save(state, net.state_dict(), config, optimizer=opt,
                        meta={"step": s.step, "seconds": s.seconds, "loss": s.mean()})

    with Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, log=log,
               desc=f"train lipnet ({parameter_count(net):,} parameters)") as steps:
        model.train()
        for _, idx in steps.epochs(loader, len(dataset) // cfg.batch):
            idx = idx.tolist()
            made = [augment(np.asarray(dataset.clips[j]), np.random.default_rng([cfg.seed, steps.step, j]), cfg)
                    for j in idx]
            clips = np.stack([c for c, _ in made])
            targets = [encode(dataset.sentences[j]) for j in idx]
            if net.word_head is not None:
                log_probs, word_logits = model(as_input(clips).to(ctx.device), words=True)
                labels = torch.as_tensor(np.stack([dataset.words[j][f] for j, (_, f) in zip(idx, made, strict=True)]))
                word = F.cross_entropy(word_logits.cpu().flatten(0, 1), labels.flatten(), reduction="sum")
            else:
                log_probs, word = model(as_input(clips).to(ctx.device)), torch.zeros(())
            # DDP's mean over processes of these per-process means: the global mean
            ctc = ctc_loss(log_probs.cpu(), targets) / len(idx)
            loss = ctc + cfg.word_loss * word / len(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            word_losses.append(word.item() / len(idx) / len(clips[0]))
            steps.losses.append(ctc.item())  # the CTC is the loss saved and shown; the word loss is shown beside it
            recent_word = word_losses[-20:]
            steps.done(postfix={"ctc": f"{steps.mean(20):.2f}", "word": f"{sum(recent_word) / len(recent_word):.3f}"})
    return TrainResult(net.eval(), steps.losses, steps.step, steps.seconds, dataset.manifest,
                       meta.get("loss") if meta else None)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, command: str) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("lipnet") / ("baseline2d"))."""
    config = {"net": result.net.cfg.to_dict(), "train": asdict(cfg)}
    meta = {"command": command, "data": result.manifest, "steps": result.step, "seconds": round(result.seconds, 1),
            "final_ctc": round(sum(result.losses[-50:]) / len(result.losses[-50:]) if result.losses
                               else result.saved_ctc, 3) if result.losses or result.saved_ctc else None,
            "parameters": parameter_count(result.net)}
    return checkpoint.export_half(path, result.net.state_dict(), config, meta)
