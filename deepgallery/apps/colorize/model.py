"""Let there be Color! — the joint global + local colorization network of Iizuka, Simo-Serra & Ishikawa
(SIGGRAPH 2016, "Let there be Color!: Joint End-to-end Learning of Global and Local Image Priors for Automatic
Image Colorization with Simultaneous Classification"), Section 3 and its Table 1, plus user colour hints as in
Zhang et al. 2017 ("Real-Time User-Guided Image Colorization with Learned Deep Priors", Sec. 3.1).

The network (Fig. 2 of the paper) has four parts and one fusion layer:

* **Low-level features network** (Sec. 3.1): six 3×3 convolutions, three of stride 2, 64-128-128-256-256-512
  channels. It is *shared* by two paths: the local path sees the picture at its own size (any size), the global
  path sees a copy rescaled to 224×224, so the global branch always gets a fixed-size 28×28 map.
* **Mid-level features network** (Sec. 3.2): two 3×3 convolutions (512, 256) on the local path, H/8 × W/8.
* **Global features network** (Sec. 3.3): four convolutions (two of stride 2) to 7×7×512, then fully
  connected layers 1024 → 512 → 256: one 256-d vector describing the whole scene (indoor/outdoor, day/night).
* **Fusion layer** (Sec. 3.4, Eq. 1): the global vector is replicated over the mid-level grid and concatenated
  with each mid-level feature, then one layer mixes them, y = σ(b + W [y_global; y_mid]) — a 1×1 convolution.
* **Colorization network** (Sec. 3.5): convolutions and nearest-neighbour upsampling (128, ×2, 64, 64, ×2, 32,
  2) to H/2 × W/2, a sigmoid output = the a*b* chrominance of CIE L*a*b* normalised to [0, 1]; upsampled to
  the input size and combined with the input's own L* (`color.py`).
* **Classification network** (Sec. 3.6, optional): two fully connected layers (256, classes) on the global
  branch's 512-d layer; its cross-entropy, weighted by α (1/300 in the paper), is added to the MSE on a*b*
  (Eq. 2), so the global features learn the scene's class.

Every convolution is followed by batch normalisation and a ReLU (the paper: "batch normalization ... after
each convolutional layer"); the output layer by the sigmoid. `NetConfig.width` scales every channel count and
fully connected size (1.0 = the paper's network); the shipped CPU model is narrower (see the README).

**User hints** (beyond the paper, after Zhang et al. 2017): the input has three more channels, the hint
colours a*b* (divided by AB_RANGE, 0 where there is no hint) and a mask (1 at hinted pixels). Training puts
random hints taken from the ground truth at random points (often none), so the same network colorizes with no
hints and follows hints when given (`hints.py`).

`load_shipped()` / `load(path)` read a trained network back (the shipped one is `APP.checkpoint("colorize")`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ...core import checkpoint
from ...core.errors import UserError
from . import APP

FIX = "train one with `deepgallery train colorize --export NAME`, or leave --checkpoint out for the shipped one"
GLOBAL_SIDE = 224  # the global path's fixed input side (Sec. 3.3)
HINT_CHANNELS = 3  # a*b* of the hints / AB_RANGE, and the hint mask (Zhang et al. 2017)

# Table 1 of the paper: (output channels, stride) of each 3×3 convolution.
LOW_LEVEL = ((64, 2), (128, 1), (128, 2), (256, 1), (256, 2), (512, 1))
MID_LEVEL = ((512, 1), (256, 1))
GLOBAL_CONV = ((512, 2), (512, 1), (512, 2), (512, 1))
GLOBAL_FC = (1024, 512, 256)
CLASS_FC = 256
COLOR_NET = (128, "up", 64, 64, "up", 32)  # convolutions (stride 1) and ×2 nearest-neighbour upsampling


@dataclass(frozen=True)
class NetConfig:
    """The network's shape (what a checkpoint must match)."""

    width: float = 1.0  # channel / unit multiplier; 1.0 is the paper's network
    classes: int = 0  # classification head's classes (0: no head, α = 0)
    hints: bool = True  # the three user-hint input channels of Zhang et al. 2017

    def ch(self, n: int) -> int:
        return max(4, int(round(n * self.width)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _GlobalBatchStats:
    """Batch normalisation whose statistics cover the *global* batch when training under torchrun, so N
    processes with B/N images each normalise exactly as one process with B (PyTorch's SyncBatchNorm does this
    on GPUs only; this works on gloo/CPU too). Alone, or in eval mode, it is the ordinary layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce  # autograd-aware (its successor is private)

        dims = [0, *range(2, x.dim())]  # all but the channel axis
        wide = x.double()  # E[x²] - E[x]² in float64: float32 would cancel away digits the one-process layer keeps
        count = torch.tensor([x.numel() / x.shape[1]], dtype=wide.dtype, device=x.device)
        sums = all_reduce(torch.cat([wide.sum(dims), (wide * wide).sum(dims), count]))  # differentiable, summed
        c = x.shape[1]
        n = sums[-1]
        mean64 = sums[:c] / n
        var = (sums[c:2 * c] / n - mean64 * mean64).clamp(min=0).to(x.dtype)
        mean = mean64.to(x.dtype)
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach() * float(n / (n - 1)), self.momentum)
        shape = (1, c) + (1,) * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape)


class BatchNorm2d(_GlobalBatchStats, nn.BatchNorm2d):
    pass


class BatchNorm1d(_GlobalBatchStats, nn.BatchNorm1d):
    pass


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> nn.Sequential:
    """3×3 convolution (padding keeps the size, stride 2 halves it), batch norm, ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def conv_stack(c_in: int, layers, cfg: NetConfig) -> tuple[nn.Sequential, int]:
    mods = []
    for spec in layers:
        if spec == "up":
            mods.append(nn.Upsample(scale_factor=2, mode="nearest"))
            continue
        c_out, stride = spec if isinstance(spec, tuple) else (spec, 1)
        mods.append(conv_bn_relu(c_in, cfg.ch(c_out), stride))
        c_in = cfg.ch(c_out)
    return nn.Sequential(*mods), c_in


class ColorizationNet(nn.Module):
    """L* (+ hints) -> a*b* in [0, 1] at the input's size, and (with a head) scene-class logits."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c_in = 1 + (HINT_CHANNELS if cfg.hints else 0)
        self.low, c_low = conv_stack(c_in, LOW_LEVEL, cfg)  # shared by both paths
        self.mid, c_mid = conv_stack(c_low, MID_LEVEL, cfg)
        self.global_conv, c_glob = conv_stack(c_low, GLOBAL_CONV, cfg)
        fc1, fc2, fc3 = (cfg.ch(n) for n in GLOBAL_FC)
        self.global_fc1 = nn.Sequential(nn.Linear(7 * 7 * c_glob, fc1), BatchNorm1d(fc1), nn.ReLU(inplace=True))
        self.global_fc2 = nn.Sequential(nn.Linear(fc1, fc2), BatchNorm1d(fc2), nn.ReLU(inplace=True))
        self.global_fc3 = nn.Sequential(nn.Linear(fc2, fc3), BatchNorm1d(fc3), nn.ReLU(inplace=True))
        self.fusion = conv_bn_relu(c_mid + fc3, c_mid, kernel=1)  # Eq. 1 as a 1×1 convolution
        self.color, c_col = conv_stack(c_mid, COLOR_NET, cfg)
        self.output = nn.Conv2d(c_col, 2, 3, 1, 1)  # followed by the sigmoid
        self.classify = None
        if cfg.classes:
            hidden = cfg.ch(CLASS_FC)
            self.classify = nn.Sequential(nn.Linear(fc2, hidden), BatchNorm1d(hidden), nn.ReLU(inplace=True),
                                          nn.Linear(hidden, cfg.classes))

    def global_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sec. 3.3: the 224×224 copy through the shared low-level network, then the global network.
        Returns the 256-d scene vector (B, C_g) and the 512-d layer the classifier reads (B, C_fc2)."""
        small = F.interpolate(x, size=(GLOBAL_SIDE, GLOBAL_SIDE), mode="bilinear", align_corners=False,
                              antialias=True)  # (B, C_in, 224, 224)
        g = self.global_conv(self.low(small))  # (B, C, 7, 7)
        h2 = self.global_fc2(self.global_fc1(g.flatten(1)))  # (B, 512w)
        return self.global_fc3(h2), h2  # (B, 256w), (B, 512w)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (B, C_in, H, W): L*/100 (+ hint a*b*/AB_RANGE, hint mask); H and W multiples of 8.
        Returns (a*b* in [0, 1] (B, 2, H, W), class logits (B, classes) or None)."""
        B, _, H, W = x.shape
        if H % 8 or W % 8:
            raise ValueError(f"input sides must be multiples of 8, got {H}x{W} (use colorize_ab, which pads)")
        mid = self.mid(self.low(x))  # (B, 256w, H/8, W/8)
        glob, h2 = self.global_features(x)  # (B, 256w), (B, 512w)
        tiled = glob[:, :, None, None].expand(-1, -1, mid.shape[2], mid.shape[3])  # replicated over the grid
        fused = self.fusion(torch.cat([mid, tiled], dim=1))  # (B, 256w, H/8, W/8)
        ab_half = torch.sigmoid(self.output(self.color(fused)))  # (B, 2, H/2, W/2)
        ab = F.interpolate(ab_half, size=(H, W), mode="bilinear", align_corners=False)  # (B, 2, H, W)
        logits = self.classify(h2) if self.classify is not None else None
        return ab, logits


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def build(cfg: NetConfig) -> ColorizationNet:
    return ColorizationNet(cfg)


@dataclass
class Colorizer:
    """A trained network with what it was trained on (the checkpoint's JSON meta)."""

    net: ColorizationNet
    meta: dict[str, Any]
    source: str

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg


def load(path: str | Path) -> Colorizer:
    """A network from NAME.safetensors + NAME.json (fp16 or fp32), in eval mode, float32."""
    tensors, config, meta = checkpoint.load(path, how_to_fix=FIX)
    if "net" not in config:
        raise UserError(f"{path} is not a colorize checkpoint (no network config); {FIX}")
    cfg = NetConfig(**config["net"])
    net = build(cfg)
    try:
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except RuntimeError as exc:
        raise UserError(f"{path} does not fit the colorize network ({str(exc).splitlines()[0]}); {FIX}") from None
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    return Colorizer(net.eval(), meta, str(path))


def load_shipped(name: str = "colorize") -> Colorizer:
    return load(APP.checkpoint(name))
