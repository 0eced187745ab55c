"""The part-affinity-field network of Cao et al. 2017 (arXiv 1611.08050), Section 2.1 and Fig. 3.

An image goes through a VGG-style stem (the paper: the first 10 layers of VGG-19, ImageNet-initialised) giving
features **F** at stride 8. Stage 1 has two branches, ρ¹ for the part confidence maps **S** and φ¹ for the part
affinity fields **L** (Eq. 1); every later stage t ≥ 2 reads the concatenation (F, S^{t-1}, L^{t-1}) and refines
both (Eq. 2). Each stage is supervised (Eq. 3-5, in `losses`), which is what lets the depth train.

* Stage 1 branch: 3 × (3×3 conv, 128) → 1×1 conv 512 → 1×1 conv to the output channels.
* Stage t ≥ 2 branch: 5 × (7×7 conv, 128) → 1×1 conv 128 → 1×1 conv to the output channels.
* Outputs: S has J + 1 channels (J parts + background), L has 2C channels (an x and y field per limb).

`PAFConfig()` is the paper's size; `PAFConfig.small()` is what a CPU can train here in minutes. `load(path)` reads
a trained network back from a checkpoint; `load()` alone gives the shipped one (`paf_synthetic`, trained here on
synthetic stick figures only).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ...core import checkpoint
from . import APP
from .skeleton import PAF_LIMBS, K


@dataclass(frozen=True)
class PAFConfig:
    """Sizes of the network. Defaults follow the paper (Fig. 3, the released VGG-19 model)."""

    stem: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 4), (512, 2))  # VGG-19 conv1_1…conv4_2:
    # (channels, convs) per block; 2×2 max-pool after each block but the last → stride 8
    feature_channels: int = 128  # F: the stem ends with 3×3 convs 256 → 128 ("conv4_3_CPM", "conv4_4_CPM")
    stages: int = 6  # T in Eq. 1-2 (the paper uses 6)
    width: int = 128  # channels inside every branch
    stage1_hidden: int = 512  # the 1×1 conv before stage 1's outputs
    later_kernel: int = 7  # 7×7 convs in stages t ≥ 2: a large receptive field to reason between limbs
    later_convs: int = 5
    num_parts: int = K  # J, COCO keypoints (the paper adds a neck; we keep the 17 COCO points)
    limbs: tuple[tuple[int, int], ...] = field(default=PAF_LIMBS)  # C limbs (a spanning tree, Section 2.4)

    @classmethod
    def small(cls) -> PAFConfig:
        """A few hundred thousand weights: trains on a CPU in minutes (not to COCO quality)."""
        return cls(stem=((16, 1), (32, 1), (64, 2)), feature_channels=48, stages=2, width=48, stage1_hidden=96,
                   later_kernel=5, later_convs=3)

    @property
    def stride(self) -> int:
        return 2 ** (len(self.stem) - 1)

    @property
    def heatmap_channels(self) -> int:
        return self.num_parts + 1  # + background

    @property
    def paf_channels(self) -> int:
        return 2 * len(self.limbs)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stem"] = [list(b) for b in self.stem]
        d["limbs"] = [list(limb) for limb in self.limbs]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> PAFConfig:
        d = dict(d)
        d["stem"] = tuple(tuple(b) for b in d["stem"])
        d["limbs"] = tuple(tuple(limb) for limb in d["limbs"])
        return cls(**d)


def _conv(cin: int, cout: int, k: int, relu: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, padding=k // 2)]
    return layers + [nn.ReLU(inplace=True)] if relu else layers


class Stem(nn.Module):
    """VGG-style feature extractor: (B, 3, H, W) → F (B, feature_channels, H/8, W/8)."""

    def __init__(self, cfg: PAFConfig):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i, (ch, n) in enumerate(cfg.stem):
            for _ in range(n):
                layers += _conv(cin, ch, 3)
                cin = ch
            if i < len(cfg.stem) - 1:
                layers.append(nn.MaxPool2d(2, 2))
        mid = max(cfg.feature_channels, cin // 2)
        layers += _conv(cin, mid, 3) + _conv(mid, cfg.feature_channels, 3)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class Branch(nn.Module):
    """One branch of one stage: ρᵗ (confidence maps) or φᵗ (affinity fields)."""

    def __init__(self, cin: int, cout: int, width: int, kernel: int, convs: int, hidden: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(convs):
            layers += _conv(cin if i == 0 else width, width, kernel)
        layers += _conv(width, hidden, 1) + _conv(hidden, cout, 1, relu=False)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class PAFNet(nn.Module):
    """The two-branch multi-stage CNN. forward(x) → list over stages of (S, L), the last one is the prediction."""

    def __init__(self, cfg: PAFConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or PAFConfig()
        self.stem = Stem(cfg)
        f, s, c = cfg.feature_channels, cfg.heatmap_channels, cfg.paf_channels
        self.rho = nn.ModuleList()  # confidence-map branches ρᵗ
        self.phi = nn.ModuleList()  # affinity-field branches φᵗ
        for t in range(cfg.stages):
            if t == 0:
                args = dict(cin=f, width=cfg.width, kernel=3, convs=3, hidden=cfg.stage1_hidden)
            else:
                args = dict(cin=f + s + c, width=cfg.width, kernel=cfg.later_kernel, convs=cfg.later_convs,
                            hidden=cfg.width)
            self.rho.append(Branch(cout=s, **args))
            self.phi.append(Branch(cout=c, **args))

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """x: (B, 3, H, W) normalised RGB → [(S (B, J+1, H/8, W/8), L (B, 2C, H/8, W/8)) for t in 1..T]."""
        feats = self.stem(x)  # F: (B, f, H/8, W/8)
        outputs = []
        inp = feats
        for rho, phi in zip(self.rho, self.phi, strict=True):
            s, paf = rho(inp), phi(inp)  # Eq. 1 (t = 1) and Eq. 2 (t ≥ 2)
            outputs.append((s, paf))
            inp = torch.cat([feats, s, paf], dim=1)  # (B, f + J+1 + 2C, H/8, W/8)
        return outputs


def losses(outputs: list[tuple[torch.Tensor, torch.Tensor]], s_true: torch.Tensor, l_true: torch.Tensor,
           mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Eq. 3-5: f = Σ_t (f_S^t + f_L^t), each an L2 loss weighted by W(p) (0 where people are unannotated).

    s_true: (B, J+1, h, w), l_true: (B, 2C, h, w), mask: (B, 1, h, w). Losses are averaged over pixels and the
    batch (the paper sums; only the learning-rate scale differs).
    """
    total = s_true.new_zeros(())
    parts = {}
    for t, (s, paf) in enumerate(outputs, start=1):
        f_s = (mask * (s - s_true) ** 2).mean()  # Eq. 3
        f_l = (mask * (paf - l_true) ** 2).mean()  # Eq. 4
        total = total + f_s + f_l  # Eq. 5 (intermediate supervision at every stage)
        parts[f"S{t}"], parts[f"L{t}"] = float(f_s.detach()), float(f_l.detach())
    return total, parts


def upsample(maps: torch.Tensor, stride: int) -> torch.Tensor:
    """Bicubic upsampling of predicted maps back to the input resolution (as the authors' inference code does)."""
    return F.interpolate(maps, scale_factor=stride, mode="bicubic", align_corners=False)


def load(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> tuple[PAFNet, dict]:
    """A trained PAFNet from the checkpoint at `path` (default: the shipped `paf_synthetic`), float32, in eval mode
    on `device`, with the checkpoint's config (``config["data"]`` says how its inputs were made)."""
    path = APP.checkpoint("paf_synthetic") if path is None else path
    tensors, config, _ = checkpoint.load(path, how_to_fix="train one with `deepgallery train pose`")
    model = PAFNet(PAFConfig.from_dict(config["model"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return model.to(device).eval(), config
