"""The ≋Deep Sea≋ network for the National Data Science Bowl 2015 (Dieleman, De Fauw, van den Oord et al.),
as their write-up "Classifying plankton with deep neural networks" (2015-03-17) describes it, scaled down.

Plankton has no up or down, so the network is built to be invariant to rotations by multiples of 90°:

* **Cyclic slice** (`cyclic_slice`): the input batch is stacked with its 90°, 180° and 270° rotations,
  (B, C, H, W) -> (4B, C, H, W), rotation r of example b at row r·B + b. Every layer after it treats the four
  copies alike (they share weights), like four networks of one set of parameters.
* **Cyclic roll** (`CyclicRoll`, `cyclic_roll_dense`): the feature maps of the four copies are rotated back into
  one frame and stacked on the channel axis, so each copy sees what the others found: (4B, C, H, W) ->
  (4B, 4C, H, W). Rotating the input by 90° only permutes the four copies cyclically (test_plankton checks it).
* **Cyclic pooling** (`cyclic_pool`): the four copies' dense features are pooled, root-mean-square as in the
  team's code (their `CyclicPoolLayer(pool_function=rms)`), (4B, D) -> (B, D): the output is invariant to 90°
  rotations of the input.
* **Leaky ReLUs** with leakiness 1/3 (the team's "very leaky" `leaky_relu(x, alpha=3.0)`), max pooling, dropout.
* **The image's original size** as an extra input: images are rescaled to a fixed input size, which throws
  their size away (in NDSB the size of an organism in the image is proportional to its real size), so
  log(longer side) and log(shorter side) join the pooled features before the classifier. Both are invariant
  to 90° rotations.

`PlainCNN` is the comparison: the same kind of convolutional stack without slicing, rolling or pooling over
rotations, widened to (about) the cyclic network's parameter count.

The loaders of the shipped models, `load(path)` and `load_shipped(name)`, are at the end.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

LEAK = 1.0 / 3.0  # the team's leaky_relu(x, alpha=3.0): max(x, x / 3)
SIZE_FEATURES = 2  # log longer side, log shorter side (in units of log 32 px)


def leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAK)


# ------------------------------------------------------------------------------------------- the cyclic layers


def cyclic_slice(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (4B, C, H, W): the batch, then it rotated by 90°, 180°, 270° (counter-clockwise)."""
    return torch.cat([torch.rot90(x, r, dims=(2, 3)) for r in range(4)], dim=0)  # (4B, C, H, W)


def cyclic_roll(x: torch.Tensor) -> torch.Tensor:
    """The cyclic roll of feature maps (the team's CyclicConvRollLayer): (4B, C, H, W) -> (4B, 4C, H, W).

    Copy r gets, for s = 0..3, the maps of copy (r + s) mod 4 rotated back by s quarter turns into its own frame.
    If the input is rotated by 90°, copy r of the new input is copy r + 1 of the old one, so the rolled maps of
    copy r become those of copy r + 1: a cyclic permutation of the copies, nothing else.
    """
    b = x.shape[0] // 4
    copies = x.view(4, b, *x.shape[1:])  # (4, B, C, H, W)
    rolled = []
    for r in range(4):
        rolled.append(torch.cat([torch.rot90(copies[(r + s) % 4], -s, dims=(2, 3)) for s in range(4)], dim=1))
    return torch.cat(rolled, dim=0)  # (4B, 4C, H, W)


def cyclic_roll_dense(x: torch.Tensor) -> torch.Tensor:
    """The roll of dense features (the team's CyclicRollLayer): (4B, D) -> (4B, 4D); no spatial axes to turn."""
    b = x.shape[0] // 4
    copies = x.view(4, b, -1)  # (4, B, D)
    return torch.cat([torch.cat([copies[(r + s) % 4] for s in range(4)], dim=1) for r in range(4)], dim=0)


