"""Benchmark: PPGN-x vs plain activation maximisation on 10 ImageNet classes.

For each class and method, n chains from the same seeds. Metrics (means over classes):
  mean_confidence     p(y = c | x) of the final samples under the classifier they were made for
  diversity           mean pairwise cosine distance (1 − cos) of the samples' pooled 1280-d classifier
                      features, within a class (higher: more varied samples)
  jitter_confidence   p(y = c | x') where x' is the sample mirrored and shrunk to 7/8 size: fooling
                      images (adversarial high-frequency patterns) lose their class under such changes
  total_variation     mean absolute difference of neighbouring pixels (natural photos: `photo_tv`)
"""

from __future__ import annotations

import time
from typing import Any

import torch
import torch.nn.functional as F

from ...core.runtime import torch_threads
from .classifier import class_names, load_classifier
from .pipeline import diversity, load_prior
from .sampler import SamplerConfig, activation_maximisation, sample

CLASSES = ("goldfish", "tree frog", "jellyfish", "flamingo", "tabby cat", "monarch butterfly", "lighthouse",
           "school bus", "strawberry", "volcano")


def total_variation(x: torch.Tensor) -> float:
    """Mean |x_{i+1,j} − x_{i,j}| + |x_{i,j+1} − x_{i,j}| over (B, 3, H, W)."""
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def jittered(x: torch.Tensor) -> torch.Tensor:
    """Mirror and shrink to 7/8 (centre-padded with grey): a mild change that keeps a real object's class."""
    s = x.shape[-1]
    small = F.interpolate(x.flip(-1), size=(s * 7 // 8, s * 7 // 8), mode="bilinear", align_corners=False)
    pad = (s - small.shape[-1]) // 2
    return F.pad(small, [pad, s - small.shape[-1] - pad] * 2, value=0.5)


def photo_tv(size: int) -> float | None:
    """Total variation of the built-in photos' centre squares at the sampling size (a reference)."""
    from .data import builtin_photo_paths
    from .pipeline import load_init

    paths = [p for p in builtin_photo_paths() if p.suffix in (".png", ".jpg")][:8]
    if not paths:
        return None
    return total_variation(torch.cat([load_init(p, size) for p in paths]))


def bench(quick: bool = False) -> dict[str, Any]:
    """`deepgallery bench ppgn [--quick]`, on one CPU thread (small convolutions on a busy 2-core machine)."""
    with torch_threads(1):
        return _measure(quick)


def _measure(quick: bool) -> dict[str, Any]:
    n, steps, size = (3, 30, 96) if quick else (6, 80, 128)
    base = SamplerConfig(steps=steps, size=size)
    classifier, prior = load_classifier(), load_prior()
    names = class_names()
    metrics: dict[str, float] = {}
    for method, cfg, r in (("ppgn", base, prior), ("am", activation_maximisation(base), None)):
        conf, jconf, div, tv, secs = [], [], [], [], 0.0
        for k, cls in enumerate(CLASSES):
            target = names.index(cls)
            start = time.perf_counter()
            out = sample(target, n, classifier, r, cfg, seed=1000 + k)
            secs += time.perf_counter() - start
            x = out["images"]
            with torch.no_grad():
                jconf.append(float(F.softmax(classifier(jittered(x)), 1)[:, target].mean()))
                div.append(diversity(classifier.features(x)))
            conf.append(float(out["confidence"].mean()))
            tv.append(total_variation(x))
        metrics[f"{method}_mean_confidence"] = round(sum(conf) / len(conf), 4)
        metrics[f"{method}_diversity"] = round(sum(div) / len(div), 4)
        metrics[f"{method}_jitter_confidence"] = round(sum(jconf) / len(jconf), 4)
        metrics[f"{method}_total_variation"] = round(sum(tv) / len(tv), 4)
        metrics[f"{method}_seconds_per_sample"] = round(secs / (n * len(CLASSES)), 3)
    ref = photo_tv(base.size)
    if ref is not None:
        metrics["photo_total_variation"] = round(ref, 4)
    config = {"classes": list(CLASSES), "samples_per_class": n, "sampler": base.to_dict(),
              "classifier": classifier.source, "prior": "checkpoints/dae (PPGN-x DAE, fp16)",
              "threads": 1}
    return {"metrics": metrics, "config": config, "device": "cpu"}
