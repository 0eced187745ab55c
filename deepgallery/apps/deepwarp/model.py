"""The DeepWarp network (Ganin et al. 2016, Sec. 3): a coarse-to-fine warping field plus lightness correction.

Given an eye crop X (aligned on the eye corners) and a redirection angle α = (yaw, pitch), the network
predicts a flow field F and the output is the input resampled along it, O(p) = X(p + F(p)) (Sec. 3.1,
bilinear sampling as in spatial transformers). The flow is built in two stages (Sec. 3.2): a coarse
module sees the crop at ½ scale and predicts a flow that is upsampled; a fine module sees the full-scale
crop, the coarsely warped crop and the coarse flow and adds a residual. The angle enters both modules as
an embedding broadcast over the image (the paper's "angle embedding", concatenated to the input maps).
Warping can only move pixels that exist, so a lightness-correction module (Sec. 3.3) predicts a per-pixel
weight M ∈ [0, 1] that blends the warped crop towards a palette colour (white: uncovered sclera),
O = (1 − M) · warp(X, F) + M · white. Training minimises the L2 distance to the target eye (Sec. 3.4).
`load()` gives the shipped network (`checkpoints/deepwarp`, float16 on disk), `load(path)` one trained here.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...core import checkpoint
from . import APP


@dataclass
class DeepWarpConfig:
    channels: int = 16  # feature maps per conv layer
    coarse_layers: int = 4  # 3×3 convs at ½ scale (receptive field ≈ 2·(2·4+1) = 18 px of the crop)
    fine_layers: int = 3  # 3×3 convs at full scale
    angle_dim: int = 8  # size of the angle embedding broadcast to every pixel
    max_flow: float = 12.0  # |flow| bound in crop pixels (tanh-scaled)
    lightness: bool = True  # the lightness-correction module of Sec. 3.3

    def to_dict(self) -> dict:
        return asdict(self)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Bilinear resampling O(p) = I(p + F(p)). image (B, C, H, W), flow (B, 2, H, W) in pixels (dx, dy).

    Zero flow returns the image unchanged; samples outside the crop repeat the border.
    """
    b, _, h, w = image.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=image.dtype, device=image.device),
                            torch.arange(w, dtype=image.dtype, device=image.device), indexing="ij")
    x = xs + flow[:, 0]  # (B, H, W) source pixel columns
    y = ys + flow[:, 1]
    grid = torch.stack([(2 * x + 1) / w - 1, (2 * y + 1) / h - 1], dim=-1)  # (B, H, W, 2), align_corners=False
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _convs(c_in: int, c: int, n: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n):
        layers += [nn.Conv2d(c_in if i == 0 else c, c, 3, padding=1), nn.ReLU(inplace=True)]  # no batch norm:
        # the paper's modules use it, but with 16-pair batches its running statistics made eval-mode flows explode
    return nn.Sequential(*layers)


class DeepWarp(nn.Module):
    """Coarse (½ scale) + fine (full scale) flow modules and the lightness-correction head."""

    def __init__(self, cfg: DeepWarpConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DeepWarpConfig()
        self.embed = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, cfg.angle_dim))
        self.coarse = _convs(3 + cfg.angle_dim, cfg.channels, cfg.coarse_layers)
        self.coarse_flow = nn.Conv2d(cfg.channels, 2, 3, padding=1)
        self.fine = _convs(3 + 3 + 2 + cfg.angle_dim, cfg.channels, cfg.fine_layers)
        self.fine_head = nn.Conv2d(cfg.channels, 3, 3, padding=1)  # residual flow (2) + lightness logit (1)
        for head in (self.coarse_flow, self.fine_head):
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)
        nn.init.constant_(self.fine_head.bias[2:], -4.0)  # start with (almost) no lightness correction

    def forward(self, x: torch.Tensor, angle: torch.Tensor) -> dict[str, torch.Tensor]:
        """x (B, 3, H, W) in [0, 1], angle (B, 2) redirection [yaw, pitch] in degrees (H, W even)."""
        b, _, h, w = x.shape
        e = self.embed(angle / 15.0)[:, :, None, None]  # (B, A, 1, 1)
        small = F.avg_pool2d(x, 2)  # (B, 3, H/2, W/2)
        hc = self.coarse(torch.cat([small, e.expand(-1, -1, h // 2, w // 2)], 1))
        flow_c = self.cfg.max_flow * torch.tanh(self.coarse_flow(hc))  # (B, 2, H/2, W/2) in ½-scale px
        flow_c = 2.0 * F.interpolate(flow_c, size=(h, w), mode="bilinear", align_corners=False)  # full-scale px
        warped_c = warp(x, flow_c)
        hf = self.fine(torch.cat([x, warped_c, flow_c / self.cfg.max_flow, e.expand(-1, -1, h, w)], 1))
        head = self.fine_head(hf)
        flow = flow_c + head[:, :2]  # (B, 2, H, W)
        out = warp(x, flow)
        mask = torch.sigmoid(head[:, 2:3]) if self.cfg.lightness else torch.zeros_like(out[:, :1])
        out = (1 - mask) * out + mask  # palette colour: white
        return {"out": out, "flow": flow, "coarse_flow": flow_c, "mask": mask}


def load(path: str | os.PathLike | None = None, device: torch.device | str = "cpu") -> DeepWarp:
    """The shipped network (or the checkpoint at `path`), float32, in eval mode on `device`."""
    path = APP.checkpoint("deepwarp") if path is None else path
    tensors, config, _ = checkpoint.load(path, how_to_fix="train one with `deepgallery train deepwarp`")
    known = DeepWarpConfig.__dataclass_fields__
    model = DeepWarp(DeepWarpConfig(**{k: v for k, v in config.items() if k in known}))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.to(device).eval()
