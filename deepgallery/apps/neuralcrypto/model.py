"""Alice, Bob and Eve: the "mix & transform" network of Abadi & Andersen 2016 (arXiv 1610.06918, Section 2.5).

All three parties share one architecture (Section 2.5, "Architecture"):

* a fully-connected (FC) layer whose number of outputs equals the number of inputs (2N for Alice, whose
  input is plaintext ‖ key, and for Bob, whose input is ciphertext ‖ key). Eve sees the ciphertext only,
  so her FC layer maps N inputs to 2N outputs and the rest of her network is identical. The FC layer
  lets every output mix every plaintext and key bit (it can, for instance, permute them);
* four 1-D convolutions that "apply some function to groups of the bits mixed by the previous layer",
  given in the paper as [window size, input depth, output depth] with strides:
  [4, 1, 2] stride 1, [2, 2, 4] stride 2, [1, 4, 4] stride 1, [1, 4, 1] stride 1.
  The stride-2 layer halves the 2N positions to N, so the last layer outputs N values;
* a sigmoid after every layer but the last, which ends in tanh so outputs lie in (-1, 1), the range of
  the bits (the paper encodes bits as -1 and 1).

`load_trained` reads a trained trio back (the shipped one, `APP.checkpoint("neuralcrypto")`, by default).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepgallery.core import checkpoint
from deepgallery.core.errors import UserError

from . import APP

FIX = "Train one with `deepgallery train neuralcrypto --out PATH` or use the shipped one (leave --checkpoint out)."

# The convolutions of Section 2.5: (window size, input depth, output depth, stride).
CONV_LAYERS: tuple[tuple[int, int, int, int], ...] = ((4, 1, 2, 1), (2, 2, 4, 2), (1, 4, 4, 1), (1, 4, 1, 1))


@dataclass(frozen=True)
class NetConfig:
    """Sizes of the networks."""

    n_bits: int = 16  # N: bits of plaintext, key and ciphertext (Section 3.1 uses N = 16)
    discrete_cipher: bool = False  # the hardened cipher: Alice's output rounded to bits (straight-through)
    parties: str = "mix_transform"  # the paper's network, or "stream" (the hardened cipher), "quadratic", "mlp"
    parties_depth: int = 2  # hidden layers of an "mlp" Alice and Bob, or of each "stream" network
    parties_width: int = 128  # units per hidden layer of the same
    keystream_depth: int = -1  # hidden layers of a "stream" Alice's keystream network (-1: parties_depth)
    keystream_monotone: bool = False  # a depth-0 keystream with weights |W| >= 0: each bit monotone in the key


class BitConv(nn.Module):
    """A 1-D convolution with TensorFlow's "SAME" padding over a channels-last (B, L, C_in) tensor.

    Computed as one matrix product over the unfolded windows: for these tiny layers this is about twice
    as fast on a CPU as `nn.Conv1d` and gives the same numbers. Weight shape (C_out, window * C_in),
    with each window's features in (position, channel) order.
    """

    def __init__(self, window: int, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.window, self.c_in, self.stride = window, c_in, stride
        self.weight = nn.Parameter(torch.empty(c_out, window * c_in))
        self.bias = nn.Parameter(torch.zeros(c_out))
        # Glorot/Xavier uniform as TensorFlow's conv2d default (fan = window * depth), zero bias.
        bound = math.sqrt(6.0 / (window * c_in + window * c_out))
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, c = x.shape  # (B, L, C_in)
        out_len = math.ceil(length / self.stride)
        pad = max((out_len - 1) * self.stride + self.window - length, 0)
        if pad:
            x = F.pad(x, (0, 0, pad // 2, pad - pad // 2))  # "SAME": the extra zero goes at the end
        if self.window == self.stride:  # non-overlapping windows: a plain reshape
            windows = x.reshape(b, out_len, self.window * c)
        else:  # (B, L_out, C_in, window) -> (B, L_out, window * C_in)
            windows = x.unfold(1, self.window, self.stride).transpose(-1, -2).reshape(b, out_len, -1)
        return F.linear(windows, self.weight, self.bias)  # (B, L_out, C_out)


class MixTransform(nn.Module):
    """FC layer (in_bits -> 2N, sigmoid), then the four convolutions of Section 2.5 down to N outputs in (-1, 1)."""

    def __init__(self, in_bits: int, n_bits: int):
        super().__init__()
        self.fc = nn.Linear(in_bits, 2 * n_bits)
        nn.init.xavier_uniform_(self.fc.weight)  # TensorFlow's default initialisation, as in the authors' code
        nn.init.zeros_(self.fc.bias)
        self.convs = nn.ModuleList(BitConv(*layer) for layer in CONV_LAYERS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.sigmoid(self.fc(x)).unsqueeze(-1)  # (B, 2N, 1)
        for conv in self.convs[:-1]:
            h = torch.sigmoid(conv(h))  # (B, 2N, 2), then (B, N, 4), (B, N, 4)
        return torch.tanh(self.convs[-1](h)).squeeze(-1)  # (B, N)


class MLP(nn.Module):
    """A plain ReLU MLP: `in_bits` inputs -> `depth` x `width` ReLU -> N outputs in (-1, 1) (tanh).

    Not in the paper: the hardened cipher's Alice and Bob (the mix & transform network cannot easily compute
    P_i xor K_j, see hardened.py) and the MLP Eves of the attacker suite."""

    def __init__(self, in_bits: int, n_bits: int, depth: int, width: int):
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.Linear(in_bits if i == 0 else width, width), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(width if depth else in_bits, n_bits), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, in_bits) -> (B, N)


class Quadratic(nn.Module):
    """One linear layer over the bits and every product of two of them, then tanh:
    out_m = tanh(b_m + sum_i w_mi x_i + sum_{i<j} a_mij x_i x_j).

    Not in the paper: the hardened cipher's Alice and Bob. With bits in {-1, 1}, P_i xor K_j is -(P_i K_j), so
    a single unit of this layer can be a one-time-pad bit (and Bob's inverse, P_i = -(C_m K_j), is one too),
    while the paper's sigmoid network cannot easily express a parity (see hardened.py). It is not told which
    products to use: it may just as well pass bits through (x_i) or mix plaintext with plaintext (P_i P_j).
    Squares are left out (x_i^2 = 1 for bits, the bias already holds them)."""

    def __init__(self, in_bits: int, n_bits: int):
        super().__init__()
        first, second = torch.triu_indices(in_bits, in_bits, offset=1)  # the pairs i < j
        self.register_buffer("first", first, persistent=False)
        self.register_buffer("second", second, persistent=False)
        self.fc = nn.Linear(in_bits + first.numel(), n_bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        products = x[:, self.first] * x[:, self.second]  # (B, in_bits * (in_bits - 1) / 2)
        return torch.tanh(self.fc(torch.cat([x, products], dim=1)))  # (B, N)


def sign_bits(x: torch.Tensor) -> torch.Tensor:
    """x rounded to bits in {-1, 1}; the gradient passes as if through the identity (straight-through)."""
    return x + (torch.where(x >= 0, 1.0, -1.0) - x).detach()


class StreamAlice(nn.Module):
    """Alice as a learned stream cipher: C = code(P) * keystream(K), two ReLU MLPs; the keystream is bits.

    Not in the paper: the hardened cipher. On bits in {-1, 1} a product is xor (up to sign), so with bits on the
    wire (`NetConfig.discrete_cipher`) C_i = sign(code_i(P)) xor keystream_i(K). The one-time pad is one point
    of this family (the code and the keystream each a permutation of their bits) -- but so is no encryption at
    all (a constant keystream), a key bit used twice (two keystream bits alike, which leaks C_a C_b = P_a P_b),
    or any keystream of fewer than N independent bits. Which one Alice ends up with is learned, from Bob's loss
    and the Eves'. The keystream is rounded to bits straight-through (no tanh): a saturated tanh keystream
    stopped passing the Eves' gradient and froze as a constant, i.e. no encryption (measured)."""

    def __init__(self, n_bits: int, depth: int, width: int, keystream_depth: int = -1, monotone: bool = False):
        super().__init__()
        self.code = MLP(n_bits, n_bits, depth, width)
        self.keystream = MLP(n_bits, n_bits, depth if keystream_depth < 0 else keystream_depth, width)
        self.monotone = monotone and len(self.keystream.net) == 2  # one linear layer (then tanh, unused)

    def stream(self, key: torch.Tensor) -> torch.Tensor:
        if self.monotone:  # keystream bit i = sign(sum_j A_ij K_j + b_i), A_ij = |W_ij| / sum_j |W_ij|: monotone
            layer = self.keystream.net[0]  # in every key bit; the rows of A sum to 1, so that no loss can shrink
            weight = layer.weight.abs()  # them towards 0 (the sign would not notice, the straight-through gradient
            weight = weight / (weight.sum(dim=1, keepdim=True) + 1e-8)  # would), and a one-hot row is a key bit
            return sign_bits(F.linear(key, weight, layer.bias))  # (B, N) bits
        return sign_bits(self.keystream.net[:-1](key))  # (B, N) bits: the MLP without its tanh, rounded

    def forward(self, x: torch.Tensor, frozen_code: bool = False) -> torch.Tensor:
        plain, key = x.chunk(2, dim=1)  # (B, N) each
        code = self.code(plain)  # (B, N) in (-1, 1)
        return (code.detach() if frozen_code else code) * self.stream(key)  # (B, N) in (-1, 1)


class StreamBob(nn.Module):
    """Bob of the learned stream cipher: P = decode(C * keystream(K)), with *Alice's* keystream network.

    Like the two ends of any stream cipher, Alice and Bob run the same keystream generator on their shared key
    (the generator is no secret: the Eves are trained against it too); Bob strips the keystream and learns to
    invert Alice's code. The generator is held by reference, so its weights are stored once (under alice.)."""

    def __init__(self, n_bits: int, depth: int, width: int, alice: StreamAlice):
        super().__init__()
        self.decode = MLP(n_bits, n_bits, depth, width)
        self._alice = [alice]  # a list, so that the shared generator is not registered (and saved) twice

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cipher, key = x.chunk(2, dim=1)  # (B, N) each
        return self.decode(cipher * self._alice[0].stream(key))  # (B, N)


class Trio(nn.Module):
    """The three parties (Section 2.1, Figure 1): Alice(P, K) -> C, Bob(C, K) -> P_Bob, Eve(C) -> P_Eve."""

    def __init__(self, config: NetConfig | None = None):
        super().__init__()
        config = config or NetConfig()
        n = config.n_bits
        self.config = config
        if config.parties == "mlp":
            self.alice = MLP(2 * n, n, config.parties_depth, config.parties_width)
            self.bob = MLP(2 * n, n, config.parties_depth, config.parties_width)
        elif config.parties == "stream":
            self.alice = StreamAlice(n, config.parties_depth, config.parties_width, config.keystream_depth,
                                     config.keystream_monotone)
            self.bob = StreamBob(n, config.parties_depth, config.parties_width, self.alice)
        elif config.parties == "quadratic":
            self.alice, self.bob = Quadratic(2 * n, n), Quadratic(2 * n, n)
        else:
            self.alice = MixTransform(2 * n, n)
            self.bob = MixTransform(2 * n, n)
        self.eve = MixTransform(n, n)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encrypt(self, plain: torch.Tensor, key: torch.Tensor, frozen_code: bool = False) -> torch.Tensor:
        """C = Alice(P, K); `frozen_code` (a stream Alice only): the same C, but gradients reach the keystream
        alone (the hardened cipher's Eves shape the keystream, Bob's loss the code)."""
        x = torch.cat([plain, key], dim=1)
        cipher = self.alice(x, frozen_code=True) if frozen_code else self.alice(x)  # (B, N) in (-1, 1)
        if self.config.discrete_cipher:  # bits in {-1, 1}; gradients pass as if through the identity
            cipher = sign_bits(cipher)
        return cipher

    def decrypt(self, cipher: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        return self.bob(torch.cat([cipher, key], dim=1))  # (B, N)

    def eavesdrop(self, cipher: torch.Tensor) -> torch.Tensor:
        return self.eve(cipher)  # (B, N)

    def fresh_eve(self) -> MixTransform:
        """A new Eve from scratch, as in the paper's evaluation (Section 3.1)."""
        n = self.config.n_bits
        return MixTransform(n, n).to(self.device)


# ---------------------------------------------------------------------------------------------- loading
def load_weights(trio: Trio, tensors: dict[str, torch.Tensor], path: Path | str) -> None:
    """Copy Alice/Bob/Eve tensors into `trio`; a checkpoint of another shape is a UserError."""
    wanted = {k: v for k, v in tensors.items() if k.split(".")[0] in ("alice", "bob", "eve")}
    try:
        trio.load_state_dict(wanted)
    except RuntimeError:
        raise UserError(f"checkpoint {path} does not hold Alice/Bob/Eve networks of this size (corrupt or "
                        "from another program). Train again with `deepgallery train neuralcrypto`.") from None


def load_trained(path: str | os.PathLike | None = None) -> tuple[Trio, dict[str, Any]]:
    """(Trio with the best retrained Eve if saved, metadata) from a checkpoint path or a shipped name
    (`APP.checkpoints`: "neuralcrypto", the default, or "hardened"); UserError with a fix if it is missing,
    corrupt or of another shape. The trio is on the CPU, in float32 (a shipped checkpoint is stored in fp16)."""
    if path is None or str(path) in APP.checkpoints:
        path = APP.checkpoint(str(path or "neuralcrypto"))
    path = Path(path)
    tensors, config, meta = checkpoint.load(path, how_to_fix=FIX)
    n_bits = config.get("n_bits", 16)
    if not isinstance(n_bits, int) or n_bits <= 0 or n_bits % 8:
        raise UserError(f"checkpoint {path} has an unusable n_bits={n_bits!r} (corrupt?). {FIX}")
    try:
        net = NetConfig(n_bits, bool(config.get("discrete_cipher", False)), str(config.get("parties", "mix_transform")),
                        int(config.get("parties_depth", 2)), int(config.get("parties_width", 128)),
                        int(config.get("keystream_depth", -1)), bool(config.get("keystream_monotone", False)))
    except (TypeError, ValueError):
        raise UserError(f"checkpoint {path} has an unusable network config (corrupt?). {FIX}") from None
    trio = Trio(net)
    load_weights(trio, tensors, path)
    best = {k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith("eve_best.")}  # "eve_best.fc.weight"
    if best:
        try:
            trio.eve.load_state_dict(best)
        except RuntimeError:
            raise UserError(f"checkpoint {path}: the saved best Eve has the wrong shape (corrupt?). {FIX}") from None
    return trio, meta
