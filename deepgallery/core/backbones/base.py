"""What every backbone offers: ImageNet preprocessing and named intermediate features.

A backbone is an ``nn.Module`` whose forward pass is a list of named stages run in order
(``layer_names``). ``extract(x, layers)`` runs only as far as the deepest requested layer and
returns those activations — what style transfer (Gatys et al. 2016, Sec. 2) and DeepDream
(Mordvintsev et al. 2015) optimise against, and what PPGN's condition network reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import unknown_name_error


@dataclass(frozen=True)
class Preprocess:
    """How images in [0, 1] RGB become network input: ``(x - mean) / std`` per channel."""

    mean: tuple[float, float, float]  # per-channel mean of the training images, RGB in [0, 1]
    std: tuple[float, float, float]  # per-channel divisor, RGB in [0, 1] units
    size: int  # side length the network was trained at (it accepts other sizes)

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return mean, std

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] -> network input."""
        mean, std = self._stats(x)
        return (x - mean) / std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Network input -> (B, 3, H, W) RGB in [0, 1] (not clamped)."""
        mean, std = self._stats(x)
        return x * std + mean


IMAGENET = Preprocess(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), size=224)


class FeatureNet(nn.Module):
    """Base class: subclasses fill ``self.stages`` (name -> module, in forward order) and may add a head.

    ``forward(x)`` gives ImageNet logits (B, 1000) for classifiers; ``extract(x, layers)`` gives a dict
    of the named activations. ``x`` is always already normalised (see ``Preprocess.normalize``).
    """

    name: str = ""
    num_classes: int = 0  # 0 for conv-only backbones (no classifier head)

    def __init__(self) -> None:
        super().__init__()
        self.source = ""  # which weights were loaded, for `info` and every output

    # Subclasses override: yield (name, activation) for each stage in order.
    def _run(self, x: torch.Tensor):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def layer_names(self) -> tuple[str, ...]:
        raise NotImplementedError

    def check_layers(self, layers: Iterable[str]) -> list[str]:
        """The names unchanged, or a UserError with the closest valid names for an unknown one."""
        layers = list(layers)
        valid = self.layer_names
        for layer in layers:
            if layer not in valid:
                raise unknown_name_error(f"layer of {self.name}", layer, valid)
        return layers

    def extract(self, x: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        """Activations at `layers` for normalised input x (B, 3, H, W); stops after the deepest one."""
        wanted = set(self.check_layers(layers))
        out: dict[str, torch.Tensor] = {}
        for name, h in self._run(x):
            if name in wanted:
                out[name] = h
                if len(out) == len(wanted):
                    break
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.num_classes:
            raise RuntimeError(f"{self.name} has no classifier head; use .extract(x, layers)")
        return self.extract(x, ["logits"])["logits"]

    def frozen(self) -> FeatureNet:
        """Eval mode, no parameter gradients (gradients still flow to the input image)."""
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self
