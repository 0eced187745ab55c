"""Fast feed-forward style transfer — Johnson, Alahi & Fei-Fei, ECCV 2016 ("Perceptual losses").

A transform network f_W (Sec. 3.1, supplementary Table 1) maps a photo to its stylised version in one
forward pass; it is trained once per style with the same perceptual losses as Gatys et al.:

    W* = argmin_W  E_x [ lambda_c * l_feat(f_W(x), x) + lambda_s * l_style(f_W(x), y_s) + lambda_tv * l_TV ]

    l_feat  at relu2_2 of the loss network (Sec. 3.3, "feature reconstruction loss")
    l_style = Gram-matrix distance at relu1_2, relu2_2, relu3_3 (, relu4_3) (Sec. 3.3, "style reconstruction")

Architecture: c9s1-C, d2C, d4C, 5 residual blocks (4C), u2C, uC, c9s1-3. Deviations (common since):
instance normalisation instead of batch norm (Ulyanov et al. 2016), nearest-neighbour upsampling + conv
instead of fractionally strided convs (avoids checkerboard artefacts), sigmoid output in [0, 1].
The shipped nets use C = 16 (the paper's is 32) to train on a CPU.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass
class FastConfig:
    width: int = 16  # C, channels of the first layer (paper: 32); the residual trunk has 4C
    res_blocks: int = 5  # paper: 5


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm and an identity shortcut (He et al. 2016; Johnson supp. Fig. 1)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
                                  _conv(c, c, 3), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    def __init__(self, cfg: FastConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or FastConfig()
        c = cfg.width

        def down(cin, cout, k, s):
            return [_conv(cin, cout, k, s), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]

        self.encoder = nn.Sequential(*down(3, c, 9, 1), *down(c, 2 * c, 3, 2), *down(2 * c, 4 * c, 3, 2))
        self.residual = nn.Sequential(*[ResidualBlock(4 * c) for _ in range(cfg.res_blocks)])
        self.up1 = nn.Sequential(_conv(4 * c, 2 * c, 3), nn.InstanceNorm2d(2 * c, affine=True), nn.ReLU())
        self.up2 = nn.Sequential(_conv(2 * c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU())
        self.out = _conv(c, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1]; any H, W (padded to a multiple of 4 inside)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, [0, pw, 0, ph], mode="reflect")
        y = self.residual(self.encoder(x))  # (B, 4C, H/4, W/4)
        y = self.up1(F.interpolate(y, scale_factor=2.0, mode="nearest"))  # (B, 2C, H/2, W/2)
        y = self.up2(F.interpolate(y, scale_factor=2.0, mode="nearest"))  # (B, C, H, W)
        y = torch.sigmoid(self.out(y))  # (B, 3, H, W)
        return y[..., :h, :w]

    def config_dict(self) -> dict:
        return asdict(self.cfg)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """l_TV: mean absolute difference of neighbouring pixels (Johnson Sec. 3.3, Mahendran & Vedaldi 2015)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
