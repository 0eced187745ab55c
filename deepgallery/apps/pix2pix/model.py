"""pix2pix: a conditional GAN that learns a mapping from an input image x to an output image y
(Isola, Zhu, Zhou & Efros, "Image-to-Image Translation with Conditional Adversarial Networks", CVPR 2017).

Section 3.1, the objective. The generator G maps x and a noise z to y; the discriminator D sees the input
and an output and tells real pairs from generated ones (a *conditional* GAN):

    L_cGAN(G, D) = E_{x,y}[log D(x, y)] + E_{x,z}[log(1 - D(x, G(x, z)))]            (Eq. 1)
    L_L1(G)      = E_{x,y,z}[ ||y - G(x, z)||_1 ]                                     (Eq. 3)
    G*           = arg min_G max_D L_cGAN(G, D) + λ L_L1(G),   λ = 100                (Eq. 4)

The L1 term makes the output near the ground truth at low frequencies; the GAN term, through a
discriminator that only judges local patches, makes it sharp at high frequencies (Section 3.2.2). z is not
an input: "we provide noise only in the form of dropout, applied on several layers of our generator at both
training and test time" (Section 3.1), so `Generator.forward` keeps its dropout on at test time by default.

Section 3.2.1 and Appendix 6.1.1, the generator: a U-Net. ``Ck`` is Convolution-Norm-ReLU with k filters,
``CDk`` the same with dropout 0.5; all convolutions are 4×4, stride 2 (down in the encoder, transposed up in
the decoder):

    encoder  C64-C128-C256-C512-C512-C512-C512-C512                  (256 → 1 pixel, leaky ReLU 0.2)
    decoder  CD512-CD512-CD512-C512-C256-C128-C64                   (with skips: layer i ‖ layer n - i)

then a convolution to the output channels and tanh. No normalisation on the first C64 (Appendix 6.1.1); none on
the 1×1 bottleneck either, where instance normalisation would set every value to zero (the authors' code does
the same). `NetConfig.width` is the 64 (ngf) and `max_mult` the ×8 cap; the shipped CPU model is narrower.

Section 3.2.2 and Appendix 6.1.2, the discriminator: a 70×70 PatchGAN, C64-C128-C256-C512 (4×4, stride 2, 2, 2
then 1, leaky ReLU 0.2, no norm on C64), then a 4×4 convolution to one channel: each output logit judges one
70×70 patch of the (x, y) pair, and the loss averages them all.

Appendix 6.2, optimisation: minibatch SGD with Adam (lr 2e-4, β1 0.5), one D step then one G step; G is trained
to maximise log D(x, G(x, z)) (the non-saturating loss), and D's objective is halved to slow it down relative
to G. Batch size 1 with instance normalisation ("batch normalization" applied to one image at test time too),
random jitter (resize to 286×286, random crop back to 256×256) and mirroring.

`load(path)` / `load_shipped(name)` read a trained generator back; `translate` runs it on one image of any size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...core import checkpoint
from ...core.errors import UserError
from . import APP

FIX = "train one with `deepgallery train pix2pix --data DIR --out RUN --export NAME`, or leave --checkpoint out"


@dataclass(frozen=True)
class NetConfig:
    """Shapes of G and D (the paper's are the defaults; the shipped CPU model sets `width` 16 and `max_mult` 4)."""

    in_channels: int = 3  # x: RGB (an edge map, a grayscale photo, a label map stored as RGB)
    out_channels: int = 3  # y: RGB
    width: int = 64  # ngf = ndf: filters of the first layer (the paper's C64)
    max_mult: int = 8  # the filters double per layer up to width × max_mult (the paper's 512 = 64 × 8)
    depth: int = 8  # stride-2 layers of the U-Net encoder: 8 takes 256 × 256 to 1 × 1 (U-Net-256)
    d_layers: int = 3  # stride-2 layers of the PatchGAN: 3 gives the 70 × 70 receptive field
    norm: Literal["instance", "batch"] = "instance"  # instance at batch 1 (the paper's setting), batch otherwise
    dropout: float = 0.5  # on the first three decoder layers (CD512), the noise z, on at test time too

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def multiple(self) -> int:
        """Input sides must be multiples of this (2^depth) to reach the bottleneck and come back."""
        return 2 ** self.depth


def _norm(kind: str, channels: int) -> nn.Module:
    # InstanceNorm without running statistics: the same at training and test time, for any batch size
    return nn.InstanceNorm2d(channels) if kind == "instance" else nn.BatchNorm2d(channels)


def _filters(cfg: NetConfig, i: int) -> int:
    """Filters of encoder layer i (0-based): 64, 128, 256, 512, 512, ... at width 64."""
    return cfg.width * min(2 ** i, cfg.max_mult)


class Down(nn.Module):
    """Encoder layer Ck: Convolution(4×4, stride 2)-Norm-LeakyReLU(0.2). The activation is applied *before* the
    convolution (as in the authors' code), so each layer's output — the skip — is the normalised convolution."""

    def __init__(self, c_in: int, c_out: int, norm: str | None, first: bool, bias: bool) -> None:
        super().__init__()
        self.first = first  # the image itself enters the first convolution, not a leaky-ReLU of it
        self.conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)
        self.norm = _norm(norm, c_out) if norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.first:
            x = F.leaky_relu(x, 0.2)
        return self.norm(self.conv(x))  # (B, C_out, H/2, W/2)


