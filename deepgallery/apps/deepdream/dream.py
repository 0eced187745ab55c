"""DeepDream — Mordvintsev, Olah & Tyka 2015, "Inceptionism: Going Deeper into Neural Networks".

Gradient *ascent* on the image to amplify whatever a chosen layer already sees: the objective is
``1/2 ||a_l(x)||^2`` for a layer (every feature it detects gets stronger), the mean of one channel, or — for
guided dreaming — the dot product of each position's features with its best match among a guide image's
features (the "objective_guide" of the original notebook). The original's tricks, all here:

* octaves: process a pyramid of scales, coarse first, carrying the accumulated "detail" up (scale 1.4);
* jitter: shift the image randomly before each step (and back), which removes grid artefacts;
* gradient normalisation: step = step_size * g / mean|g|, so one step size works at every layer and scale.

The image and the network may live on any device; on a CUDA GPU the network's forward runs under bfloat16 autocast
(`core.runtime.autocast`) and the activation comes back as float32, so the objective and the step are float32.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from deepgallery.core.backbones.images import resize
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import autocast

# The layer each backbone dreams at by default (the notebook's inception_4c/output for GoogLeNet).
DEFAULT_LAYER = {"googlenet": "inception4c", "vgg16": "relu4_2", "vgg19": "relu4_2", "craft-vgg16bn": "relu4_2",
                 "efficientnet-lite0": "block9"}


@dataclass
class DreamConfig:
    layer: str = ""  # '' = the backbone's default (DEFAULT_LAYER)
    channel: int = -1  # >= 0: maximise this channel's mean instead of the whole layer
    octaves: int = 4  # notebook: 4
    octave_scale: float = 1.4  # notebook: 1.4
    steps: int = 10  # gradient-ascent steps per octave (notebook: 10)
    step_size: float = 1.5 / 255  # notebook: 1.5 on 0..255 pixels
    jitter: int = 32  # max random shift in px (notebook: 32)
    size: int = 512  # longer side of the result
    seed: int = 0


class Objective:
    """What to maximise at one layer: all activations (L2), one channel, or similarity to a guide image."""

    def __init__(self, net, prep, layer: str, channel: int = -1, guide: torch.Tensor | None = None,
                 precision: str = "auto") -> None:
        self.net, self.prep, self.layer, self.channel, self.precision = net, prep, layer, channel, precision
        net.check_layers([layer])
        self.guide = None
        if guide is not None:
            with torch.no_grad():
                g = self.features(guide)  # (1, C, h, w)
            self.guide = g.flatten(2)[0]  # (C, h*w)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The layer's activation of x (1, 3, H, W) in [0, 1], float32 (the forward in bf16 on a CUDA GPU; on the
        CPU no autocast, and `.float()` of a float32 tensor is the tensor itself)."""
        with autocast(x.device, self.precision):
            a = self.net.extract(self.prep.normalize(x), [self.layer])[self.layer]
        return a.float()

    def activation(self, x: torch.Tensor) -> torch.Tensor:
        a = self.features(x)  # (1, C, H, W)
        if a.dim() != 4:
            raise UserError(f"layer {self.layer!r} is not a convolutional feature map; pick an earlier one")
        if self.channel >= 0:
            if self.channel >= a.shape[1]:
                raise UserError(f"--channel {self.channel}: layer {self.layer} has channels 0..{a.shape[1] - 1}")
            a = a[:, self.channel:self.channel + 1]
        return a

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        a = self.activation(x)
        if self.guide is not None:  # each position follows the guide feature it already resembles most
            flat = a.flatten(2)[0]  # (C, M)
            best = (flat.t() @ self.guide).argmax(1)  # (M,) index of the best-matching guide feature
            return (flat * self.guide[:, best].detach()).sum() / flat.shape[1]
        if self.channel >= 0:
            return a.mean()
        return 0.5 * a.pow(2).mean()


def ascent_step(x: torch.Tensor, objective: Objective, cfg: DreamConfig, gen: torch.Generator) -> torch.Tensor:
    """One jittered, gradient-normalised ascent step on x (1, 3, H, W) in [0, 1]."""
    ox, oy = (torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=gen).tolist() if cfg.jitter else (0, 0))
    shifted = torch.roll(x, shifts=(oy, ox), dims=(2, 3)).detach().requires_grad_(True)
    objective(shifted).backward()
    g = shifted.grad
    shifted = shifted.detach() + cfg.step_size * g / (g.abs().mean() + 1e-12)
    return torch.roll(shifted, shifts=(-oy, -ox), dims=(2, 3)).clamp(0, 1)


def dream(x: torch.Tensor, objective: Objective, cfg: DreamConfig,
          on_step: Callable[[int], None] | None = None) -> torch.Tensor:
    """DeepDream with octaves: x (1, 3, H, W) in [0, 1] -> dreamed image of the same size."""
    if cfg.octaves < 1 or cfg.steps < 0 or cfg.octave_scale <= 1.0:
        raise UserError("octaves must be >= 1, steps >= 0 and octave scale > 1")
    gen = torch.Generator().manual_seed(cfg.seed)
    h, w = x.shape[-2:]
    sizes = [(max(16, round(h / cfg.octave_scale ** k)), max(16, round(w / cfg.octave_scale ** k)))
             for k in range(cfg.octaves)][::-1]  # smallest first
    detail = torch.zeros_like(resize(x, sizes[0]))
    n = 0
    for size in sizes:
        base = resize(x, size)  # (1, 3, h_k, w_k)
        img = (base + resize(detail, size)).clamp(0, 1)
        for _ in range(cfg.steps):
            img = ascent_step(img, objective, cfg, gen)
            n += 1
            if on_step is not None:
                on_step(n)
        detail = img - base  # what the dream added at this scale, carried to the next
    return img.detach()


def zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Crop the centre by `factor` (> 1) and resize back: one frame of the zoom-in animation."""
    h, w = x.shape[-2:]
    ch, cw = max(8, round(h / factor)), max(8, round(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    return resize(x[..., top:top + ch, left:left + cw], (h, w))
