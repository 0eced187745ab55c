"""Pixel Recursive Super Resolution (Dahl, Norouzi & Shlens, ICCV 2017, arXiv 1702.00783), Section 3.

A low-resolution image x (here 7×7 or 8×8) has many plausible high-resolution images y (28×28 or 32×32). The
paper models them with a distribution over y, factorised pixel by pixel in raster order (eq. 5 of the paper's
Section 3.2), channel by channel within a pixel (R, then G, then B; grey images have one channel):

    p(y | x) = Π_i p(y_i | x, y_<i),     p(y_i | x, y_<i) = softmax(A_i(x) + B_i(y_<i))                   (Sec. 3)

over the 256 intensities of each subpixel i. Two networks give the two sets of logits, which are simply added:

* the **conditioning network** A(x): a ResNet on the low-resolution input, brought to the output grid by
  transposed convolutions, with 256 logits per output subpixel; it sees x, not y;
* the **prior network** B(y_<i): a PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
  PixelCNN Decoders") of gated, masked convolutions over y, which sees only the subpixels before i.

Training maximises the log-likelihood, i.e. minimises the cross-entropy of softmax(A + B) with the true
intensities; the paper adds the cross-entropy of softmax(A) alone (Sec. 3.2: without it the conditioning network
was largely ignored, the prior doing all the work). Sampling draws the subpixels one by one from
softmax((A + B) / T), with temperature T (Sec. 4: T below 1 gives cleaner, less varied samples; T = 0 is the
most likely intensity each time).

The paper's **L2 regression baseline** is the same conditioning ResNet predicting one value per subpixel,
trained with the mean squared error (Sec. 4, "ResNet L2").

Sampling needs one pass per subpixel. `sample_naive` runs the whole prior network on the whole canvas for every
subpixel; `sample_cached` is Ramachandran et al. 2017 ("Fast Generation for Convolutional Autoregressive
Models"): each layer keeps a cache of the inputs its next outputs need (the last rows for the vertical stack,
the current row for the horizontal stack), so a new subpixel costs one column of each layer. Both take the same
uniform draws and give the same samples (tested).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ...core import checkpoint
from ...core.errors import UserError

LEVELS = 256  # intensities of a subpixel: the softmax of Sec. 3 has 256 ways


@dataclass
class ModelConfig:
    """The two networks' sizes. The paper (CelebA 8×8 → 32×32, RGB) used a much larger prior (Sec. 4: 20
    gated layers) and conditioning ResNet; the defaults fit a CPU budget on Fashion-MNIST 7×7 → 28×28."""

    channels: int = 1  # subpixels per pixel: 1 grey, 3 RGB
    low_size: int = 7  # side of the low-resolution input
    factor: int = 4  # magnification, a power of two (the paper: 4)
    cond_width: int = 32  # channels of the conditioning ResNet
    cond_blocks: int = 2  # ResNet blocks at each resolution (the input's, then after each ×2 upsampling)
    prior_width: int = 32  # channels of each gated PixelCNN layer (per stack)
    prior_layers: int = 8  # gated layers of the prior (the paper: 20)
    kernel: int = 5  # side of the gated layers' masked kernels (odd)
    head_width: int = 64  # the 1×1 layer between the prior's last gated layer and its logits

    @property
    def high_size(self) -> int:
        return self.low_size * self.factor

    def check(self) -> ModelConfig:
        if self.channels not in (1, 3):
            raise UserError(f"channels must be 1 (grey) or 3 (RGB), got {self.channels}")
        if self.factor < 2 or self.factor & (self.factor - 1):
            raise UserError(f"the magnification must be a power of two >= 2, got {self.factor}")
        if self.kernel < 3 or self.kernel % 2 == 0:
            raise UserError(f"the kernel must be odd and >= 3, got {self.kernel}")
        for name in ("prior_width", "head_width"):
            if getattr(self, name) % self.channels:
                raise UserError(f"{name} must be a multiple of the {self.channels} channels")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_unit(y: torch.Tensor) -> torch.Tensor:
    """Intensities 0..255 (any dtype) -> the networks' input scale [-1, 1]."""
    return y.float() / 127.5 - 1.0 if not y.is_floating_point() else y / 127.5 - 1.0


# ------------------------------------------------------------------------------ the conditioning network A(x)


