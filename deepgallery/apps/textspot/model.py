"""The word-recognition CNN of Jaderberg et al. (IJCV 2016, Sec. 4.2 "Word recognition"), DICT model.

Recognition is posed as classification: a grey 32×100 word image x is mapped to one of the N words of
a dictionary W, w* = argmax_w P(w | x) (paper Eq. 5, with the language prior P(w) uniform over W).
The paper's network: five 5×5/3×3 convolutional layers (64, 128, 256, 512, 512 channels, 2×2 max pooling
after the first three), two 4096-unit fully connected layers and a 90k-way softmax, trained on 9 million
synthetic images.

Ours is the same shape, made small enough to train on two shared CPU cores (deviations, see README):
channels (16, 32, 64, 128), a fourth pooling, one 256-unit hidden layer with dropout, batch
normalisation after each convolution, and a 200-word dictionary instead of 90,000.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from deepgallery.core import assets, checkpoint

from . import APP


@dataclass
class WordCNNConfig:
    """Size of the DICT word classifier."""

    n_classes: int = 200  # dictionary size N (paper: 90k); set from the training dictionary
    channels: tuple[int, ...] = (16, 32, 64, 128)  # conv widths (paper: 64, 128, 256, 512, 512)
    hidden: int = 256  # fully connected width (paper: 4096, twice)
    dropout: float = 0.2  # before each fully connected layer (paper: dropout on the FC layers)
    height: int = 32  # input height in pixels (paper: 32)
    width: int = 100  # input width in pixels (paper: 100)

    def to_dict(self) -> dict:
        return {**asdict(self), "channels": list(self.channels)}

    @classmethod
    def from_dict(cls, d: dict) -> WordCNNConfig:
        return cls(**{**d, "channels": tuple(d["channels"])})


class WordCNN(nn.Module):
    """x (B, 1, 32, 100) normalised grey → logits (B, N) over the dictionary (Eq. 5)."""

    def __init__(self, cfg: WordCNNConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        c_in, h, w = 1, cfg.height, cfg.width
        for c in cfg.channels:  # conv 3×3 → BN → ReLU → 2×2 max pool, each halving H and W
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c_in, h, w = c, h // 2, w // 2
        self.features = nn.Sequential(*layers)  # (B, 256, 2, 6)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(cfg.dropout), nn.Linear(c_in * h * w, cfg.hidden), nn.ReLU(inplace=True),
            nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, cfg.n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, N)


def user_checkpoint() -> Path:
    """Where `deepgallery train textspot` writes by default (the shipped checkpoint stays untouched)."""
    return assets.home() / "textspot" / "jaderberg_dict"


def load_recogniser(path: str | Path | None = None) -> tuple[WordCNN, tuple[str, ...]]:
    """The trained model (eval mode, float32) and its dictionary, from a safetensors checkpoint: `path`, else
    the user's own (`user_checkpoint()`) if trained, else the shipped one (APP.checkpoint("jaderberg_dict200"))."""
    if path is None:
        path = user_checkpoint() if checkpoint.exists(user_checkpoint()) else APP.checkpoint("jaderberg_dict200")
    tensors, config, meta = checkpoint.load(path, how_to_fix="train one with `deepgallery train textspot`")
    model = WordCNN(WordCNNConfig.from_dict(config["model"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return model.eval(), tuple(config["words"])
