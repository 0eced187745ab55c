"""The PPGN sampler (Nguyen et al. 2017, Eq. 5; Eq. 11 is the same update written in image space x).

One step of the approximate Metropolis-adjusted Langevin chain, with its three terms:

    x_{t+1} = x_t + ε1 (R(x_t) − x_t)              prior:  R is a DAE, R(x) − x ∝ ∂log p(x)/∂x
                  + ε2 ∂log p(y = c | x_t)/∂x_t   condition: the classifier's gradient for class c
                  + N(0, ε3² I)                   noise:  keeps the chain mixing

This is PPGN-x (Sec. 3.1: the DAE models p(x) directly in image space). The paper's best variant, PPGN-h,
runs the same update on the latent h of a generator G trained on ImageNet; see the README for why this
app samples in x. Plain activation maximisation (Sec. 2.1, the baseline) is the same loop with ε1 = ε3 = 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

Prior = Callable[[torch.Tensor], torch.Tensor]  # R(x): (B, 3, H, W) -> (B, 3, H, W)
Classifier = Callable[[torch.Tensor], torch.Tensor]  # images in [0, 1] (B, 3, H, W) -> logits (B, K)


@dataclass
class SamplerConfig:
    steps: int = 60  # chain length (the paper runs 200+ steps per sample on a GPU)
    size: int = 128  # image side in pixels (multiple of 4); the classifier is fully convolutional
    eps1: float = 0.3  # prior term weight ε1: fraction of the way to the DAE reconstruction R(x) per step
    eps2: float = 0.03  # class term weight ε2: step along the (normalised) gradient of log p(y|x)
    eps3: float = 0.02  # noise std ε3 (pixels in [0, 1])
    normalize_grad: bool = True  # divide the class gradient by its mean |value| per image, so ε2 is in pixels
    init_scale: float = 0.05  # std of the smooth random start image around mid-grey
    clip: bool = True  # keep pixels in [0, 1] (the valid image range) after every step
    jitter: int = 0  # roll the image by up to this many pixels before the class gradient (not in the paper)

    def to_dict(self) -> dict:
        return asdict(self)


def activation_maximisation(cfg: SamplerConfig) -> SamplerConfig:
    """The baseline: the same chain without the prior and the noise (ε1 = ε3 = 0)."""
    return replace(cfg, eps1=0.0, eps3=0.0)


def init_images(n: int, size: int, scale: float, generator: torch.Generator) -> torch.Tensor:
    """Smooth random start images (B, 3, size, size): coarse 8×8 colour noise, upsampled, around grey."""
    coarse = 0.5 + scale * torch.randn(n, 3, 8, 8, generator=generator)  # (B, 3, 8, 8)
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def class_log_prob_grad(
    classifier: Classifier, x: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """∂log p(y = target | x)/∂x (B, 3, H, W) and log p (B,). Chains are independent (eval-mode network)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        logp = F.log_softmax(classifier(x), dim=1).gather(1, target[:, None])[:, 0]  # (B,)
        (grad,) = torch.autograd.grad(logp.sum(), x)
    return grad, logp.detach()


def ppgn_step(
    x: torch.Tensor,
    target: torch.Tensor,
    classifier: Classifier,
    prior: Prior | None,
    cfg: SamplerConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One update of Eq. 11; returns (x_{t+1}, log p(y|x_t))."""
    step = torch.zeros_like(x)
    if cfg.eps1 and prior is not None:
        with torch.no_grad():
            step += cfg.eps1 * (prior(x) - x)  # prior term
    grad, logp = None, None
    if cfg.eps2:
        dy, dx = (torch.randint(-cfg.jitter, cfg.jitter + 1, (2,), generator=generator).tolist()
                  if cfg.jitter else (0, 0))
        grad, logp = class_log_prob_grad(classifier, x.roll((dy, dx), (2, 3)), target)
        grad = grad.roll((-dy, -dx), (2, 3))
    if grad is not None:
        if cfg.normalize_grad:
            grad = grad / (grad.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)
        step += cfg.eps2 * grad  # condition term
    if cfg.eps3:
        step += cfg.eps3 * torch.randn(x.shape, generator=generator).to(x.device)  # noise term
    x = x + step
    if cfg.clip:
        x = x.clamp(0.0, 1.0)
    if logp is None:
        with torch.no_grad():
            logp = F.log_softmax(classifier(x), dim=1).gather(1, target[:, None])[:, 0]
    return x.detach(), logp


def sample(
    target: int,
    n: int,
    classifier: Classifier,
    prior: Prior | None,
    cfg: SamplerConfig,
    seed: int = 0,
    init: torch.Tensor | None = None,
    on_step: Callable[[int], None] | None = None,
    device: torch.device | str = "cpu",
) -> dict[str, torch.Tensor]:
    """Run n chains for class `target`. Returns images (n, 3, S, S), final confidences p(y|x) (n,), and
    the mean log p(y|x) per step (steps,) — the trace the tests and the bench look at."""
    gen = torch.Generator().manual_seed(seed)
    if init is not None:
        x = init.expand(n, -1, -1, -1).clone()
        x = (x + cfg.init_scale * 0.2 * torch.randn(x.shape, generator=gen).to(x.device)).clamp(0, 1)
    else:
        x = init_images(n, cfg.size, cfg.init_scale, gen).to(device)
    y = torch.full((n,), int(target), dtype=torch.long, device=x.device)
    trace = []
    for t in range(cfg.steps):
        x, logp = ppgn_step(x, y, classifier, prior, cfg, gen)
        trace.append(logp.mean())
        if on_step is not None:
            on_step(t)
    with torch.no_grad():
        probs = F.softmax(classifier(x), dim=1)  # (n, K)
    return {"images": x, "confidence": probs[:, target], "top1": probs.argmax(1),
            "trace": torch.stack(trace) if trace else torch.zeros(0)}
