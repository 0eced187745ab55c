"""The 3-D finite-fault solver (layered3d.py): Okada, Savage-Prescott, relaxation, symmetry, accuracy, bad input."""

import json

import numpy as np
import pytest

from deepgallery.apps.viscoelastic import layered3d, okada, solver
from deepgallery.core.errors import UserError

X = np.array([0.3, 1.5, -2.0, 0.0, 4.0, 2.6])
Y = np.array([0.5, -1.0, 2.0, 3.0, 0.3, -0.2])


def test_okada_long_fault_is_the_2d_screw_dislocation():
    y = np.array([0.05, 0.5, 1.0, 3.0])
    u = okada.surface_displacement(0.0, y, 1e5, 0.0, 0.7, 2.0)
    np.testing.assert_allclose(u[0], 2.0 / np.pi * np.arctan(0.7 / y), atol=1e-4)
    np.testing.assert_allclose(u[1:], 0.0, atol=1e-4)


def test_wavenumber_machinery_reproduces_okada_for_a_buried_fault():
    """Steps 1-3 with the half-space's own moduli + the Hankel and along-strike integrals vs Okada (1985)."""
    q = layered3d.Quadrature3D(xi_panel=0.1, xi_nodes=6, gauss_nodes=8, period_fraction=0.25, max_panel=0.25)
    for nu in (0.25, 0.35):
        ref = okada.surface_displacement(X, Y, 3.0, 0.3, 1.0, nu=nu)
        got = layered3d.elastic_by_wavenumber(X, Y, 3.0, 0.3, 1.0, nu=nu, q=q)
        got[2] *= -1  # depth-positive in the derivation, up-positive in Okada
        assert np.abs(got - ref).max() < 1e-3 * np.abs(ref).max()


def test_t0_and_elastic_half_space_give_okada():
    ref = okada.surface_displacement(X, Y, 4.0, 0.0, 0.8, 1.5)
    np.testing.assert_allclose(layered3d.surface_displacement(X, Y, 0.0, 4.0, 0.0, 0.8, 1.0, 1.0, 1.5), ref,
                               atol=1e-12)
    np.testing.assert_allclose(layered3d.surface_displacement(X, Y, 5.0, 4.0, 0.0, 0.8, 1.0, np.inf, 1.5), ref,
                               atol=1e-12)
    # Delta itself vanishes for equal moduli (mu2 = mu): the 6 x 6 system returns 0, not just the t = 0 shortcut
    k = np.linspace(0.01, 10, 50)
    for G in layered3d.spectra(k, 0.0, 0.8, 1.0 + 0j):
        assert np.abs(G).max() < 1e-12


@pytest.mark.parametrize("T", [0.3, 2.0, 8.0])
def test_long_fault_along_strike_displacement_is_savage_prescott(T):
    """Observed at the fault's centre, u_x -> the 2-D solution with tau_SP = 2 eta/mu as L grows; the finite-L
    difference falls like (H/L)^2 (x 3.5-4 per doubling of L, measured) down to the quadrature's ~1e-5."""
    y = np.array([0.3, 1.0, 2.5, 5.0])
    sp = solver.surface_displacement(y, T, 0.8, 1.0, 2.0)
    gap = {}
    for L in (200.0, 400.0):
        u = layered3d.surface_displacement(0.0, y, T, L, 0.0, 0.8, 1.0, 1.0)
        gap[L] = np.abs(u[0] - sp).max()
        assert np.abs(u[1:]).max() < 1e-4
    assert gap[400.0] < 5e-4 and gap[400.0] < gap[200.0] / 2.5
    # and the postseismic part is a real signal (not only the elastic term agreeing)
    assert np.abs(sp - solver.surface_displacement(y, 0.0, 0.8, 1.0, 2.0)).max() > 0.01


def test_late_times_approach_the_relaxed_free_plate():
    x, y = np.array([0.0, 1.0, 3.0]), np.array([0.5, 1.0, 2.0])
    L, z, D = np.full(3, 4.0), np.zeros(3), np.full(3, 0.8)
    relaxed = layered3d.relaxed_postseismic(x, y, L, z, D)
    gaps = [np.abs(layered3d.postseismic(x, y, np.full(3, T), L, z, D) - relaxed).max() for T in (10, 100, 1e3, 1e4)]
    assert all(a > b for a, b in zip(gaps[:-1], gaps[1:], strict=True)) and gaps[-1] < 0.03 * gaps[0]
    # long fault: the relaxed u_x is the 2-D plate over fluid (Savage & Prescott eq. 2 in solver.py)
    # (a free plate with a finite cut relaxes to a plane-stress crack: the difference falls like y / L)
    yy = np.array([0.5, 1.5])
    gap = []
    for L in (200.0, 800.0):
        r = layered3d.relaxed_postseismic(np.zeros(2), yy, np.full(2, L), np.zeros(2), np.full(2, 0.8))
        el = okada.surface_displacement(0.0, yy, L, 0.0, 0.8)
        gap.append(np.abs(el[0] + r[0] - solver.relaxed_surface_displacement(yy, 0.8, 1.0)).max())
    assert gap[1] < 2e-3 and gap[1] < gap[0] / 3  # measured: 1.3e-3 at L = 800 H, ~1/L