def cyclic_pool(x: torch.Tensor, how: str = "rms") -> torch.Tensor:
    """Pool the four copies: (4B, D) -> (B, D), root-mean-square (the team's choice) or mean."""
    copies = x.view(4, x.shape[0] // 4, -1)  # (4, B, D)
    if how == "mean":
        return copies.mean(0)
    return torch.sqrt(copies.pow(2).mean(0) + 1e-12)  # (B, D)


class CyclicRoll(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return cyclic_roll(x)


# ------------------------------------------------------------------------------------------------ the networks


@dataclass
class NetConfig:
    """Shape of a network; stored in every checkpoint, so a loader rebuilds exactly what was trained."""

    kind: str = "cyclic"  # cyclic | plain
    size: int = 32  # input side in pixels (the team: 95)
    widths: list[int] = field(default_factory=lambda: [8, 16, 32])  # conv channels per stage (the team: 32..256)
    dense: int = 64  # dense units (the team: 256 or maxout 512)
    classes: int = 10
    dropout: float = 0.1  # before each dense layer (the team: 0.5)
    pool: str = "mean"  # cyclic pooling: mean | rms (the team's; slower to start in our short CPU runs)
    use_size: bool = True  # the original image size as an extra input

    def to_dict(self) -> dict:
        return asdict(self)


class _Stage(nn.Module):
    """Two 3x3 convolutions with leaky ReLUs and a 2x2 max pool: (N, Cin, H, W) -> (N, C, H/2, W/2).

    GroupNorm after each convolution is ours, not the team's (2015, before normalisation layers were common): it
    lets minutes of CPU training converge. It normalises each image (each rotated copy) on its own, so it keeps
    the rotation structure exact and gives the same step on one process or several."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.a = nn.Conv2d(cin, c, 3, padding=1)
        self.na = nn.GroupNorm(math.gcd(4, c), c)
        self.b = nn.Conv2d(c, c, 3, padding=1)
        self.nb = nn.GroupNorm(math.gcd(4, c), c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(leaky(self.nb(self.b(leaky(self.na(self.a(x)))))), 2)


def _init(module: nn.Module) -> None:
    """Orthogonal weights with a leaky-ReLU gain and small positive biases (the team: Orthogonal, b = 0.1)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(m.weight, gain=math.sqrt(2 / (1 + LEAK**2)))
            nn.init.constant_(m.bias, 0.05)
    out = getattr(module, "out", None)
    if isinstance(out, nn.Linear):  # the classifier starts at uniform probabilities (log loss = log K)
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)


def _conv_stages(cfg: NetConfig, copies: int) -> tuple[nn.ModuleList, int]:
    """The conv stages of `cfg.widths` and the size of their flattened output. `copies` = 4 when a roll after
    each stage stacks the four rotated copies' maps as channels (the next stage sees 4C), 1 for a plain net."""
    stages, cin = [], 1
    for c in cfg.widths:
        stages.append(_Stage(cin, c))
        cin = copies * c
    side = cfg.size // 2 ** len(cfg.widths)
    return nn.ModuleList(stages), cin * side * side


class CyclicNet(nn.Module):
    """Slice -> [conv stage -> roll] x len(widths) -> dense -> roll -> dense -> cyclic pool (+ size) -> softmax."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.stages, flat = _conv_stages(cfg, copies=4)  # the roll after each stage stacks the four copies' maps
        self.fc1 = nn.Linear(flat, cfg.dense)
        self.fc2 = nn.Linear(4 * cfg.dense, cfg.dense)
        self.out = nn.Linear(cfg.dense + (SIZE_FEATURES if cfg.use_size else 0), cfg.classes)
        _init(self)

    def forward(self, x: torch.Tensor, size: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, 1, S, S) images, size: (B, 2) size features -> (B, classes) logits."""
        h = cyclic_slice(x)  # (4B, 1, S, S)
        for stage in self.stages:
            h = cyclic_roll(stage(h))  # (4B, 4C, S', S')
        h = F.dropout(h.flatten(1), self.cfg.dropout, self.training)  # (4B, 4C·S'·S')
        h = cyclic_roll_dense(leaky(self.fc1(h)))  # (4B, 4D)
        h = leaky(self.fc2(F.dropout(h, self.cfg.dropout, self.training)))  # (4B, D)
        h = cyclic_pool(h, self.cfg.pool)  # (B, D)
        if self.cfg.use_size:
            h = torch.cat([h, _size_or_zero(size, h)], dim=1)  # (B, D + 2)
        return self.out(F.dropout(h, self.cfg.dropout, self.training))  # (B, classes)


class PlainCNN(nn.Module):
    """The peer: [conv stage] x len(widths) -> dense -> dense (+ size) -> softmax, no rotation structure."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        self.stages, flat = _conv_stages(cfg, copies=1)
        self.fc1 = nn.Linear(flat, cfg.dense)
        self.fc2 = nn.Linear(cfg.dense, cfg.dense)
        self.out = nn.Linear(cfg.dense + (SIZE_FEATURES if cfg.use_size else 0), cfg.classes)
        _init(self)

    def forward(self, x: torch.Tensor, size: torch.Tensor | None = None) -> torch.Tensor:
        h = x  # (B, 1, S, S)
        for stage in self.stages:
            h = stage(h)  # (B, C, S', S')
        h = leaky(self.fc1(F.dropout(h.flatten(1), self.cfg.dropout, self.training)))  # (B, D)
        h = leaky(self.fc2(F.dropout(h, self.cfg.dropout, self.training)))  # (B, D)
        if self.cfg.use_size:
            h = torch.cat([h, _size_or_zero(size, h)], dim=1)  # (B, D + 2)
        return self.out(F.dropout(h, self.cfg.dropout, self.training))  # (B, classes)


def _size_or_zero(size: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    if size is None:
        return like.new_zeros(like.shape[0], SIZE_FEATURES)
    return size.to(like)


def build(cfg: NetConfig) -> nn.Module:
    return CyclicNet(cfg) if cfg.kind == "cyclic" else PlainCNN(cfg)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def plain_config_matching(cfg: NetConfig) -> NetConfig:
    """A PlainCNN config whose parameter count is closest to the cyclic network of `cfg`: the same stages with
    every width scaled by one factor (the roll quadruples the cyclic net's input channels, so the plain one must
    be wider to hold as many weights)."""
    target = parameter_count(CyclicNet(cfg))
    best, best_gap = None, None
    for tenth in range(10, 61):
        k = tenth / 10
        trial = NetConfig(**{**cfg.to_dict(), "kind": "plain", "widths": [max(1, round(w * k)) for w in cfg.widths],
                             "dense": max(1, round(cfg.dense * k))})
        gap = abs(parameter_count(PlainCNN(trial)) - target)
        if best_gap is None or gap < best_gap:
            best, best_gap = trial, gap
    return best


# ------------------------------------------------------------------------------------------------ the loaders


@dataclass
class Classifier:
    """A trained network with what it needs at prediction time: its class names and its input config."""

    net: nn.Module
    classes: list[str]
    meta: dict

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg


def load(path: str | Path) -> Classifier:
    """A checkpoint written by `train` or shipped (fp16 is turned back into float32), ready for evaluation."""
    from ...core import checkpoint

    tensors, config, meta = checkpoint.load(path, how_to_fix="Train one with `deepgallery train plankton`.")
    cfg = NetConfig(**config["net"])
    net = build(cfg)
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    net.eval()
    return Classifier(net, list(config["classes"]), {k: v for k, v in meta.items() if not k.startswith("_")})


def load_shipped(name: str = "cyclic") -> Classifier:
    """The shipped network `name` (APP.checkpoints: cyclic, plain), trained on rotated Fashion-MNIST."""
    from . import APP

    return load(APP.checkpoint(name))
