"""The judge of class consistency: a small CNN trained on the 28×28 Fashion-MNIST training images.

A super-resolved image keeps the identity of its input when this classifier, which never saw a super-resolved
image, gives it the class of the original (the paper's human study asked whether a face still looked real; here
the question is whether a sneaker is still a sneaker). `bench` uses the shipped checkpoint ("classifier").
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ...core import checkpoint
from ...core.errors import UserError
from ...core.fashion_mnist import FASHION_CLASSES
from ...core.runtime import progress, seed_everything


class FashionCNN(nn.Module):
    """conv 3×3 (16) – pool – conv 3×3 (32) – pool – dense 64 – 10 classes, on (B, 1, 28, 28) uint8 images."""

    def __init__(self, classes: int = len(FASHION_CLASSES)):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(32 * 7 * 7, 64), nn.Linear(64, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 255.0
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 16, 14, 14)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (B, 32, 7, 7)
        return self.fc2(F.dropout(F.relu(self.fc1(x.flatten(1))), 0.25, self.training))

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
        self.eval()
        return torch.cat([self(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 3, batch: int = 64, lr: float = 2e-3,
                     seed: int = 0, log=print) -> tuple[FashionCNN, dict]:
    """Adam with cosine decay on (N, 1, 28, 28) uint8 images; returns the network and what ran."""
    seed_everything(seed)
    net = FashionCNN()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    per_epoch = len(images) // batch
    total, step, start = per_epoch * epochs, 0, time.time()
    bar = progress(total=total, desc="train classifier")
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=gen)
        for i in range(per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(net(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            bar.update(1)
    bar.close()
    net.eval()
    return net, {"steps": step, "epochs": epochs, "batch": batch, "lr": lr, "seconds": round(time.time() - start, 1)}


def export_classifier(net: FashionCNN, path: str | Path, meta: dict) -> Path:
    return checkpoint.export_half(path, net.state_dict(), {"classifier": "FashionCNN", "classes": FASHION_CLASSES},
                                  meta)


def load_classifier(path: str | Path) -> FashionCNN:
    tensors, config, _ = checkpoint.load(path)
    if config.get("classifier") != "FashionCNN":
        raise UserError(f"{path} is not a superres class-consistency classifier")
    net = FashionCNN(len(config["classes"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    return net.eval()
