"""GPU training of superres's shipped model (the pixel recursive model and its L2 baseline) on the Fashion-MNIST
subset carried in .gpu/superres/, time-boxed; also the data preparation that makes that subset here.

    python tools/superres_gpu.py --prepare .gpu/superres            # here: the first N training images, xz
    python tools/superres_gpu.py --minutes 6 --work DIR             # there: train, export DIR/fashion.*

The GPU machine has no Debian packages (so no dataset-fashion-mnist) and the upload is capped at 6 MB per app:
the subset is the first 15 800 training images as raw uint8 compressed with xz (5.9 MB), labels beside them.
Training: a few steps are timed first, then the number of epochs that fits the budget is chosen (so the cosine
schedule completes), and `minutes` stays a hard stop. Imports only torch, numpy, safetensors, tqdm and the repo.
"""

from __future__ import annotations

import argparse
import json
import lzma
import sys
import time
from pathlib import Path

import numpy as np

IMAGES, LABELS, MANIFEST = "fashion-train.u8.xz", "fashion-train-labels.npy", "manifest.json"
SIZE = 28
GPU_MODEL = {"prior_layers": 12, "prior_width": 32, "cond_width": 32, "cond_blocks": 2, "head_width": 64}


def prepare(out: Path, count: int) -> None:
    from deepgallery.core.fashion_mnist import FASHION_DIR, fashion_mnist

    images, labels = fashion_mnist("train")
    images, labels = images[:count], labels[:count]
    out.mkdir(parents=True, exist_ok=True)
    (out / IMAGES).write_bytes(lzma.compress(np.ascontiguousarray(images).tobytes(), preset=9 | lzma.PRESET_EXTREME))
    np.save(out / LABELS, labels.astype(np.uint8))
    manifest = {"source": f"Fashion-MNIST train split, first {count} images ({FASHION_DIR}, Debian package "
                          "dataset-fashion-mnist)", "count": count, "shape": [count, SIZE, SIZE], "dtype": "uint8",
                "bytes": (out / IMAGES).stat().st_size}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest))


def load(folder: Path):
    from deepgallery.apps.superres.data import pairs
    from deepgallery.core.fashion_mnist import FASHION_CLASSES

    manifest = json.loads((folder / MANIFEST).read_text())
    images = np.frombuffer(lzma.decompress((folder / IMAGES).read_bytes()), np.uint8).reshape(manifest["shape"])
    labels = np.load(folder / LABELS, allow_pickle=False)
    return pairs(images, 4, labels, FASHION_CLASSES, manifest["source"])


def steps_per_second(cfg, data, device, steps: int = 30) -> float:
    """Time `steps` training steps of a throw-away copy (after a few warm-up steps)."""
    import torch

    from deepgallery.apps.superres.model import PixelRecursiveSR, RegressionSR
    from deepgallery.apps.superres.train import Objective, model_config

    mcfg = model_config(cfg, data)
    obj = Objective(PixelRecursiveSR(mcfg), RegressionSR(mcfg)).to(device)
    opt = torch.optim.Adam(obj.parameters(), lr=cfg.lr)
    low, high = data.low[:cfg.batch].to(device), data.high[:cfg.batch].to(device)
    warm = min(5, steps)
    for i in range(steps + warm):
        if i == warm:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = obj(low, high)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prepare", help="write the data subset into this folder (run here)")
    parser.add_argument("--count", type=int, default=15800)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--work", default="/tmp/superres-gpu")
    parser.add_argument("--data", default=".gpu/superres")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, default=15, help="at most (15 800 images: more would overfit)")
    parser.add_argument("--calibrate", type=int, default=30, help="steps timed to choose the epochs (CPU smoke: 2)")
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare), args.count)
        return 0
    import torch

    from deepgallery.apps.superres.train import TrainConfig, export, train
    from deepgallery.core import distributed

    t0 = time.time()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    data = load(Path(args.data))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = TrainConfig(batch=args.batch, lr=1.5e-3, val=1000, save_every=500, **GPU_MODEL)
    rate = steps_per_second(cfg, data, device, args.calibrate)
    budget = 60 * args.minutes - (time.time() - t0) - 40  # leave time for evaluation and export
    per_epoch = (len(data) - cfg.val) // cfg.batch
    cfg.epochs = int(max(1, min(args.max_epochs, rate * budget // per_epoch)))
    cfg.minutes = max(0.05, budget / 60)
    print(f"{device}: {rate:.1f} steps/s at batch {cfg.batch}; {per_epoch} steps per epoch -> {cfg.epochs} epochs "
          f"in {budget:.0f} s", flush=True)
    result = train(work / "run", cfg, ctx=distributed.Dist(device=device), pairs=data)
    result.model.cpu()
    if result.regression is not None:
        result.regression.cpu()
    command = (f"python tools/superres_gpu.py --minutes {args.minutes:g} (GPU: {torch.cuda.get_device_name(0)})"
               if device.type == "cuda" else f"python tools/superres_gpu.py --minutes {args.minutes:g} (CPU)")
    path = export(result, work / "fashion", cfg, command)
    print(f"exported {path} after {result.step} steps, {time.time() - t0:.0f} s; held-out "
          f"{result.val_bits_per_dim} bits/subpixel", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