class ResBlock(nn.Module):
    """A pre-activation ResNet block (He et al. 2016): x + conv(relu(norm(conv(relu(norm(x)))))). GroupNorm
    instead of the paper's batch normalisation: no batch statistics, so N processes take one process's step."""

    def __init__(self, width: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, width), width), nn.Conv2d(width, width, 3, padding=1)
        self.norm2, self.conv2 = nn.GroupNorm(min(8, width), width), nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))


class ConditioningResNet(nn.Module):
    """Sec. 3.1: the low-resolution input through ResNet blocks, upsampled ×2 at a time by transposed
    convolutions (each followed by more blocks) to the output grid, then a 1×1 convolution to `out` maps per
    output pixel: 256 logits per subpixel for the model (A_i), or the subpixel values for the L2 baseline."""

    def __init__(self, cfg: ModelConfig, out: int):
        super().__init__()
        w = cfg.cond_width
        self.stem = nn.Conv2d(cfg.channels, w, 3, padding=1)
        stages: list[nn.Module] = [nn.Sequential(*[ResBlock(w) for _ in range(cfg.cond_blocks)])]
        for _ in range(int(math.log2(cfg.factor))):
            stages.append(nn.Sequential(nn.ConvTranspose2d(w, w, 4, stride=2, padding=1), nn.ReLU(),
                                        *[ResBlock(w) for _ in range(cfg.cond_blocks)]))
        self.stages = nn.Sequential(*stages)
        self.out = nn.Conv2d(w, out, 1)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) in [-1, 1] -> (B, out, h·factor, w·factor)."""
        return self.out(F.relu(self.stages(self.stem(low))))


# --------------------------------------------------------------------------------- the prior network B(y_<i)


def channel_groups(n: int, groups: int) -> torch.Tensor:
    """Which subpixel (0: R or grey, 1: G, 2: B) each of `n` feature maps belongs to: `groups` contiguous blocks.
    A feature of group g at pixel i may depend on subpixels 0..g of pixel i (van den Oord et al. 2016a, Sec. 3.4's
    mask B) or 0..g-1 (mask A, the first layer), and on every subpixel of the pixels before i."""
    return torch.arange(n) * groups // n


class CausalRowConv(nn.Module):
    """A 1×`width` convolution over the current pixel and the `width`-1 pixels to its left, with the channel mask
    at the current pixel (Sec. 3.4 of PixelRNN): the horizontal stack's convolution (width k//2+1) and the masked
    1×1 convolutions (width 1). `in_groups`/`out_groups` give each map's subpixel; `strict` is mask A."""

    def __init__(self, cin: int, cout: int, width: int, in_groups: torch.Tensor, out_groups: torch.Tensor,
                 strict: bool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, (1, width))
        mask = torch.ones(cout, cin, 1, width)
        allowed = (in_groups[None, :] < out_groups[:, None]) if strict else (in_groups[None, :] <= out_groups[:, None])
        mask[:, :, 0, -1] = allowed.float()  # the current pixel: only the subpixels already known
        self.register_buffer("mask", mask, persistent=False)
        self.width = width

    def weight(self) -> torch.Tensor:
        return self.conv.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, H, W) -> (B, cout, H, W); output pixel (r, c) sees input pixels (r, c-width+1 .. c)."""
        return F.conv2d(F.pad(x, (self.width - 1, 0, 0, 0)), self.weight(), self.conv.bias)


def gate(x: torch.Tensor) -> torch.Tensor:
    """The gated activation unit of van den Oord et al. 2016b (eq. 2): tanh(W_f * x) ⊙ σ(W_g * x), the two
    halves of the channel axis being the two convolutions' outputs (groups aligned). (B, 2w, ...) -> (B, w, ...)"""
    f, g = x.chunk(2, dim=1)
    return torch.tanh(f) * torch.sigmoid(g)


