"""GoogLeNet / Inception v1 (Szegedy et al. 2015), with torchvision's state-dict keys.

The network of the original DeepDream (Mordvintsev et al. 2015). torchvision's ImageNet weights
(``googlenet-1378be20.pth``) load unchanged, including the two auxiliary classifiers (kept only so the
state dict loads strictly; never run). Like torchvision, the "5x5" branch uses a 3x3 convolution and
``transform_input`` maps ImageNet-normalised input to the [-1, 1] scaling the weights were trained with.

Layer names: ``conv1``, ``maxpool1``, ``conv2``, ``conv3``, ``maxpool2``, ``inception3a`` … ``inception5b``
(block outputs, Caffe's ``inception_4c/output``), ``pool`` (global average, (B, 1024)), ``logits``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import IMAGENET, FeatureNet


class BasicConv2d(nn.Module):
    """conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU."""

    def __init__(self, cin: int, cout: int, **kw) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated along channels (Fig. 2b of the paper)."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1),
                                     BasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1),
                                     BasicConv2d(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier (training-time only); present so torchvision weights load strictly."""

    def __init__(self, cin: int, num_classes: int) -> None:
        super().__init__()
        self.conv = BasicConv2d(cin, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)


# (name, in, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) — Table 1 of the paper.
INCEPTIONS = [
    ("inception3a", 192, 64, 96, 128, 16, 32, 32),
    ("inception3b", 256, 128, 128, 192, 32, 96, 64),
    ("inception4a", 480, 192, 96, 208, 16, 48, 64),
    ("inception4b", 512, 160, 112, 224, 24, 64, 64),
    ("inception4c", 512, 128, 128, 256, 24, 64, 64),
    ("inception4d", 512, 112, 144, 288, 32, 64, 64),
    ("inception4e", 528, 256, 160, 320, 32, 128, 128),
    ("inception5a", 832, 256, 160, 320, 32, 128, 128),
    ("inception5b", 832, 384, 192, 384, 48, 128, 128),
]


class GoogLeNet(FeatureNet):
    def __init__(self, num_classes: int = 1000, transform_input: bool = True) -> None:
        super().__init__()
        self.name = "googlenet"
        self.num_classes = num_classes
        self.preprocess = IMAGENET
        self.transform_input = transform_input
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name, *channels in INCEPTIONS:
            setattr(self, name, Inception(*channels))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.aux1 = InceptionAux(512, num_classes)
        self.aux2 = InceptionAux(528, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)
        self._order = (["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3"]
                       + [f"inception4{c}" for c in "abcde"] + ["maxpool4", "inception5a", "inception5b"])

    @property
    def layer_names(self) -> tuple[str, ...]:
        return (*self._order, "pool", "logits")

    def _run(self, x: torch.Tensor):
        if self.transform_input:  # ImageNet-normalised -> the (x - 0.5) / 0.5 scaling of the weights
            m, s = self.preprocess.mean, self.preprocess.std
            x = torch.cat([(x[:, c:c + 1] * s[c] + m[c] - 0.5) / 0.5 for c in range(3)], 1)
        for name in self._order:
            x = getattr(self, name)(x)  # (B, C, H, W)
            yield name, x
        x = torch.flatten(self.avgpool(x), 1)  # (B, 1024)
        yield "pool", x
        yield "logits", self.fc(self.dropout(x))  # (B, 1000)
