"""Training the pixel recursive model and its L2-regression baseline side by side: a plain PyTorch loop, resumable,
on one or several processes under torchrun.

    deepgallery train superres --out runs/fashion --export my-fashion          # Fashion-MNIST 7×7 → 28×28
    deepgallery train superres --data celeba ~/celeba --out runs/celeba --device cuda   # the paper's 8×8 → 32×32
    torchrun --nproc_per_node 4 -m deepgallery train superres --data celeba ~/celeba --device cuda --out runs/c4
    deepgallery train superres --classifier --out runs/clf --export my-classifier   # bench's consistency judge

Both networks see the same batches; their losses are independent (disjoint parameters), so one Adam over both is
two Adams. The model's loss is Sec. 3.2's: CE(softmax(A + B), y) + CE(softmax(A), y); the baseline's is the
MSE. Batches come from a DistributedSampler over the image indices, so N processes with B/N images each take
the step one process takes with B (the losses are batch means of equal shares; GroupNorm, no batch statistics).
Every `save_every` steps both networks and the optimizer go to OUT/state; `--out` with a state resumes it.
`--minutes` stops (and saves) after a wall-clock budget, agreed by all processes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import seed_everything
from ...core.training import Steps
from .data import PairSet, fashion_pairs, read_celeba
from .model import LEVELS, ModelConfig, PixelRecursiveSR, RegressionSR, parameter_count


@dataclass
class TrainConfig:
    """Training; the defaults trained the shipped Fashion-MNIST checkpoint's CPU version (its JSON says what ran)."""

    epochs: int = option(1, "passes over the training images", minimum=1)
    batch: int = option(32, "images per step, the global batch under torchrun (the paper: 32)", minimum=1)
    lr: float = option(1e-3, "Adam learning rate, cosine-decayed to 5%% (the paper: RMSProp 4e-4)", minimum=0,
                       allow_zero=False)
    clip: float = option(1.0, "gradient-norm clipping of each network (0: none)", minimum=0)
    minutes: float = option(0.0, "stop after this many wall-clock minutes and save (0: no limit)", minimum=0)
    limit: int = option(0, "use only the first N training images (0: all); for quick trials", minimum=0)
    val: int = option(1000, "training images held out to report the held-out bits per subpixel", minimum=0)
    baseline: bool = option(True, "train the L2-regression baseline beside the model (same batches)")
    cond_width: int = option(32, "channels of the conditioning ResNet", minimum=1)
    cond_blocks: int = option(2, "ResNet blocks per resolution in the conditioning network", minimum=0)
    prior_width: int = option(32, "channels per stack of each gated PixelCNN layer (a multiple of the image "
                                  "channels)", minimum=3)
    prior_layers: int = option(8, "gated PixelCNN layers (the paper: 20)", minimum=1)
    kernel: int = option(5, "side of the gated layers' kernels (odd)", minimum=3)
    head_width: int = option(64, "width of the prior's 1×1 output layer", minimum=3)
    seed: int = option(0, "initial weights and batch order", minimum=0)
    save_every: int = field(default=200)  # steps between resumable checkpoints


MODEL_FIELDS = tuple(f.name for f in fields(ModelConfig) if f.name not in ("channels", "low_size", "factor"))


def model_config(cfg: TrainConfig, data: PairSet) -> ModelConfig:
    c, low = data.low.shape[1], data.low.shape[-1]
    return ModelConfig(channels=c, low_size=low, factor=data.high.shape[-1] // low,
                       **{k: getattr(cfg, k) for k in MODEL_FIELDS}).check()


def load_data(data: list[str] | None, cfg: TrainConfig) -> PairSet:
    """`None` / ["fashion"]: Fashion-MNIST train; ["celeba", DIR]: CelebA's train split; ["pairs", FILE.npz]:
    arrays `high` (N, H, W[, 3]) uint8 (and optionally `labels`) made elsewhere, e.g. the GPU run's subset."""
    kind = (data or ["fashion"])[0]
    if kind == "fashion" and len(data or ["fashion"]) == 1:
        return fashion_pairs("train", cfg.limit)
    if kind == "celeba" and data is not None and len(data) == 2:
        return read_celeba(data[1], "train", cfg.limit)
    if kind == "pairs" and data is not None and len(data) == 2:
        return pairs_file(data[1], cfg.limit)
    raise UserError("--data takes `fashion`, `celeba DIR` (img_align_celeba/ + list_eval_partition.txt) or "
                    "`pairs FILE.npz`")


def pairs_file(path: str | Path, limit: int = 0, factor: int = 4) -> PairSet:
    """High-resolution images saved with numpy.savez (`high`, optional `labels`, `classes`); no pickles."""
    import numpy as np

    from ...core.fashion_mnist import FASHION_CLASSES
    from .data import pairs

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            high = z["high"][:limit or None]
            labels = z["labels"][:limit or None] if "labels" in z else None
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path}: not a .npz file with an array `high` ({exc})") from None
    return pairs(high, factor, labels, FASHION_CLASSES if labels is not None else [], f"{path.name}")


class Objective(nn.Module):
    """The two networks behind one forward, so DDP synchronises both: returns (training loss, model NLL in nats
    per subpixel, baseline MSE)."""

    def __init__(self, model: PixelRecursiveSR, regression: RegressionSR | None):
        super().__init__()
        self.model, self.regression = model, regression

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        loss, nll = self.model.losses(low, high)
        mse = self.regression.loss(low, high) if self.regression is not None else torch.zeros((), device=loss.device)
        return loss + mse, nll, mse


