"""The fixed condition network C of the paper (Fig. 3): an ImageNet classifier, here EfficientNet-Lite0.

The paper's C is CaffeNet (AlexNet); we use the offline EfficientNet-Lite0 from ``core.backbones``
(ImageNet top-1 75 %). Images enter in [0, 1]; the wrapper applies the network's own normalisation.
"""

from __future__ import annotations

import functools

import torch
from torch import nn


class Classifier(nn.Module):
    """p(y|x) for images x in [0, 1] (B, 3, H, W): ``forward`` gives logits (B, 1000), ``features`` the
    pooled 1280-d penultimate features (B, 1280) used for the diversity metric."""

    def __init__(self, net: nn.Module, prep) -> None:
        super().__init__()
        self.net, self.prep = net, prep
        self.source = getattr(net, "source", "")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.prep.normalize(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract(self.prep.normalize(x), ["pool"])["pool"]


@functools.lru_cache(maxsize=1)
def load_classifier() -> Classifier:
    """EfficientNet-Lite0 with ImageNet weights (UserError saying which pip package when missing)."""
    from ...core.backbones import efficientnet_lite0

    net, prep = efficientnet_lite0()
    return Classifier(net, prep).eval()


def class_names() -> list[str]:
    from ...core.backbones import imagenet_class_names

    return imagenet_class_names()