class GatedLayer(nn.Module):
    """One gated PixelCNN layer (van den Oord et al. 2016b, Fig. 2): a vertical stack that sees the rows above
    (a (k//2+1)×k convolution over rows r-k//2..r, used one row lower, so strictly above) and a horizontal stack
    that sees the pixels to the left in the current row plus the vertical stack through a 1×1 convolution. The
    two stacks together have no blind spot. The horizontal stack is residual after the first layer."""

    def __init__(self, cin: int, width: int, kernel: int, channels: int, first: bool):
        super().__init__()
        self.pad = kernel // 2
        self.first = first
        out_groups = torch.cat([channel_groups(width, channels)] * 2)  # [f | g] halves, aligned
        self.v_conv = nn.Conv2d(cin, 2 * width, (self.pad + 1, kernel))
        self.v_to_h = nn.Conv2d(2 * width, 2 * width, 1)  # from rows above only: no channel mask needed
        self.h_conv = CausalRowConv(cin, 2 * width, self.pad + 1, channel_groups(cin, channels), out_groups,
                                    strict=first)
        groups = channel_groups(width, channels)
        self.h_out = CausalRowConv(width, width, 1, groups, groups, strict=False)

    def vertical(self, v: torch.Tensor) -> torch.Tensor:
        """(B, cin, H, W) -> pre-activations (B, 2w, H, W); row r sees input rows r-k//2..r (all columns ±k//2)."""
        return self.v_conv(F.pad(v, (self.pad, self.pad, self.pad, 0)))

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_pre = self.vertical(v)  # (B, 2w, H, W)
        above = F.pad(v_pre, (0, 0, 1, 0))[:, :, :-1]  # shifted down one row: row r gets rows < r only
        h_pre = self.h_conv(h) + self.v_to_h(above)  # (B, 2w, H, W)
        h_new = self.h_out(gate(h_pre))  # (B, w, H, W)
        return gate(v_pre), h_new if self.first else h + h_new


class PixelCNNPrior(nn.Module):
    """Sec. 3.2: gated PixelCNN layers over y, then ReLU, a masked 1×1 layer, ReLU and a masked 1×1 layer to 256
    logits per subpixel: B_i(y_<i)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, w = cfg.channels, cfg.prior_width
        self.channels = c
        self.layers = nn.ModuleList([GatedLayer(c if i == 0 else w, w, cfg.kernel, c, first=i == 0)
                                     for i in range(cfg.prior_layers)])
        self.head1 = CausalRowConv(w, cfg.head_width, 1, channel_groups(w, c), channel_groups(cfg.head_width, c),
                                   strict=False)
        self.head2 = CausalRowConv(cfg.head_width, c * LEVELS, 1, channel_groups(cfg.head_width, c),
                                   channel_groups(c * LEVELS, c), strict=False)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.head2(F.relu(self.head1(F.relu(h))))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """y (B, C, H, W) in [-1, 1] -> logits (B, 256, C, H, W)."""
        v = h = y
        for layer in self.layers:
            v, h = layer(v, h)
        out = self.head(h)  # (B, C·256, H, W), subpixel c's logits in block c
        b, _, hh, ww = out.shape
        return out.view(b, self.channels, LEVELS, hh, ww).transpose(1, 2)


# ------------------------------------------------------------------------------------------- the two models


class PixelRecursiveSR(nn.Module):
    """The paper's model: logits A(x) + B(y_<i) (Sec. 3), trained with the cross-entropy of the sum plus that of
    A alone."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.check()
        self.conditioning = ConditioningResNet(cfg, cfg.channels * LEVELS)
        self.prior = PixelCNNPrior(cfg)

    def conditioning_logits(self, low: torch.Tensor) -> torch.Tensor:
        """low (B, C, h, w) uint8 or [0, 255] -> A (B, 256, C, H, W)."""
        a = self.conditioning(to_unit(low))
        b, _, hh, ww = a.shape
        return a.view(b, self.cfg.channels, LEVELS, hh, ww).transpose(1, 2)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, B) logits, each (B, 256, C, H, W), for teacher forcing on the true high-resolution image."""
        return self.conditioning_logits(low), self.prior(to_unit(high))

    def losses(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the training loss, the model's negative log-likelihood in nats per subpixel), both batch means:
        CE(softmax(A + B), y) + CE(softmax(A), y) (Sec. 3.2)."""
        a, b = self(low, high)
        target = high.long()  # (B, C, H, W)
        nll = F.cross_entropy(a + b, target)
        return nll + F.cross_entropy(a, target), nll


