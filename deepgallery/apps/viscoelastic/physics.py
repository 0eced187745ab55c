"""Physical parameters in user units (km, years, Pa s, GPa, m), their checks, and both evaluators on them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np

from ...core.errors import UserError
from . import layered, solver


def _column(value, shape: tuple[int, ...]):
    """`value` (scalar or array) broadcast to `shape` as a flat float32 tensor: one surrogate input column."""
    import torch

    return torch.tensor(np.broadcast_to(value, shape).ravel(), dtype=torch.float32)  # a copy


@dataclass
class EarthModel:
    fault_depth: float = 15.0  # km, D: the fault slips from the surface to this depth
    layer_thickness: float = 30.0  # km, H (H1): elastic layer (upper crust / lithosphere)
    viscosity: float = 1e19  # Pa s, eta (eta2) of the Maxwell material right below the elastic layer
    shear_modulus: float = 30.0  # GPa, mu (the same in every layer)
    slip: float = 5.0  # m, coseismic slip s
    lower_crust_thickness: float = 20.0  # km, H2: Maxwell lower crust (layered model only)
    mantle_viscosity: float = 5e19  # Pa s, eta3 of the Maxwell mantle half-space (layered model only)

    @property
    def tau_years(self) -> float:
        """tau = 2 eta / mu in years, the time scale of the relaxation."""
        return float(solver.relaxation_time_years(self.viscosity, self.shear_modulus))

    @property
    def maxwell_years(self) -> tuple[float, float]:
        """Maxwell times eta/mu of the lower crust and the mantle, years (the layered model's time scales)."""
        mu = self.shear_modulus * 1e9 * solver.SECONDS_PER_YEAR
        return self.viscosity / mu, self.mantle_viscosity / mu

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self) -> EarthModel:
        """UserError (one line) for values that are not physical."""
        names = {"fault_depth": "fault depth (km)", "layer_thickness": "layer thickness (km)",
                 "viscosity": "viscosity (Pa s)", "shear_modulus": "shear modulus (GPa)", "slip": "slip (m)",
                 "lower_crust_thickness": "lower-crust thickness (km)", "mantle_viscosity": "mantle viscosity (Pa s)"}
        for key, label in names.items():
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise UserError(f"{label} must be a finite number > 0, got {value}")
        if self.fault_depth > self.layer_thickness:
            raise UserError(f"fault depth {self.fault_depth} km is below the elastic layer ({self.layer_thickness} km)"
                            ": this model needs fault depth <= layer thickness")
        return self


def check_grid(distances_km, times_years) -> tuple[np.ndarray, np.ndarray]:
    """Distances (any sign, finite) and times (>= 0, finite) as float arrays; UserError otherwise."""
    x = np.atleast_1d(np.asarray(distances_km, dtype=float))
    t = np.atleast_1d(np.asarray(times_years, dtype=float))
    if x.size == 0 or not np.all(np.isfinite(x)):
        raise UserError("distances (--x) must be finite numbers in km")
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise UserError(f"times (--t) must be finite numbers >= 0 (years after the earthquake), got {t.tolist()}")
    return x, t


def solver_displacement(m: EarthModel, x_km, t_years) -> np.ndarray:
    """Surface displacement (m) from the image series at broadcast (x, t)."""
    return solver.surface_displacement(x_km, t_years, m.fault_depth, m.layer_thickness, m.tau_years, m.slip)


def check_domain(model_cfg, m: EarthModel, x_km: np.ndarray, t_years: np.ndarray | None = None) -> None:
    """UserError when the request leaves the box the surrogate was trained on, saying what to change."""
    delta = m.fault_depth / m.layer_thickness
    if delta < model_cfg.delta_min:
        raise UserError(f"fault depth / layer thickness = {delta:.3g} is below the surrogate's range "
                        f"({model_cfg.delta_min}); use a deeper fault or a thinner layer")
    xi = float(np.max(np.abs(x_km))) / m.layer_thickness
    if xi > model_cfg.xi_max:
        raise UserError(f"distance {np.max(np.abs(x_km)):g} km is {xi:.3g} layer thicknesses; the surrogate covers "
                        f"{model_cfg.xi_max:g} (<= {model_cfg.xi_max * m.layer_thickness:g} km here): lower --x-max")
    if t_years is None:
        return
    big_t = float(np.max(t_years)) / m.tau_years
    if big_t > model_cfg.t_max:
        raise UserError(f"time {np.max(t_years):g} yr is {big_t:.3g} relaxation times (tau = 2 eta/mu = "
                        f"{m.tau_years:.3g} yr); the surrogate covers {model_cfg.t_max:g} "
                        f"(<= {model_cfg.t_max * m.tau_years:.4g} yr here): lower --t-max or raise the viscosity")


def surrogate_displacement(model, m: EarthModel, x_km, t_years) -> np.ndarray:
    """Surface displacement (m) from the network at broadcast (x, t), same shape as the solver's answer."""
    from .model import evaluate_batched

    x, t = np.broadcast_arrays(np.asarray(x_km, float), np.asarray(t_years, float))
    column = partial(_column, shape=x.shape)
    u = evaluate_batched(model, column(x), column(t), column(m.fault_depth), column(m.layer_thickness),
                         column(m.tau_years), column(m.slip))
    return u.double().numpy().reshape(x.shape)


