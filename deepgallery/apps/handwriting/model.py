"""The handwriting synthesis network of Graves (2013), "Generating Sequences With Recurrent Neural Networks".

Section 4 — the prediction network's output: a mixture density over the next pen offset. Section 5 — the
synthesis network: the same deep LSTM with a soft window over the text it is asked to write.

    x_t = (Δx, Δy, end-of-stroke)                                     the pen's input at step t (data.py)
    h¹_t = LSTM¹(x_t, w_{t-1}, h¹_{t-1})                              eq. 52 (first layer; sees the last window)
    (α̂, β̂, κ̂)_t = W_{h¹p} h¹_t + b_p                                   eq. 48
    α = exp(α̂), β = exp(β̂), κ_t = κ_{t-1} + exp(κ̂)                   eqs. 49-51 (κ only moves forward)
    φ(t, u) = Σ_k α_k exp(-β_k (κ_k - u)²)                            eq. 46 (K Gaussians over the characters)
    w_t = Σ_u φ(t, u) c_u                                             eq. 47 (c_u: one-hot character u)
    hⁿ_t = LSTMⁿ(x_t, hⁿ⁻¹_t, w_t, hⁿ_{t-1})                          eq. 53 (skip connections from the input)
    ŷ_t = b_y + Σ_n W_{hⁿy} hⁿ_t                                      eq. 54 (skip connections to the output)
    e = 1 / (1 + exp(ê)), π = softmax(π̂), μ = μ̂, σ = exp(σ̂), ρ = tanh(ρ̂)   eqs. 18-22
    Pr(x_{t+1} | y_t) = Σ_j π_j N(x_{t+1} | μ_j, σ_j, ρ_j) · (e if end of stroke else 1 - e)   eq. 23
    L = -Σ_t log Pr(x_{t+1} | y_t)                                    eq. 26

Training clips the derivatives as the paper does (Section 4.2): with respect to the network's outputs ŷ to
[-100, 100] and with respect to the LSTM layers' outputs to [-10, 10], both per sequence (so the bound does not
depend on the batch). Sampling takes a bias b ≥ 0 (Section 5.4, eqs. 61-62): σ = exp(σ̂ - b), π = softmax(π̂(1+b));
b = 0 samples the model's own distribution, larger b writes more neatly and more alike. Priming (Section 5.5):
the network first reads a real line of someone's strokes with its text, keeping its state, then writes new text.
Sampling stops when the window has moved past the last character: φ(t, U+1) > φ(t, u) for all u ≤ U.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...core import checkpoint
from .data import ALPHABET, encode, from_offsets, line_height, resample, to_offsets


@dataclass
class NetConfig:
    """The network's shape (the paper: 3 layers of 400 cells, K = 10 window Gaussians, M = 20 mixture components)."""

    alphabet: str = ALPHABET
    hidden: int = 400
    layers: int = 3
    window: int = 10  # K
    mixtures: int = 20  # M
    scale: float = 1.0  # the offsets were divided by this (std of the training offsets)
    rate: float = 60.0  # points per second of the training data (priming resamples a person's strokes to it)
    line_height: float = 1.0  # typical `data.line_height` of a training line, in offset units x scale

    def to_dict(self) -> dict:
        return asdict(self)


class GradClip(torch.autograd.Function):
    """Identity forward; the derivative flowing back is clipped to [-bound, bound] (Graves 2013, Section 4.2)."""

    @staticmethod
    def forward(ctx, x, bound: float):
        ctx.bound = bound
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp(-ctx.bound, ctx.bound), None


def clip_grad(x: torch.Tensor, bound: float | None) -> torch.Tensor:
    return GradClip.apply(x, bound) if bound is not None and x.requires_grad else x


@dataclass
class Mixture:
    """The output distribution at each step (eqs. 18-22); every field (B, T, ...)."""

    e_hat: torch.Tensor  # (B, T) end-of-stroke logit, e = 1/(1+exp(ê))
    log_pi: torch.Tensor  # (B, T, M)
    mu: torch.Tensor  # (B, T, M, 2)
    sigma: torch.Tensor  # (B, T, M, 2)
    rho: torch.Tensor  # (B, T, M)


