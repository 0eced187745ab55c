"""The learned prior of PPGN-x: a denoising autoencoder (DAE) on images (Nguyen et al. 2017, Sec. 3.1).

A DAE trained to undo Gaussian noise learns the score of the data density: for small noise,
``R(x) - x ≈ σ² ∂log p(x)/∂x`` (Alain & Bengio 2014; the paper's justification for a DAE prior). The sampler
(``sampler.py``) uses ``R(x) - x`` as its first ("prior") term.

The network is a small two-level U-Net that predicts the noise and subtracts it (``R(x) = x - f(x)``).
It is fully convolutional, so a prior trained on 64×64 photo crops applies to any sampling resolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ...core import checkpoint
from ...core.config import option
from . import APP


@dataclass
class DAEConfig:
    width: int = option(16, "DAE channels at full resolution, x2 per level down (a multiple of 8)", minimum=8)
    # 16 channels: 218k params, the prior ships at 440 kB
    blocks: int = 2  # residual blocks at the lowest (1/4) resolution
    noise_min: float = 0.02  # smallest training noise std (pixels in [0, 1]): fine detail of the score
    noise_max: float = 0.30  # largest training noise std: lets R pull far-off samples (e.g. the start) back

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.GroupNorm(8, cout), nn.SiLU())


class _ResBlock(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(ch, ch), nn.Conv2d(ch, ch, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class DAE(nn.Module):
    """R(x): reconstruct a clean image from a noisy one. Input and output in [0, 1], shape (B, 3, H, W)."""

    def __init__(self, cfg: DAEConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or DAEConfig()
        w = self.cfg.width
        self.inp = _conv(3, w)  # (B, w, H, W)
        self.down1 = _conv(w, 2 * w, stride=2)  # (B, 2w, H/2, W/2)
        self.down2 = _conv(2 * w, 4 * w, stride=2)  # (B, 4w, H/4, W/4)
        self.mid = nn.Sequential(*[_ResBlock(4 * w) for _ in range(self.cfg.blocks)])
        self.up2 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(4 * w, 2 * w))
        self.fuse2 = _conv(4 * w, 2 * w)  # after concatenating the skip from down1
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(2 * w, w))
        self.fuse1 = _conv(2 * w, w)
        self.out = nn.Conv2d(w, 3, 3, 1, 1)  # predicted noise

    def noise(self, x: torch.Tensor) -> torch.Tensor:
        """f(x): the noise the network sees in x, (B, 3, H, W). H and W must be multiples of 4."""
        h0 = self.inp(x * 2 - 1)
        h1 = self.down1(h0)
        h2 = self.mid(self.down2(h1))
        u1 = self.fuse2(torch.cat([self.up2(h2), h1], 1))
        u0 = self.fuse1(torch.cat([self.up1(u1), h0], 1))
        return self.out(u0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.noise(x)


def add_noise(cfg: DAEConfig, clean: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x + σ n, σ ~ U[noise_min, noise_max] per image, n ~ N(0, I): the DAE's input (B, 3, H, W), drawn on the
    CPU from `generator` (so a batch is the same whatever device trains on it)."""
    b = clean.shape[0]
    lo, hi = cfg.noise_min, cfg.noise_max
    sigma = lo + (hi - lo) * torch.rand(b, 1, 1, 1, generator=generator)  # (B, 1, 1, 1)
    return clean + sigma * torch.randn(clean.shape, generator=generator)


def denoising_error(dae: nn.Module, noisy: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """The denoising objective ||R(x + σ n) - x||², a mean over pixels; float32 even when R ran under bf16
    autocast. `noisy` comes from `add_noise`."""
    return ((dae(noisy).float() - clean) ** 2).mean()


def load_dae(path: str | Path | None = None) -> DAE:
    """A trained prior R (eval mode, float32) from NAME.safetensors + NAME.json; None: the shipped one."""
    tensors, config, _ = checkpoint.load(path or APP.checkpoint("dae"),
                                         how_to_fix="train one with `deepgallery train ppgn`")
    dae = DAE(DAEConfig(**config["dae"]))
    dae.load_state_dict({k: v.float() for k, v in tensors.items()})
    return dae.eval()
