"""`deepgallery bench colorize`: the shipped network on held-out photos of the offline corpus (sources it never
trained on), beside the classical peer, Reinhard et al. 2001's global colour transfer from a reference.

Each held-out photo (longer side 512) is made grayscale (its L* alone) and colorized. Metrics:

* `psnr_ab` — PSNR (dB) of the predicted a*b* against the photo's own, both scaled as the network's target
  (a*b* / 220 + 1/2, so the peak is the whole a*b* range 220); `psnr_ab_gray` is the grayscale input's (a*b* =
  0), `psnr_ab_reinhard` the peer's, `psnr_ab_10hints` ours with 10 user hints taken from the truth (Zhang et
  al. 2017's protocol of revealed points, 5×5 patches), given to the network and spread as `run` does.
* `colorfulness_ratio` — Hasler & Süsstrunk 2003's colourfulness M = σ_rgyb + 0.3 μ_rgyb, mean over the
  colorized photos / mean over the originals (1: as colourful as real photos; MSE-trained colorizers, the
  paper's included, are known to give muted colours: < 1).
* `semantic_agreement` — Zhang et al. 2016's "semantic interpretability" test with the offline ImageNet
  classifier (EfficientNet-Lite0): the fraction of photos whose top-1 class on our colorized photo equals its
  top-1 on the original; `semantic_agreement_gray` the same for the grayscale input (the bar to beat),
  `semantic_agreement_reinhard` for the peer.
* `flicker` — a video (a held-out photo as the still background, a crop of another moving across it, film
  grain on every frame): the mean a*b* change per frame in still regions, ours with the flow-guided blending;
  `flicker_per_frame` the same network on every frame alone.
* `ms_512` — milliseconds to colorize a 512×512 photo on the CPU with 2 torch threads (median of 7), and
  `ms_512_reinhard` for the peer; measured in the same run (the load average at the start is in `config`).
  `cpu_ms_512` is the CPU time the process spent per photo (both threads): on a busy shared machine the wall
  time mostly measures the others' load; on an idle 2-core machine it lies between cpu_ms_512 / 2 and cpu_ms_512.

`--quick`: 8 photos instead of all held-out ones, 12 video frames instead of 24.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from ...core.runtime import torch_threads
from .color import AB_RANGE, ab_of, compose, lightness
from .hints import Hint
from .model import load_shipped, parameter_count
from .pipeline import predict_ab, temporal_ab
from .propagate import propagate
from .reinhard import ReinhardTransfer

BENCH_FULL = {"photos": 0, "frames": 24, "side": 512}
BENCH_QUICK = {"photos": 8, "frames": 12, "side": 512}
SEED = 2016


def psnr_ab(pred: np.ndarray, true: np.ndarray) -> float:
    """PSNR (dB) of a*b* on the network's target scale (peak = the a*b* range 2 · AB_RANGE)."""
    mse = float(np.mean(((pred - true) / (2 * AB_RANGE)) ** 2))
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003, Eq. 3: sqrt(σ_rg² + σ_yb²) + 0.3 sqrt(μ_rg² + μ_yb²) on RGB in 0..255."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _classifier():
    from ...core.backbones import efficientnet_lite0

    net, prep = efficientnet_lite0()

    @torch.no_grad()
    def top1(rgb: np.ndarray) -> int:
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255.0
        x = torch.nn.functional.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
        return int(net(prep.normalize(x)).argmax(1))

    return top1


def random_hints(rgb: np.ndarray, count: int, rng: np.random.Generator) -> list[Hint]:
    """`count` hints at random points with the photo's own colour there (mean of a 5×5 patch)."""
    h, w = rgb.shape[:2]
    hints = []
    for _ in range(count):
        y, x = int(rng.integers(2, h - 2)), int(rng.integers(2, w - 2))
        colour = rgb[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3).mean(0).round().astype(int)
        hints.append(Hint(float(x), float(y), (int(colour[0]), int(colour[1]), int(colour[2]))))
    return hints


