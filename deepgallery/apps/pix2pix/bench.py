"""`deepgallery bench pix2pix`: the paper's Table 1 ablation (L1 alone vs cGAN + L1) on held-out photos.

The held-out pairs are random square crops (256 × 256) of the photo corpus's held-out split (`core.photos`:
its sources are never trained on), each with its Canny edge map computed as in training. Both shipped
generators translate the edge maps (the same dropout seed per image) and we measure:

* `l1_heldout`, `l1_heldout_l1only`: mean absolute error per pixel and channel against the real photo, images
  in [0, 1]. L1 alone optimises this directly, so it should win here: the paper's point is that L1 is blurry
  and that the cGAN term trades a little of it for realism (Section 4.2, Fig. 4).
* `kid`, `kid_l1only`: Kernel Inception Distance (realism.py) between the outputs and the real held-out crops,
  over EfficientNet-Lite0 features (lower is more real); the paper's own realism scores (AMT, FCN-score on
  Cityscapes labels) cannot run offline. `config` holds two references measured in the same run: the edge maps
  themselves (what a model that changes nothing would score) and two disjoint halves of the real crops (the
  floor the sample size allows).
* `ms_256`: milliseconds to translate one 256 × 256 drawing on 2 CPU threads (edge normalisation + G, median of
  repeats), beside the paper's full-width U-Net (width 64) timed in the same run (`config.ms_256_paper_width`).

`--quick`: 64 held-out pairs instead of 256.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from ...core.runtime import torch_threads
from .model import Generator, NetConfig, Translator, load_shipped, parameter_count, translate
from .pairs import edges

BENCH_FULL = {"pairs": 256, "speed_repeats": 20}
BENCH_QUICK = {"pairs": 64, "speed_repeats": 8}
TEST_SEED = 2017  # the held-out crops' positions (training drew its own from other photos)


def heldout_pairs(count: int, seed: int = TEST_SEED) -> tuple[np.ndarray, np.ndarray, dict]:
    """(edge maps, photos), each (count, 256, 256, 3) uint8, from the held-out split, and what they are."""
    from ...core.photos import corpus, random_crops, summarize

    records = corpus("heldout")
    photos = random_crops(records, size=256, count=count, seed=seed, min_scale=0.6)
    return np.stack([edges(p) for p in photos]), photos, summarize(records)["heldout"]


def ms_per_image(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(quick: bool = False) -> dict[str, Any]:
    from .inference import translate_image
    from .realism import Features, kid

    plan = BENCH_QUICK if quick else BENCH_FULL
    load = os.getloadavg()[0]
    gan, l1 = load_shipped("edges2photo"), load_shipped("edges2photo_l1")
    x, real, source = heldout_pairs(plan["pairs"])
    with torch_threads(2):
        out_gan = np.stack([translate(gan, e, seed=i) for i, e in enumerate(x)])  # (N, 256, 256, 3)
        out_l1 = np.stack([translate(l1, e, seed=i) for i, e in enumerate(x)])
        features = Features()
        f_real, f_gan, f_l1, f_edges = (features(a) for a in (real, out_gan, out_l1, x))
        half = len(real) // 2
        sketch = x[0]
        ms = ms_per_image(lambda: translate_image(sketch, gan), plan["speed_repeats"])
        paper = Generator(NetConfig()).eval()  # the paper's width, random weights: the time is the same
        ms_paper = ms_per_image(lambda: translate(Translator(paper, "edges", {}, "paper"), sketch),
                                max(3, plan["speed_repeats"] // 4))

    def l1_error(out: np.ndarray) -> float:
        return float(np.abs(out.astype(np.float32) - real.astype(np.float32)).mean() / 255.0)

    metrics = {
        "l1_heldout": round(l1_error(out_gan), 4),
        "l1_heldout_l1only": round(l1_error(out_l1), 4),
        "kid": round(kid(f_gan, f_real), 4),
        "kid_l1only": round(kid(f_l1, f_real), 4),
        "ms_256": round(ms, 1),
    }
    trained = {name: {k: m.meta.get(k) for k in ("command", "steps", "seconds", "device")}
               for name, m in (("edges2photo", gan), ("edges2photo_l1", l1))}
    return {
        "metrics": metrics,
        "config": {
            "pairs": len(real),
            "heldout": f"random 256 x 256 crops (0.6-1 of the shorter side, seed {TEST_SEED}) of the photo "
                       f"corpus's held-out split: {source}",
            "input": "Canny edges with automatic thresholds (pairs.edges), as in training",
            "kid_features": f"EfficientNet-Lite0 pooled features, 1280-d ({features.source}), images at 224 x 224",
            "kid_reference_edges": round(kid(f_edges, f_real), 4),
            "kid_reference_real_halves": round(kid(f_real[:half], f_real[half:]), 4),
            "l1_reference_edges": round(l1_error(x), 4),
            "ms_256_paper_width": round(ms_paper, 1),
            "speed_ratio_vs_paper_width": round(ms_paper / ms, 1),
            "threads": 2,
            "load_average_at_start": round(load, 2),
            "parameters": parameter_count(gan.net),
            "parameters_paper_width": parameter_count(paper),
            "network": gan.cfg.to_dict(),
            "trained": trained,
        },
        "device": "cpu",
    }
