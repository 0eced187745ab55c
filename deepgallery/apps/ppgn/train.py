"""Training the PPGN-x prior: a DAE on random photo crops (plain PyTorch loop, resumable, one or several devices).

    deepgallery train ppgn --out runs/ppgn-dae --export my-prior           # built-in photos
    deepgallery train ppgn --data ~/photos --out runs/my-dae          # your photos
    torchrun --nproc_per_node 4 -m deepgallery train ppgn --device cuda --out runs/my-dae   # four GPUs

Every ``save_every`` steps the model and the Adam state go to ``OUT/dae`` (safetensors + JSON), so an
interrupted run continues where it stopped. ``--export`` writes the small fp16 checkpoint the sampler loads.

Under torchrun every process draws the same global batch of crops and noise from the same seeded generator
and trains on its own slice of it (`core.distributed.shard`); DDP averages the gradients, so N processes take
the step one process takes with the whole batch (the DAE has GroupNorm, no batch statistics).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.runtime import autocast, seed_everything
from ...core.training import Steps
from .data import CropSampler, builtin_photo_paths, folder_photo_paths
from .prior import DAE, DAEConfig, add_noise, denoising_error


@dataclass
class TrainConfig:
    steps: int = option(1750, "Adam steps", minimum=1)  # the shipped prior: 1750, ~17 min on one busy CPU thread
    batch: int = option(16, "crops per step (the global batch: split over the processes under torchrun)",
                        minimum=1)
    crop: int = option(48, "crop side in pixels, a multiple of 4 and at least 8", minimum=8)  # fully convolutional
    lr: float = option(2e-3, "Adam learning rate, cosine-decayed to 5%% of it", minimum=0, allow_zero=False)
    save_every: int = field(default=250)  # steps between resumable checkpoints
    seed: int = option(0, "random seed (crops, noise, initial weights)")


def export_fp16(dae: DAE, path: str | Path, meta: dict) -> Path:
    """Write the weights as fp16 safetensors + JSON config (what ships as APP.checkpoint("dae"))."""
    return checkpoint.export_half(path, dae.state_dict(), {"dae": dae.cfg.to_dict()}, meta=meta)


def train_dae(
    out: str | Path,
    cfg: TrainConfig | None = None,
    dae_cfg: DAEConfig | None = None,
    data: str | Path | None = None,
    log=print,
    ctx: distributed.Dist | None = None,
    precision: str = "auto",
) -> tuple[DAE, list[float]]:
    """Train (or resume) the DAE; returns the model and the per-step losses of this call (this process's
    share of each batch under torchrun). `ctx` is `core.distributed.start(device)`; None: one CPU process."""
    cfg = cfg or TrainConfig()
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    seed_everything(cfg.seed)
    out = Path(out)
    state_path = out / "dae"
    paths = folder_photo_paths(data) if data else builtin_photo_paths()
    sampler = CropSampler(paths, cfg.crop)
    dae = DAE(dae_cfg).to(ctx.device)
    opt = torch.optim.Adam(dae.parameters(), lr=cfg.lr)
    meta = checkpoint.resume(state_path, dae, opt, same={"dae": dae.cfg},
                             how_to_fix="give another --out, or the --width it was trained with")

    def save(s: Steps) -> None:
        record = {"step": s.step, "loss": s.loss, "photos": len(paths), "train": asdict(cfg)}
        checkpoint.save(state_path, dae.state_dict(), {"dae": dae.cfg.to_dict()}, meta=record, optimizer=opt)
        if s.step % cfg.save_every == 0 or s.step == cfg.steps:
            log(f"step {s.step}/{cfg.steps} loss {s.loss:.5f} ({s.elapsed:.0f} s)")

    steps = Steps(cfg.steps, ctx, save, meta=meta, save_every=cfg.save_every, log=log, desc="DAE prior",
                  shared_loss=True)  # a checkpoint records the loss over all processes
    model = distributed.wrap(dae, ctx)  # DDP under torchrun; `dae` itself otherwise
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + steps.start)  # the same on every process
    model.train()
    with steps:
        for step in steps:
            for group in opt.param_groups:  # cosine decay to 5 % (computed from the step: resumes exactly)
                group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.steps))))
            clean = sampler.sample(cfg.batch, gen)  # (B, 3, S, S), the global batch
            noisy = add_noise(dae.cfg, clean, gen)  # (B, 3, S, S)
            clean, noisy = (t.to(ctx.device) for t in distributed.shard((clean, noisy), ctx))  # (B / N, 3, S, S)
            with autocast(ctx.device, precision):
                loss = denoising_error(model, noisy, clean)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps.done(loss.item())
    dae.eval()
    return dae, steps.losses