class SynthesisNet(nn.Module):
    """Section 5's network: LSTM layer 1 → soft window → LSTM layers 2..N → mixture density output."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        a, h, k, m = len(cfg.alphabet), cfg.hidden, cfg.window, cfg.mixtures
        self.lstm1 = nn.LSTMCell(3 + a, h)
        self.window = nn.Linear(h, 3 * k)  # eq. 48
        with torch.no_grad():  # start with κ moving about a tenth of a character per point (a typical pace)
            self.window.bias[2 * k:].fill_(math.log(0.1))
        self.upper = nn.ModuleList(nn.LSTM(3 + h + a, h, batch_first=True) for _ in range(cfg.layers - 1))
        self.out = nn.Linear(cfg.layers * h, 1 + 6 * m)  # eq. 54: ê and M × (π̂, μ̂x, μ̂y, σ̂x, σ̂y, ρ̂)

    # ------------------------------------------------------------------------------------------ the window

    def soft_window(self, h1: torch.Tensor, kappa: torch.Tensor, onehot: torch.Tensor, char_mask: torch.Tensor,
                    end: bool = False):
        """Eqs. 46-51 for one step: h1 (B, H), κ_{t-1} (B, K), onehot (B, U, A) → w_t (B, A), κ_t, φ (B, U[+1])."""
        alpha_hat, beta_hat, kappa_hat = self.window(h1).chunk(3, dim=-1)  # (B, K) each
        alpha, beta = alpha_hat.exp(), beta_hat.exp()
        kappa = kappa + kappa_hat.exp()
        u = torch.arange(onehot.shape[1] + int(end), device=h1.device, dtype=h1.dtype)  # character positions
        # positions 0..U-1 here stand for the paper's 1..U; with `end`, one more: the paper's U + 1
        phi = (alpha[:, :, None] * torch.exp(-beta[:, :, None] * (kappa[:, :, None] - u) ** 2)).sum(1)  # (B, U)
        if end:
            phi_text = phi[:, :-1] * char_mask
            w = torch.bmm(phi_text[:, None], onehot)[:, 0]
            return w, kappa, torch.cat([phi_text, phi[:, -1:]], dim=1)
        phi = phi * char_mask
        return torch.bmm(phi[:, None], onehot)[:, 0], kappa, phi  # (B, A)

    # ---------------------------------------------------------------------------------------- the network

    def initial_state(self, batch: int, device=None) -> dict:
        z = torch.zeros(batch, self.cfg.hidden, device=device)
        return {"h1": z, "c1": z.clone(), "kappa": torch.zeros(batch, self.cfg.window, device=device),
                "w": torch.zeros(batch, len(self.cfg.alphabet), device=device),
                "upper": [None] * (self.cfg.layers - 1)}

    def forward(self, x: torch.Tensor, chars: torch.Tensor, char_mask: torch.Tensor, state: dict | None = None,
                clip: float | None = None, end: bool = False):
        """x (B, T, 3) inputs, chars (B, U), char_mask (B, U) → ŷ (B, T, 1 + 6M), the new state, φ (B, T, U[+1]).

        `clip`: the scale of the loss per sequence (1 / points it is divided by); the derivatives are clipped at
        100·clip (outputs) and 10·clip (LSTMs), i.e. at the paper's bounds for a loss summed over one sequence."""
        b, t, _ = x.shape
        state = state or self.initial_state(b, x.device)
        onehot = F.one_hot(chars, len(self.cfg.alphabet)).to(x.dtype)  # (B, U, A)
        h1, c1, kappa, w = state["h1"], state["c1"], state["kappa"], state["w"]
        lstm_bound = 10 * clip if clip else None
        h1s, ws, phis = [], [], []
        for step in range(t):  # layer 1 and the window are sequential: w_t depends on h¹_t, which needs w_{t-1}
            h1, c1 = self.lstm1(torch.cat([x[:, step], w], dim=-1), (h1, c1))
            h1 = clip_grad(h1, lstm_bound)
            w, kappa, phi = self.soft_window(h1, kappa, onehot, char_mask, end)
            h1s.append(h1)
            ws.append(w)
            phis.append(phi)
        h1_seq, w_seq = torch.stack(h1s, 1), torch.stack(ws, 1)  # (B, T, H), (B, T, A)
        hidden, upper_states, below = [h1_seq], [], h1_seq
        for layer, prev in zip(self.upper, state["upper"], strict=True):  # the upper layers run over the sequence
            below, hc = layer(torch.cat([x, below, w_seq], dim=-1), prev)  # (B, T, H)
            below = clip_grad(below, lstm_bound)
            hidden.append(below)
            upper_states.append(hc)
        y_hat = clip_grad(self.out(torch.cat(hidden, dim=-1)), 100 * clip if clip else None)  # (B, T, 1 + 6M)
        new_state = {"h1": h1, "c1": c1, "kappa": kappa, "w": w, "upper": upper_states}
        return y_hat, new_state, torch.stack(phis, 1)

    def mixture(self, y_hat: torch.Tensor, bias: float = 0.0) -> Mixture:
        """Eqs. 18-22, with the sampling bias of eqs. 61-62 (b = 0 in training)."""
        m = self.cfg.mixtures
        e_hat, pi_hat, mu, log_sigma, rho_hat = y_hat.split([1, m, 2 * m, 2 * m, m], dim=-1)
        shape = (*y_hat.shape[:-1], m, 2)
        return Mixture(e_hat=e_hat[..., 0], log_pi=F.log_softmax(pi_hat * (1 + bias), dim=-1),
                       mu=mu.reshape(shape), sigma=(log_sigma.reshape(shape) - bias).exp(),
                       rho=torch.tanh(rho_hat).clamp(-0.9999, 0.9999))


