"""The GPU run of tools/handwriting_gpu.sh: simulated writers from the carried Hershey glyphs, the paper's network,
a time box, an fp16 export. `--make-glyphs` (here, where Hershey-Fonts is installed) writes the glyph file."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

GLYPHS = Path(".gpu/handwriting/glyphs.json")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=7.0)
    p.add_argument("--work", default="/tmp/handwriting-gpu")
    p.add_argument("--make-glyphs", action="store_true")
    p.add_argument("--lines", type=int, default=30000)
    p.add_argument("--hidden", type=int, default=160)  # 3 x 400 is 7.5 MB in fp16; the app ships <= 2.5 MB
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()
    start = time.time()
    from deepgallery.apps.handwriting import synth

    if a.make_glyphs:
        GLYPHS.parent.mkdir(parents=True, exist_ok=True)
        print(f"wrote {synth.save_glyphs(GLYPHS)} ({GLYPHS.stat().st_size} bytes)")
        return
    synth.use_glyph_file(GLYPHS)
    import torch

    from deepgallery.apps.handwriting.train import TrainConfig, export, load_pools, train
    from deepgallery.core import distributed

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    lines = a.lines if a.minutes >= 2 else 400
    cfg = TrainConfig(hidden=a.hidden, layers=3, window=10, mixtures=20, steps=1_000_000, batch=a.batch, lines=lines,
                      rate=20.0, max_chars=24, save_every=500)
    pools = load_pools(None, cfg, work)
    print(f"data: {len(pools[0].offsets)} lines in {time.time() - start:.0f} s "
          f"({os.cpu_count()} CPUs)", flush=True)
    left = a.minutes * 60 - (time.time() - start) - 45  # the held-out evaluation, export and tar
    cfg.minutes = max(left, 5) / 60
    ctx = distributed.Dist(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    result = train(work / "run", cfg, None, ctx, pools=pools)
    result.net.cpu()
    command = (f"deepgallery train handwriting --hidden {a.hidden} --batch {a.batch} --lines {lines} --rate 20 "
               f"--max-chars 24 --minutes {cfg.minutes:.2f} --device cuda --out runs/hw-gpu --export synthesis")
    export(result, work / "synthesis", cfg, command)
    meta = json.loads((work / "synthesis.json").read_text())
    meta["meta"]["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(json.dumps(meta["meta"], indent=1))
    print(f"total {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