@dataclass
class Cycle:
    recurrence: float = 150.0  # yr, T_r: the same earthquake repeats every T_r
    plate_rate: float = 35.0  # mm/yr, V: the fault below D slides steadily at V; each event slips V T_r

    def check(self, t_years=None) -> Cycle:
        """UserError for non-physical values, or times outside the cycle [0, T_r)."""
        for key, label in (("recurrence", "recurrence (yr)"), ("plate_rate", "plate rate (mm/yr)")):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise UserError(f"{label} must be a finite number > 0, got {value}")
        if t_years is not None and np.any(np.asarray(t_years) >= self.recurrence):
            raise UserError(f"times in a cycle must be below the recurrence {self.recurrence:g} yr, "
                            f"got {np.max(t_years):g}")
        return self


def check_cycle_domain(model_cfg, m: EarthModel, c: Cycle, x_km: np.ndarray, t_years: np.ndarray) -> None:
    """UserError when a cycle request leaves the trained box or the times leave [0, T_r)."""
    c.check(t_years)
    tc = c.recurrence / m.tau_years
    if not model_cfg.tc_min <= tc <= model_cfg.tc_max:
        raise UserError(f"recurrence / tau = {tc:.3g} (tau = 2 eta/mu = {m.tau_years:.3g} yr) is outside the cycle "
                        f"surrogate's range [{model_cfg.tc_min:g}, {model_cfg.tc_max:g}]: change --recurrence "
                        f"or --viscosity")
    check_domain(model_cfg, m, x_km)


def solver_velocity(m: EarthModel, c: Cycle, x_km, t_years) -> np.ndarray:
    """Interseismic surface velocity (mm/yr) t years after the last event, from the solver."""
    return solver.cycle_velocity(x_km, np.asarray(t_years, float) / c.recurrence, m.fault_depth, m.layer_thickness,
                                 m.tau_years, c.recurrence, c.plate_rate)


def surrogate_velocity(model, m: EarthModel, c: Cycle, x_km, t_years) -> np.ndarray:
    """Interseismic surface velocity (mm/yr) from the cycle network, same shape as the solver's answer."""
    from .model import evaluate_batched

    x, t = np.broadcast_arrays(np.asarray(x_km, float), np.asarray(t_years, float))
    column = partial(_column, shape=x.shape)
    v = evaluate_batched(model, column(x), column(t / c.recurrence), column(m.fault_depth),
                         column(m.layer_thickness), column(m.tau_years), column(c.recurrence), column(c.plate_rate))
    return v.double().numpy().reshape(x.shape)


# ---------------------------------------------------------------------------------------------------------------
# The three-layer model (layered.py): elastic upper crust H1 = layer_thickness, Maxwell lower crust H2 with
# viscosity eta2 = viscosity, Maxwell mantle half-space with eta3 = mantle_viscosity, one shear modulus.
# ---------------------------------------------------------------------------------------------------------------
def layered_solver_displacement(m: EarthModel, x_km, t_years) -> np.ndarray:
    """Surface displacement (m) from the wavenumber/Talbot solver at broadcast (x, t)."""
    tau2, tau3 = m.maxwell_years
    return layered.surface_displacement(x_km, t_years, m.fault_depth, m.layer_thickness, m.lower_crust_thickness,
                                        tau2, tau3, m.slip)


def layered_surrogate_displacement(model, m: EarthModel, x_km, t_years) -> np.ndarray:
    """Surface displacement (m) from the layered network at broadcast (x, t), same shape as the solver's."""
    from .model import evaluate_batched

    x, t = np.broadcast_arrays(np.asarray(x_km, float), np.asarray(t_years, float))
    tau2, tau3 = m.maxwell_years
    column = partial(_column, shape=x.shape)
    u = evaluate_batched(model, column(x), column(t), column(m.fault_depth), column(m.layer_thickness),
                         column(m.lower_crust_thickness), column(tau2), column(tau3), column(m.slip))
    return u.double().numpy().reshape(x.shape)


