"""The surrogate: an MLP that maps (distance, fault depth, time) to postseismic surface displacement.

DeVries et al. (2017, section 2) train a fully connected network on the output of a viscoelastic code:
inputs are the observation point, the time and the rheological parameters, the output is displacement.
We do the same for the 2-D solution of ``solver.py``, in the solver's own dimensionless variables, so one
network covers every layer thickness, viscosity, shear modulus and slip:

    xi = |x| / H  in [0, xi_max]      delta = D / H  in [delta_min, 1]      T = t / tau  in [0, t_max]

    u(x, t) / s = sign(x) * [ arctan(delta / xi) / pi  +  env(xi, delta, T) * MLP(features) ]

The elastic term is exact and cheap (one arctan); the network learns only the viscoelastic part
(the image series of eq. 1 in ``solver.py``), the expensive part. ``env = (1 - e^-T) * xi/(1+xi) * delta``
makes the known limits exact: no postseismic motion at t = 0, none on the fault trace, and none for a
vanishing fault; it also gives the network a target of order one. Features are log-scaled
(``log1p xi``, ``log1p T``) because the solution varies on a scale of ~H near the fault and ~tau in time
but has long 1/xi and 1/T tails.

``CycleSurrogate`` does the same for the steady earthquake cycle (``solver.cycle_velocity``): inputs
(xi, delta, phase = t/T_r, T_c = T_r/tau), output the interseismic velocity over the plate rate,

    v / V = sign(x) * xi / (xi + delta) * exp(MLP(features))

positive on each side and zero on the locked fault trace by construction; the exponential spans the
factor ~500 between velocities just after an event and late in a cycle with the same relative accuracy.

``LayeredSurrogate`` learns the three-layer Maxwell solution of ``layered.py`` (elastic upper crust H1, Maxwell
lower crust, Maxwell mantle; equal shear moduli) on (xi = |x|/H1, delta = D/H1, h = H2/H1, r = eta3/eta2,
T = t/tau2 with tau2 = eta2/mu the lower crust's Maxwell time):

    u / s = sign(x) * [ arctan(delta / xi) / pi  +  (1 - e^{-T (1 + 1/r)}) * xi/(1+xi) * delta * MLP(features) ]

the same exact elastic term and envelope as the single-layer model; ``T (1 + 1/r)`` is time in units of the
faster of the two Maxwell times, so a weak mantle switches the envelope on early.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch
from torch import nn

from ...core import checkpoint
from ...core.errors import UserError
from . import APP


def mlp(n_in: int, width: int, depth: int, n_out: int = 1) -> nn.Sequential:
    """n_in -> (Linear, SiLU) x depth -> n_out: smooth activations for a smooth target."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), nn.SiLU()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


