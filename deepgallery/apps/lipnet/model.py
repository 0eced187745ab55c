"""LipNet (Assael, Shillingford, Whiteson & de Freitas 2016, §3 and Appendix A) and its Baseline-2D ablation.

    x (B, 3, T, 50, 100) mouth crops
      → STCNN 3×5×5 /(1,2,2), 32 ch → ReLU → spatial dropout → max-pool 1×2×2   # (B, 32, T, 12, 25)
      → STCNN 3×5×5,          64 ch → ReLU → spatial dropout → max-pool 1×2×2   # (B, 64, T, 6, 12)
      → STCNN 3×3×3,          96 ch → ReLU → spatial dropout → max-pool 1×2×2   # (B, 96, T, 3, 6)
      → flatten per frame → layer norm → Bi-GRU 256 → Bi-GRU 256                             # (B, T, 512)
      → linear → log-softmax over 28 symbols                                    # (B, T, 28)

trained with the CTC loss (§3.2, eq. 3): -log Σ over all alignments of the sentence of Π_t p(symbol_t).
A spatiotemporal convolution (§3.1, eq. 1) mixes 3 neighbouring frames; the Baseline-2D ablation (§4.3) uses
per-frame 2-D convolutions (1×k×k kernels) so only the GRUs see time. `width` scales every channel count and
the GRU size, so a small model trains and runs on a CPU (the shipped one: width 0.25).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .face import CROP_H, CROP_W
from .text import BLANK, SYMBOLS

MEAN = torch.tensor([0.45, 0.33, 0.30]).view(1, 3, 1, 1, 1)  # rough colour statistics of mouth crops
STD = torch.tensor([0.22, 0.18, 0.18]).view(1, 3, 1, 1, 1)


def standardise(x: torch.Tensor) -> torch.Tensor:
    """Each clip's colour channels to zero mean and unit variance over its frames and pixels: (B, 3, T, H, W).

    The paper standardises by the training set's statistics; with a handful of real faces to learn from, per-clip
    statistics take the speaker's skin tone, lip colour and the room's light out of the input, so the network is
    left with what changes over the clip: the mouth moving."""
    mean = x.mean(dim=(2, 3, 4), keepdim=True)  # (B, 3, 1, 1, 1)
    std = x.std(dim=(2, 3, 4), keepdim=True)
    return (x - mean) / (std + 1e-3)


@dataclass
class NetConfig:
    width: float = 1.0  # channels 32/64/96 and GRU 256, times this
    temporal: bool = True  # False: Baseline-2D (per-frame 2-D convolutions)
    dropout: float = 0.5  # spatial dropout after each convolution (the paper: 0.5)
    channels: list[int] = field(default_factory=list)  # filled from width
    hidden: int = 0  # filled from width
    words: int = 0  # >0: a training-only head naming, per frame, the word being said (0: silence) of this many
    clip_norm: bool = False  # standardise each clip by its own statistics (standardise()); False: fixed MEAN, STD

    def __post_init__(self) -> None:
        if not self.channels:
            self.channels = [max(4, round(c * self.width)) for c in (32, 64, 96)]
        if not self.hidden:
            self.hidden = max(16, round(256 * self.width))

    def to_dict(self) -> dict:
        return asdict(self)


class STCNN(nn.Module):
    """One spatiotemporal convolution block (eq. 1): conv → ReLU → spatial dropout → 1×2×2 max-pool."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, temporal: bool, dropout: float):
        super().__init__()
        kt = 3 if temporal else 1
        self.conv = nn.Conv3d(cin, cout, (kt, k, k), stride=(1, stride, stride), padding=(kt // 2, k // 2, k // 2))
        self.drop = nn.Dropout3d(dropout)  # drops whole channels: "spatial dropout"
        self.pool = nn.MaxPool3d((1, 2, 2), (1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.drop(F.relu(self.conv(x))))


class LipNet(nn.Module):
    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3 = cfg.channels
        self.stcnn = nn.Sequential(
            STCNN(3, c1, 5, 2, cfg.temporal, cfg.dropout),
            STCNN(c1, c2, 5, 1, cfg.temporal, cfg.dropout),
            STCNN(c2, c3, 3, 1, cfg.temporal, cfg.dropout),
        )
        h, w = CROP_H // 2 // 2 // 2 // 2, CROP_W // 2 // 2 // 2 // 2  # 3, 6 after stride 2 and three pools
        # the per-frame features normalised (no batch statistic): without it the ReLU features grow to ~10³ in
        # training and saturate the GRU's gates, whose output then no longer depends on the frame (found here)
        self.norm = nn.LayerNorm(c3 * h * w)
        self.gru1 = nn.GRU(c3 * h * w, cfg.hidden, batch_first=True, bidirectional=True)
        self.gru2 = nn.GRU(2 * cfg.hidden, cfg.hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(2 * cfg.hidden, SYMBOLS)
        self.word_head = nn.Linear(2 * cfg.hidden, cfg.words + 1) if cfg.words else None

    def forward(self, x: torch.Tensor, words: bool = False):
        """x (B, 3, T, 50, 100) in [0, 1] → log-probabilities (B, T, 28); with `words` also the word head's
        logits (B, T, words + 1) (training with word timings only; reading never uses them)."""
        x = standardise(x) if self.cfg.clip_norm else (x - MEAN.to(x)) / STD.to(x)  # (B, 3, T, 50, 100)
        f = self.stcnn(x)  # (B, C, T, 3, 6)
        b, c, t, h, w = f.shape
        f = f.permute(0, 2, 1, 3, 4).reshape(b, t, c * h * w)  # (B, T, C·3·6)
        f, _ = self.gru1(self.norm(f))  # (B, T, 2H)
        f, _ = self.gru2(self.drop(f))  # (B, T, 2H)
        log_probs = F.log_softmax(self.out(self.drop(f)), dim=-1)  # (B, T, 28)
        if words:
            return log_probs, self.word_head(self.drop(f))
        return log_probs


def ctc_loss(log_probs: torch.Tensor, targets: list[list[int]]) -> torch.Tensor:
    """CTC loss (eq. 3) summed over the batch: log_probs (B, T, 28), targets symbol lists (no blanks)."""
    b, t, _ = log_probs.shape
    flat = torch.tensor([s for tgt in targets for s in tgt], dtype=torch.long)
    lengths = torch.tensor([len(tgt) for tgt in targets], dtype=torch.long)
    return F.ctc_loss(log_probs.transpose(0, 1), flat, torch.full((b,), t, dtype=torch.long), lengths,
                      blank=BLANK, reduction="sum", zero_infinity=True)


def as_input(clips: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 clips (B, T, 50, 100, 3) → float (B, 3, T, 50, 100) in [0, 1]."""
    x = torch.as_tensor(clips)
    return x.permute(0, 4, 1, 2, 3).float() / 255.0


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@dataclass
class Reader:
    """A trained LipNet with what it was trained on (its checkpoint JSON)."""

    net: LipNet
    meta: dict

    @torch.no_grad()
    def log_probs(self, clips: np.ndarray) -> np.ndarray:
        """(B, T, 50, 100, 3) uint8 → (B, T, 28) log-probabilities."""
        self.net.eval()
        return self.net(as_input(clips)).numpy()


def load(path: str | Path) -> Reader:
    """A checkpoint written by `train --export` (NAME.safetensors + NAME.json)."""
    from ...core import checkpoint

    path = Path(path)
    state, config, meta = checkpoint.load(path, "give a checkpoint written by `deepgallery train lipnet --export`")
    net = LipNet(NetConfig(**config["net"]))
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return Reader(net.eval(), {k: v for k, v in meta.items() if not k.startswith("_")})


def load_shipped(name: str = "lipnet") -> Reader:
    from . import APP

    return load(APP.checkpoint(name))