def log_likelihood(mix: Mixture, target: torch.Tensor) -> torch.Tensor:
    """log Pr(x_{t+1} | y_t) of eq. 23 for every step: target (B, T, 3) → (B, T)."""
    d = (target[..., None, :2] - mix.mu) / mix.sigma  # (B, T, M, 2)
    one_minus_rho2 = 1 - mix.rho**2
    z = d[..., 0] ** 2 + d[..., 1] ** 2 - 2 * mix.rho * d[..., 0] * d[..., 1]  # eq. 25
    log_n = -z / (2 * one_minus_rho2) - torch.log(2 * math.pi * mix.sigma[..., 0] * mix.sigma[..., 1]
                                                   * one_minus_rho2.sqrt())  # eq. 24
    log_points = torch.logsumexp(mix.log_pi + log_n, dim=-1)
    eos = target[..., 2]
    log_e = F.logsigmoid(-mix.e_hat)  # log e, e = 1 / (1 + exp(ê)) (eq. 18)
    log_not_e = F.logsigmoid(mix.e_hat)  # log (1 - e)
    return log_points + eos * log_e + (1 - eos) * log_not_e


def sequence_loss(net: SynthesisNet, batch, total_points: float | None = None) -> torch.Tensor:
    """Eq. 26 summed over the batch's points and divided by `total_points` (default: this batch's; under several
    processes, the global batch's, so DDP's mean gives one process's step) — nats per point."""
    total = float(total_points if total_points is not None else batch.mask.sum().item())
    y_hat, _, _ = net(batch.inputs(), batch.chars, batch.char_mask, clip=1.0 / max(total, 1.0))
    ll = log_likelihood(net.mixture(y_hat), batch.x)
    return -(ll * batch.mask).sum() / total


# -------------------------------------------------------------------------------------------- sampling