@dataclass
class SurrogateConfig:
    width: int = 32  # hidden units per layer: 32 is as accurate as 64 here (0.1%) and ~3x faster
    depth: int = 3  # hidden layers
    xi_max: float = 40.0  # largest |x| / H the network is trained for
    delta_min: float = 0.05  # smallest D / H (shallower faults give postseismic signals below 1% of s)
    t_max: float = 200.0  # largest t / tau (200 relaxation times: within 0.2% of the relaxed state near the fault)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SurrogateConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class Surrogate(nn.Module):
    """MLP(3 -> width x depth -> 1) with SiLU, wrapped in the exact elastic term and the envelope above."""

    task: ClassVar[str] = "postseismic"  # stored in a checkpoint's config; names the variant
    Config: ClassVar[type] = SurrogateConfig

    def __init__(self, cfg: SurrogateConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = mlp(3, cfg.width, cfg.depth)

    def features(self, xi: torch.Tensor, delta: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        """Inputs scaled to [-1, 1]: (B,) x 3 -> (B, 3)."""
        c = self.cfg
        return torch.stack([
            2 * torch.log1p(xi) / math.log1p(c.xi_max) - 1,
            2 * (delta - c.delta_min) / (1 - c.delta_min) - 1,
            2 * torch.log1p(T) / math.log1p(c.t_max) - 1,
        ], dim=1)

    def postseismic(self, xi: torch.Tensor, delta: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
        """Viscoelastic part of u/s at xi >= 0: (B,) -> (B,)."""
        env = -torch.expm1(-T) * xi / (1 + xi) * delta  # (B,)
        return self.mlp(self.features(xi, delta, T)).squeeze(1) * env

    def dimensionless(self, inputs: torch.Tensor) -> torch.Tensor:
        """The training target from (B, 3) columns (xi, delta, T): the postseismic part of u/s."""
        return self.postseismic(inputs[:, 0], inputs[:, 1], inputs[:, 2])

    def forward(self, x: torch.Tensor, t: torch.Tensor, fault_depth: torch.Tensor, layer_thickness: torch.Tensor,
                tau: torch.Tensor, slip: torch.Tensor) -> torch.Tensor:
        """Surface displacement u(x, t) in the unit of slip; all arguments (B,) in consistent units."""
        xi = x.abs() / layer_thickness
        delta = fault_depth / layer_thickness
        elastic = torch.atan(delta / xi) / math.pi  # xi = 0 gives 1/2, times sign(0) = 0 on the fault
        return slip * torch.sign(x) * (elastic + self.postseismic(xi, delta, t / tau))


@dataclass
class CycleConfig:
    width: int = 32  # hidden units per layer (64 was no more accurate: 0.32 % vs 0.33 % held-out)
    depth: int = 3  # hidden layers
    xi_max: float = 40.0  # largest |x| / H
    delta_min: float = 0.05  # smallest D / H
    tc_min: float = 0.1  # smallest recurrence / tau (tau >> T_r: the half-space barely relaxes within a cycle)
    tc_max: float = 30.0  # largest recurrence / tau (fully relaxed long before the next event)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CycleConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class CycleSurrogate(nn.Module):
    """MLP(5 features -> width x depth -> 1) for the interseismic velocity of a steady earthquake cycle."""

    task: ClassVar[str] = "cycle"  # stored in a checkpoint's config; names the variant
    Config: ClassVar[type] = CycleConfig

    def __init__(self, cfg: CycleConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = mlp(5, cfg.width, cfg.depth)

    def features(self, xi, delta, phase, tc) -> torch.Tensor:
        """(B,) x 4 -> (B, 5) in [-1, 1]; the fifth, log(1 + t/tau), resolves the fast start of each cycle."""
        c = self.cfg
        return torch.stack([
            2 * torch.log1p(xi) / math.log1p(c.xi_max) - 1,
            2 * (delta - c.delta_min) / (1 - c.delta_min) - 1,
            2 * phase - 1,
            2 * torch.log(tc / c.tc_min) / math.log(c.tc_max / c.tc_min) - 1,
            2 * torch.log1p(phase * tc) / math.log1p(c.tc_max) - 1,
        ], dim=1)

    def velocity(self, xi, delta, phase, tc) -> torch.Tensor:
        """v / V at xi >= 0: (B,) -> (B,)."""
        return xi / (xi + delta) * torch.exp(self.mlp(self.features(xi, delta, phase, tc)).squeeze(1))

    def dimensionless(self, inputs: torch.Tensor) -> torch.Tensor:
        """The training target from (B, 4) columns (xi, delta, phase, T_c): v / V."""
        return self.velocity(inputs[:, 0], inputs[:, 1], inputs[:, 2], inputs[:, 3])

    def forward(self, x, phase, fault_depth, layer_thickness, tau, recurrence, plate_rate) -> torch.Tensor:
        """Surface velocity in the unit of plate_rate; all arguments (B,)."""
        xi = x.abs() / layer_thickness
        return plate_rate * torch.sign(x) * self.velocity(xi, fault_depth / layer_thickness, phase, recurrence / tau)


@dataclass
class LayeredConfig:
    width: int = 32  # hidden units per layer
    depth: int = 3  # hidden layers
    xi_max: float = 20.0  # the box of layered.Box (kept here so a checkpoint carries its own range)
    delta_min: float = 0.1
    h_min: float = 0.25
    h_max: float = 3.0
    r_min: float = 0.1
    r_max: float = 10.0
    t_max: float = 100.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LayeredConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class LayeredSurrogate(nn.Module):
    """MLP(5 -> width x depth -> 1) for the three-layer Maxwell earth, wrapped like ``Surrogate``."""

    task: ClassVar[str] = "layered"  # stored in a checkpoint's config; names the variant
    Config: ClassVar[type] = LayeredConfig

    def __init__(self, cfg: LayeredConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = mlp(5, cfg.width, cfg.depth)

    def features(self, xi, delta, h, r, T) -> torch.Tensor:
        """(B,) x 5 -> (B, 5) in [-1, 1]."""
        c = self.cfg
        return torch.stack([
            2 * torch.log1p(xi) / math.log1p(c.xi_max) - 1,
            2 * (delta - c.delta_min) / (1 - c.delta_min) - 1,
            2 * (h - c.h_min) / (c.h_max - c.h_min) - 1,
            2 * torch.log(r / c.r_min) / math.log(c.r_max / c.r_min) - 1,
            2 * torch.log1p(T) / math.log1p(c.t_max) - 1,
        ], dim=1)

    def postseismic(self, xi, delta, h, r, T) -> torch.Tensor:
        """Viscoelastic part of u/s at xi >= 0: (B,) -> (B,)."""
        env = -torch.expm1(-T * (1 + 1 / r)) * xi / (1 + xi) * delta  # (B,)
        return self.mlp(self.features(xi, delta, h, r, T)).squeeze(1) * env

    def dimensionless(self, inputs: torch.Tensor) -> torch.Tensor:
        """The training target from (B, 5) columns (xi, delta, h, r, T): the postseismic part of u/s."""
        return self.postseismic(*inputs.unbind(1))

    def forward(self, x, t, fault_depth, crust, lower_crust, tau_lower, tau_mantle, slip) -> torch.Tensor:
        """Surface displacement in the unit of slip; all arguments (B,), Maxwell times tau = eta/mu."""
        xi = x.abs() / crust
        delta = fault_depth / crust
        elastic = torch.atan(delta / xi) / math.pi
        post = self.postseismic(xi, delta, lower_crust / crust, tau_mantle / tau_lower, t / tau_lower)
        return slip * torch.sign(x) * (elastic + post)


@dataclass
class Layered3DConfig:
    width: int = 48  # hidden units per layer
    depth: int = 3  # hidden layers
    x_max: float = 8.0  # the box of layered3d.Box3D (kept here so a checkpoint carries its own range)
    y_max: float = 6.0
    length_min: float = 2.0
    length_max: float = 10.0
    delta_min: float = 0.25
    t_max: float = 20.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Layered3DConfig:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class Layered3DSurrogate(nn.Module):
    """MLP(6 features -> width x depth -> 3) for the postseismic part of the 3-D finite-fault solution
    (layered3d.py): inputs x, y >= 0 (the quadrant; the other three follow by symmetry), L, delta = D/H, T = t/tau
    (lengths / H, tau = eta/mu the Maxwell time), outputs Delta (u_x, u_y, u_z) / s as

        Delta u_x = e y/(1+y) N_1,   Delta u_y = e x/(1+x) N_2,   Delta u_z = e x y/((1+x)(1+y)) N_3,
        e = (1 - e^{-T}) delta

    zero at t = 0 and with the solution's parities (u_x odd in y, u_y odd in x, u_z odd in both)."""

    task: ClassVar[str] = "layered3d"  # stored in a checkpoint's config; names the variant
    Config: ClassVar[type] = Layered3DConfig

    def __init__(self, cfg: Layered3DConfig):
        super().__init__()
        self.cfg = cfg
        self.mlp = mlp(6, cfg.width, cfg.depth, n_out=3)

    def features(self, x, y, L, delta, T) -> torch.Tensor:
        """(B,) x 5 -> (B, 6) in about [-1, 1]; the sixth is x - L/2 (the distance past the fault's end)."""
        c = self.cfg
        return torch.stack([
            2 * x / c.x_max - 1,
            2 * torch.log1p(y) / math.log1p(c.y_max) - 1,
            2 * (L - c.length_min) / (c.length_max - c.length_min) - 1,
            2 * (delta - c.delta_min) / (1 - c.delta_min) - 1,
            2 * torch.log1p(T) / math.log1p(c.t_max) - 1,
            (2 * x - L) / c.x_max,
        ], dim=1)

    def postseismic(self, x, y, L, delta, T) -> torch.Tensor:
        """Delta u / s (B, 3) at x, y >= 0."""
        n = self.mlp(self.features(x, y, L, delta, T))  # (B, 3)
        e = -torch.expm1(-T) * delta
        fx, fy = x / (1 + x), y / (1 + y)
        return n * torch.stack([e * fy, e * fx, e * fx * fy], dim=1)

    def dimensionless(self, inputs: torch.Tensor) -> torch.Tensor:
        """The training target from (B, 5) columns (x, y, L, delta, T): Delta u / s, (B, 3)."""
        return self.postseismic(*inputs.unbind(1))

    def forward(self, x, y, t, length, bottom, layer, tau, slip) -> torch.Tensor:
        """Postseismic Delta (u_x, u_y, u_z up) (B, 3) in the unit of slip at any (x, y); arguments (B,).
        The elastic part (Okada 1985) is added in numpy by ``physics.layered3d_surrogate_displacement``."""
        sx, sy = torch.sign(x), torch.sign(y)
        d = self.postseismic(x.abs() / layer, y.abs() / layer, length / layer, bottom / layer, t / tau)
        return slip[:, None] * d * torch.stack([sy, sx, sx * sy], dim=1)


@torch.inference_mode()
def evaluate_batched(model: nn.Module, *columns: torch.Tensor, chunk: int = 16384) -> torch.Tensor:
    """model(*columns) over (B,) columns in cache-sized chunks (~3x faster on a CPU than one huge batch), on the
    model's device (the columns go there chunk by chunk; a no-op on the CPU); the answer comes back on the CPU."""
    n = columns[0].shape[0]
    device = next(model.parameters()).device
    return torch.cat([model(*(c[i:i + chunk].to(device) for c in columns)) for i in range(0, n, chunk)]).cpu()


NETWORKS = {net.task: net for net in (Surrogate, CycleSurrogate, LayeredSurrogate, Layered3DSurrogate)}


def build(task: str, config: dict) -> Surrogate | CycleSurrogate | LayeredSurrogate | Layered3DSurrogate:
    """A fresh model for `task` ("postseismic", "cycle", "layered" or "layered3d") from its config dict."""
    net = NETWORKS[task]
    return net(net.Config.from_dict(config))


def load_surrogate(path: str | Path, task: str | None = None, how_to_fix: str = "") -> tuple[nn.Module, dict]:
    """The network in a checkpoint (UserError if missing, corrupt or, when `task` is given, of another task) and
    its meta (with "train" and "task" from its config); in eval mode on the CPU."""
    tensors, config, meta = checkpoint.load(path, how_to_fix=how_to_fix)
    found = config.get("task", "postseismic")
    model = build(found, config.get("model", {}))
    try:
        model.load_state_dict(tensors)
    except RuntimeError:
        raise UserError(f"checkpoint {path} does not match the surrogate's layers. {how_to_fix}".strip()) from None
    if task is not None and found != task:
        raise UserError(f"{path} holds a {found} model, but a {task} model is needed here. {how_to_fix}".strip())
    model.eval()
    return model, {**meta, "train": config.get("train", {}), "task": found}


def load_shipped(name: str, how_to_fix: str = "") -> nn.Module:
    """The shipped surrogate `name` (one of APP.checkpoints: layered3d, layered, surrogate, cycle)."""
    return load_surrogate(APP.checkpoint(name), how_to_fix=how_to_fix)[0]
