"""Prediction: several models averaged (the team averaged many networks), each over test-time augmentations,
and the competition's metric, the multi-class log loss."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from .data import affine, as_input, tta_params
from .model import Classifier


@torch.no_grad()
def probabilities(models: list[Classifier], x: torch.Tensor, size: torch.Tensor, tta: int = 0,
                  batch: int = 256) -> np.ndarray:
    """(N, S, S) uint8 images + (N, 2) size features -> (N, K) class probabilities: the mean over `models` and,
    with `tta` > 0, over that many test-time transforms of each image."""
    params = tta_params(tta) if tta else None
    total = None
    for model in models:
        model.net.eval()
        out = []
        for i in range(0, len(x), batch):
            xb, sb = as_input(x[i:i + batch]), size[i:i + batch]  # (b, 1, S, S), (b, 2)
            if params is None:
                out.append(F.softmax(model.net(xb, sb), dim=1))
                continue
            p = 0
            for row in params:
                p = p + F.softmax(model.net(affine(xb, row.expand(len(xb), -1)), sb), dim=1)
            out.append(p / len(params))
        probs = torch.cat(out) if out else torch.zeros(0, len(model.classes))
        total = probs if total is None else total + probs
    return (total / len(models)).numpy()


def logloss(probs: np.ndarray, labels: np.ndarray, eps: float = 1e-15) -> float:
    """Kaggle's multi-class log loss: probabilities clipped to [eps, 1 - eps] and each row renormalised, then the
    mean of -log p(true class)."""
    p = np.clip(np.asarray(probs, np.float64), eps, 1 - eps)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(probs).argmax(1) == labels).mean())