def check_layered_domain(cfg, m: EarthModel, x_km: np.ndarray, t_years: np.ndarray) -> None:
    """UserError when a request leaves the box the layered surrogate was trained on, saying what to change."""
    H1 = m.layer_thickness
    delta, h, r = m.fault_depth / H1, m.lower_crust_thickness / H1, m.mantle_viscosity / m.viscosity
    if delta < cfg.delta_min:
        raise UserError(f"fault depth / upper-crust thickness = {delta:.3g} is below the layered surrogate's range "
                        f"({cfg.delta_min:g}); use a deeper fault or a thinner --layer-thickness")
    if not cfg.h_min <= h <= cfg.h_max:
        raise UserError(f"lower-crust / upper-crust thickness = {h:.3g} is outside the layered surrogate's range "
                        f"[{cfg.h_min:g}, {cfg.h_max:g}]: change --lower-crust-thickness "
                        f"({cfg.h_min * H1:g}..{cfg.h_max * H1:g} km here)")
    if not cfg.r_min * (1 - 1e-9) <= r <= cfg.r_max * (1 + 1e-9):
        raise UserError(f"mantle / lower-crust viscosity = {r:.3g} is outside the layered surrogate's range "
                        f"[{cfg.r_min:g}, {cfg.r_max:g}]: change --mantle-viscosity or --viscosity")
    xi = float(np.max(np.abs(x_km))) / H1
    if xi > cfg.xi_max:
        raise UserError(f"distance {np.max(np.abs(x_km)):g} km is {xi:.3g} upper-crust thicknesses; the layered "
                        f"surrogate covers {cfg.xi_max:g} (<= {cfg.xi_max * H1:g} km here): lower --x-max")
    tau2 = m.maxwell_years[0]
    big_t = float(np.max(t_years)) / tau2
    if big_t > cfg.t_max:
        raise UserError(f"time {np.max(t_years):g} yr is {big_t:.3g} lower-crust Maxwell times (eta/mu = "
                        f"{tau2:.3g} yr); the layered surrogate covers {cfg.t_max:g} "
                        f"(<= {cfg.t_max * tau2:.4g} yr here): lower --t-max or raise the viscosity")


# ---------------------------------------------------------------------------------------------------------------
# The 3-D finite fault (layered3d.py): a vertical strike-slip rectangle, length L centred at the origin along x,
# from the surface to D = fault_depth, in an elastic layer H = layer_thickness over a Maxwell half-space (viscosity,
# Maxwell in shear, elastic in bulk). Shown along the profile x = 0 (across the fault's centre), y = distance.
# ---------------------------------------------------------------------------------------------------------------
def layered3d_solver_displacement(m: EarthModel, length_km: float, y_km, t_years, x_km=0.0) -> np.ndarray:
    """(u_x, u_y, u_z) (m), shape (3, *broadcast) at surface points (x_km, y_km) and times, from the solver."""
    from . import layered3d

    return layered3d.surface_displacement(x_km, y_km, t_years, length_km, 0.0, m.fault_depth, m.layer_thickness,
                                          m.maxwell_years[0], m.slip)


def layered3d_surrogate_displacement(model, m: EarthModel, length_km: float, y_km, t_years, x_km=0.0) -> np.ndarray:
    """(u_x, u_y, u_z) (m) from Okada (1985, exact) + the 3-D network's postseismic part, like the solver's."""
    from . import okada
    from .model import evaluate_batched

    x, y, t = np.broadcast_arrays(*(np.asarray(a, float) for a in (x_km, y_km, t_years)))
    column = partial(_column, shape=x.shape)
    post = evaluate_batched(model, column(x), column(y), column(t), column(length_km), column(m.fault_depth),
                            column(m.layer_thickness), column(m.maxwell_years[0]), column(m.slip))
    elastic = okada.surface_displacement(x, y, length_km, 0.0, m.fault_depth, m.slip)
    return elastic + post.double().numpy().T.reshape((3,) + x.shape)


def check_layered3d_domain(cfg, m: EarthModel, length_km: float, x_km, y_km, t_years) -> None:
    """UserError when a request leaves the box the 3-D surrogate was trained on, saying what to change."""
    H = m.layer_thickness
    if not (isinstance(length_km, (int, float)) and math.isfinite(length_km) and length_km > 0):
        raise UserError(f"fault length must be a finite number > 0 km, got {length_km}")
    delta, L = m.fault_depth / H, length_km / H
    if delta < cfg.delta_min:
        raise UserError(f"fault depth / layer thickness = {delta:.3g} is below the 3-D surrogate's range "
                        f"({cfg.delta_min:g}); use a deeper fault or a thinner --layer-thickness")
    if not cfg.length_min * (1 - 1e-9) <= L <= cfg.length_max * (1 + 1e-9):
        raise UserError(f"fault length / layer thickness = {L:.3g} is outside the 3-D surrogate's range "
                        f"[{cfg.length_min:g}, {cfg.length_max:g}]: change --fault-length "
                        f"({cfg.length_min * H:g}..{cfg.length_max * H:g} km here)")
    for name, v, top in (("along-strike x", x_km, cfg.x_max), ("distance across the fault", y_km, cfg.y_max)):
        far = float(np.max(np.abs(v))) / H
        if far > top * (1 + 1e-9):
            raise UserError(f"{name} {np.max(np.abs(v)):g} km is {far:.3g} layer thicknesses; the 3-D surrogate "
                            f"covers {top:g} (<= {top * H:g} km here): lower --x-max")
    tau = m.maxwell_years[0]
    big_t = float(np.max(t_years)) / tau
    if big_t > cfg.t_max:
        raise UserError(f"time {np.max(t_years):g} yr is {big_t:.3g} Maxwell times (eta/mu = {tau:.3g} yr); the 3-D "
                        f"surrogate covers {cfg.t_max:g} (<= {cfg.t_max * tau:.4g} yr here): lower --t-max or "
                        "raise the viscosity")
