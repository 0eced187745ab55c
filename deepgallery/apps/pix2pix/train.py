"""Training pix2pix: the paper's alternating D and G steps (Appendix 6.2), resumable, on one or several processes.

    deepgallery train pix2pix --data ~/datasets/facades --direction BtoA --out runs/facades --device cuda
    deepgallery train pix2pix --task edges --width 12 --max-mult 4 --out runs/edges --export my_edges2photo
    deepgallery train pix2pix --task edges --no-gan --out runs/edges_l1          # Table 1's "L1" row
    torchrun --nproc_per_node 4 -m deepgallery train pix2pix --data ~/edges2shoes --batch 4 --device cuda

Without --data the pairs are made on the fly from the offline photo corpus (`core.photos`, its train split) for
`--task` (edges, gray or segments; see pairs.py). Each step: G(x) once; D on (x, y) and (x, G(x)) stacked in one
batch (one forward, as DDP needs), its halved loss, an Adam step on D; then D on (x, G(x)) again and G's loss
-log D + λ·L1 (or λ·L1 alone with --no-gan), an Adam step on G. One Adam holds both networks' parameters in two
groups (its state is per parameter, so this is two Adams), which lets `core.checkpoint` keep one resumable state
in OUT/state. Every example's crop and flip come from (seed, epoch, index), so N processes with batch B/N take
the step one process takes with B when the dropout noise is off (`--dropout 0`; with it on, each process draws its
own z, as N GPUs would).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .model import Generator, NetConfig, PatchDiscriminator, d_loss, g_loss, init_weights, parameter_count
from .pairs import TASKS, PairDataset, PhotoPairs, find_pairs


@dataclass
class TrainConfig:
    """The paper's settings are the defaults (Appendix 6.1-6.2); the shipped CPU model narrows the networks."""

    task: Literal["edges", "gray", "segments"] = option(
        "edges", "without --data: which input to compute from the photo corpus (edges, gray or segments)")
    direction: Literal["AtoB", "BtoA"] = option("AtoB", "with --data: translate A into B, or B into A")
    epochs: int = option(200, "passes over the training pairs (the paper: 200 for facades, 15 for edges2shoes)",
                         minimum=1)
    epoch_size: int = option(1000, "without --data: pairs made from the photo corpus per epoch", minimum=1)
    max_minutes: float = option(0.0, "stop (and save) after this many minutes of training; 0: no limit", minimum=0)
    batch: int = option(1, "pairs per step, global under torchrun (the paper: 1, with instance normalisation)",
                        minimum=1)
    lr: float = option(2e-4, "Adam learning rate for G and D (the paper: 0.0002)", minimum=0, allow_zero=False)
    beta1: float = option(0.5, "Adam momentum term β1 (the paper: 0.5)", minimum=0, maximum=0.999)
    lambda_l1: float = option(100.0, "λ, the weight of the L1 term (Eq. 4; the paper: 100)", minimum=0)
    gan: bool = option(True, "train with the conditional GAN term; --no-gan is L1 alone (Table 1's ablation)")
    width: int = option(64, "filters of the first layer of G and D, ngf = ndf (the paper: 64)", minimum=1)
    max_mult: int = option(8, "filters double per layer up to width x max_mult (the paper: 8, i.e. 512)",
                           minimum=1)
    norm: Literal["instance", "batch"] = option(
        "instance", "normalisation (the paper: instance, i.e. batch norm on one image, at batch 1)")
    dropout: float = option(0.5, "dropout on the first three decoder layers, the noise z (the paper: 0.5)",
                            minimum=0, maximum=0.9)
    load_size: int = option(286, "random jitter: resize to this side, then crop --crop (the paper: 286)",
                            minimum=8)
    crop: int = option(256, "training crop side, a multiple of 256 for the U-Net-256 (the paper: 256)", minimum=8)
    flip: bool = option(True, "random mirroring (the paper: yes)")
    limit: int = option(0, "use only the first N training pairs (0: all); for quick trials", minimum=0)
    seed: int = option(0, "initial weights, crops, flips", minimum=0)
    workers: int = option(0, "processes making the pairs (0: this one); 4-8 keep a GPU fed", minimum=0)
    save_every: int = field(default=500)  # steps between resumable checkpoints

    def net(self) -> NetConfig:
        return NetConfig(width=self.width, max_mult=self.max_mult, norm=self.norm, dropout=self.dropout)


class Pix2Pix(nn.Module):
    """G and (with the GAN term) D, in one module so one checkpoint holds both (keys G.* and D.*)."""

    def __init__(self, cfg: NetConfig, gan: bool) -> None:
        super().__init__()
        self.G = Generator(cfg)
        self.D = PatchDiscriminator(cfg) if gan else None


@dataclass
class TrainResult:
    model: Pix2Pix
    losses: dict[str, list[float]]  # per step: "l1", "g_gan", "d" (this process's share of the batch)
    step: int
    seconds: float
    data: dict  # what it was trained on (the checkpoint's data manifest)
    val_l1: float | None = None


