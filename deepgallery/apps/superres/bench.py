"""`deepgallery bench superres`: the shipped model on Fashion-MNIST test images it never saw (7×7 → 28×28).

Metrics, as the paper contrasts them (Sec. 5, Table 2, on CelebA and LSUN bedrooms):

* `bits_per_dim`: the model's negative log-likelihood of the true 28×28 image given its 7×7 input, bits per
  subpixel (the paper reports NLL in its ablation of the conditioning and prior networks);
* `psnr_regression`: pSNR (dB, peak 255) of the L2-regression baseline's output against the truth;
* `psnr_sample`: pSNR of the best of k samples (the paper: samples are sharp but not the pixel average, so the
  regression wins on mean pSNR; the best of several samples closes the gap);
* `class_consistency_sample` / `class_consistency_regression`: the fraction of outputs that a CNN trained on the
  28×28 training images (the shipped "classifier" checkpoint, never trained on outputs) labels with the class of
  the original: a sample should keep the identity of the object (the paper's human study asked whether faces
  fooled people; this is the offline stand-in);
* `seconds_per_sample_naive` / `seconds_per_sample_cached`: one 28×28 sample, batch 1, one torch thread, the naive
  loop (whole prior network per subpixel) and Ramachandran et al. 2017's cached one, measured in the same run;
  `fast_sampling_speedup` is their ratio (the goal: at least 5×). Both give the same sample (checked here too).

The config also reports peers: the classifier's accuracy on the true images and on nearest/bicubic upsampled
inputs, their pSNR, and the load average at the start (the machine is shared). `--quick`: fewer images.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import torch
from torch.nn import functional as F

from ...core.runtime import progress, torch_threads
from . import APP
from .classifier import load_classifier
from .data import fashion_pairs
from .model import load_shipped, parameter_count, sample_cached, sample_naive, uniforms

BENCH_FULL = {"nll_images": 2000, "sample_images": 200, "k": 4, "temperature": 0.8, "speed_repeats": 2}
BENCH_QUICK = {"nll_images": 500, "sample_images": 50, "k": 4, "temperature": 0.8, "speed_repeats": 1}


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image pSNR in dB (peak 255) of uint8 batches (N, C, H, W)."""
    mse = (a.double() - b.double()).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255.0 ** 2 / mse.clamp(min=1e-10))


def bicubic(low: torch.Tensor, factor: int) -> torch.Tensor:
    up = F.interpolate(low.float(), scale_factor=factor, mode="bicubic", align_corners=False)
    return up.round().clamp(0, 255).to(torch.uint8)


def bench(quick: bool = False) -> dict[str, Any]:
    plan = BENCH_QUICK if quick else BENCH_FULL
    load_start = os.getloadavg()[0]
    shipped = load_shipped("fashion")
    model, regression, cfg = shipped.model, shipped.regression, shipped.cfg
    judge = load_classifier(APP.checkpoint("classifier"))
    test = fashion_pairs("t10k", factor=cfg.factor)
    # a fixed spread of the test set (every class), not its first images
    idx = torch.linspace(0, len(test) - 1, plan["nll_images"]).round().long()
    nll_set = test.subset(idx)
    sample_set = test.subset(idx[torch.linspace(0, len(idx) - 1, plan["sample_images"]).round().long()])
    k, temperature = plan["k"], plan["temperature"]
    with torch_threads(1), torch.no_grad():  # one thread: two spin-wait badly on a loaded machine
        nats = sum(model.losses(nll_set.low[i:i + 100], nll_set.high[i:i + 100])[1].item() * len(nll_set.low[i:i + 100])
                   for i in range(0, len(nll_set), 100)) / len(nll_set)
        regressed = regression.upscale(sample_set.low)
        regressed_all = regression.upscale(nll_set.low)
        low = sample_set.low.repeat_interleave(k, 0)  # (N·k, C, h, w): image i's k samples together
        start = time.perf_counter()
        with progress(total=cfg.high_size * math.ceil(len(low) / 100), desc=f"sampling {len(low)}") as bar:
            drawn = torch.cat([sample_cached(model, low[i:i + 100], temperature, seed=1 + i, progress=bar)
                               for i in range(0, len(low), 100)])  # (N·k, C, H, W)
        batched_seconds = time.perf_counter() - start
        truth = sample_set.high
        best = psnr(drawn, truth.repeat_interleave(k, 0)).view(-1, k).max(1).values
        labels = sample_set.labels
        consistent_sample = (judge.predict(drawn) == labels.repeat_interleave(k)).float().mean().item()
        consistent_regression = (judge.predict(regressed) == labels).float().mean().item()
        nearest = sample_set.low.repeat_interleave(cfg.factor, 2).repeat_interleave(cfg.factor, 3)
        cubic = bicubic(sample_set.low, cfg.factor)
        peers = {"classifier_accuracy_truth": (judge.predict(truth) == labels).float().mean().item(),
                 "class_consistency_nearest": (judge.predict(nearest) == labels).float().mean().item(),
                 "class_consistency_bicubic": (judge.predict(cubic) == labels).float().mean().item(),
                 "psnr_nearest": psnr(nearest, truth).mean().item(), "psnr_bicubic": psnr(cubic, truth).mean().item(),
                 "psnr_sample_mean": psnr(drawn, truth.repeat_interleave(k, 0)).mean().item(),
                 "psnr_regression_on_nll_images": psnr(regressed_all, nll_set.high).mean().item()}
    # speed: one sample, batch 1, one thread, both samplers on the same input and the same draws
    one = sample_set.low[:1]
    draws = uniforms(1, cfg, seed=7)
    naive_s, cached_s = [], []
    with torch_threads(1):
        for _ in range(plan["speed_repeats"]):
            start = time.perf_counter()
            a = sample_cached(model, one, 1.0, draws)
            cached_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            with progress(total=cfg.high_size, desc="naive sampler") as bar:
                b = sample_naive(model, one, 1.0, draws, progress=bar)
            naive_s.append(time.perf_counter() - start)
    naive, cached = min(naive_s), min(cached_s)
    metrics = {
        "bits_per_dim": round(nats / math.log(2), 4),
        "psnr_regression": round(psnr(regressed, truth).mean().item(), 3),
        "psnr_sample": round(best.mean().item(), 3),
        "class_consistency_sample": round(consistent_sample, 4),
        "class_consistency_regression": round(consistent_regression, 4),
        "seconds_per_sample_naive": round(naive, 3),
        "seconds_per_sample_cached": round(cached, 3),
        "fast_sampling_speedup": round(naive / cached, 2),
    }
    print(", ".join(f"{key} {value}" for key, value in metrics.items()))
    return {"metrics": metrics, "device": "cpu",
            "config": {"test": f"Fashion-MNIST t10k: {len(nll_set)} images spread over the split for bits_per_dim, "
                               f"{len(sample_set)} of them for the samples and the regression",
                       "samples_per_image": k, "temperature": temperature,
                       "samples_identical_naive_cached": bool(torch.equal(a, b)),
                       "batched_cached_seconds_per_sample": round(batched_seconds / len(drawn), 4),
                       "peers": {key: round(value, 4) for key, value in peers.items()},
                       "load_average_start": round(load_start, 2),
                       "parameters": parameter_count(model), "parameters_baseline": parameter_count(regression),
                       "model": cfg.to_dict(), "trained": shipped.meta,
                       "speed": "one 28×28 sample, batch 1, one torch thread, float32; best of "
                                f"{plan['speed_repeats']}"}}
