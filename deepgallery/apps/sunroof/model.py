"""The roof finder: a U-Net (Ronneberger et al. 2015) over the orthophoto's RGB and channels derived from the DSM
(data.py), giving ground / roof / tree per cell. One network serves both cases: during training the photo is
dropped at random (its channels zeroed and the "photo present" channel 0), so without a photo it reads the
DSM alone.

Shape of the network (Section 2 of the U-Net paper, at a quarter of its width and three levels deep):
    encoder: [conv3x3 → GroupNorm → ReLU] x 2, then 2x2 max pooling, channels w, 2w, 4w, 8w at the bottom
    decoder: 2x2 transposed convolution up, concatenation with the encoder's features at that size (the skip
             connections that keep roof edges sharp), [conv3x3 → GroupNorm → ReLU] x 2
    head:    1x1 convolution to the three classes' logits
GroupNorm instead of BatchNorm: no batch statistics, so N processes under torchrun take one process's step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from ...core import checkpoint
from . import APP
from .data import CHANNELS
from .scene import CLASSES


@dataclass
class NetConfig:
    width: int = 16  # channels of the first level
    depth: int = 3  # poolings (the paper: 4)
    in_channels: int = CHANNELS
    classes: int = len(CLASSES)

    def to_dict(self) -> dict:
        return asdict(self)


def block(cin: int, cout: int) -> nn.Sequential:
    groups = math.gcd(8, cout)
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.GroupNorm(groups, cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.GroupNorm(groups, cout), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        widths = [cfg.width * 2 ** i for i in range(cfg.depth + 1)]
        self.down = nn.ModuleList([block(cfg.in_channels, widths[0])] +
                                  [block(widths[i - 1], widths[i]) for i in range(1, cfg.depth + 1)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i], widths[i - 1], 2, stride=2)
                                 for i in range(cfg.depth, 0, -1)])
        self.merge = nn.ModuleList([block(2 * widths[i - 1], widths[i - 1]) for i in range(cfg.depth, 0, -1)])
        self.head = nn.Conv2d(widths[0], cfg.classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 8, H, W) with H, W multiples of 2^depth → (B, classes, H, W) logits."""
        skips = []
        for i, down in enumerate(self.down):
            x = down(x if i == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()  # the bottom, (B, 8w, H/8, W/8)
        for up, merge in zip(self.up, self.merge, strict=True):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))  # (B, w_i, H_i, W_i)
        return self.head(x)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


class RoofNet:
    """A trained U-Net and what it was trained on; `predict` labels a whole raster in overlapping tiles."""

    def __init__(self, net: UNet, meta: dict):
        self.net, self.meta = net.eval(), meta

    @torch.no_grad()
    def probabilities(self, x: np.ndarray, tile: int = 256, overlap: int = 32, device: str = "cpu") -> np.ndarray:
        """(8, H, W) features → (3, H, W) class probabilities; tiles blended with a smooth window."""
        c, h, w = x.shape
        m = 2 ** self.net.cfg.depth
        tile = max(m, min(tile, ((max(h, w) + m - 1) // m) * m))
        ph, pw = max(0, tile - h), max(0, tile - w)
        xp = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")
        H, W = xp.shape[1:]
        out = np.zeros((self.net.cfg.classes, H, W), np.float32)
        weight = np.zeros((H, W), np.float32)
        ramp = np.minimum(np.arange(tile) + 1, np.arange(tile)[::-1] + 1).astype(np.float32)
        window = np.minimum(np.minimum.outer(ramp, ramp), overlap).astype(np.float32)
        step = max(1, tile - overlap)
        rows = sorted({*range(0, max(1, H - tile + 1), step), H - tile})
        cols = sorted({*range(0, max(1, W - tile + 1), step), W - tile})
        net = self.net.to(device)
        for r in rows:
            for cc in cols:
                t = torch.from_numpy(np.ascontiguousarray(xp[:, r:r + tile, cc:cc + tile]))[None].to(device)
                p = torch.softmax(net(t), dim=1)[0].float().cpu().numpy()
                out[:, r:r + tile, cc:cc + tile] += p * window
                weight[r:r + tile, cc:cc + tile] += window
        return (out / np.maximum(weight, 1e-6))[:, :h, :w]

    def predict(self, x: np.ndarray, **kw) -> np.ndarray:
        """(H, W) uint8 class per cell."""
        return self.probabilities(x, **kw).argmax(0).astype(np.uint8)


def load(path) -> RoofNet:
    tensors, config, meta = checkpoint.load(path, how_to_fix="give a checkpoint written by `deepgallery train sunroof`")
    net = UNet(NetConfig(**config["net"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return RoofNet(net, meta)


def load_shipped(name: str = "roofnet") -> RoofNet:
    return load(APP.checkpoint(name))