def corpus_photos(max_side: int = 1024) -> tuple[list[np.ndarray], list[dict]]:
    """The photo corpus's train split, each downscaled to `max_side`, and its manifest (source, file, SHA-256)."""
    from ...core.photos import corpus, load_rgb

    records = corpus("train")
    if not records:
        raise UserError("no photos in the offline corpus: give --data DIR, or install a source "
                        "(`deepgallery data photos` lists them)")
    manifest = [{"source": r.source, "file": str(r.path), "sha256": r.sha256, "licence": r.licence}
                for r in records]
    return [load_rgb(r, max_side) for r in records], manifest


def folder_photos(folder: str | Path, max_side: int = 1024) -> tuple[list[np.ndarray], list[dict]]:
    """Every photo (JPEG/PNG) in `folder`: used by tools/pix2pix_gpu.sh, which carries the corpus as files."""
    from ...core.hashing import sha256_file
    from ...core.media import resize_max_side
    from ...core.photos import load_rgb

    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise UserError(f"{folder}: no photos")
    return ([resize_max_side(load_rgb(p, max_side), max_side) for p in files],
            [{"file": p.name, "sha256": sha256_file(p)} for p in files])


def dataset(cfg: TrainConfig, data: str | None, photos=None) -> tuple[torch.utils.data.Dataset, dict]:
    """The training pairs: a user's folder (either layout, pairs.find_pairs) or pairs made from photos for
    cfg.task (the offline corpus unless `photos` = (arrays, manifest) is given)."""
    if cfg.crop % 256 or cfg.crop > cfg.load_size:
        raise UserError(f"--crop must be a multiple of 256 (the U-Net-256 halves it 8 times) and at most "
                        f"--load-size {cfg.load_size}, got {cfg.crop}")
    if data:
        pairs = find_pairs(data, "train")
        if cfg.limit:
            pairs = pairs[:cfg.limit]
        ds = PairDataset(pairs, cfg.direction, cfg.load_size, cfg.crop, cfg.flip, cfg.seed)
        return ds, {"data": str(data), "layout": "aligned A/ B/" if pairs[0].b else "A|B side by side",
                    "pairs": len(pairs), "direction": cfg.direction}
    arrays, manifest = photos if photos is not None else corpus_photos()
    length = cfg.limit or cfg.epoch_size
    ds = PhotoPairs(arrays, cfg.task, length, cfg.load_size, cfg.crop, cfg.flip, cfg.seed)
    return ds, {"data": f"pairs made on the fly ({cfg.task}) from the offline photo corpus, train split",
                "task": cfg.task, "photos": manifest}


def _batches(ds, batches: list[list[int]], workers: int):
    """(x, y) batches of the given example indices, made here or by `workers` loader processes."""
    if workers:
        yield from torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=workers)
        return
    for indices in batches:
        xs, ys = zip(*(ds[i] for i in indices), strict=True)
        yield torch.stack(xs), torch.stack(ys)  # (b, 3, crop, crop) each


