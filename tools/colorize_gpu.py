"""GPU training of colorize's shipped checkpoint on the photo corpus (a maintainer script; see colorize_gpu.sh).

    python tools/colorize_gpu.py --prepare .gpu/colorize        # here: the corpus's train photos + pseudo labels
    python tools/colorize_gpu.py --minutes 6 --out OUT          # on the GPU machine: train, export OUT/colorize.*

--prepare writes the train split of `deepgallery.core.photos` (longer side 768, JPEG quality 92), each photo's
pseudo scene label (EfficientNet-Lite0's ImageNet top-1, which needs the `art` extra, so it is computed here:
the GPU machine has neither the weights nor the package) and the corpus manifest, within the 6 MB upload cap.
Training then needs only torch, numpy and pillow: `deepgallery.apps.colorize.train` on those photos at the
paper's 224x224 crops, time-boxed, and the fp16 export `run` and `bench` load.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GPU_CONFIG = {"size": 224, "batch": 64, "width": 0.125, "lr": 2e-3, "steps": 200_000, "crops_per_photo": 512,
              "workers": 5, "alpha": 1 / 300, "labels": "classifier"}


def prepare(folder: Path, side: int = 768, quality: int = 92) -> None:
    from PIL import Image

    from deepgallery.apps.colorize.data import corpus_photos, pseudo_labels

    photos = pseudo_labels(corpus_photos("train", max_side=side))
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (img, label, name, row) in enumerate(zip(photos.images, photos.labels, photos.names, photos.manifest,
                                                    strict=True)):
        file = f"{i:03d}.jpg"
        Image.fromarray(img).save(folder / "photos" / file, quality=quality)
        rows.append({"file": file, "label": label, "class": photos.classes[label], "name": name, **row})
    (folder / "photos.json").write_text(json.dumps({"photos": rows, "classes": photos.classes}, indent=1))
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"{len(rows)} photos, {total / 1e6:.2f} MB in {folder}")


def load_prepared(folder: Path):
    from PIL import Image

    from deepgallery.apps.colorize.data import Photos

    record = json.loads((folder / "photos.json").read_text())
    rows = record["photos"]
    images = [np.asarray(Image.open(folder / "photos" / r["file"]).convert("RGB")) for r in rows]
    manifest = [{k: v for k, v in r.items() if k not in ("file", "label", "class")} for r in rows]
    return Photos(images, [r["label"] for r in rows], [r["name"] for r in rows], record["classes"], manifest)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", help="write the training photos and labels into this folder")
    parser.add_argument("--data", default=str(ROOT / ".gpu" / "colorize"), help="the prepared folder")
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock budget of the whole script")
    parser.add_argument("--out", default="/tmp/colorize-gpu", help="where the checkpoint and log go")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare))
        return 0
    import torch

    from deepgallery.apps.colorize.train import TrainConfig, export, train
    from deepgallery.core import distributed

    start = time.time()
    torch.backends.cudnn.benchmark = True
    photos = load_prepared(Path(args.data))
    budget = max(0.1, args.minutes - (time.time() - start) / 60 - 0.6)  # keep ~35 s for start-up and export
    cfg = TrainConfig(**GPU_CONFIG, minutes=round(budget, 2))
    ctx = distributed.start(args.device)
    out = Path(args.out)
    print(f"{len(photos)} photos, device {ctx.device}, training {budget:.2f} min", flush=True)
    result = train(out / "run", cfg, ctx=ctx, photos=photos, log=lambda m: print(m, flush=True))
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in GPU_CONFIG.items())
    command = (f"python tools/colorize_gpu.py --minutes {args.minutes} (= deepgallery train colorize {flags} "
               f"--minutes {cfg.minutes} on the corpus photos of tools/colorize_gpu.py --prepare)")
    path = export(result, out / "colorize", cfg, None, command)
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    mse = sum(result.losses[-100:]) / max(1, len(result.losses[-100:]))
    print(f"{gpu}: steps {result.step}, {result.seconds:.0f} s, final mse {mse:.5f}; wrote {path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
