"""The four surrogates, one table: what each learns, from which solver, on which box, shipped as which checkpoint.

A variant is one `Variant` entry in `VARIANTS`: its network (model.py, which names the config class), the shipped
checkpoint (a name in APP.checkpoints), the `train` flag that selects it, the sampler of its training data
(samples.py), the exact elastic term its network leaves out, and for `run` the `--model` name, the domain check
(physics.py) and the quantity the figure compares, solver against network (plots.Quantity). Adding a variant is
one more entry here (plus its network and solver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...core.errors import UserError, unknown_name_error
from . import physics, samples
from .model import CycleSurrogate, Layered3DSurrogate, LayeredSurrogate, Surrogate, load_shipped, load_surrogate
from .physics import Cycle, EarthModel
from .plots import Quantity


@dataclass(frozen=True)
class Request:
    """One checked `run` request in user units: the earth, the cycle (or None), the fault length (3-D), the
    distances (km) and times (yr) of the table, and the ranges of the curves."""

    m: EarthModel
    cycle: Cycle | None
    fault_length: float
    x: np.ndarray  # (nx,) km
    t: np.ndarray  # (nt,) yr
    x_max: float
    t_max: float

    @property
    def x_all(self) -> np.ndarray:
        return np.append(self.x, self.x_max)

    @property
    def t_all(self) -> np.ndarray:
        return np.append(self.t, self.t_max)


@dataclass(frozen=True)
class Variant:
    """One surrogate: see the module docstring."""

    network: type  # model.py class; its `task` is stored in the checkpoint and its `Config` is the config class
    checkpoint: str  # shipped checkpoint name (APP.checkpoints)
    what: str  # for messages: "the three-layer model"
    train_flag: str | None  # `deepgallery train viscoelastic --FLAG` selects it (None: the default)
    train_help: str
    sample: Callable  # samples.sample_*: (n, cfg, seed, progress_desc) -> (inputs, targets)
    elastic: Callable | None  # exact elastic part at the inputs (the network learns the rest); None: all learned
    kind: str  # `run --model` name
    cycle: bool  # run with --recurrence (a steady cycle) rather than one event
    fault_length: bool  # takes --fault-length (a finite fault)
    check: Callable[[object, Request], None]  # UserError when the request leaves the trained box
    quantity: Callable[[object, Request], Quantity]  # (network, request) -> what the figure compares
    describe: Callable[[Request], str]  # the first line `run` prints

    @property
    def task(self) -> str:
        return self.network.task

    @property
    def config(self) -> type:
        return self.network.Config

    def load(self, path=None):
        """The trained network: the shipped one, or the checkpoint at `path` (which must hold this task)."""
        if path is None:
            return load_shipped(self.checkpoint, how_to_fix=FIX)
        return load_surrogate(path, self.task, how_to_fix=FIX)[0]


def _title(m: EarthModel, extra: str) -> str:
    return (f"D = {m.fault_depth:g} km, H = {m.layer_thickness:g} km, eta = {m.viscosity:.3g} Pa s, "
            f"mu = {m.shear_modulus:g} GPa (tau = 2 eta/mu = {m.tau_years:.3g} yr), {extra}")


def _layered_title(m: EarthModel) -> str:
    tau2, tau3 = m.maxwell_years
    return (f"D = {m.fault_depth:g} km, elastic H1 = {m.layer_thickness:g} km, lower crust H2 = "
            f"{m.lower_crust_thickness:g} km (eta {m.viscosity:.3g} Pa s, eta/mu = {tau2:.3g} yr), mantle eta "
            f"{m.mantle_viscosity:.3g} Pa s ({tau3:.3g} yr), mu = {m.shear_modulus:g} GPa, s = {m.slip:g} m")


def _quantity_3d(net, r: Request) -> Quantity:
    m, L = r.m, r.fault_length
    return Quantity("along-strike displacement u_x at the fault's centre", "m",
                    lambda a, b: physics.layered3d_solver_displacement(m, L, a, b)[0],
                    lambda a, b: physics.layered3d_surrogate_displacement(net, m, L, a, b)[0],
                    f"3-D: L = {L:g} km, D = {m.fault_depth:g} km, elastic H = {m.layer_thickness:g} km "
                    f"over Maxwell eta = {m.viscosity:.3g} Pa s (eta/mu = {m.maxwell_years[0]:.3g} yr), "
                    f"s = {m.slip:g} m", distance_label="distance across the fault y (km), at x = 0",
                    distance_symbol="y")


def _quantity_cycle(net, r: Request) -> Quantity:
    m, c = r.m, r.cycle
    return Quantity("interseismic velocity v", "mm/yr", lambda a, b: physics.solver_velocity(m, c, a, b),
                    lambda a, b: physics.surrogate_velocity(net, m, c, a, b),
                    _title(m, f"T_r = {c.recurrence:g} yr, V = {c.plate_rate:g} mm/yr "
                              f"(s = {c.plate_rate * c.recurrence / 1000:g} m)"),
                    time_label="time since the last earthquake t (yr)")


def _describe_savage_prescott(r: Request) -> str:
    return (f"model: savage-prescott; tau = 2 eta / mu = {r.m.tau_years:.4g} yr"
            + (f", T_r / tau = {r.cycle.recurrence / r.m.tau_years:.3g}" if r.cycle else ""))


VARIANTS = (
    Variant(
        network=LayeredSurrogate, checkpoint="layered", what="the three-layer model", train_flag="layered",
        train_help="train the three-layer model (elastic upper crust, Maxwell lower crust and mantle; labels from "
                   "the wavenumber/Talbot solver, ~25 s per 300k points)",
        sample=samples.sample_layered, elastic=samples.elastic_arctan,
        kind="layered", cycle=False, fault_length=False,
        check=lambda cfg, r: physics.check_layered_domain(cfg, r.m, r.x_all, r.t_all),
        quantity=lambda net, r: Quantity(
            "surface displacement u", "m", lambda a, b: physics.layered_solver_displacement(r.m, a, b),
            lambda a, b: physics.layered_surrogate_displacement(net, r.m, a, b), _layered_title(r.m)),
        describe=lambda r: "model: layered; Maxwell times eta/mu: lower crust {:.4g} yr, mantle {:.4g} yr".format(
            *r.m.maxwell_years)),
    Variant(
        network=Surrogate, checkpoint="surrogate", what="the single-event model", train_flag=None, train_help="",
        sample=samples.sample_postseismic, elastic=samples.elastic_arctan,
        kind="savage-prescott", cycle=False, fault_length=False,
        check=lambda cfg, r: physics.check_domain(cfg, r.m, r.x_all, r.t_all),
        quantity=lambda net, r: Quantity(
            "surface displacement u", "m", lambda a, b: physics.solver_displacement(r.m, a, b),
            lambda a, b: physics.surrogate_displacement(net, r.m, a, b), _title(r.m, f"s = {r.m.slip:g} m")),
        describe=_describe_savage_prescott),
    Variant(
        network=CycleSurrogate, checkpoint="cycle", what="the cycle model", train_flag="cycle",
        train_help="train the earthquake-cycle velocity model instead of the single-event one",
        sample=samples.sample_cycle, elastic=None,
        kind="savage-prescott", cycle=True, fault_length=False,
        check=lambda cfg, r: physics.check_cycle_domain(cfg, r.m, r.cycle, r.x_all, r.t_all),
        quantity=_quantity_cycle, describe=_describe_savage_prescott),
    Variant(
        network=Layered3DSurrogate, checkpoint="layered3d", what="the 3-D finite-fault model", train_flag="layered3d",
        train_help="train the 3-D finite-fault model (elastic layer over a Maxwell half-space; labels from "
                   "layered3d.py at ~1.5 ms per point: ~3 min per 120k points)",
        sample=samples.sample_layered3d, elastic=samples.elastic_okada,
        kind="3d", cycle=False, fault_length=True,
        check=lambda cfg, r: physics.check_layered3d_domain(cfg, r.m, r.fault_length, 0.0, r.x_all, r.t_all),
        quantity=_quantity_3d,
        describe=lambda r: f"model: 3d; fault length {r.fault_length:g} km; Maxwell time eta/mu "
                           f"{r.m.maxwell_years[0]:.4g} yr; u_x along the profile x = 0 (y = distance)"),
)

FIX = ("Train one with `deepgallery train viscoelastic --out PATH` (add "
       + ", ".join(f"--{v.train_flag} for {v.what}" for v in VARIANTS if v.train_flag)
       + ") and pass --checkpoint PATH, or reinstall deepgallery to restore the shipped checkpoints.")
MODELS = tuple(dict.fromkeys(v.kind for v in VARIANTS))  # `run --model` names: layered, savage-prescott, 3d
DEFAULT_MODEL = "layered"  # for one event; the cycle has one model


def by_task(task: str) -> Variant:
    """The variant whose checkpoints store `task` ("postseismic", "cycle", "layered", "layered3d")."""
    for v in VARIANTS:
        if v.task == task:
            return v
    raise unknown_name_error("viscoelastic task", task, tuple(v.task for v in VARIANTS))


def for_config(cfg) -> Variant:
    """The variant whose network takes the config `cfg`."""
    return next(v for v in VARIANTS if isinstance(cfg, v.config))


def for_run(kind: str | None, cycle: bool) -> Variant:
    """`run --model KIND` (None: the default) for one event or, with --recurrence, a steady cycle."""
    cycles = [v for v in VARIANTS if v.cycle]
    if kind is None:
        kind = cycles[0].kind if cycle else DEFAULT_MODEL
    if kind not in MODELS:
        raise unknown_name_error("model", str(kind), MODELS)
    for v in VARIANTS:
        if v.kind == kind and v.cycle == cycle:
            return v
    raise UserError(f"--recurrence (the earthquake cycle) is available for --model {cycles[0].kind} only")
