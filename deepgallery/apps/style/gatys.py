"""Image style transfer by optimisation — Gatys, Ecker & Bethge, CVPR 2016.

The image x is optimised (L-BFGS, Sec. 3) so that its features match the content photo p at one layer
and its Gram matrices match the style image a at several layers:

    L_total(p, a, x) = alpha * L_content(p, x) + beta * L_style(a, x)                    (Eq. 7)
    L_content = 1/2 * sum_ij (F^l_ij - P^l_ij)^2          at conv4_2                   (Eq. 1)
                (we divide it by N_l M_l, so the weight ratio does not depend on the image size)
    G^l_ij = sum_k F^l_ik F^l_jk                           (Gram matrix, N_l x N_l)     (Eq. 3)
    E_l = 1 / (4 N_l^2 M_l^2) * sum_ij (G^l_ij - A^l_ij)^2                              (Eq. 4)
    L_style = sum_l w_l E_l,  w_l = 1/5 at conv1_1, conv2_1, conv3_1, conv4_1, conv5_1  (Eq. 5)

Extras from the same group's follow-ups, all optional: average pooling (Sec. 2 — "improves the gradient
flow"), colour preservation (Gatys et al. 2016b, luminance-only transfer), several styles blended
(target Gram = weighted mean of the styles' Grams), and coarse-to-fine for large images
(Gatys et al. CVPR 2017, Sec. 5: result at low resolution upsampled as the initialisation at high).

For video (Ruder, Dosovitskiy & Brox 2016, Sec. 3.2) a short-term temporal term pulls frame i towards the
previous stylised frame warped into it, ω, except where the mask c marks disocclusions and motion boundaries:

    L_temporal(x, ω, c) = 1/D * sum_k c_k (x_k - ω_k)^2,   D = 3 H W                      (Ruder Eq. 7)
    L_shortterm = alpha * L_content + beta * L_style + gamma * L_temporal                  (Ruder Eq. 8)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from deepgallery.core.backbones.images import resize
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import autocast


@dataclass
class GatysConfig:
    content_layer: str = "relu4_2"  # paper: conv4_2 (its ReLU output)
    style_layers: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # paper: conv1..5_1
    content_weight: float = 1.0  # alpha in Eq. 7
    style_weight: float = 0.0  # beta in Eq. 7; 0 = the backbone's default (DEFAULT_STYLE_WEIGHT)
    iterations: int = 300  # L-BFGS function evaluations at the finest scale (paper: until convergence, ~500-1000)
    size: int = 512  # longer side of the result in pixels
    scales: int = 1  # coarse-to-fine levels (1 = single scale); each level doubles the size
    pooling: str = "avg"  # "avg" replaces max pooling as the paper suggests; "max" is plain VGG
    init: str = "content"  # "content" (fast, stable) or "noise" (the paper's white-noise start)
    preserve_colour: bool = False  # keep the content's colours: transfer luminance only (Gatys et al. 2016b)
    style_scale: float = 1.0  # style images are resized to style_scale * size (brush-stroke scale)
    seed: int = 0  # for the noise initialisation
    style_weights: list[float] = field(default_factory=list)  # blend weights of several styles (default equal)
    temporal_weight: float = 1.0  # gamma in Ruder et al. Eq. 8 (video frames after the first); 0 = warped start only
    precision: str = "fp32"  # backbone forward: fp32; bf16 (autocast) was no faster on an H200 (README, GPU)


# The papers' layers are VGG's. For the other backbones, the same depths translated: Gatys et al. take a content
# layer about as deep as conv4_2 and one style layer at the end of each of the first five stages; Johnson et al.'s
# perceptual loss (the fast nets) takes relu2_2 for content and relu1_2, relu2_2, relu3_3, relu4_3 for style.
NON_VGG_LAYERS = {
    "efficientnet-lite0": ("block7", ("stem", "block0", "block2", "block4", "block7")),
    "googlenet": ("inception4b", ("conv1", "conv3", "inception3b", "inception4b", "inception4e")),
}
NON_VGG_PERCEPTUAL_LAYERS = {
    "efficientnet-lite0": ("block0", ("stem", "block0", "block2", "block4")),
    "googlenet": ("conv3", ("conv1", "conv3", "inception3b", "inception4b")),
}


def translated_layers(net_name: str, chosen: tuple[str, Sequence[str]], vgg_default: tuple[str, Sequence[str]],
                      table: dict[str, tuple[str, tuple[str, ...]]]) -> tuple[str, tuple[str, ...]]:
    """(content layer, style layers) for backbone `net_name`: the chosen ones, unless they are the VGG defaults and
    the backbone is not a VGG, in which case that backbone's translation from `table`."""
    content, style = chosen[0], tuple(chosen[1])
    if net_name in table and (content, style) == (vgg_default[0], tuple(vgg_default[1])):
        return table[net_name]
    return content, style