class RegressionSR(nn.Module):
    """The L2 regression baseline (Sec. 4, "ResNet L2"): the same conditioning ResNet, one output per subpixel."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg.check()
        self.conditioning = ConditioningResNet(cfg, cfg.channels)

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        """low (B, C, h, w) in 0..255 -> the predicted high-resolution image (B, C, H, W) in [-1, 1] units."""
        return self.conditioning(to_unit(low))

    def loss(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self(low), to_unit(high))

    @torch.no_grad()
    def upscale(self, low: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) -> (B, C, H, W) uint8."""
        return ((self(low).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# -------------------------------------------------------------------------------------------------- sampling


def uniforms(batch: int, cfg: ModelConfig, seed: int) -> torch.Tensor:
    """The random draws of one sampling run, (B, H, W, C) uniforms in [0, 1): one per subpixel, drawn up front
    so the naive and the cached loop consume exactly the same ones."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, cfg.high_size, cfg.high_size, cfg.channels, generator=gen, dtype=torch.float64)


def pick(logits: torch.Tensor, temperature: float, u: torch.Tensor) -> torch.Tensor:
    """One intensity per row of logits (B, 256): inverse-CDF sampling of softmax(logits / T) with the uniforms u
    (B,); T = 0 takes the most likely intensity."""
    if temperature <= 0:
        return logits.argmax(dim=1)
    p = torch.softmax(logits.double() / temperature, dim=1)
    cdf = p.cumsum(dim=1)
    return (cdf < u[:, None] * cdf[:, -1:]).sum(dim=1).clamp(max=LEVELS - 1)


@torch.no_grad()
def sample_naive(model: PixelRecursiveSR, low: torch.Tensor, temperature: float = 1.0,
                 draws: torch.Tensor | None = None, seed: int = 0, progress=None) -> torch.Tensor:
    """Samples (B, C, H, W) uint8 by running the whole prior network on the whole canvas for every subpixel (the
    conditioning logits do not depend on y and are computed once)."""
    cfg = model.cfg
    n, size, c = low.shape[0], cfg.high_size, cfg.channels
    draws = uniforms(n, cfg, seed) if draws is None else draws
    a = model.conditioning_logits(low)  # (B, 256, C, H, W)
    canvas = torch.zeros(n, c, size, size, dtype=a.dtype, device=a.device)
    for r in range(size):
        for col in range(size):
            for g in range(c):
                b = model.prior(to_unit(canvas))  # (B, 256, C, H, W): the whole network, every time
                canvas[:, g, r, col] = pick(a[:, :, g, r, col] + b[:, :, g, r, col], temperature,
                                            draws[:, r, col, g].to(a.device)).to(a.dtype)
        if progress is not None:
            progress.update(1)
    return canvas.to(torch.uint8)


class _LayerCache:
    """One gated layer's caches for incremental sampling: the last k//2+1 rows of its vertical input (with the
    zero padding the parallel convolution sees), the vertical pre-activations of the previous row (what the
    horizontal stack reads through v_to_h), and the current row of its horizontal input."""

    def __init__(self, layer: GatedLayer, cin: int, n: int, size: int, like: torch.Tensor):
        p = layer.pad
        self.v_rows = like.new_zeros(n, cin, p + 1, size + 2 * p)  # rows r-p..r, columns padded by p each side
        self.v_above = like.new_zeros(n, layer.v_conv.out_channels, size)  # v_pre of row r-1
        self.h_row = like.new_zeros(n, cin, size + p)  # horizontal input, current row, p zeros on the left


@torch.no_grad()
def sample_cached(model: PixelRecursiveSR, low: torch.Tensor, temperature: float = 1.0,
                  draws: torch.Tensor | None = None, seed: int = 0, progress=None) -> torch.Tensor:
    """The same samples as `sample_naive`, with Ramachandran et al. 2017's caches: a new subpixel costs one
    column of the horizontal stack per layer; the vertical stack advances one row when a row is complete."""
    cfg = model.cfg
    n, size, c = low.shape[0], cfg.high_size, cfg.channels
    draws = uniforms(n, cfg, seed) if draws is None else draws
    a = model.conditioning_logits(low)  # (B, 256, C, H, W)
    prior = model.prior
    layers = list(prior.layers)
    p = layers[0].pad
    caches = [_LayerCache(layer, c if i == 0 else cfg.prior_width, n, size, a) for i, layer in enumerate(layers)]
    canvas = torch.zeros(n, c, size, size, dtype=a.dtype, device=a.device)
    # each layer's masked weights as matrices, once: a subpixel is then a few matrix-vector products per layer
    mats = [(layer.h_conv.weight().permute(0, 2, 3, 1).reshape(layer.h_conv.conv.out_channels, -1),
             layer.h_conv.conv.bias, layer.v_to_h.weight[:, :, 0, 0], layer.v_to_h.bias,
             layer.h_out.weight()[:, :, 0, 0], layer.h_out.conv.bias) for layer in layers]
    head1_w, head2_w = prior.head1.weight()[:, :, 0, 0], prior.head2.weight()[:, :, 0, 0]
    for r in range(size):
        for cache in caches:
            cache.h_row.zero_()
        for col in range(size):
            for g in range(c):
                caches[0].h_row[:, :, p + col] = to_unit(canvas[:, :, r, col])
                h = None
                for i, (layer, cache, (wh, bh, wv, bv, wo, bo)) in enumerate(zip(layers, caches, mats, strict=True)):
                    window = cache.h_row[:, :, col:col + p + 1].transpose(1, 2).reshape(n, -1)  # pixels col-p..col
                    h_pre = F.linear(window, wh, bh) + F.linear(cache.v_above[:, :, col], wv, bv)  # (B, 2w)
                    h_new = F.linear(gate(h_pre), wo, bo)  # (B, w)
                    h = h_new if layer.first else cache.h_row[:, :, p + col] + h_new
                    if i + 1 < len(layers):
                        caches[i + 1].h_row[:, :, p + col] = h
                logits = F.linear(F.relu(F.linear(F.relu(h), head1_w, prior.head1.conv.bias)), head2_w,
                                  prior.head2.conv.bias)  # (B, C·256)
                b = logits.view(n, c, LEVELS)[:, g]
                canvas[:, g, r, col] = pick(a[:, :, g, r, col] + b, temperature,
                                            draws[:, r, col, g].to(a.device)).to(a.dtype)
            # the pixel is complete: the first layer's input now holds all its subpixels. The deeper layers' cached
            # features at this pixel are already final: no feature depends on the pixel's last subpixel (mask A)
            caches[0].h_row[:, :, p + col] = to_unit(canvas[:, :, r, col])
        # the row is complete: advance every layer's vertical stack by one row
        v = to_unit(canvas[:, :, r])  # (B, C, W)
        for layer, cache in zip(layers, caches, strict=True):
            cache.v_rows = torch.roll(cache.v_rows, -1, dims=2)
            cache.v_rows[:, :, -1] = F.pad(v, (p, p))
            v_pre = F.conv2d(cache.v_rows, layer.v_conv.weight, layer.v_conv.bias)[:, :, 0]  # (B, 2w, W)
            cache.v_above = v_pre
            v = gate(v_pre)
        if progress is not None:
            progress.update(1)
    return canvas.to(torch.uint8)


# ----------------------------------------------------------------------------------------- loading, shipping


@dataclass
class Shipped:
    """A trained model with what it was trained on: the PixelCNN model and the L2 baseline share one config."""

    model: PixelRecursiveSR
    regression: RegressionSR | None
    cfg: ModelConfig
    meta: dict[str, Any]


def load(path: str | Path) -> Shipped:
    """A checkpoint written by train.export (NAME.safetensors + NAME.json): `model/*` and `regression/*` tensors."""
    tensors, config, meta = checkpoint.load(path, how_to_fix="give a checkpoint written by `deepgallery train "
                                                              "superres --export`")
    if "model" not in config:
        raise UserError(f"{path} is not a superres checkpoint (its config has no 'model')")
    cfg = ModelConfig(**config["model"])
    model = PixelRecursiveSR(cfg)
    model.load_state_dict({k[6:]: v.float() for k, v in tensors.items() if k.startswith("model/")})
    regression = None
    if any(k.startswith("regression/") for k in tensors):
        regression = RegressionSR(cfg)
        regression.load_state_dict({k[11:]: v.float() for k, v in tensors.items() if k.startswith("regression/")})
        regression.eval()
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    return Shipped(model.eval(), regression, cfg, meta)


def load_shipped(name: str = "fashion") -> Shipped:
    from . import APP

    return load(APP.checkpoint(name))
