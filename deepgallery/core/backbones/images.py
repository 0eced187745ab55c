"""Image <-> tensor helpers for the apps that optimise images through a backbone (style, deepdream, ppgn).

Images are RGB uint8 arrays (H, W, 3); tensors are float (1, 3, H, W) in [0, 1].
"""

from __future__ import annotations

import os

import numpy as np
import torch

from ..errors import UserError
from ..media import read_image, resize_max_side


def load_rgb(path: str | os.PathLike, *, max_side: int, min_side: int = 32, what: str = "image"
             ) -> tuple[np.ndarray, str]:
    """Read an image for an app: UserError if unreadable or under `min_side`; downscale above `max_side`.

    Returns (RGB uint8 (H, W, 3), note) — the note says when and why the image was downscaled ('' if not).
    """
    img = read_image(path, min_side=min_side)
    h, w = img.shape[:2]
    note = ""
    if max(h, w) > max_side:
        img = resize_max_side(img, max_side)
        note = f"{what} {os.path.basename(str(path))} is {w}x{h}; downscaled to {img.shape[1]}x{img.shape[0]} " \
               f"(limit {max_side} px on the longer side)"
    return img, note


def to_tensor(img: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.array(img, dtype=np.uint8, copy=True)).to(device).permute(2, 0, 1)[None].float() / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [0, 1] -> RGB uint8 (H, W, 3), clamped."""
    arr = x.detach().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
    return (arr * 255.0 + 0.5).astype(np.uint8)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of (B, C, H, W) to (H', W')."""
    shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
    return torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=shrink)


def fit_side(img: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is exactly `side` (up or down), aspect kept."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return img
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.LANCZOS))


def check_side(name: str, value: int, lo: int, hi: int) -> int:
    """A size option within [lo, hi], else a one-line UserError."""
    if not lo <= value <= hi:
        raise UserError(f"{name} must be between {lo} and {hi} pixels, got {value}")
    return value


def even(img: np.ndarray) -> np.ndarray:
    """Crop to even height and width (H.264 in MP4 needs them)."""
    h, w = img.shape[:2]
    return img[: h - h % 2, : w - w % 2]


def auto_threads(requested: int = 0) -> int:
    """Set and return PyTorch's CPU threads: `requested` if > 0; else 1 when the machine is oversubscribed
    (load average above the core count: intra-op threads then wait on each other, ~10x slower here),
    otherwise PyTorch's default."""
    import os

    if requested > 0:
        torch.set_num_threads(requested)
    else:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        if hasattr(os, "getloadavg") and os.getloadavg()[0] > cores:
            torch.set_num_threads(1)
    return torch.get_num_threads()
