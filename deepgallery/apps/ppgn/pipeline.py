"""From a class name to a grid of samples: validate the request, load C and the prior, run the chains."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...core.atomic import write_text
from ...core.errors import UserError
from ...core.media import read_image
from . import APP
from .classes import ClassChoice, match_class
from .classifier import class_names, load_classifier
from .prior import load_dae
from .render import save_grid
from .sampler import SamplerConfig, activation_maximisation, sample

METHODS = ("ppgn", "am")
MAX_SAMPLES, MAX_STEPS = 64, 5000


def check_request(class_name: str, samples: int, steps: int, method: str) -> ClassChoice:
    """All user-input checks that need no network: UserError (one line) before anything heavy loads."""
    if method not in METHODS:
        raise UserError(f"unknown method {method!r}: use 'ppgn' (the paper's sampler) or 'am' (baseline)")
    if not 1 <= int(samples) <= MAX_SAMPLES:
        raise UserError(f"samples must be between 1 and {MAX_SAMPLES}, got {samples}")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise UserError(f"steps must be between 1 and {MAX_STEPS}, got {steps}")
    return match_class(class_name, class_names())


def load_init(path: str | Path, size: int) -> torch.Tensor:
    """A start image (1, 3, size, size) in [0, 1]: the photo's centre square, resized."""
    from PIL import Image

    rgb = read_image(path, min_side=8)  # UserError for non-images
    h, w = rgb.shape[:2]
    s = min(h, w)
    crop = rgb[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    small = np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.LANCZOS))
    return torch.from_numpy(small.copy()).permute(2, 0, 1)[None].float() / 255.0


def load_prior(path: str | Path | None = None):
    """The DAE prior R at `path`; None: the shipped one."""
    return load_dae(path)


def generate(
    class_name: str,
    samples: int = 4,
    steps: int = 60,
    method: str = "ppgn",
    seed: int = 0,
    init: str | Path | None = None,
    cfg: SamplerConfig | None = None,
    prior_path: str | Path | None = None,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Run the sampler; returns {"choice", "images" (B, 3, S, S), "confidence" (B,), "top1", "cfg", ...}."""
    choice = check_request(class_name, samples, steps, method)
    cfg = replace(cfg or SamplerConfig(), steps=int(steps))
    if cfg.size % 4 or not 32 <= cfg.size <= 512:
        raise UserError(f"image size must be a multiple of 4 between 32 and 512, got {cfg.size}")
    start = load_init(init, cfg.size).to(device) if init else None
    classifier = load_classifier().to(device)
    prior = None
    if method == "ppgn":
        prior = load_prior(prior_path).to(device)
    else:
        cfg = activation_maximisation(cfg)
    out = sample(choice.index, int(samples), classifier, prior, cfg, seed=int(seed), init=start, device=device)
    out.update(choice=choice, cfg=cfg, method=method, seed=int(seed), classifier=classifier.source)
    return out


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON-able record of one run (what `result.json` holds)."""
    names = class_names()
    choice: ClassChoice = result["choice"]
    return {
        "class": choice.name, "class_index": choice.index, "matched_by": choice.how,
        "other_matches": list(choice.alternatives), "method": result["method"], "seed": result["seed"],
        "confidence": [round(float(c), 4) for c in result["confidence"]],
        "mean_confidence": round(float(result["confidence"].mean()), 4),
        "top1": [names[int(i)] for i in result["top1"]],
        "sampler": result["cfg"].to_dict(), "classifier": result["classifier"],
        "prior": APP.checkpoint("dae").name if result["method"] == "ppgn" else None,
    }


def write_outputs(result: dict[str, Any], out_png: str | Path) -> tuple[Path, Path, dict]:
    """Write the grid PNG and a JSON beside it (same stem); both atomic."""
    out_png = Path(out_png)
    if out_png.suffix.lower() != ".png":
        raise UserError(f"{out_png}: the output must be a .png file")
    record = summary(result)
    labels = [f"p={c:.2f} " + ("" if t == record["class"] else f"(top: {t})")
              for c, t in zip(record["confidence"], record["top1"], strict=True)]
    title = f"{record['method'].upper()}: {record['class']} (mean p={record['mean_confidence']:.2f})"
    save_grid(out_png, result["images"].cpu(), [label[:28] for label in labels], title=title)
    json_path = write_text(out_png.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return out_png, json_path, record


def diversity(features: torch.Tensor) -> float:
    """Mean pairwise cosine distance (1 − cos) between the samples' feature vectors (B, D); 0 for B < 2."""
    if features.shape[0] < 2:
        return 0.0
    f = F.normalize(features.flatten(1), dim=1)
    sim = f @ f.T  # (B, B)
    b = f.shape[0]
    off = sim[~torch.eye(b, dtype=torch.bool)]
    return float((1 - off).mean())
