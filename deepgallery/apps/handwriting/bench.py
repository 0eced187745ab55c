"""`deepgallery bench handwriting`: the shipped synthesis network on writers and text it never saw.

- `nll_heldout`: nats per pen point (eq. 26 over the points, divided by their count) on lines by held-out
  simulated writers (ids >= synth.TRAIN_WRITERS), sampled like the training data. The paper reports nats per line
  on IAM-OnDB, which is not comparable (other data, other units);
- legibility: lines the network writes (run's defaults: style 1, bias 0.75 → `cer_generated`; bias 0 →
  `cer_generated_bias0`) drawn as PNG and read back by OCR (Tesseract 5, one text line, `--psm 7`); the character
  error rate is the edit distance to the asked text over its length. `cer_font`: the same texts in the clean
  Hershey font, timed and drawn the same way and read the same way: the floor the OCR itself sets;
- `ms_per_char`: CPU time to write one character (one torch thread), beside `ms_per_char_paper_size`, the
  paper's 3 x 400 network (random weights, same text) in the same run: `speed_ratio_vs_paper_size` is the ratio.
`--quick`: fewer lines and texts.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from ...core.runtime import torch_threads

TEXTS = [
    "the quick brown fox", "jumps over the lazy dog", "Handwriting is a sequence", "of pen strokes in time",
    "Recurrent networks", "write one point at a time", "a soft window reads", "the text as it goes",
    "Bias makes it neat", "Priming copies a style", "Seven small words here.", "numbers like 42 and 17",
    "Meet me at noon", "Where is the station?", "Please write back soon", "a mixture of Gaussians",
    "long short term memory", "This is not my hand", "but it could be yours", "paper, pen and ink",
]
BENCH_FULL = {"heldout_lines": 128, "texts": 20}
BENCH_QUICK = {"heldout_lines": 32, "texts": 6}


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def cer(read: str, truth: str) -> float:
    return edit_distance(" ".join(read.split()), truth) / max(len(truth), 1)


def ocr(strokes: list[np.ndarray]) -> str:
    """Tesseract's reading of the strokes drawn 96 px tall (a single text line)."""
    import pytesseract
    from PIL import Image

    from .render import raster

    img = Image.fromarray(raster(strokes, height=96, margin=16, width=3.0))
    return pytesseract.image_to_string(img, config="--psm 7").strip()


def _written(model, texts: list[str], bias: float, style: int = 1) -> tuple[list, float]:
    from .writer import prepare, sample

    out, seconds, chars = [], 0.0, 0
    for i, text in enumerate(texts):
        req = prepare(model, text, style, bias, seed=i)
        start = time.perf_counter()
        out.append(sample(model, req).strokes)
        seconds += time.perf_counter() - start
        chars += len(text)
    return out, 1000 * seconds / max(chars, 1)


def bench(quick: bool = False) -> dict[str, Any]:
    from .data import synthetic
    from .model import NetConfig, SynthesisNet, load_shipped, write
    from .synth import clean_line
    from .train import Pool, heldout_nll

    plan = BENCH_QUICK if quick else BENCH_FULL
    load = os.getloadavg()[0]
    model = load_shipped()
    cfg = model.cfg
    texts = TEXTS[:plan["texts"]]
    with torch_threads(1):
        offsets, lines_text, writers = synthetic(plan["heldout_lines"], heldout=True, seed=2013, rate=cfg.rate,
                                                 max_chars=24)
        nll = heldout_nll(model.net, Pool(offsets, lines_text), batch=16)
        default, ms_per_char = _written(model, texts, bias=0.75)
        raw, _ = _written(model, texts, bias=0.0)
        paper = SynthesisNet(NetConfig(alphabet=cfg.alphabet, hidden=400, layers=3, window=10, mixtures=20,
                                       scale=cfg.scale, rate=cfg.rate, line_height=cfg.line_height))
        torch.manual_seed(0)
        start, chars = time.perf_counter(), 0
        for text in texts[:3]:  # random weights do not stop on their own: a fixed number of points per character
            write(paper, text, bias=0.75, max_steps=12 * len(text))
            chars += len(text)
        ms_paper = 1000 * (time.perf_counter() - start) / chars
    font = [[s[:, :2] for s in clean_line(t)] for t in texts]
    readings = {name: [ocr(s) for s in lines] for name, lines in
                (("default", default), ("bias0", raw), ("font", font))}
    mean_cer = {name: float(np.mean([cer(r, t) for r, t in zip(reads, texts, strict=True)]))
                for name, reads in readings.items()}
    metrics = {
        "nll_heldout": round(nll, 4),
        "cer_generated": round(mean_cer["default"], 4),
        "cer_generated_bias0": round(mean_cer["bias0"], 4),
        "cer_font": round(mean_cer["font"], 4),
        "ms_per_char": round(ms_per_char, 2),
        "ms_per_char_paper_size": round(ms_paper, 2),
        "speed_ratio_vs_paper_size": round(ms_paper / ms_per_char, 2),
    }
    print(", ".join(f"{k} {v}" for k, v in metrics.items()))
    return {"metrics": metrics, "device": "cpu",
            "config": {"heldout": f"{plan['heldout_lines']} lines by held-out simulated writers (ids {min(writers)}-"
                                  f"{max(writers)}), {cfg.rate:g} points/s, seed 2013",
                       "texts": texts, "ocr": "Tesseract 5 (pytesseract), --psm 7, 96 px line",
                       "style": 1, "bias_default": 0.75, "load_average_at_start": round(load, 2),
                       "speed": "one torch thread, float32, batch 1, sampling until the window passes the text",
                       "readings": {k: v[:6] for k, v in readings.items()},
                       "trained": model.meta}}
