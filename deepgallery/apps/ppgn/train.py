"""Training the PPGN-x prior: a DAE on random photo crops (plain PyTorch loop, resumable, CPU-friendly).

    deepgallery train ppgn --out runs/ppgn-dae --export my-prior           # built-in photos
    deepgallery train ppgn --data ~/photos --out runs/my-dae          # your photos

Every ``save_every`` steps the model and the Adam state go to ``OUT/dae`` (safetensors + JSON), so an
interrupted run continues where it stopped. ``--export`` writes the small fp16 checkpoint the sampler loads.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ...core import checkpoint
from ...core.runtime import progress, seed_everything
from .data import CropSampler, builtin_photo_paths, folder_photo_paths
from .prior import DAE, DAEConfig, dae_loss


@dataclass
class TrainConfig:
    steps: int = 1750  # Adam steps (the shipped prior: 1750, ~17 min on one thread of a busy 2-core CPU)
    batch: int = 16  # crops per step
    crop: int = 48  # crop side in pixels (multiple of 4; the DAE is fully convolutional)
    lr: float = 2e-3  # Adam learning rate, cosine-decayed to 5% of it
    save_every: int = 250  # steps between resumable checkpoints
    seed: int = 0


def export_fp16(dae: DAE, path: str | Path, meta: dict) -> Path:
    """Write the weights as fp16 safetensors + JSON config (what ships in ``checkpoints/``)."""
    tensors = {k: v.half() for k, v in dae.state_dict().items()}
    return checkpoint.save(path, tensors, {"dae": dae.cfg.to_dict()}, meta=meta)


def load_dae(path: str | Path) -> DAE:
    tensors, config, _ = checkpoint.load(path, how_to_fix="train one with `deepgallery train ppgn`")
    dae = DAE(DAEConfig(**config["dae"]))
    dae.load_state_dict({k: v.float() for k, v in tensors.items()})
    return dae.eval()


def train_dae(
    out: str | Path,
    cfg: TrainConfig | None = None,
    dae_cfg: DAEConfig | None = None,
    data: str | Path | None = None,
    log=print,
) -> tuple[DAE, list[float]]:
    """Train (or resume) the DAE; returns the model and the per-step losses of this call."""
    cfg = cfg or TrainConfig()
    seed_everything(cfg.seed)
    out = Path(out)
    state_path = out / "dae"
    paths = folder_photo_paths(data) if data else builtin_photo_paths()
    sampler = CropSampler(paths, cfg.crop)
    dae = DAE(dae_cfg)
    opt = torch.optim.Adam(dae.parameters(), lr=cfg.lr)
    start = 0
    if checkpoint.exists(state_path):
        tensors, config, meta = checkpoint.load(state_path)
        dae = DAE(DAEConfig(**config["dae"]))
        dae.load_state_dict(tensors)
        opt = torch.optim.Adam(dae.parameters(), lr=cfg.lr)
        checkpoint.restore_optimizer(opt, meta)
        start = int(meta.get("step", 0))
        log(f"resuming from step {start}")
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + start)
    losses: list[float] = []
    t0 = time.time()
    dae.train()
    for step in progress(range(start, cfg.steps), total=cfg.steps, initial=start, desc="DAE prior"):
        for group in opt.param_groups:  # cosine decay to 5 % (computed from the step: resumes exactly)
            group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(1, cfg.steps))))
        clean = sampler.sample(cfg.batch, gen)  # (B, 3, S, S)
        loss = dae_loss(dae, clean, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        done = step + 1
        if done % cfg.save_every == 0 or done == cfg.steps:
            recent = sum(losses[-50:]) / len(losses[-50:])
            meta = {"step": done, "loss": recent, "photos": len(paths), "train": asdict(cfg)}
            checkpoint.save(state_path, dae.state_dict(), {"dae": dae.cfg.to_dict()}, meta=meta, optimizer=opt)
            log(f"step {done}/{cfg.steps} loss {recent:.5f} ({time.time() - t0:.0f} s)")
    dae.eval()
    return dae, losses
