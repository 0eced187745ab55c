"""The paper's fine-grained car classifier: a CNN from a car's crop to its make, model and year.

Gebru et al. (Methods, "Car classification"; SI Appendix) classify every detected car into one of 2,657 visually
distinct make/model/year groups with a convolutional network of AlexNet's shape (Krizhevsky et al. 2012: five
convolutions, three max-pools, three fully connected layers, ReLU, dropout), trained on 415 k labelled images of
cars (from car-sale websites, with Street View crops for domain adaptation). Each class then brings its Edmunds
attributes (price, body type, fuel economy, ...) to the region's statistics.

`CarNet` is that network, scaled by a width factor and an input side (the paper: 227 px, 96 filters first),
so that it trains on a laptop too. It learns from any folder-per-class set of car images (`data.py`); no car
images exist offline, so no trained CarNet ships (see README): the shipped app reports body types, from the
detector's classes. `load_classifier` reads a checkpoint written by ``deepgallery train streetcars --export``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core import checkpoint
from ...core.errors import UserError

MEAN = (0.485, 0.456, 0.406)  # per-channel input normalisation (ImageNet statistics, as AlexNet-era nets used)
STD = (0.229, 0.224, 0.225)


@dataclass
class CarNetConfig:
    """The network's shape: AlexNet's, scaled (the paper: size 227, widths 96-256-384-384-256, dense 4096)."""

    classes: int = 196  # Stanford Cars: 196 make/model/year classes (the paper: 2,657)
    size: int = 96  # input side in pixels
    widths: list[int] = field(default_factory=lambda: [32, 64, 96, 96, 64])  # the five convolutions' channels
    dense: int = 512  # units of the two hidden fully connected layers
    dropout: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self)


class CarNet(nn.Module):
    """conv11/4 → pool → conv5 → pool → conv3 → conv3 → conv3 → pool → fc → fc → fc (AlexNet's order), with batch
    normalisation replaced by GroupNorm (no batch statistics, so two processes take one process's step)."""

    def __init__(self, cfg: CarNetConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths

        def block(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, k, stride, k // 2), nn.GroupNorm(min(8, cout), cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(3, w[0], 11, 4), nn.MaxPool2d(3, 2, 1),  # (B, w0, S/8, S/8)
            *block(w[0], w[1], 5), nn.MaxPool2d(3, 2, 1),  # (B, w1, S/16, S/16)
            *block(w[1], w[2], 3), *block(w[2], w[3], 3), *block(w[3], w[4], 3),
            nn.AdaptiveMaxPool2d(3),  # (B, w4, 3, 3): AlexNet's last pool, fixed size whatever the input side
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(w[4] * 9, cfg.dense), nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout), nn.Linear(cfg.dense, cfg.dense), nn.ReLU(inplace=True),
            nn.Linear(cfg.dense, cfg.classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, S, S) normalised → (B, classes) logits
        return self.classifier(self.features(x))


def normalise(x: torch.Tensor) -> torch.Tensor:
    """(B, S, S, 3) uint8 → (B, 3, S, S) float, normalised."""
    x = x.permute(0, 3, 1, 2).float().div(255)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def crop_box(rgb: np.ndarray, box: tuple[float, float, float, float], size: int, margin: float = 0.08) -> np.ndarray:
    """The box (x1, y1, x2, y2) with a small margin, cut from the photo and resized to (size, size, 3) uint8."""
    from PIL import Image

    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = margin * (x2 - x1), margin * (y2 - y1)
    left, top = int(max(0, x1 - mx)), int(max(0, y1 - my))
    right, bottom = int(min(w, x2 + mx)), int(min(h, y2 + my))
    crop = rgb[top:max(bottom, top + 1), left:max(right, left + 1)]
    return np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BILINEAR))


class CarClassifier:
    """A trained CarNet with its class names: ``classify_boxes(rgb, detections) -> [class name, ...]``."""

    def __init__(self, net: CarNet, classes: list[str]):
        self.net = net.eval()
        self.classes = classes

    @torch.no_grad()
    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 crops → (N, classes) probabilities."""
        logits = self.net(normalise(torch.from_numpy(np.ascontiguousarray(crops))))
        return torch.softmax(logits, dim=1).numpy()

    def classify_boxes(self, rgb: np.ndarray, detections) -> list[str]:
        crops = np.stack([crop_box(rgb, (d.x1, d.y1, d.x2, d.y2), self.net.cfg.size) for d in detections])
        return [self.classes[i] for i in self.probabilities(crops).argmax(axis=1)]


def load_classifier(path: str | Path) -> CarClassifier:
    """A classifier checkpoint (NAME.safetensors + NAME.json) written by ``train streetcars --export NAME``."""
    tensors, config, _ = checkpoint.load(path, how_to_fix="give a checkpoint written by `deepgallery train "
                                                           "streetcars --export NAME`")
    if "net" not in config or "classes" not in config:
        raise UserError(f"{path} is not a streetcars classifier checkpoint")
    net = CarNet(CarNetConfig(**config["net"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return CarClassifier(net, list(config["classes"]))


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
