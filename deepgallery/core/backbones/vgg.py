"""VGG16 / VGG19 (Simonyan & Zisserman 2015), with torchvision's state-dict keys.

``features.N`` / ``classifier.N`` indices are torchvision's, so its published ImageNet weights
(``vgg19-dcbb9e9d.pth`` — the network Gatys et al. 2016 used) load unchanged. With ``batch_norm=True``
the layout is torchvision's ``vgg16_bn``, whose conv1_1 … conv5_2 are what CRAFT's ``basenet`` holds.

Layer names follow the paper: ``conv{block}_{i}`` (before the ReLU), ``relu{block}_{i}``,
``pool{block}``, then ``fc6``, ``fc7``, ``logits``. Gatys et al. read ReLU outputs; they write
"conv4_2" for what is ``relu4_2`` here.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import IMAGENET, FeatureNet

# Channels per conv layer, "M" = 2x2 pooling (configurations D and E of Table 1 of the VGG paper).
CONFIGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


class VGG(FeatureNet):
    """VGG trunk (+ ImageNet classifier when ``num_classes``); ``pooling='avg'`` is Gatys et al.'s variant.

    ``upto`` cuts the trunk after that layer (CRAFT ships conv1_1 … relu5_2 only).
    """

    def __init__(self, arch: str = "vgg19", batch_norm: bool = False, num_classes: int = 1000,
                 pooling: str = "max", upto: str | None = None) -> None:
        super().__init__()
        self.name = arch + ("_bn" if batch_norm else "")
        self.num_classes = num_classes
        self.preprocess = IMAGENET
        layers: list[nn.Module] = []
        names: list[str] = []
        block, i, in_ch = 1, 1, 3
        for v in CONFIGS[arch]:
            if v == "M":
                layers.append(nn.AvgPool2d(2, 2) if pooling == "avg" else nn.MaxPool2d(2, 2))
                names.append(f"pool{block}")
                block, i = block + 1, 1
                continue
            layers.append(nn.Conv2d(in_ch, v, 3, padding=1))
            names.append(f"conv{block}_{i}")
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
                names.append(f"bn{block}_{i}")
            layers.append(nn.ReLU(inplace=False))
            names.append(f"relu{block}_{i}")
            in_ch, i = v, i + 1
        if upto is not None:
            cut = names.index(upto) + 1
            layers, names = layers[:cut], names[:cut]
            self.num_classes = num_classes = 0
        self.trunk_names = names
        self.features = nn.Sequential(*layers)  # torchvision's name, so its state dicts load
        if num_classes:
            self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(False), nn.Dropout(),
                nn.Linear(4096, 4096), nn.ReLU(False), nn.Dropout(),
                nn.Linear(4096, num_classes),
            )

    @property
    def layer_names(self) -> tuple[str, ...]:
        head = ("fc6", "fc7", "logits") if self.num_classes else ()
        return tuple(self.trunk_names) + head

    def _run(self, x: torch.Tensor):
        for name, layer in zip(self.trunk_names, self.features, strict=True):
            x = layer(x)  # (B, C, H, W)
            yield name, x
        if self.num_classes:
            x = torch.flatten(self.avgpool(x), 1)  # (B, 25088)
            c = self.classifier
            x = c[1](c[0](x))
            yield "fc6", x
            x = c[4](c[3](c[2](x)))
            yield "fc7", x
            yield "logits", c[6](c[5](x))  # (B, 1000)


def craft_state_to_vgg16_bn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CRAFT's ``module.basenet.slice{1..4}.N.*`` -> torchvision ``features.N.*`` (slice5 is CRAFT's own fc6/7).

    CRAFT (Baek et al. 2019) splits torchvision's vgg16_bn features[0:39] into four slices keeping the
    original indices, so the mapping is a rename.
    """
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "module":
            parts = parts[1:]
        if len(parts) >= 4 and parts[0] == "basenet" and parts[1] in ("slice1", "slice2", "slice3", "slice4"):
            out["features." + ".".join(parts[2:])] = value
    return out