@dataclass
class Written:
    strokes: list[np.ndarray]  # (n, 2) [x, y] in offset units, y up
    phi: np.ndarray  # (T, U + 1) the window's weights over the characters at every step (the paper's Fig. 12)
    finished: bool  # the window reached the end of the text (else the step limit stopped it)


@torch.no_grad()
def write(net: SynthesisNet, text: str, bias: float = 0.75, seed: int = 0,
          prime: tuple[list[np.ndarray], str] | None = None, max_steps: int | None = None) -> Written:
    """Sample strokes that write `text`; `prime` (strokes [x, y (up), t], their text) sets the style first."""
    cfg = net.cfg
    net.eval()
    gen = torch.Generator().manual_seed(seed)
    full = (prime[1] + " " + text) if prime else text
    chars = torch.tensor([encode(full, cfg.alphabet)])
    cmask = torch.ones_like(chars, dtype=torch.float32)
    state = net.initial_state(1)
    x = torch.zeros(1, 1, 3)
    if prime:
        px = prime_inputs(net, prime[0])
        _, state, _ = net(torch.cat([x, px[:, :-1]], dim=1), chars, cmask, state)
        x = px[:, -1:]  # the prime's last point (its end-of-stroke set: the new text starts a stroke)
    limit = max_steps or 40 * len(text) + 80
    out, phis, finished = [], [], False
    for _ in range(limit):
        y_hat, state, phi = net(x, chars, cmask, state, end=True)
        mix = net.mixture(y_hat[:, -1], bias)
        j = torch.multinomial(mix.log_pi[0].exp(), 1, generator=gen).item()
        mu, sigma, rho = mix.mu[0, j], mix.sigma[0, j], mix.rho[0, j].item()
        z1, z2 = torch.randn(2, generator=gen).tolist()
        dx = mu[0].item() + sigma[0].item() * z1
        dy = mu[1].item() + sigma[1].item() * (rho * z1 + math.sqrt(1 - rho * rho) * z2)
        e = torch.sigmoid(-mix.e_hat[0]).item()
        eos = float(torch.rand(1, generator=gen).item() < e)
        out.append((dx, dy, eos))
        p = phi[0, -1]
        phis.append(p.numpy())
        x = torch.tensor([[[dx, dy, eos]]])
        if p[-1] > p[:-1].max():  # the window has passed the last character
            finished = True
            break
    offsets = np.asarray(out, dtype=np.float64)
    offsets[-1, 2] = 1.0
    phi_all = np.stack(phis)
    if prime:
        phi_all = phi_all[:, len(prime[1]) + 1:]  # the new text's characters (and the end)
    return Written(from_offsets(offsets), phi_all, finished)


def prime_inputs(net: SynthesisNet, strokes: list[np.ndarray]) -> torch.Tensor:
    """A person's strokes (y up, t in s) as network inputs (1, T, 3): resampled at the training rate and scaled so
    the line is as tall as a training line."""
    cfg = net.cfg
    strokes = resample(strokes, cfg.rate)
    size = line_height(strokes) / cfg.scale
    factor = cfg.line_height / max(size, 1e-6)
    off = to_offsets(strokes)
    off[:, :2] = off[:, :2] / cfg.scale * factor
    return torch.from_numpy(off)[None]


# ---------------------------------------------------------------------------------------- shipped model


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@dataclass
class Model:
    net: SynthesisNet
    meta: dict

    @property
    def cfg(self) -> NetConfig:
        return self.net.cfg


def load(path: str | Path) -> Model:
    tensors, config, meta = checkpoint.load(path, how_to_fix="give a checkpoint written by `deepgallery train "
                                                              "handwriting --export NAME`")
    net = SynthesisNet(NetConfig(**config["net"]))
    net.load_state_dict({k: v.float() for k, v in tensors.items()})
    meta = {k: v for k, v in meta.items() if not k.startswith("_")}
    return Model(net.eval(), meta)


def load_shipped(name: str = "synthesis") -> Model:
    from . import APP

    return load(APP.checkpoint(name))
