"""Run the paper's PAF network from a checkpoint trained here: image → maps (Fig. 2b-c) → people (Section 2.4)."""

from __future__ import annotations

import os

import numpy as np
import torch

from ...core.runtime import choose_device
from .data import MEAN, STD, DataConfig
from .grouping import GroupingConfig, group
from .model import PAFNet, load, upsample
from .skeleton import Person


class PAFDetector:
    """``detect(rgb) -> list[Person]`` with a trained PAFNet and the greedy PAF grouping."""

    def __init__(self, model: PAFNet, size: int = 256, grouping: GroupingConfig | None = None,
                 device: torch.device | None = None):
        self.model = model.eval()
        self.size = size
        self.grouping = grouping or GroupingConfig()
        self.device = device or torch.device("cpu")
        self.model.to(self.device)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike | None = None, device: str = "cpu") -> PAFDetector:
        """The network of a checkpoint (default: the shipped one, `model.load`) at the input size it was trained at."""
        model, config = load(path)
        size = int(config.get("data", {}).get("size", DataConfig.size))
        return cls(model, size=size, device=choose_device(device))

    @torch.no_grad()
    def maps(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(S (J+1, H', W'), L (2C, H', W'), scale) at input resolution of the letterboxed image."""
        import cv2

        h, w = rgb.shape[:2]
        scale = self.size / max(h, w)
        img = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        canvas[: img.shape[0], : img.shape[1]] = img
        x = torch.from_numpy(((canvas / 255.0 - MEAN) / STD).astype(np.float32).transpose(2, 0, 1))[None]
        s, paf = self.model(x.to(self.device))[-1]  # the last stage's prediction
        stride = self.model.cfg.stride
        s, paf = upsample(s, stride)[0].cpu().numpy(), upsample(paf, stride)[0].cpu().numpy()
        return s, paf, scale

    def detect(self, rgb: np.ndarray) -> list[Person]:
        s, paf, scale = self.maps(rgb)
        return group(s, paf, self.model.cfg.limbs, self.grouping, scale=1.0 / scale)