@dataclass
class TrainResult:
    model: PixelRecursiveSR
    regression: RegressionSR | None
    losses: list[float]  # per step: the model's NLL in bits per subpixel, this process's share
    val_bits_per_dim: float | None
    val_mse: float | None
    step: int
    seconds: float
    data: str
    images: tuple[int, int] = (0, 0)  # (training images, held-out images at the end of the training split)


@torch.no_grad()
def evaluate(model: PixelRecursiveSR, regression: RegressionSR | None, data: PairSet, device,
             batch: int = 100) -> tuple[float, float | None]:
    """(bits per subpixel of the model, the baseline's MSE in [-1, 1] units) on `data`."""
    model.eval()
    nll, mse = 0.0, 0.0
    for i in range(0, len(data), batch):
        low, high = data.low[i:i + batch].to(device), data.high[i:i + batch].to(device)
        nll += model.losses(low, high)[1].item() * len(low)
        if regression is not None:
            regression.eval()
            mse += regression.loss(low, high).item() * len(low)
    model.train()
    if regression is not None:
        regression.train()
    return nll / len(data) / math.log(2), (mse / len(data) if regression is not None else None)


def train(out: str | Path, cfg: TrainConfig, data: list[str] | None = None, ctx: distributed.Dist | None = None,
          log=print, pairs: PairSet | None = None) -> TrainResult:
    """Train (or resume) the model and the baseline on `data` (or `pairs` already made)."""
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    distributed.split_batch(cfg.batch, ctx, "--batch")
    pairs = pairs if pairs is not None else load_data(data, cfg)
    n_val = min(cfg.val, len(pairs) // 5)
    train_set, val_set = pairs.subset(range(len(pairs) - n_val)), pairs.subset(range(len(pairs) - n_val, len(pairs)))
    if len(train_set) < cfg.batch:
        raise UserError(f"only {len(train_set)} training images, fewer than --batch {cfg.batch}")
    mcfg = model_config(cfg, pairs)
    seed_everything(cfg.seed)  # the same initial weights on every process
    model = PixelRecursiveSR(mcfg)
    regression = RegressionSR(mcfg) if cfg.baseline else None
    objective = Objective(model, regression).to(ctx.device)
    opt = torch.optim.Adam(objective.parameters(), lr=cfg.lr)
    state = Path(out) / "state"
    config = {"model": mcfg.to_dict(), "baseline": cfg.baseline}
    meta = checkpoint.resume(state, objective, opt, same=config,
                             how_to_fix="give another --out, or the settings it was trained with")
    dataset = torch.utils.data.TensorDataset(torch.arange(len(train_set)))
    loader = distributed.loader(dataset, ctx, cfg.batch, shuffle=True, seed=cfg.seed, drop_last=True)
    per_epoch = len(train_set) // cfg.batch
    total = per_epoch * cfg.epochs
    wrapped = distributed.wrap(objective, ctx)

    def save(s: Steps) -> None:
        checkpoint.save(state, objective.state_dict(), {**config, "train": asdict(cfg)},
                        meta={"step": s.step, "seconds": s.seconds, "bits_per_dim": s.mean()}, optimizer=opt)

    steps = Steps(total, ctx, save, meta=meta, save_every=cfg.save_every, log=log, label="bits_per_dim",
                  desc=f"train superres ({parameter_count(model):,} + {parameter_count(regression or model):,})")

    def out_of_time() -> bool:
        if not cfg.minutes:
            return False
        late = float(steps.seconds > 60 * cfg.minutes)
        return distributed.mean(late, ctx) > 0  # every process stops at the same step

    with steps:
        for _, (idx,) in steps.epochs(loader, per_epoch):
            for group in opt.param_groups:  # cosine decay to 5 %, from the step alone: resumes exactly
                group["lr"] = cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * steps.step / total)))
            low, high = train_set.low[idx].to(ctx.device), train_set.high[idx].to(ctx.device)
            loss, nll, _ = wrapped(low, high)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.clip:  # each network on its own: the model's large gradients must not shrink the baseline's
                for net in (model, regression):
                    if net is not None:
                        nn.utils.clip_grad_norm_(net.parameters(), cfg.clip)
            opt.step()
            steps.done(nll.item() / math.log(2))
            if steps.step < total and steps.step % 10 == 0 and out_of_time():
                steps.log(f"time budget of {cfg.minutes:g} min reached at step {steps.step} of {total}")
                break  # the steps since the last checkpoint are saved as the block ends
    val_bpd = val_mse = None
    if len(val_set) and ctx.is_main:
        val_bpd, val_mse = evaluate(model, regression, val_set, ctx.device)
        log(f"held-out: {val_bpd:.4f} bits per subpixel (model), MSE {val_mse} (baseline) on {len(val_set)} images")
    model.eval()
    if regression is not None:
        regression.eval()
    return TrainResult(model, regression, steps.losses, val_bpd, val_mse, steps.step, steps.seconds, pairs.source,
                       (len(train_set), len(val_set)))


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, command: str) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("fashion"))."""
    tensors = {f"model/{k}": v for k, v in result.model.state_dict().items()}
    if result.regression is not None:
        tensors.update({f"regression/{k}": v for k, v in result.regression.state_dict().items()})
    config = {"model": result.model.cfg.to_dict(), "train": asdict(cfg), "levels": LEVELS}
    data = {"source": result.data, "training_images": result.images[0],
            "held_out_images": f"the last {result.images[1]} of the training split (never trained on)"}
    meta = {"command": command, "data": data, "steps": result.step, "seconds": round(result.seconds, 1),
            "images_seen": result.step * cfg.batch, "val_bits_per_dim": result.val_bits_per_dim,
            "val_mse_baseline": result.val_mse, "parameters": parameter_count(result.model),
            "parameters_baseline": parameter_count(result.regression) if result.regression is not None else 0}
    return checkpoint.export_half(path, tensors, config, meta)