def test_video(background: np.ndarray, thing: np.ndarray, frames: int, rng: np.random.Generator,
               size: tuple[int, int] = (256, 384)) -> list[np.ndarray]:
    """Frames (H, W, 3) uint8: `background` (centre crop) still, a 96×96 crop of `thing` moving across it from left
    to right, Gaussian film grain (σ = 3 grey levels) on every frame."""
    from PIL import Image

    h, w = size
    bh, bw = background.shape[:2]
    scale = max(h / bh, w / bw)
    bg = np.asarray(Image.fromarray(background).resize((int(np.ceil(bw * scale)), int(np.ceil(bh * scale)))))
    y0, x0 = (bg.shape[0] - h) // 2, (bg.shape[1] - w) // 2
    bg = bg[y0:y0 + h, x0:x0 + w]
    th, tw = thing.shape[:2]
    side = min(th, tw)
    patch = np.asarray(Image.fromarray(thing[(th - side) // 2:(th + side) // 2, (tw - side) // 2:(tw + side) // 2])
                       .resize((96, 96)))
    out = []
    for i in range(frames):
        frame = bg.astype(np.float32).copy()
        x = int(8 + (w - 112) * i / max(1, frames - 1))
        y = h // 2 - 48
        frame[y:y + 96, x:x + 96] = patch
        frame += rng.normal(0, 3.0, frame.shape[:2])[..., None]
        out.append(np.clip(frame, 0, 255).astype(np.uint8))
    return out


def bench(quick: bool = False) -> dict[str, Any]:
    from ...core.photos import corpus, load_rgb
    from .pipeline import flicker

    load = os.getloadavg()[0]
    plan = BENCH_QUICK if quick else BENCH_FULL
    colorizer = load_shipped()
    net = colorizer.net
    held = corpus("heldout")
    if plan["photos"]:
        held = held[:: max(1, len(held) // plan["photos"])][: plan["photos"]]
    photos = [load_rgb(r, plan["side"]) for r in held]
    peer = ReinhardTransfer([load_rgb(r, 256) for r in corpus("train")])
    top1 = _classifier()
    rng = np.random.default_rng(SEED)
    rows = {k: [] for k in ("ours", "gray", "reinhard", "hints")}
    color = {"truth": [], "ours": [], "reinhard": []}
    agree = {"ours": [], "gray": [], "reinhard": []}
    with torch_threads(2):
        for rgb in photos:
            L, ab_true = lightness(rgb), ab_of(rgb)
            ours_ab = predict_ab(net, L, None, plan["side"])
            peer_ab = peer.ab(L)
            hints = random_hints(rgb, 10, rng)
            hint_ab = propagate(L, predict_ab(net, L, hints, plan["side"]), hints)
            zero = np.zeros_like(ab_true)
            rows["ours"].append(psnr_ab(ours_ab, ab_true))
            rows["gray"].append(psnr_ab(zero, ab_true))
            rows["reinhard"].append(psnr_ab(peer_ab, ab_true))
            rows["hints"].append(psnr_ab(hint_ab, ab_true))
            ours_rgb, peer_rgb, gray_rgb = compose(L, ours_ab), compose(L, peer_ab), compose(L, zero)
            color["truth"].append(colorfulness(rgb))
            color["ours"].append(colorfulness(ours_rgb))
            color["reinhard"].append(colorfulness(peer_rgb))
            truth_class = top1(rgb)
            agree["ours"].append(top1(ours_rgb) == truth_class)
            agree["gray"].append(top1(gray_rgb) == truth_class)
            agree["reinhard"].append(top1(peer_rgb) == truth_class)
        frames = test_video(photos[0], photos[-1], plan["frames"], rng)
        Ls = [lightness(f) for f in frames]
        ours_t, alone = zip(*temporal_ab(net, Ls, plan["side"]), strict=True)
        square = np.ascontiguousarray(np.resize(photos[0], (512, 512, 3)) if min(photos[0].shape[:2]) < 512
                                      else photos[0][:512, :512])
        (ms, cpu_ms), (ms_peer, _) = (_ms(lambda: compose(lightness(square), predict_ab(net, lightness(square)))),
                                      _ms(lambda: compose(lightness(square), peer.ab(lightness(square)))))
    metrics = {
        "psnr_ab": round(float(np.mean(rows["ours"])), 2),
        "psnr_ab_gray": round(float(np.mean(rows["gray"])), 2),
        "psnr_ab_reinhard": round(float(np.mean(rows["reinhard"])), 2),
        "psnr_ab_10hints": round(float(np.mean(rows["hints"])), 2),
        "colorfulness_ratio": round(float(np.mean(color["ours"]) / np.mean(color["truth"])), 3),
        "colorfulness_ratio_reinhard": round(float(np.mean(color["reinhard"]) / np.mean(color["truth"])), 3),
        "semantic_agreement": round(float(np.mean(agree["ours"])), 3),
        "semantic_agreement_gray": round(float(np.mean(agree["gray"])), 3),
        "semantic_agreement_reinhard": round(float(np.mean(agree["reinhard"])), 3),
        "flicker": round(flicker(list(ours_t), Ls), 3),
        "flicker_per_frame": round(flicker(list(alone), Ls), 3),
        "ms_512": round(ms, 1),
        "cpu_ms_512": round(cpu_ms, 1),
        "ms_512_reinhard": round(ms_peer, 1),
    }
    print(", ".join(f"{k} {v}" for k, v in metrics.items()))
    return {"metrics": metrics, "device": "cpu",
            "config": {"heldout_photos": [f"{r.source}/{r.path.name}" for r in held], "side": plan["side"],
                       "video_frames": plan["frames"], "threads": 2, "load_average_at_start": round(load, 2),
                       "load_average_at_end": round(os.getloadavg()[0], 2),
                       "parameters": parameter_count(net), "width": net.cfg.width,
                       "trained": {k: v for k, v in colorizer.meta.items() if k != "photos"},
                       "peer": "Reinhard et al. 2001 global colour transfer in CIE L*a*b*, reference = the "
                               "training photo with the nearest L* mean and std",
                       "classifier": "EfficientNet-Lite0 (ImageNet), top-1 on the photo resized to 224x224"}}


def _ms(fn, repeats: int = 7) -> tuple[float, float]:
    """(wall ms, CPU ms of this process, all threads), medians: on a machine shared with other jobs the wall time
    grows with their load, the CPU time much less; on an idle 2-core machine the wall time lies between
    CPU/2 (both threads busy) and CPU."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000 * float(np.median(wall)), 1000 * float(np.median(cpu))
