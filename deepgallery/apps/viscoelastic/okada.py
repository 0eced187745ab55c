r"""Okada (1985) surface displacement of a vertical rectangular strike-slip fault in an elastic half-space.

Okada, Y. (1985), "Surface deformation due to shear and tensile faults in a half-space", BSSA 75, 1135-1154,
eqs. (25) and (28)-(29) with dip delta = 90 deg (cos delta = 0, sin delta = 1). With p = d (depth of the bottom
edge), q = y, y~ = q, d~ = eta, R^2 = xi^2 + eta^2 + q^2 and mu/(lambda + mu) = 1 - 2 nu:

    u_x = -U1/2pi [ xi q / (R(R + eta)) + arctan(xi eta / (q R)) + I1 ]
    u_y = -U1/2pi [ q^2 / (R(R + eta)) + I2 ]                      (y~ q = q^2 here)
    u_z = -U1/2pi [ eta q / (R(R + eta)) + q / (R + eta) + I4 ]
    I1 = -(m/2) xi q / (R + eta)^2,   I3 = (m/2) [eta / (R + eta) + q^2 / (R + eta)^2 - ln(R + eta)],
    I2 = -m ln(R + eta) - I3,         I4 = -m q / (R + eta),      m = mu / (lambda + mu)

evaluated with Chinnery's notation f(x, p) - f(x, p - W) - f(x - L, p) + f(x - L, p - W), the fault running
along x from 0 to L, from depth d - W to d. Here the fault is centred at x = 0 (-L/2..L/2), from depth d1 to D,
with this package's slip convention s = -U1 (the side y > 0 moves by +s/2 along x).
"""

from __future__ import annotations

import numpy as np


def surface_displacement(x, y, length, top, bottom, slip=1.0, nu=0.25):
    """(u_x, u_y, u_z) at the surface point(s) (x, y); all arguments broadcast. Any consistent length unit."""
    x, y, L, d1, D, s = np.broadcast_arrays(*(np.asarray(a, float) for a in (x, y, length, top, bottom, slip)))
    m = 1 - 2 * nu
    U1 = -s
    xo = x + L / 2  # Okada's x: the fault from 0 to L
    W = D - d1
    q = y
    out = np.zeros((3,) + x.shape)
    for sign, xi, eta in ((1, xo, D), (-1, xo, D - W), (-1, xo - L, D), (1, xo - L, D - W)):
        xi, eta = np.broadcast_arrays(xi, eta)
        R = np.sqrt(xi * xi + eta * eta + q * q)
        Re = R + eta
        with np.errstate(divide="ignore", invalid="ignore"):
            at = np.where(q == 0, 0.0, np.arctan(xi * eta / (q * R)))
            lnre = np.log(Re)
            I1 = -(m / 2) * xi * q / Re ** 2
            I3 = (m / 2) * (eta / Re + q * q / Re ** 2 - lnre)
            I2 = -m * lnre - I3
            I4 = -m * q / Re
            ux = xi * q / (R * Re) + at + I1
            uy = q * q / (R * Re) + I2
            uz = eta * q / (R * Re) + q / Re + I4
        out[0] += sign * np.nan_to_num(ux)
        out[1] += sign * np.nan_to_num(uy)
        out[2] += sign * np.nan_to_num(uz)
    return -U1 / (2 * np.pi) * out
