"""User colour hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors").

A hint is a small square patch whose a*b* the user fixes. The network gets them as three extra input channels:
the hint a*b* / AB_RANGE (0 outside hints) and a mask (1 on hinted pixels). Zhang et al. train by revealing the
ground-truth colour in random patches (Sec. 3.1: the number of points drawn from a geometric distribution, patch
sizes 1×1 to 9×9, each patch showing the *mean* colour of the truth under it), so one network colorizes with no
hints and follows them when given. `simulate` does that for a batch; `rasterize` turns the user's
``x,y,#RRGGBB`` points into the same channels; `parse` reads them from the command line or the web page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...core.errors import UserError
from .color import AB_RANGE, rgb_to_lab

PATCH_SIZES = (1, 3, 5, 7, 9)  # Zhang et al.'s patch sides, at the training crops' scale
_HINT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*,\s*#?([0-9a-fA-F]{6})\s*$")


@dataclass(frozen=True)
class Hint:
    """A point of the input image (pixels, x to the right, y down) that should have colour `rgb`."""

    x: float
    y: float
    rgb: tuple[int, int, int]

    def __str__(self) -> str:
        return f"{self.x:g},{self.y:g},#{self.rgb[0]:02x}{self.rgb[1]:02x}{self.rgb[2]:02x}"

    @property
    def ab(self) -> tuple[float, float]:
        rgb = torch.tensor(self.rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255.0
        lab = rgb_to_lab(rgb)[0, :, 0, 0]
        return float(lab[1]), float(lab[2])


def parse(items: str | list[str] | None) -> list[Hint]:
    """Hints from ``"x,y,#RRGGBB"`` strings (a list, or one string with ``;`` or new lines between points)."""
    if not items:
        return []
    if isinstance(items, str):
        items = [items]
    hints = []
    for item in items:
        for text in re.split(r"[;\n]", item):
            if not text.strip():
                continue
            m = _HINT.match(text)
            if m is None:
                raise UserError(f"hint {text.strip()!r} is not x,y,#RRGGBB (e.g. 120,80,#d03020)")
            colour = m.group(3)
            hints.append(Hint(float(m.group(1)), float(m.group(2)),
                              (int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16))))
    return hints


def check_inside(hints: list[Hint], width: int, height: int) -> None:
    """A hint outside the picture is the user's mistake: one line saying where the picture ends."""
    for h in hints:
        if not (0 <= h.x < width and 0 <= h.y < height):
            raise UserError(f"hint {h} lies outside the {width}x{height} image (x must be 0..{width - 1}, "
                            f"y 0..{height - 1})")


def rasterize(hints: list[Hint], height: int, width: int, scale: float = 1.0, patch: int = 5) -> torch.Tensor:
    """The hint channels (1, 3, height, width) for `hints` given in the original image's pixels; `scale` maps
    them to the network input's grid (its side / the original's). Each hint is a `patch`-pixel square."""
    out = torch.zeros(1, 3, height, width)
    r = patch // 2
    for h in hints:
        x, y = int(round(h.x * scale)), int(round(h.y * scale))
        x, y = min(max(x, 0), width - 1), min(max(y, 0), height - 1)
        a, b = h.ab
        ys, xs = slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1)
        out[0, 0, ys, xs] = a / AB_RANGE
        out[0, 1, ys, xs] = b / AB_RANGE
        out[0, 2, ys, xs] = 1.0
    return out


def simulate(ab: torch.Tensor, generators: list[torch.Generator], p_none: float = 0.5, p_geometric: float = 1 / 8,
             max_hints: int = 32) -> torch.Tensor:
    """Random hints from the ground truth a*b* (B, 2, H, W): the channels (B, 3, H, W) the network is trained with.

    Each image gets none with probability `p_none`, else 1 + Geometric(`p_geometric`) patches (at most
    `max_hints`), uniformly placed, of a side drawn from PATCH_SIZES, each showing the mean a*b* under it.
    Image i's draws come from `generators[i]` (CPU), so an image gets the same hints whatever batch it is in
    and on whatever device; the pixel work is batched on `ab`'s device.
    """
    B, _, H, W = ab.shape
    dev = ab.device
    K = max_hints
    draws = []
    for gen in generators:  # a few numbers per image
        none = bool(torch.rand((), generator=gen) < p_none)
        u = float(torch.rand((), generator=gen).clamp(min=1e-6))
        count = 0 if none else min(K, 1 + int(np.floor(np.log(u) / np.log(1 - p_geometric))))
        ys, xs = torch.randint(0, H, (K,), generator=gen), torch.randint(0, W, (K,), generator=gen)
        which = torch.randint(0, len(PATCH_SIZES), (K,), generator=gen)
        draws.append((count, ys, xs, which))
    counts = torch.tensor([d[0] for d in draws])
    ys = torch.stack([d[1] for d in draws]).to(dev)  # (B, K)
    xs = torch.stack([d[2] for d in draws]).to(dev)
    which = torch.stack([d[3] for d in draws]).to(dev)
    sizes = torch.tensor(PATCH_SIZES, device=dev)[which]  # (B, K)
    active = (torch.arange(K)[None, :] < counts[:, None]).to(dev)  # (B, K)
    # the mean a*b* of a patch of each size around every pixel, read at the hint centres
    means = torch.stack([F.avg_pool2d(ab, s, 1, s // 2, count_include_pad=False) for s in PATCH_SIZES])  # (S,B,2,H,W)
    b_idx = torch.arange(B, device=dev)[:, None].expand(B, K)
    colours = means[which, b_idx, :, ys, xs]  # (B, K, 2)
    yy = torch.arange(H, device=dev).view(1, 1, H, 1)
    xx = torch.arange(W, device=dev).view(1, 1, 1, W)
    r = (sizes // 2).view(B, K, 1, 1)
    boxes = ((yy - ys.view(B, K, 1, 1)).abs() <= r) & ((xx - xs.view(B, K, 1, 1)).abs() <= r)
    boxes = (boxes & active.view(B, K, 1, 1)).float()  # (B, K, H, W)
    cover = boxes.sum(1, keepdim=True)  # (B, 1, H, W): overlapping patches are averaged
    hint_ab = torch.einsum("bkhw,bkc->bchw", boxes, colours) / cover.clamp(min=1)
    mask = (cover > 0).float()
    return torch.cat([hint_ab / AB_RANGE * mask, mask], dim=1)  # (B, 3, H, W)
