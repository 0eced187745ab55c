"""Train one shipped-size pix2pix edges -> photo generator on a GPU for a fixed time (used by tools/pix2pix_gpu.sh).

    python tools/pix2pix_gpu.py --minutes 6 --photos .gpu/pix2pix/photos --out OUT/edges2photo [--no-gan]

The photos are the offline corpus's train split, carried as JPEGs (`--prepare DIR` writes them here); the
pairs are made on the fly from them exactly as `deepgallery train pix2pix --task edges` does. The network is
the shipped size (width 12, max-mult 4, so two fp16 checkpoints fit the app's 2.5 MB); a GPU gives it more
steps, and batch 4 (the paper's batch for edges2shoes/handbags) with instance normalisation.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SHIPPED = dict(width=12, max_mult=4, task="edges")


def prepare(out: Path, max_side: int = 1024, quality: int = 90) -> None:
    """Write the corpus's train photos as JPEGs of at most `max_side` px (the GPU upload is capped at 6 MB)."""
    from PIL import Image

    from deepgallery.core.photos import corpus, load_rgb

    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for r in corpus("train"):
        name = f"{r.source}__{r.sha256[:12]}.jpg"  # plasma wallpapers all share one file name
        Image.fromarray(load_rgb(r, max_side)).save(out / name, quality=quality)
        manifest.append({"source": r.source, "file": str(r.path), "sha256": r.sha256, "licence": r.licence})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"{len(manifest)} photos, {total / 1e6:.2f} MB in {out}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prepare", type=Path, help="write the corpus photos to this folder and stop")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--photos", type=Path, default=Path(".gpu/pix2pix/photos"))
    ap.add_argument("--out", type=Path, default=Path("/tmp/pix2pix-gpu/edges2photo"))
    ap.add_argument("--gan", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if args.prepare:
        prepare(args.prepare)
        return 0
    import torch

    from deepgallery.apps.pix2pix.train import TrainConfig, export, folder_photos, train
    from deepgallery.core import distributed

    torch.backends.cudnn.benchmark = True
    start = time.time()
    arrays, _ = folder_photos(args.photos)
    manifest = json.loads((args.photos / "manifest.json").read_text())
    cfg = TrainConfig(**SHIPPED, gan=args.gan, batch=args.batch, workers=args.workers, epochs=100000,
                      epoch_size=4000, max_minutes=max(0.1, args.minutes - (time.time() - start) / 60 - 0.3),
                      save_every=2000)
    ctx = distributed.start(args.device)
    print(f"device {ctx.device}, {len(arrays)} photos, {cfg}", flush=True)
    result = train(args.out.parent / f"{args.out.name}_run", cfg, ctx=ctx, photos=(arrays, manifest))
    command = "python tools/pix2pix_gpu.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    result.data["device"] = str(torch.cuda.get_device_name(0) if ctx.device.type == "cuda" else ctx.device)
    path = export(result, args.out, cfg, command)
    print(f"{result.step} steps in {result.seconds:.0f} s, final L1 {result.losses['l1'][-1]:.4f}: {path}",
          flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