def train(out: str | Path, cfg: TrainConfig, data: str | None = None, ctx: distributed.Dist | None = None,
          log=print, photos=None) -> TrainResult:
    """Train (or resume from OUT/state) pix2pix on `data` (or the photo corpus); returns the model and losses."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    if cfg.task not in TASKS:
        raise UserError(f"unknown task {cfg.task!r}")
    distributed.split_batch(cfg.batch, ctx, "--batch")
    ds, data_info = dataset(cfg, data, photos)
    if len(ds) < cfg.batch:
        raise UserError(f"only {len(ds)} training pairs, fewer than --batch {cfg.batch}")
    seed_everything(cfg.seed)  # the same initial weights on every process
    ncfg = cfg.net()
    model = Pix2Pix(ncfg, cfg.gan)
    init_weights(model, cfg.seed)
    model.to(ctx.device)
    groups = [{"params": model.G.parameters()}] + ([{"params": model.D.parameters()}] if cfg.gan else [])
    opt = torch.optim.Adam(groups, lr=cfg.lr, betas=(cfg.beta1, 0.999))
    state = Path(out) / "state"
    config = {"net": ncfg.to_dict(), "task": cfg.task if not data else "custom", "train": asdict(cfg)}
    meta = checkpoint.resume(state, model, opt, same={"net": ncfg, "task": config["task"]},
                             how_to_fix="give another --out, or the settings it was trained with")
    G = distributed.wrap(model.G, ctx)
    D = distributed.wrap(model.D, ctx) if cfg.gan else None
    per_epoch = len(ds) // cfg.batch  # global steps per epoch; every process takes the same number
    total = per_epoch * cfg.epochs
    gan_terms: list[float] = []
    d_losses: list[float] = []
    what = "cGAN + L1" if cfg.gan else "L1 only"

    def save(s: Steps) -> None:  # s.losses: the L1 term of every step
        checkpoint.save(state, model.state_dict(), config, optimizer=opt,
                        meta={"step": s.step, "seconds": s.seconds, **data_info, "l1": s.mean(100)})

    steps = Steps(total, ctx, save, meta=meta, save_every=cfg.save_every, log=log,
                  desc=f"pix2pix {what} (G {parameter_count(model.G):,} parameters)")

    def out_of_time() -> bool:
        if not cfg.max_minutes:
            return False
        late = float(steps.elapsed > cfg.max_minutes * 60)
        return distributed.mean(late, ctx) > 0 if ctx.active else bool(late)

    model.train()
    with steps:
        while steps.step < total and not steps.stopped:
            epoch, skip = divmod(steps.step, per_epoch)
            ds.epoch = epoch
            smp = distributed.sampler(ds, ctx, shuffle=True, seed=cfg.seed, drop_last=True)
            smp.set_epoch(epoch)
            order = list(smp)  # this process's share of the epoch, in the global batches' order
            per = cfg.batch // ctx.world
            for x, y in _batches(ds, [order[i * per:(i + 1) * per] for i in range(skip, per_epoch)], cfg.workers):
                x, y = x.to(ctx.device), y.to(ctx.device)  # (b, 3, S, S) in [-1, 1]
                fake = G(x)  # G(x, z), z as dropout
                d_fake_for_g = None
                if cfg.gan:
                    # D step: real pairs as 1, generated ones as 0, one forward over both (Eq. 1, halved)
                    logits = D(torch.cat([x, x]), torch.cat([y, fake.detach()]))  # (2b, 1, H', W')
                    d_real, d_fake = logits.chunk(2)
                    loss_d = d_loss(d_real, d_fake)
                    opt.zero_grad(set_to_none=True)
                    loss_d.backward()
                    opt.step()  # G's gradients are None here, so only D moves
                    d_losses.append(loss_d.item())
                    d_fake_for_g = D(x, fake)
                # G step: -log D(x, G(x)) + λ ||y - G(x)||_1 (Eq. 4)
                loss_g, gan_term, l1 = g_loss(d_fake_for_g, fake, y, cfg.lambda_l1)
                opt.zero_grad(set_to_none=True)
                loss_g.backward()
                if cfg.gan:
                    for p in model.D.parameters():
                        p.grad = None  # the G step moves G only
                opt.step()
                gan_terms.append(gan_term.item())
                steps.done(l1.item(), postfix={})  # the bar shows the three terms every 10 steps
                if steps.step % 10 == 0:
                    shown = {"L1": f"{np.mean(steps.losses[-50:]):.3f}"}
                    if cfg.gan:
                        shown.update(G_GAN=f"{np.mean(gan_terms[-50:]):.2f}", D=f"{np.mean(d_losses[-50:]):.2f}")
                    steps.bar.set_postfix(shown)
                if out_of_time():
                    steps.stop()  # the steps since the last checkpoint are saved as the block ends
                    break
    losses = {"l1": steps.losses, "g_gan": gan_terms, "d": d_losses}
    seconds = steps.seconds
    result = TrainResult(model, losses, steps.step, seconds, data_info)
    if data and ctx.is_main:
        result.val_l1 = validate(model.G, data, cfg, ctx.device)
        if result.val_l1 is not None:
            log(f"val L1 {result.val_l1:.4f} (images in [-1, 1]) after {steps.step} steps ({seconds:.0f} s)")
    return result


@torch.no_grad()
def validate(G: Generator, data: str, cfg: TrainConfig, device, limit: int = 50) -> float | None:
    """Mean L1 between G(x) and y on up to `limit` pairs of DATA's val split (None when it has none)."""
    root = Path(data).expanduser()
    has_val = (root / "val").is_dir() or (root / "A" / "val").is_dir()
    if not has_val:
        return None
    ds = PairDataset(find_pairs(root, "val")[:limit], cfg.direction, cfg.crop, cfg.crop, False, augment=False)
    torch.manual_seed(cfg.seed)
    errs = [(G(x[None].to(device)) - y[None].to(device)).abs().mean().item() for x, y in (ds[i] for i in
                                                                                         range(len(ds)))]
    return float(np.mean(errs))


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, command: str) -> Path:
    """The fp16 generator `run --checkpoint` loads (what ships as APP.checkpoint("edges2photo"))."""
    config = {"net": result.model.G.cfg.to_dict(), "task": result.data.get("task", "custom"), "train": asdict(cfg)}
    meta = {"command": command, **result.data, "steps": result.step, "seconds": round(result.seconds, 1),
            "parameters": parameter_count(result.model.G), "val_l1": result.val_l1,
            "final_l1": float(np.mean(result.losses["l1"][-200:])) if result.losses["l1"] else None}
    return checkpoint.export_half(path, result.model.G.state_dict(), config, meta)
