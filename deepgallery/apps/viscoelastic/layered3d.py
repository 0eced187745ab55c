r"""3-D postseismic surface deformation of a finite vertical strike-slip fault in an elastic layer over a Maxwell
half-space: point-dislocation Green's functions in the horizontal wavenumber domain, a layer/half-space boundary
value problem per wavenumber, Talbot Laplace inversion and Hankel transforms, integrated over the fault plane.

Geometry (lengths in units of the layer thickness H; z >= 0 is depth):

* an **elastic layer** ``0 <= z < H`` (shear modulus mu, Lame lambda; Poisson ratio nu, 0.25 by default) over a
  **Maxwell half-space** ``z >= H`` with the same instantaneous moduli. The half-space is Maxwell in shear and
  elastic in bulk (the usual choice, e.g. Pollitz 1997; Fukahata & Matsu'ura 2006): in the Laplace domain
  ``mu2(p) = mu p / (p + 1/tau)`` with the Maxwell time ``tau = eta / mu`` and ``lambda2(p) = K - 2 mu2(p) / 3``,
  ``K = lambda + 2 mu / 3`` (correspondence principle).
* a **vertical rectangular fault** in the plane y = 0, ``-L/2 <= x <= L/2``, from depth ``d1`` (top, 0 = breaking
  the surface) to ``D <= H`` (bottom), slipping uniformly by ``s`` along x at t = 0 (a step in time). Convention:
  the side y > 0 moves by +s/2 x-hat, y < 0 by -s/2 (a long surface-breaking fault gives u_x -> sign(y) s / 2
  next to it; Okada's U1 = -s).

Derivation.

1. Full-space point dislocation (Volterra: ``u_i = M_pq dG_ip / d xi_q``, ``M_xy = M_yx = mu s dA``) from the
   full-space Green's tensor ``G^(K) = [I - alpha K K^T / K^2] / (mu K^2)``, ``alpha = (lambda + mu)/(lambda + 2mu)``
   (e.g. Aki & Richards 2002, ch. 4), transformed back in the vertical wavenumber (``int e^{i K_z zeta} / (k^2 +
   K_z^2) dK_z / 2pi = e^{-k|zeta|} / 2k`` and its square ``(1 + k|zeta|) e^{-k|zeta|} / 4k^3``). With the
   horizontal wavenumber ``k (cos phi, sin phi)``, ``zeta = z - c`` for a source at depth c, ``a = k |zeta|``
   and the P-SV / SH split ``u^ = k^ U_R + (z^ x k^) U_T + z^ U_z`` (checked symbolically):

       U_R = sin 2phi (i alpha / 4) (a - kappa) e^{-a},   U_z = -sin 2phi (alpha / 4) k zeta e^{-a},
       U_T = -cos 2phi (i / 2) e^{-a},                      kappa = (lambda + 3 mu) / (lambda + mu)          (1)

   (independent of mu). Integrated over the fault depth c in [d1, D] in closed form (``int e^{-kc} dc`` and
   ``int kc e^{-kc} dc``).
2. Homogeneous solutions of Navier's equation (real variables ``V = -i U_R``, ``W = U_z``, ``T = i U_T``):
   P-SV decaying ``(V, W) = (-1, 1) e^{-kz}`` and ``(kappa - kz, kz) e^{-kz}``, growing ``(1, 1) e^{kz}`` and
   ``(kappa + kz, kz) e^{kz}`` (Singh 1970; the Haskell propagator's columns); SH ``e^{-+kz}``. Tractions on
   horizontal planes ``S_R = mu (V' + k W)``, ``S_z = lambda (W' - k V) + 2 mu W'``, ``S_T = mu T'``.
3. The elastic half-space solution ``h`` = source (1) + decaying solutions that free the surface. The layered
   Laplace-domain solution is ``h + Delta`` in the layer (Delta: 2 decaying + 2 growing P-SV solutions, 1 + 1 SH)
   and decaying solutions with ``mu2(p), lambda2(p)`` below; a traction-free surface and continuous displacement
   and traction at z = H give a 6 x 6 (P-SV) and 3 x 3 (SH) linear system per (k, p), solved batched. The growing
   solutions are normalised at z = H, so every entry is O(1) (no e^{+kH}). ``Delta = 0`` when mu2 = mu (t = 0).
4. Talbot inversion of ``Delta(k, p) / p`` (step slip; ``layered.talbot_contour``, Weideman & Trefethen 2007),
   then the Hankel transforms of the angular orders of (1) (Jacobi-Anger, ``int e^{ikr cos(phi - theta)} e^{in phi}
   dphi = 2 pi i^n J_n(kr) e^{in theta}``), for a point source at the origin and the observer at (r, theta):

       u_x = (1/4pi) int k [(P + R) J1(kr) sin theta - (P - R) J3(kr) sin 3theta] dk
       u_y = (1/4pi) int k [(P + R) J1(kr) cos theta + (P - R) J3(kr) cos 3theta] dk                          (2)
       u_z = -(1/2pi) int k Q J2(kr) sin 2theta dk

   with ``P = -V, Q = W, R = T`` of Delta at the surface. Finally the fault's along-strike coordinate xi is
   integrated numerically (composite Gauss-Legendre), since the observer's (r, theta) change with xi.
5. Total surface displacement = Okada (1985) for the elastic half-space (closed form, ``okada.py``) + Delta.
   The wavenumber machinery itself (steps 1-3 without the layer) reproduces Okada for buried faults (tested), and
   ``Delta`` vanishes at t = 0 and for eta -> inf.

Numerics: ``Delta`` decays like ``e^{-k(2H - D)}/k`` in k (the source seen through the interface and back), so
k_max = 10/H leaves ~5e-6 s; the k grid is geometric near 0 (late times put features at k ~ tau / (t H)), then
panels at most ``period_fraction`` of a period of J_n(k r_max) (r_max: the farthest fault point); the xi panels are
at most ``xi_panel`` H wide (the point-source Delta varies on the scale 2H - D >= H). J2, J3 by recurrence from
scipy's j0, j1 (series below kr = 0.5). Settings, measured by ``accuracy()`` against ``REFERENCE_3D`` (N = 24
Talbot nodes, 8 Gauss nodes on panels a quarter period wide, k_max = 24, xi panels H/2 with 6 nodes; itself
within 1.4e-12 s of N = 32, 10 nodes on 1/8-period panels, k_max = 30, 8 nodes per H/4) on 200 points of the
surrogate's box: ``DEFAULT_3D`` (N = 8, 4 nodes per panel of a full period, k_max = 10, 3 nodes per H along
strike) max error 2.6e-5 s, relative 1.5e-4, ~0.55 ms per point on one CPU core; ``LABELS_3D`` (training labels)
max 8e-7 s; ``NETWORK_LEVEL_3D`` (N = 6, 3 nodes per panel, k_max = 7, 2 nodes per 1.5 H) max 6.6e-4 s, relative
3.5e-3 -- about the network's own error -- at ~0.27 ms per point. The Okada test uses a finer xi grid (the
elastic field of a buried source varies on the scale d1).

Limits, vs the paper (DeVries et al. 2017 train on Fukahata & Matsu'ura's multilayer code): one elastic layer over
one Maxwell half-space (not the paper's crust/lower-crust/mantle stack), one Poisson ratio, no gravity (so the fully
relaxed state is the layer as a free plate -- ``relaxed_postseismic``), uniform slip on a vertical strike-slip
rectangle (no dip-slip, no dip).
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import j0, j1

from ...core.errors import UserError
from . import okada
from .layered import talbot_contour


@dataclass(frozen=True)
class Quadrature3D:
    """Numerical settings (see the module docstring)."""

    talbot_nodes: int = 8  # full Talbot contour; N/2 evaluated
    gauss_nodes: int = 4  # Gauss-Legendre nodes per k panel
    period_fraction: float = 1.0  # a k panel spans at most this fraction of a period 2 pi / r_max
    max_panel: float = 1.0  # ... and at most this width (1/H)
    kappa_max: float = 10.0  # upper limit of k H
    kappa_min_panel: float = 1e-3  # first geometric breakpoint (x3 per panel), scaled down at late times
    xi_panel: float = 1.0  # along-strike panel width (H)
    xi_nodes: int = 3  # Gauss-Legendre nodes per along-strike panel
    chunk: int = 64  # points per vectorised block (b, N/2, K) of 6 x 6 systems

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_3D = Quadrature3D()  # the cheapest setting found with max error < 1e-4 s over the box (bench: measured)
# about the network's own accuracy (postseismic relative error 3.5e-3 vs the network's ~6.6e-3), ~2x cheaper
NETWORK_LEVEL_3D = Quadrature3D(talbot_nodes=6, gauss_nodes=3, kappa_max=7.0, xi_panel=1.5, xi_nodes=2)
LABELS_3D = Quadrature3D(talbot_nodes=10, period_fraction=0.5, kappa_max=14.0, xi_nodes=4)  # training labels
REFERENCE_3D = Quadrature3D(talbot_nodes=24, gauss_nodes=8, period_fraction=0.25, max_panel=0.5, kappa_max=24.0,
                            kappa_min_panel=1e-4, xi_panel=0.5, xi_nodes=6)


@functools.cache
def _leggauss(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _gauss(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    g, w = _leggauss(n)
    a, b = edges[:-1, None], edges[1:, None]
    return ((a + b) / 2 + (b - a) / 2 * g).ravel(), ((b - a) / 2 * w).ravel()


def k_grid(r_max: float, q: Quadrature3D, t_max: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """k nodes/weights (K,) for source-observer distances up to r_max (units of H)."""
    width = min(q.max_panel, q.period_fraction * 2 * np.pi / max(r_max, 1e-12))
    edges = [0.0]
    b = q.kappa_min_panel * min(1.0, 30.0 / max(t_max, 1e-300))
    while b < width:
        edges.append(b)
        b *= 3.0
    start = edges[-1]
    n = max(1, math.ceil((q.kappa_max - start) / width))
    return _gauss(np.unique(np.concatenate([edges, np.linspace(start, q.kappa_max, n + 1)])), q.gauss_nodes)


def xi_grid(length: float, q: Quadrature3D) -> tuple[np.ndarray, np.ndarray]:
    n = max(1, math.ceil(length / q.xi_panel))
    return _gauss(np.linspace(-length / 2, length / 2, n + 1), q.xi_nodes)


# ----------------------------------------------------------------------------------------------- P-SV / SH algebra
def _psv_basis(k, s, kap, growing):
    """(V, W, V', W') of the two decaying (or growing) P-SV solutions at local depth s: each (..., 2)."""
    k, kap = np.broadcast_arrays(k, kap)
    E = np.exp(k * s) if growing else np.exp(-k * s)
    ks = k * s
    if growing:
        V = np.stack([E, (kap + ks) * E], -1)
        W = np.stack([E, ks * E], -1)
        dV = np.stack([k * E, k * (1 + kap + ks) * E], -1)
        dW = np.stack([k * E, k * (1 + ks) * E], -1)
    else:
        V = np.stack([-E, (kap - ks) * E], -1)
        W = np.stack([E, ks * E], -1)
        dV = np.stack([k * E, -k * (1 + kap - ks) * E], -1)
        dW = np.stack([-k * E, k * (1 - ks) * E], -1)
    return V, W, dV, dW


def _traction(V, W, dV, dW, k, lam, mu):
    """(S_R, S_z) / k on a horizontal plane."""
    return mu * (dV + k * W) / k, (lam * (dW - k * V) + 2 * mu * dW) / k


def _source(k, d1, D, alpha, kap):
    """Depth-integrated source (1) (real variables, without the angular factors): at z = 0 and at z = 1.

    Returns (V, W, V', W', T, T') at z = 0 and the same at z = 1, each shaped like k.
    """
    e1, eD = np.exp(-k * d1), np.exp(-k * D)
    E0 = -e1 * np.expm1(-k * (D - d1)) / k  # int_{d1}^{D} e^{-kc} dc
    E1 = ((1 + k * d1) * e1 - (1 + k * D) * eD) / k  # int kc e^{-kc} dc
    f1, fD = np.exp(-k * (1 - d1)), np.exp(-k * (1 - D))
    F0 = -fD * np.expm1(-k * (D - d1)) / k  # int e^{-k(1-c)} dc
    F1 = ((1 + k * (1 - D)) * fD - (1 + k * (1 - d1)) * f1) / k
    a4 = alpha / 4
    top = (a4 * (E1 - kap * E0), a4 * E1, -a4 * k * ((1 + kap) * E0 - E1), -a4 * k * (E0 - E1), E0 / 2, k * E0 / 2)
    bot = (a4 * (F1 - kap * F0), -a4 * F1, a4 * k * ((1 + kap) * F0 - F1), -a4 * k * (F0 - F1), F0 / 2, -k * F0 / 2)
    return top, bot


def _moduli(nu):
    lam = 2 * nu / (1 - 2 * nu)  # mu = 1
    return lam, (lam + 1) / (lam + 2), (lam + 3) / (lam + 1)


def spectra(k, d1, D, mu2, nu=0.25, elastic=False):
    """Surface kernels (P, Q, R) of eq. (2) for unit slip (H = 1): Delta (or the elastic field h with elastic=True).

    k (..., K) real; d1, D broadcast with k; mu2: complex half-space shear modulus (/ mu) broadcast with k.
    """
    lam, alpha, kap = _moduli(nu)
    top, bot = _source(k, d1, D, alpha, kap)
    # elastic half-space h: decaying a0 with zero surface traction
    Vd0, Wd0, dVd0, dWd0 = _psv_basis(k, 0.0, kap, False)  # (..., 2)
    SR0, Sz0 = _traction(Vd0, Wd0, dVd0, dWd0, k[..., None], lam, 1.0)
    sR_src, sz_src = _traction(*top[:4], k, lam, 1.0)
    A = np.stack([SR0, Sz0], -2)  # (..., 2 eq, 2 unk)
    a0 = np.linalg.solve(A, -np.stack([sR_src, sz_src], -1)[..., None])[..., 0]  # (..., 2)
    T_a0 = -top[5] / (-k)  # SH: T' of e^{-kz} is -k: a0 (-k) + T'_src = 0
    if elastic:
        V = top[0] + np.einsum("...j,...j->...", Vd0, a0)
        W = top[1] + np.einsum("...j,...j->...", Wd0, a0)
        return -V, W, top[4] + T_a0
    # h at z = 1 (local s = 1 of the decaying basis)
    Vd1, Wd1, dVd1, dWd1 = _psv_basis(k, 1.0, kap, False)
    hV = bot[0] + np.einsum("...j,...j->...", Vd1, a0)
    hW = bot[1] + np.einsum("...j,...j->...", Wd1, a0)
    hdV = bot[2] + np.einsum("...j,...j->...", dVd1, a0)
    hdW = bot[3] + np.einsum("...j,...j->...", dWd1, a0)
    hSR, hSz = _traction(hV, hW, hdV, hdW, k, lam, 1.0)
    ek = np.exp(-k)
    hT, hdT = bot[4] + T_a0 * ek, bot[5] - k * T_a0 * ek
    # half-space moduli (complex) and bases
    mu2 = np.asarray(mu2)
    K_bulk = lam + 2.0 / 3.0
    lam2 = K_bulk - 2 * mu2 / 3
    kap2 = (lam2 + 3 * mu2) / (lam2 + mu2)
    kk = k[..., None]
    Vg0, Wg0, dVg0, dWg0 = _psv_basis(k, -1.0, kap, True)  # growing, normalised at z = 1, seen at z = 0
    Vg1, Wg1, dVg1, dWg1 = _psv_basis(k, 0.0, kap, True)
    Vh, Wh, dVh, dWh = _psv_basis(k, 0.0, kap2, False)  # half-space decaying at its top
    SRg0, Szg0 = _traction(Vg0, Wg0, dVg0, dWg0, kk, lam, 1.0)
    SRd1, Szd1 = _traction(Vd1, Wd1, dVd1, dWd1, kk, lam, 1.0)
    SRg1, Szg1 = _traction(Vg1, Wg1, dVg1, dWg1, kk, lam, 1.0)
    SRh, Szh = _traction(Vh, Wh, dVh, dWh, kk, lam2[..., None], mu2[..., None])
    shape = np.broadcast_shapes(k.shape, mu2.shape)

    def row(*blocks):  # three (..., 2) blocks -> (..., 6)
        return np.concatenate([np.broadcast_to(b, shape + (2,)) for b in blocks], -1)

    M = np.stack([row(SR0, SRg0, 0 * SRh), row(Sz0, Szg0, 0 * Szh),
                  row(Vd1, Vg1, -Vh), row(Wd1, Wg1, -Wh),
                  row(SRd1, SRg1, -SRh), row(Szd1, Szg1, -Szh)], -2).astype(complex)  # (..., 6, 6)
    rhs = np.stack(np.broadcast_arrays(0 * hV, 0 * hV, -hV, -hW, -hSR, -hSz), -1).astype(complex)
    rhs = np.broadcast_to(rhs, shape + (6,))
    x = np.linalg.solve(M, rhs[..., None])[..., 0]  # (..., 6)
    V = np.einsum("...j,...j->...", Vd0, x[..., 0:2]) + np.einsum("...j,...j->...", Vg0, x[..., 2:4])
    W = np.einsum("...j,...j->...", Wd0, x[..., 0:2]) + np.einsum("...j,...j->...", Wg0, x[..., 2:4])
    # SH: Delta = a e^{-kz} + b e^{-k(1-z)} in the layer, c e^{-k(z-1)} below; mu T' continuous
    # surface: -k a + k ek b = 0 -> a = ek b; z = 1: a ek + b - c = -hT; -k a ek + k b + k mu2 c = -hdT
    b = (-hdT / k - mu2 * hT) / (1 + mu2 - ek * ek * (1 - mu2))
    a = ek * b
    R = a + ek * b
    return -V, W, R


# --------------------------------------------------------------------------------------------------- the solver
def check(x, y, t, length, top, bottom, layer, tau, slip, nu) -> None:
    """UserError (one line) for parameters outside the model."""
    def need(name, a, ok, what):
        a = np.asarray(a, float)
        if not np.all(ok(a)):
            raise UserError(f"{name} must be {what}, got {a.ravel()[~ok(a).ravel()][0]:g}")

    need("x", x, np.isfinite, "finite")
    need("y", y, np.isfinite, "finite")
    need("time t", t, lambda a: np.isfinite(a) & (a >= 0), "a finite number >= 0")
    need("fault length L", length, lambda a: np.isfinite(a) & (a > 0), "a finite number > 0")
    need("fault top depth d1", top, lambda a: np.isfinite(a) & (a >= 0), "a finite number >= 0")
    need("fault bottom depth D", bottom, lambda a: np.isfinite(a) & (a > 0), "a finite number > 0")
    need("layer thickness H", layer, lambda a: np.isfinite(a) & (a > 0), "a finite number > 0")
    need("Maxwell time eta/mu", tau, lambda a: ~np.isnan(a) & (a > 0), "> 0 (np.inf: elastic)")
    need("slip", slip, np.isfinite, "finite")
    if not 0 <= float(nu) < 0.5:
        raise UserError(f"Poisson ratio must be in [0, 0.5), got {nu}")
    if np.any(np.asarray(top, float) >= np.asarray(bottom, float)):
        raise UserError("the fault top depth d1 must be above its bottom D (d1 < D)")
    if np.any(np.asarray(bottom, float) > np.asarray(layer, float) * (1 + 1e-12)):
        raise UserError("the fault must end in the elastic layer (bottom depth D <= layer thickness H); "
                        "faults cutting into the Maxwell half-space are not modelled")


def _bessel123(z):
    """J1, J2, J3 from j0/j1 by upward recurrence; series for small arguments (where recurrence loses digits)."""
    b0, b1 = j0(z), j1(z)
    small = z < 0.5
    zs = np.where(small, 1.0, z)
    b2 = np.where(small, z * z / 8 * (1 - z * z / 12 + z ** 4 / 384), 2 * b1 / zs - b0)
    b3 = np.where(small, z ** 3 / 48 * (1 - z * z / 16 + z ** 4 / 640), 4 * b2 / zs - b1)
    return b1, b2, b3


def postseismic(x, y, t, length, top, bottom, nu=0.25, q: Quadrature3D = DEFAULT_3D):
    """Delta u (3, B) for unit slip, H = 1, tau = 1 (dimensionless; flat inputs (B,)). t = 0 gives 0."""
    B = x.size
    out = np.zeros((3, B))
    sigma, weight = talbot_contour(q.talbot_nodes)  # (M,)
    rmax = np.hypot(np.abs(x) + length / 2, y)
    order = np.argsort(rmax, kind="stable")
    for start in range(0, B, q.chunk):
        idx = order[start:start + q.chunk]
        idx = idx[t[idx] > 0]  # t = 0 (or an elastic half-space, t / tau = 0): Delta = 0
        if idx.size == 0:
            continue
        k, wk = k_grid(float(rmax[idx].max()), q, float(t[idx].max()))  # (K,)
        p = sigma[None, :, None] / t[idx, None, None]  # (b, M, 1)
        mu2 = np.where(np.isinf(p), 1.0 + 0j, p / (p + 1.0))  # tau = 1
        d1, D = top[idx, None, None], bottom[idx, None, None]
        P, Q, R = spectra(k[None, None, :], d1, D, mu2, nu)  # (b, M, K) complex
        f = [(2 / q.talbot_nodes) * np.einsum("bmk,m->bk", G, weight).imag for G in (P, Q, R)]  # (b, K)
        for j, i in enumerate(idx):
            out[:, i] = _hankel(x[i], y[i], float(length[i]), k, wk, f[0][j], f[1][j], f[2][j], q)
    out[2] *= -1  # u_z positive up (z is depth in the derivation)
    return out


def relaxed_postseismic(x, y, length, top, bottom, nu=0.25, q: Quadrature3D = DEFAULT_3D) -> np.ndarray:
    """The t -> infinity Delta (3, B), unit slip, H = 1: mu2 = 0 (the layer over an inviscid compressible fluid,
    which -- without gravity -- exerts no static traction: a free plate). Flat inputs (B,)."""
    out = np.zeros((3, x.size))
    for i in range(x.size):
        qi = Quadrature3D(**{**q.as_dict(), "kappa_min_panel": q.kappa_min_panel * 1e-3})
        k, wk = k_grid(float(np.hypot(abs(x[i]) + length[i] / 2, y[i])), qi)
        P, Q, R = (a.real for a in spectra(k, top[i], bottom[i], 0.0 + 0j, nu))
        out[:, i] = _hankel(x[i], y[i], float(length[i]), k, wk, P, Q, R, qi)
    out[2] *= -1
    return out


def surface_displacement(x, y, t, length, top, bottom, layer=1.0, tau=1.0, slip=1.0, nu=0.25,
                         q: Quadrature3D = DEFAULT_3D) -> np.ndarray:
    """Surface displacement (u_x, u_y, u_z up): array (3, *broadcast shape), unit of slip. Arguments broadcast.

    x (along strike), y: surface point, fault centred at the origin; t >= 0 after the event (unit of tau);
    length L, top d1, bottom D <= layer H (any length unit); tau = eta / mu the half-space's Maxwell time
    (np.inf: elastic); slip s; nu: Poisson ratio. = Okada (1985) + the postseismic Delta of eq. (2).
    """
    args = (x, y, t, length, top, bottom, layer, tau, slip)
    check(*args, nu)
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    x, y, t, L, d1, D, H, tau, s = (a.ravel() for a in np.broadcast_arrays(*(np.asarray(a, float) for a in args)))
    elastic = okada.surface_displacement(x, y, L, d1, D, s, nu)
    post = postseismic(x / H, y / H, t / tau, L / H, d1 / H, D / H, nu, q)
    return (elastic + s * post).reshape((3,) + shape)


def _hankel(x, y, length, k, wk, P, Q, R, q: Quadrature3D) -> np.ndarray:
    """Eq. (2) integrated over the fault's along-strike coordinate: (3,) at one point."""
    xi, wx = xi_grid(length, q)  # (X,)
    X = x - xi
    r = np.hypot(X, y)  # (X,)
    th = np.arctan2(y, X)
    b1, b2, b3 = _bessel123(k[None, :] * r[:, None])  # (X, K)
    kw = k * wk
    Pk, Qk, Rk = P * kw, Q * kw, R * kw
    s1 = b1 @ (Pk + Rk)
    s3 = b3 @ (Pk - Rk)
    s2 = b2 @ Qk
    return np.array([wx @ (s1 * np.sin(th) - s3 * np.sin(3 * th)) / (4 * np.pi),
                     wx @ (s1 * np.cos(th) + s3 * np.cos(3 * th)) / (4 * np.pi),
                     -wx @ (s2 * np.sin(2 * th)) / (2 * np.pi)])


def elastic_by_wavenumber(x, y, length, top, bottom, nu=0.25, q: Quadrature3D = DEFAULT_3D, kappa_max=None):
    """The elastic half-space field (3, B) by steps 1-3 + the Hankel/fault integrals (a check against Okada).

    Converges like e^{-k d1}: for buried faults (d1 > 0) only; kappa_max defaults to 40 / d1.
    """
    x, y, length, top, bottom = (np.ravel(np.asarray(a, float)) for a in np.broadcast_arrays(x, y, length, top,
                                                                                               bottom))
    out = np.zeros((3, x.size))
    for i in range(x.size):
        qi = Quadrature3D(**{**q.as_dict(), "kappa_max": kappa_max or 40.0 / top[i]})
        rmax = float(np.hypot(abs(x[i]) + length[i] / 2, y[i]))
        k, wk = k_grid(rmax, qi)
        P, Q, R = spectra(k, top[i], bottom[i], 1.0, nu, elastic=True)
        out[:, i] = _hankel(x[i], y[i], float(length[i]), k, wk, P, Q, R, qi)
    return out


# ------------------------------------------------------------------------------------------------------------
# The dimensionless box the 3-D surrogate covers (H = 1, tau = 1, s = 1, surface-breaking fault, nu = 0.25)
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Box3D:
    x_max: float = 8.0  # |x| / H (along strike, from the fault centre)
    y_max: float = 6.0  # |y| / H (across strike)
    length_min: float = 2.0  # L / H
    length_max: float = 10.0
    delta_min: float = 0.25  # D / H
    t_max: float = 20.0  # t / tau (Maxwell times), log1p-uniform

    def as_dict(self) -> dict:
        return asdict(self)


BOX_3D = Box3D()
COLUMNS_3D = ("x", "y", "L", "delta", "T")


def sample_box(n: int, seed: int, box: Box3D = BOX_3D) -> np.ndarray:
    """(n, 5) inputs (x, y, L, delta, T) in the quadrant x, y >= 0: log1p-uniform y and T, uniform x, L, delta."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, box.x_max, n)
    y = np.expm1(rng.uniform(0.0, math.log1p(box.y_max), n))
    L = rng.uniform(box.length_min, box.length_max, n)
    delta = rng.uniform(box.delta_min, 1.0, n)
    T = np.expm1(rng.uniform(0.0, math.log1p(box.t_max), n))
    return np.stack([x, y, L, delta, T], axis=1)


def dimensionless(inputs: np.ndarray, q: Quadrature3D = DEFAULT_3D) -> np.ndarray:
    """Postseismic Delta u / s (n, 3) at (n, 5) inputs (x, y, L, delta, T): H = tau = 1, d1 = 0."""
    x, y, L, delta, T = inputs.T
    return postseismic(x, y, T, L, np.zeros_like(x), delta, 0.25, q).T


def accuracy(q: Quadrature3D = DEFAULT_3D, n: int = 200, seed: int = 5) -> dict:
    """Max / RMS |Delta u(q) - Delta u(REFERENCE_3D)| / s over random points of the box (all 3 components)."""
    inputs = sample_box(n, seed)
    a, r = dimensionless(inputs, q), dimensionless(inputs, REFERENCE_3D)
    return {"max_abs_error": float(np.max(np.abs(a - r))), "rms_error": float(np.sqrt(np.mean((a - r) ** 2))),
            "rel_rmse_postseismic": float(np.linalg.norm(a - r) / np.linalg.norm(r)), "points": n}