def layers_for(net_name: str, cfg: GatysConfig) -> tuple[str, tuple[str, ...]]:
    """Gatys et al.'s layers for this backbone (`translated_layers` with NON_VGG_LAYERS)."""
    return translated_layers(net_name, (cfg.content_layer, cfg.style_layers),
                             (GatysConfig.content_layer, GatysConfig.style_layers), NON_VGG_LAYERS)


# beta per backbone (alpha = 1): feature scales differ between nets, so one ratio does not fit all.
DEFAULT_STYLE_WEIGHT = {"craft-vgg16bn": 1e3, "vgg19": 1e3, "vgg16": 1e3, "efficientnet-lite0": 1e4,
                        "googlenet": 1e3}


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix G = F F^T (Eq. 3) normalised by N*M, so that E_l (Eq. 4) = 1/4 * sum (G - A)^2.

    f: (B, N, H, W) with M = H*W  ->  (B, N, N).
    """
    b, n, h, w = f.shape
    flat = f.reshape(b, n, h * w)  # (B, N, M)
    return flat @ flat.transpose(1, 2) / (n * h * w)  # (B, N, N)


def content_loss(f: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Eq. 1, 1/2 * sum (F - P)^2, divided by the number of entries N*M (size-independent weights)."""
    return 0.5 * (f - p).pow(2).mean()


def style_layer_loss(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Eq. 4 with normalised Grams: E_l = 1/(4 N^2 M^2) sum (G - A)^2 = 1/4 * sum (g - a)^2."""
    return 0.25 * (g - a).pow(2).sum()


def temporal_loss(x: torch.Tensor, omega: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Ruder et al. Eq. 7: 1/D sum_k c_k (x_k - ω_k)^2 over all D = 3 H W values.

    x, ω: (1, 3, H, W) in [0, 1]; c: (1, 1, H, W) in [0, 1], the same weight for the three channels.
    """
    return (c * (x - omega).pow(2)).mean()


@dataclass
class TemporalTarget:
    """What the temporal term of frame i compares with: ω (1, 3, H, W), the previous stylised frame warped
    into frame i, and c (1, 1, H, W), Ruder et al.'s mask (0 at disocclusions and motion boundaries)."""

    omega: torch.Tensor
    mask: torch.Tensor

    def resized(self, size: tuple[int, int]) -> TemporalTarget:
        """At another coarse-to-fine level (a shrunk mask takes values between 0 and 1 at its edges)."""
        return TemporalTarget(resize(self.omega, size), resize(self.mask, size).clamp(0, 1))


def features(net, prep, x: torch.Tensor, layers: Sequence[str], precision: str = "auto") -> dict[str, torch.Tensor]:
    """The backbone's features of images x (B, 3, H, W) in [0, 1] at `layers`. On a CUDA GPU the forward runs under
    bfloat16 autocast (`precision`, core.runtime.autocast); the features come back as float32, so Gram matrices and
    losses are always computed in float32. On the CPU nothing changes: no autocast, and `.float()` of a float32
    tensor is the tensor itself."""
    with autocast(x.device, precision):
        feats = net.extract(prep.normalize(x), layers)
    return {k: v.float() for k, v in feats.items()}


class StyleLoss:
    """Precomputes P (content features) and A (blended style Grams) once; evaluates Eq. 7 for an image,
    plus gamma * L_temporal (Ruder et al. Eq. 8) when a temporal target is given and cfg.temporal_weight > 0."""

    def __init__(self, net, prep, cfg: GatysConfig, content: torch.Tensor, styles: Sequence[torch.Tensor],
                 style_weights: Sequence[float], temporal: TemporalTarget | None = None) -> None:
        self.net, self.prep, self.cfg = net, prep, cfg
        self.temporal = temporal if cfg.temporal_weight > 0 else None
        self.content_layer, self.style_layers = layers_for(net.name, cfg)
        self.layers = net.check_layers([self.content_layer, *self.style_layers])
        with torch.no_grad():
            self.p = self.features(content, [self.content_layer])[self.content_layer]
            total = sum(style_weights)
            self.a = {}
            for s, w in zip(styles, style_weights, strict=True):
                fs = self.features(s, self.style_layers)
                for layer in self.style_layers:
                    self.a[layer] = self.a.get(layer, 0) + (w / total) * gram(fs[layer])

    def features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Float32 features of x (1, 3, H, W) at `layers`, the forward in bf16 on a CUDA GPU (`features`)."""
        return features(self.net, self.prep, x, layers, self.cfg.precision)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        feats = self.features(x, self.layers)
        lc = content_loss(feats[self.content_layer], self.p)
        w_l = 1.0 / len(self.style_layers)  # Eq. 5: equal weights
        ls = sum(w_l * style_layer_loss(gram(feats[layer]), self.a[layer]) for layer in self.style_layers)
        beta = self.cfg.style_weight or DEFAULT_STYLE_WEIGHT.get(self.net.name, 1e3)
        total = self.cfg.content_weight * lc + beta * ls
        parts = {"content": lc.item(), "style": ls.item()}
        if self.temporal is not None:
            lt = temporal_loss(x, self.temporal.omega, self.temporal.mask)
            total = total + self.cfg.temporal_weight * lt
            parts["temporal"] = lt.item()
        return total, {**parts, "total": total.item()}


def lbfgs(x0: torch.Tensor, loss_fn: Callable, iterations: int, on_step: Callable | None = None
          ) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Minimise loss_fn over the pixels with L-BFGS (Sec. 3); `iterations` counts function evaluations.

    The image is kept in [0, 1] by optimising an unconstrained tensor and clamping in the forward pass
    (a projected variant; the paper does not say how it bounds pixels).
    """
    x = x0.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=iterations, max_eval=iterations, history_size=50,
                            tolerance_grad=0.0, tolerance_change=0.0, line_search_fn="strong_wolfe")
    history: list[dict[str, float]] = []

    def closure():
        opt.zero_grad()
        loss, parts = loss_fn(x.clamp(0, 1))
        loss.backward()
        history.append(parts)
        if on_step is not None:
            on_step(len(history))
        return loss

    opt.step(closure)
    return x.detach().clamp(0, 1), history


