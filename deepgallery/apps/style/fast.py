"""Fast feed-forward style transfer — Johnson, Alahi & Fei-Fei, ECCV 2016 ("Perceptual losses").

A transform network f_W (Sec. 3.1, supplementary Table 1) maps a photo to its stylised version in one
forward pass; it is trained once per style with the same perceptual losses as Gatys et al.:

    W* = argmin_W  E_x [ lambda_c * l_feat(f_W(x), x) + lambda_s * l_style(f_W(x), y_s) + lambda_tv * l_TV ]

    l_feat  at relu2_2 of the loss network (Sec. 3.3, "feature reconstruction loss")
    l_style = Gram-matrix distance at relu1_2, relu2_2, relu3_3 (, relu4_3) (Sec. 3.3, "style reconstruction")

Architecture: c9s1-C, d2C, d4C, 5 residual blocks (4C), u2C, uC, c9s1-3. Deviations (common since):
instance normalisation instead of batch norm (Ulyanov et al. 2016), nearest-neighbour upsampling + conv
instead of fractionally strided convs (avoids checkerboard artefacts), sigmoid output in [0, 1].
The full-width nets use C = 16 (the paper's is 32) to train on a CPU.

Slim variants (`encoder_widths`, `decoder_widths`, `res_blocks`) keep the layout and the parameter names, so every
checkpoint loads into the config it was saved with; `SLIM` is the one the shipped default nets use (trained with the
perceptual losses, see the README): ~2.9 GMAC per 512x512 image instead of ~9.7.

The loader of the shipped nets lives here, beside the network: `fast_checkpoint(name)` finds one (a name in
`APP.checkpoints` or a path), `load_fast(path)` builds the TransformNet, `stylise_fast` runs it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from deepgallery.core import checkpoint
from deepgallery.core.errors import unknown_name_error

from . import APP


@dataclass
class FastConfig:
    width: int = 16  # C, channels of the first layer (paper: 32); the residual trunk has 4C
    res_blocks: int = 5  # paper: 5
    encoder_widths: tuple[int, ...] = ()  # (9x9 conv, stride-2 conv, stride-2 conv = residual trunk); () = (C, 2C, 4C)
    decoder_widths: tuple[int, ...] = ()  # the two upsampling convs; () = (2C, C)

    def __post_init__(self) -> None:
        self.encoder_widths = tuple(int(c) for c in self.encoder_widths)  # JSON gives lists
        self.decoder_widths = tuple(int(c) for c in self.decoder_widths)
        if len(self.encoder_widths) not in (0, 3) or len(self.decoder_widths) not in (0, 2):
            raise ValueError("encoder_widths needs 3 channel counts and decoder_widths 2 (or none for the defaults)")
        if min((self.width, *self.encoder_widths, *self.decoder_widths)) < 1 or self.res_blocks < 0:
            raise ValueError("channel counts must be >= 1 and res_blocks >= 0")

    @property
    def encoder(self) -> tuple[int, int, int]:
        c = self.width
        return self.encoder_widths or (c, 2 * c, 4 * c)  # type: ignore[return-value]

    @property
    def decoder(self) -> tuple[int, int]:
        c = self.width
        return self.decoder_widths or (2 * c, c)  # type: ignore[return-value]

    def gmac(self, h: int = 512, w: int = 512) -> float:
        """Multiply-adds of one forward pass on an (h, w) image, in 1e9, counting the upsampling convs as
        fast_infer.py runs them (four 2x2 phase convs on the small map: 4/9 of a 3x3 conv on the upsampled map)."""
        (e1, e2, e3), (d1, d2) = self.encoder, self.decoder
        n1, n2, n4 = h * w, (h // 2) * (w // 2), (h // 4) * (w // 4)
        macs = (n1 * 3 * e1 * 81 + n2 * e1 * e2 * 9 + n4 * e2 * e3 * 9 + n4 * e3 * e3 * 9 * 2 * self.res_blocks
                + n2 * e3 * d1 * 4 + n1 * d1 * d2 * 4 + n1 * d2 * 3 * 81)
        return macs / 1e9


# The default shipped nets: Johnson's layout (5 residual blocks) with a 32-channel trunk and a 16 -> 8 decoder.
SLIM = FastConfig(width=8, res_blocks=5, encoder_widths=(8, 16, 32), decoder_widths=(16, 8))


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with instance norm and an identity shortcut (He et al. 2016; Johnson supp. Fig. 1)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_conv(c, c, 3), nn.InstanceNorm2d(c, affine=True), nn.ReLU(),
                                  _conv(c, c, 3), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class TransformNet(nn.Module):
    def __init__(self, cfg: FastConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or FastConfig()
        (e1, e2, e3), (d1, d2) = cfg.encoder, cfg.decoder

        def down(cin, cout, k, s):
            return [_conv(cin, cout, k, s), nn.InstanceNorm2d(cout, affine=True), nn.ReLU()]

        self.encoder = nn.Sequential(*down(3, e1, 9, 1), *down(e1, e2, 3, 2), *down(e2, e3, 3, 2))
        self.residual = nn.Sequential(*[ResidualBlock(e3) for _ in range(cfg.res_blocks)])
        self.up1 = nn.Sequential(_conv(e3, d1, 3), nn.InstanceNorm2d(d1, affine=True), nn.ReLU())
        self.up2 = nn.Sequential(_conv(d1, d2, 3), nn.InstanceNorm2d(d2, affine=True), nn.ReLU())
        self.out = _conv(d2, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1]; any H, W (padded to a multiple of 4 inside)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        if ph or pw:
            x = F.pad(x, [0, pw, 0, ph], mode="reflect")
        y = self.residual(self.encoder(x))  # (B, e3, H/4, W/4)
        y = self.up1(F.interpolate(y, scale_factor=2.0, mode="nearest"))  # (B, d1, H/2, W/2)
        y = self.up2(F.interpolate(y, scale_factor=2.0, mode="nearest"))  # (B, d2, H, W)
        y = torch.sigmoid(self.out(y))  # (B, 3, H, W)
        return y[..., :h, :w]

    def config_dict(self) -> dict:
        return asdict(self.cfg)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """l_TV: mean absolute difference of neighbouring pixels (Johnson Sec. 3.3, Mahendran & Vedaldi 2015)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


def fast_checkpoint(name_or_path: str | Path) -> Path:
    """The checkpoint of a fast network: a shipped one by name (`APP.checkpoints`: the slim default nets swirl and
    mosaic, and the older full-width swirl-full and mosaic-full), or a path NAME of NAME.safetensors + NAME.json."""
    if name_or_path in APP.checkpoints:
        return APP.checkpoint(str(name_or_path))
    p = Path(name_or_path)
    if p.with_suffix(".json").is_file() or p.with_name(p.name + ".json").is_file():
        return p
    raise unknown_name_error("fast style network", str(name_or_path), APP.checkpoints)


def load_fast(path: str | Path) -> tuple[TransformNet, dict]:
    """A TransformNet (float32, eval, on the CPU) from a checkpoint written by training or `export_half`."""
    tensors, config, meta = checkpoint.load(path, how_to_fix="train one with `deepgallery train style`")
    model = TransformNet(FastConfig(**config.get("model", {})))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval(), meta


def stylise_fast(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) -> (1, 3, H, W), both in [0, 1], on x's device. `model` is a TransformNet or, for the faster CPU
    path, `fast_infer.FastInference(net)`."""
    with torch.inference_mode():
        return model(x).clamp(0, 1)