class Up(nn.Module):
    """Decoder layer Ck / CDk: ReLU-TransposedConvolution(4×4, stride 2)-Norm[-Dropout(0.5)]."""

    def __init__(self, c_in: int, c_out: int, norm: str, dropout: float) -> None:
        super().__init__()
        self.conv = nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=norm != "batch")
        self.norm = _norm(norm, c_out)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, noise: bool) -> torch.Tensor:
        y = self.norm(self.conv(F.relu(x)))  # (B, C_out, 2H, 2W)
        if self.dropout and noise:
            y = F.dropout(y, self.dropout, training=True)  # z: the same at training and at test time
        return y


class Generator(nn.Module):
    """U-Net-256 (Fig. 3 right, Appendix 6.1.1): G(x, z) with z given as dropout."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        n = cfg.depth
        enc = [_filters(cfg, i) for i in range(n)]  # 64, 128, 256, 512, 512, 512, 512, 512
        self.down = nn.ModuleList(
            Down(cfg.in_channels if i == 0 else enc[i - 1], enc[i],
                 norm=None if i in (0, n - 1) else cfg.norm, first=i == 0,
                 bias=cfg.norm != "batch")  # as the authors' code: a bias only where no batch norm follows anywhere
            for i in range(n))
        # decoder layer j takes the previous output ‖ the mirror encoder output (none at the bottleneck)
        self.up = nn.ModuleList(
            Up(enc[n - 1 - j] * (1 if j == 0 else 2), enc[n - 2 - j], cfg.norm, cfg.dropout if j < 3 else 0.0)
            for j in range(n - 1))
        self.out = nn.ConvTranspose2d(2 * enc[0], cfg.out_channels, 4, stride=2, padding=1)

    def forward(self, x: torch.Tensor, noise: bool = True) -> torch.Tensor:
        """x (B, C_in, H, W) in [-1, 1], H and W multiples of 2^depth -> y (B, C_out, H, W) in [-1, 1].
        `noise` keeps the dropout z on (the paper, at training and test time); False gives the mean-field net."""
        skips = []
        h = x
        for layer in self.down:
            h = layer(h)
            skips.append(h)  # (B, C_i, H / 2^(i+1), W / 2^(i+1))
        h = skips.pop()  # the 1 × 1 bottleneck at 256
        for layer in self.up:
            h = torch.cat([layer(h, noise), skips.pop()], dim=1)  # (B, 2 C, ., .): the skip connection
        return torch.tanh(self.out(F.relu(h)))  # (B, C_out, H, W)


class PatchDiscriminator(nn.Module):
    """The 70×70 PatchGAN (Appendix 6.1.2): D(x, y) -> (B, 1, H/8 - 2, W/8 - 2) logits, one per patch."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = cfg.in_channels + cfg.out_channels  # conditional: D sees the input beside the output
        for i in range(cfg.d_layers + 1):  # C64-C128-C256 with stride 2, C512 with stride 1
            c_out = _filters(cfg, i)
            stride = 2 if i < cfg.d_layers else 1
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=stride, padding=1, bias=i == 0 or cfg.norm != "batch"))
            if i > 0:
                layers.append(_norm(cfg.norm, c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in = c_out
        layers.append(nn.Conv2d(c_in, 1, 4, stride=1, padding=1))  # one logit per patch; the sigmoid is in the loss
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, y], dim=1))  # (B, 1, H', W')