def preserve_colour(result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance-only transfer (Gatys et al. 2016b, "Preserving colour in neural artistic style transfer"):
    the result's luminance Y with the content's chrominance (YIQ). (1, 3, H, W) in [0, 1]."""
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]],
                          dtype=result.dtype, device=result.device)
    yiq_r = torch.einsum("ij,bjhw->bihw", to_yiq, result)
    yiq_c = torch.einsum("ij,bjhw->bihw", to_yiq, resize(content, result.shape[-2:]))
    mixed = torch.cat([yiq_r[:, :1], yiq_c[:, 1:]], 1)
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(to_yiq), mixed).clamp(0, 1)


def _level_size(h: int, w: int, scale: float) -> tuple[int, int]:
    return max(32, round(h * scale)), max(32, round(w * scale))


def stylise(net, prep, content: torch.Tensor, styles: Sequence[torch.Tensor], cfg: GatysConfig,
            init: torch.Tensor | None = None, on_step: Callable | None = None,
            temporal: TemporalTarget | None = None) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Stylise `content` (1, 3, H, W) with `styles` [(1, 3, h, w)], coarse-to-fine over cfg.scales levels.

    `init` (same size as content) replaces the content/noise start — video uses the previous stylised
    frame warped by optical flow (Ruder et al. Sec. 3.1). `temporal` adds their short-term loss (Sec. 3.2)
    with weight cfg.temporal_weight. Returns the image (1, 3, H, W) in [0, 1] and the loss history.
    """
    if cfg.temporal_weight < 0:
        raise UserError(f"--temporal-weight must be >= 0, got {cfg.temporal_weight}")
    if cfg.init not in ("content", "noise"):
        raise UserError(f"init must be 'content' or 'noise', got {cfg.init!r}")
    if not styles:
        raise UserError("give at least one style image")
    weights = list(cfg.style_weights) or [1.0] * len(styles)
    if len(weights) != len(styles) or min(weights) < 0 or sum(weights) <= 0:
        raise UserError(f"--style-weights needs {len(styles)} non-negative numbers (one per style), got {weights}")
    h, w = content.shape[-2:]
    history: list[dict[str, float]] = []
    x = None
    levels = max(1, cfg.scales)
    for level in range(levels):
        scale = 0.5 ** (levels - 1 - level)
        size = _level_size(h, w, scale)
        c = resize(content, size)
        ss = []
        for s in styles:  # style resized so its longer side is style_scale * the level's longer side
            k = cfg.style_scale * max(size) / max(s.shape[-2:])
            ss.append(resize(s, _level_size(*s.shape[-2:], k)))
        loss = StyleLoss(net, prep, cfg, c, ss, weights, temporal.resized(size) if temporal is not None else None)
        if x is not None:
            start = resize(x, size)  # coarse-to-fine: upsampled coarser result
        elif init is not None:
            start = resize(init, size)
        elif cfg.init == "noise":
            g = torch.Generator().manual_seed(cfg.seed)
            start = torch.rand(c.shape, generator=g).to(c.device)
        else:
            start = c
        # Coarser levels are cheap: give them as many evaluations as the finest one.
        x, hist = lbfgs(start, loss, cfg.iterations, on_step)
        history += hist
    if cfg.preserve_colour:
        x = preserve_colour(x, content)
    return x, history
