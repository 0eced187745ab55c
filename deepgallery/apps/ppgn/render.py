"""The output picture: samples side by side, each with the classifier's confidence written under it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ...core.media import save_image


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def grid_image(images: torch.Tensor, labels: list[str], tile: int = 192, cols: int | None = None,
               title: str = "") -> np.ndarray:
    """images (B, 3, H, W) in [0, 1] -> one RGB uint8 picture (rows of tiles, a caption under each)."""
    b = images.shape[0]
    cols = cols or min(b, 4)
    rows = math.ceil(b / cols)
    cap, pad, head = 22, 6, (26 if title else 0)
    canvas = Image.new("RGB", (cols * (tile + pad) + pad, head + rows * (tile + cap + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((pad, 5), title, fill="black", font=_font(16))
    arr = (images.detach().clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)  # (B, H, W, 3)
    for i in range(b):
        r, c = divmod(i, cols)
        x0, y0 = pad + c * (tile + pad), head + pad + r * (tile + cap + pad)
        canvas.paste(Image.fromarray(arr[i]).resize((tile, tile), Image.Resampling.BICUBIC), (x0, y0))
        draw.text((x0 + 2, y0 + tile + 3), labels[i], fill="black", font=_font(14))
    return np.asarray(canvas)


def save_grid(path: str | Path, images: torch.Tensor, labels: list[str], title: str = "") -> Path:
    return save_image(path, grid_image(images, labels, title=title))