def receptive_field(cfg: NetConfig) -> int:
    """Side of the input patch one PatchGAN output sees: 70 for the paper's three stride-2 layers."""
    size = 1
    for stride in [1, 1] + [2] * cfg.d_layers:  # from the last layer back to the input: r = r·s + (k - s)
        size = size * stride + (4 - stride)
    return size


def init_weights(net: nn.Module, seed: int | None = None) -> None:
    """Weights from N(0, 0.02), norm scales from N(1, 0.02), biases 0 (the authors' code, after DCGAN)."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1 + torch.randn(m.weight.shape, generator=gen) * 0.02)
            nn.init.zeros_(m.bias)


# ------------------------------------------------------------------------------------ the losses (Eq. 1, 3, 4)


def d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D maximises Eq. 1, i.e. minimises the cross-entropy of real patches as 1 and generated ones as 0; halved
    (Appendix 6.2: "we divide the objective by 2 while optimizing D")."""
    real = F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
    fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
    return 0.5 * (real + fake)


def g_loss(d_fake: torch.Tensor | None, fake: torch.Tensor, target: torch.Tensor, lambda_l1: float) -> tuple:
    """G minimises -log D(x, G(x, z)) + λ ||y - G(x, z)||_1 (Eq. 4 with the non-saturating GAN term); with
    `d_fake` None it is L1 alone (the Table 1 ablation). Returns (total, gan term, L1 term)."""
    l1 = (fake - target).abs().mean()
    if d_fake is None:
        return lambda_l1 * l1, torch.zeros((), device=fake.device), l1
    gan = F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))
    return gan + lambda_l1 * l1, gan, l1


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# ------------------------------------------------------------------------------------------- images and use


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 127.5 - 1.0  # a copy


def to_image(y: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> (H, W, 3) uint8."""
    return ((y[0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8).cpu().numpy()


@dataclass
class Translator:
    """A trained generator with what it was trained on (its JSON), ready to translate images."""

    net: Generator
    task: str  # "edges", "gray", "segments" or "custom" (a user's own pairs)
    meta: dict[str, Any]
    name: str

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg


def load(path: str | Path, name: str | None = None) -> Translator:
    """A generator written by `train.export` (or a training state's G): NAME.safetensors + NAME.json."""
    tensors, config, meta = checkpoint.load(path, FIX)
    if "net" not in config:
        raise UserError(f"{path} is not a pix2pix checkpoint (its JSON has no 'net'); {FIX}")
    cfg = NetConfig(**config["net"])
    net = Generator(cfg)
    g = {k.removeprefix("G."): v.float() for k, v in tensors.items() if not k.startswith("D.")}
    try:
        net.load_state_dict(g)
    except RuntimeError as exc:
        raise UserError(f"{path} does not fit the pix2pix generator ({str(exc).splitlines()[0]}); {FIX}") from None
    net.eval()
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    return Translator(net, config.get("task", "custom"), meta, name or Path(path).name)


def load_shipped(name: str = "edges2photo") -> Translator:
    """A shipped generator: `edges2photo` (cGAN + L1) or `edges2photo_l1` (L1 alone, the ablation)."""
    return load(APP.checkpoint(name), name)


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (B, C, H, W) on the right and bottom to multiples of `multiple`; returns it and (H, W)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


@torch.no_grad()
def translate(model: Translator, image: np.ndarray, noise: bool = True, seed: int | None = 0) -> np.ndarray:
    """G(x) for one (H, W, 3) uint8 image (sides padded up to the network's multiple, cropped back).
    `seed` fixes the dropout noise so a run is reproducible; None draws fresh noise."""
    device = next(model.net.parameters()).device
    x, (h, w) = pad_to_multiple(to_tensor(image).to(device), model.cfg.multiple)
    if seed is not None:
        torch.manual_seed(seed)  # seeds every device's generator: the same z on the CPU and the GPU
    y = model.net(x, noise=noise)
    return to_image(y[..., :h, :w])
