"""Magnifying a user's image: prepare it as the model's input, draw k samples, and lay out the grid PNG
(input, nearest neighbour, L2 regression, the samples), shown enlarged so 28-pixel images can be seen.

The model knows one input size (7×7 for the shipped one). A larger image is cut to its central square and
shrunk to that size by area averaging (said in a note), so the output is what the model imagines the small
image was; the original, shrunk to the output size, stands in the grid as the reference. Fashion-MNIST items are
light on black: an image on a light background (its border says so) is inverted for the model and back after.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ...core.errors import UserError
from ...core.media import read_image, save_image
from .model import Shipped, sample_cached, sample_naive

MIN_SIDE = 4  # pixels: below this an image holds nothing to magnify
SHOW = 4  # each output pixel is drawn as SHOW×SHOW in the grid


@dataclass
class Prepared:
    low: torch.Tensor  # (1, C, h, w) uint8, the model's input
    reference: np.ndarray | None  # (H, W[, 3]) uint8: the given image at the output size, when it was larger
    inverted: bool
    notes: list[str] = field(default_factory=list)


def _square(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = min(h, w)
    return rgb[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]


def _resize(img: np.ndarray, side: int) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.BOX))


def prepare(path: Path, shipped: Shipped, invert: str = "auto") -> Prepared:
    """An image file -> the model's (1, C, h, w) input; UserError for an unreadable or too small image."""
    cfg = shipped.cfg
    rgb = read_image(path)  # (H, W, 3)
    h, w = rgb.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise UserError(f"{path}: {w}×{h} is too small to magnify (at least {MIN_SIDE}×{MIN_SIDE}; the model reads "
                        f"{cfg.low_size}×{cfg.low_size})")
    img = rgb if cfg.channels == 3 else (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
                                         ).round().astype(np.uint8)
    notes = []
    if h != w:
        notes.append(f"cut to its central {min(h, w)}×{min(h, w)} square")
        img = _square(img)
    border = np.concatenate([img[0].ravel(), img[-1].ravel(), img[:, 0].ravel(), img[:, -1].ravel()])
    inverted = invert == "yes" or (invert == "auto" and cfg.channels == 1 and float(border.mean()) > 127)
    if inverted:
        img = 255 - img
        notes.append("inverted (the model knows light objects on black)")
    side = img.shape[0]
    reference = None
    if side != cfg.low_size:
        if side > cfg.low_size:
            notes.append(f"shrunk from {side}×{side} to the model's {cfg.low_size}×{cfg.low_size} input")
            reference = _resize(img, cfg.high_size) if side >= cfg.high_size else None
        else:
            notes.append(f"enlarged from {side}×{side} to the model's {cfg.low_size}×{cfg.low_size} input")
        img = _resize(img, cfg.low_size)
    low = torch.from_numpy(np.array(img[None, None] if img.ndim == 2 else img.transpose(2, 0, 1)[None]))
    return Prepared(low, reference, inverted, notes)


def upscale(shipped: Shipped, prepared: Prepared, samples: int, temperature: float, seed: int,
            naive: bool = False, progress=None) -> dict[str, np.ndarray]:
    """{"nearest", "regression" (if the checkpoint has the baseline), "samples" (k, H, W[, 3])} as uint8 images."""
    cfg = shipped.cfg
    low = prepared.low.repeat(samples, 1, 1, 1)
    sampler = sample_naive if naive else sample_cached
    with torch.no_grad():
        drawn = sampler(shipped.model, low, temperature, seed=seed, progress=progress)  # (k, C, H, W)
        regression = shipped.regression.upscale(prepared.low) if shipped.regression is not None else None
    nearest = prepared.low.repeat_interleave(cfg.factor, 2).repeat_interleave(cfg.factor, 3)

    def image(t: torch.Tensor) -> np.ndarray:  # (C, H, W) -> (H, W[, 3]), back to the user's polarity
        arr = t.numpy().transpose(1, 2, 0)
        arr = arr[:, :, 0] if arr.shape[2] == 1 else arr
        return 255 - arr if prepared.inverted else arr

    out = {"nearest": image(nearest[0]), "samples": np.stack([image(s) for s in drawn])}
    if regression is not None:
        out["regression"] = image(regression[0])
    if prepared.reference is not None:
        out["reference"] = 255 - prepared.reference if prepared.inverted else prepared.reference
    return out


def grid(images: dict[str, np.ndarray], temperature: float) -> np.ndarray:
    """One row: [reference], nearest, regression, samples; each enlarged SHOW× with a caption below. RGB uint8."""
    tiles = []
    if "reference" in images:
        tiles.append(("given", images["reference"]))
    tiles.append(("nearest", images["nearest"]))
    if "regression" in images:
        tiles.append(("L2 regr.", images["regression"]))
    tiles += [(f"T={temperature:g} #{i + 1}", s) for i, s in enumerate(images["samples"])]
    side = images["nearest"].shape[0] * SHOW
    gap, caption = 4, 14
    canvas = Image.new("RGB", (len(tiles) * (side + gap) + gap, side + 2 * gap + caption), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for i, (name, tile) in enumerate(tiles):
        big = Image.fromarray(tile).resize((side, side), Image.Resampling.NEAREST).convert("RGB")
        x = gap + i * (side + gap)
        canvas.paste(big, (x, gap))
        draw.text((x + 2, gap + side + 1), name, fill=(40, 40, 40))
    return np.asarray(canvas)


def run_one(path: Path, out: Path, shipped: Shipped, samples: int, temperature: float, seed: int,
            naive: bool = False, invert: str = "auto", progress=None) -> tuple[Path, list[str], float]:
    """Prepare, sample, write the grid atomically; returns (grid path, notes, seconds of sampling)."""
    prepared = prepare(path, shipped, invert)
    start = time.perf_counter()
    images = upscale(shipped, prepared, samples, temperature, seed, naive, progress)
    seconds = time.perf_counter() - start
    return save_image(out, grid(images, temperature)), prepared.notes, seconds