def test_symmetries_and_scaling():
    """u_x even in x, odd in y; u_y odd in x, even in y; u_z odd in both; lengths scale with H, times with tau."""
    u = layered3d.surface_displacement(1.2, 0.7, 3.0, 5.0, 0.0, 0.6, 1.0, 1.0)
    for sx, sy, sign in ((-1, 1, (1, -1, -1)), (1, -1, (-1, 1, -1))):
        v = layered3d.surface_displacement(sx * 1.2, sy * 0.7, 3.0, 5.0, 0.0, 0.6, 1.0, 1.0)
        np.testing.assert_allclose(v, np.array(sign) * u, atol=1e-12)
    w = layered3d.surface_displacement(12.0, 7.0, 30.0, 50.0, 0.0, 6.0, 10.0, 10.0, 2.0)
    np.testing.assert_allclose(w, 2 * u, atol=1e-12)


def test_default_quadrature_is_accurate():
    acc = layered3d.accuracy(n=24, seed=3)
    assert acc["max_abs_error"] < 1e-4
    assert layered3d.accuracy(layered3d.Quadrature3D(talbot_nodes=4), n=24, seed=3)["max_abs_error"] > 1e-4


@pytest.mark.parametrize("kwargs, words", [
    (dict(t=-1.0), "time t"), (dict(length=0.0), "fault length"), (dict(bottom=1.5), "elastic layer"),
    (dict(top=0.9), "top depth"), (dict(tau=0.0), "Maxwell time"), (dict(x=np.nan), "x"),
    (dict(nu=0.5), "Poisson"), (dict(layer=-1.0), "layer thickness"),
])
def test_bad_parameters_raise_user_error(kwargs, words):
    args = dict(x=1.0, y=1.0, t=1.0, length=4.0, top=0.0, bottom=0.8, layer=1.0, tau=1.0, slip=1.0, nu=0.25)
    args.update(kwargs)
    with pytest.raises(UserError, match=words):
        layered3d.surface_displacement(**args)


# ------------------------------------------------------------------ the 3-D surrogate and its CLI


def test_shipped_3d_surrogate_matches_the_solver(one_torch_thread):
    from deepgallery.apps.viscoelastic.model import load_shipped
    from deepgallery.apps.viscoelastic.physics import (
        EarthModel,
        layered3d_solver_displacement,
        layered3d_surrogate_displacement,
    )
    from deepgallery.apps.viscoelastic.train import evaluate, sample_points

    model = load_shipped("layered3d")
    inputs, target = sample_points(300, model.cfg, seed=565656)  # a seed never used in training
    assert evaluate(model, inputs, target)["rel_rmse"] < 0.01
    # physical units, all four quadrants (the network sees |x|, |y| and restores the parities)
    m = EarthModel(fault_depth=18.0, layer_thickness=25.0, viscosity=4e19, shear_modulus=35.0, slip=3.0)
    x = np.array([-150.0, -30.0, 0.0, 40.0, 120.0])[:, None]
    y = np.array([-60.0, -5.0, 12.0, 100.0])[None, :]
    for t in (0.0, 20.0, 150.0):
        err = (layered3d_surrogate_displacement(model, m, 140.0, y, t, x)
               - layered3d_solver_displacement(m, 140.0, y, t, x))
        assert np.abs(err).max() < 0.01 * m.slip


def test_tiny_3d_training_learns(tmp_path, one_torch_thread):
    from deepgallery.apps.viscoelastic.model import Layered3DConfig, load_surrogate
    from deepgallery.apps.viscoelastic.train import TrainConfig, train

    tc = TrainConfig(steps=200, batch_size=128, samples=600, held_out=100, save_every=100, lr=5e-3, warmup=20)
    metrics = train(tmp_path / "tiny", tc, Layered3DConfig(width=16, depth=2), log=lambda *_: None)
    _, meta = load_surrogate(tmp_path / "tiny")
    losses = [loss for _, loss in meta["losses"]]
    assert meta["task"] == "layered3d" and losses[-1] < 0.5 * losses[0] and metrics["rel_rmse"] < 0.5


def test_run_3d_plots_surrogate_vs_solver(tmp_path, run_cli):
    out, table = tmp_path / "u.png", tmp_path / "u.json"
    code, stdout, _ = run_cli("run", "viscoelastic", "--model", "3d", "--x", "10", "40", "--t", "0", "20",
                              "--fault-length", "100", "--x-max", "120", "-o", str(out), "--json", str(table))
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "model: 3d" in stdout
    record = json.loads(table.read_text())
    assert record["model_kind"] == "3d" and record["summary"]["rel_rmse_on_plotted_curves"] < 0.01


@pytest.mark.parametrize("flags, words", [
    (["--fault-length", "1000"], "--fault-length"),
    (["--fault-length", "-5"], "fault_length"),
    (["--x-max", "400"], "lower --x-max"),
    (["--t", "1e4"], "raise the viscosity"),
    (["--fault-depth", "3"], "deeper fault"),
    (["--recurrence", "100"], "savage-prescott only"),
])
def test_run_3d_bad_input_exits_2(tmp_path, run_cli, flags, words):
    out = tmp_path / "u.png"
    code, _, stderr = run_cli("run", "viscoelastic", "--model", "3d", *flags, "-o", str(out))
    assert code == 2
    err = stderr.splitlines()
    assert len(err) == 1 and words in err[0], err
    assert not out.exists()
