"""viscoelastic: the image-series solver against its limits, the shipped surrogate against the solver,
a tiny training run that learns and resumes, and bad input that exits 2 with one line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from deepgallery.apps.viscoelastic import APP, solver

SURROGATE = APP.checkpoint("surrogate")

X = np.array([-80.0, -20.0, -3.0, 0.5, 4.0, 15.0, 40.0, 120.0])  # km, never on the fault trace
D, H, TAU, S = 12.0, 25.0, 8.0, 3.0  # km, km, yr, m


def test_t0_is_the_elastic_half_space_solution():
    u0 = solver.surface_displacement(X, 0.0, D, H, TAU, S)
    np.testing.assert_allclose(u0, S / np.pi * np.arctan(D / X), atol=1e-14)


def test_late_times_approach_the_fully_relaxed_plate_over_fluid():
    relaxed = solver.relaxed_surface_displacement(X, D, H, S)
    gaps = [np.abs(solver.surface_displacement(X, T * TAU, D, H, TAU, S) - relaxed).max() for T in (3, 30, 300)]
    assert gaps[0] > gaps[1] > gaps[2]  # monotone approach (the far field relaxes like 1/T)
    late = solver.surface_displacement(X, 1e5 * TAU, D, H, TAU, S)
    np.testing.assert_allclose(late, relaxed, atol=1e-4 * S)
    # a fault through the whole layer: the plate ends up moving as two rigid blocks, +-s/2
    np.testing.assert_allclose(solver.relaxed_surface_displacement(X, H, H, S), np.sign(X) * S / 2, atol=1e-12)


def test_antisymmetry_and_continuity_in_time():
    u = solver.surface_displacement(X, 17.0, D, H, TAU, S)
    np.testing.assert_allclose(solver.surface_displacement(-X, 17.0, D, H, TAU, S), -u, atol=1e-14)
    du = solver.surface_displacement(X, 17.0 + 1e-6, D, H, TAU, S) - u
    assert np.all(np.abs(du) < 1e-6) and np.all(du * np.sign(X) >= 0)  # continuous, moving away from the fault


def test_truncation_error_is_at_round_off(monkeypatch):
    T = np.array([0.0, 0.3, 4.0, 60.0, 200.0])
    u = solver.surface_displacement(7.0, T * TAU, D, H, TAU, S)
    original = solver.n_terms
    monkeypatch.setattr(solver, "n_terms", lambda t: 2 * original(t))
    np.testing.assert_allclose(solver.surface_displacement(7.0, T * TAU, D, H, TAU, S), u, atol=1e-12)


def test_field_at_depth_is_consistent():
    x = X[X != 0]
    for t in (0.0, 5.0, 40.0):
        w0, _, syz0 = solver.field(x, 0.0, t, D, H, TAU, S)
        np.testing.assert_allclose(w0, solver.surface_displacement(x, t, D, H, TAU, S), atol=1e-13)
        np.testing.assert_allclose(syz0, 0.0, atol=1e-13)  # free surface carries no traction
        above, below = solver.field(x, H - 1e-9, t, D, H, TAU, S), solver.field(x, H + 1e-9, t, D, H, TAU, S)
        np.testing.assert_allclose(above[0], below[0], atol=1e-8)  # displacement continuous at z = H
        np.testing.assert_allclose(above[2], below[2], atol=1e-8)  # and the traction sigma_yz
    # t = 0 below the layer: the homogeneous elastic solution
    z = 40.0
    w, _, _ = solver.field(x, z, 0.0, D, H, TAU, S)
    np.testing.assert_allclose(w, S / (2 * np.pi) * (np.arctan((D - z) / x) + np.arctan((D + z) / x)), atol=1e-13)
    # in the elastic layer the stress is mu grad w (finite differences); in the Maxwell half-space it relaxes away
    h, mu = 1e-5, 30.0
    _, sxy, syz = solver.field(9.0, 6.0, 20.0, D, H, TAU, S, mu)
    wx = (solver.field(9.0 + h, 6.0, 20.0, D, H, TAU, S)[0] - solver.field(9.0 - h, 6.0, 20.0, D, H, TAU, S)[0]) / 2 / h
    wz = (solver.field(9.0, 6.0 + h, 20.0, D, H, TAU, S)[0] - solver.field(9.0, 6.0 - h, 20.0, D, H, TAU, S)[0]) / 2 / h
    np.testing.assert_allclose([sxy, syz], [mu * wx, mu * wz], rtol=1e-6)
    sxy_t = [abs(solver.field(9.0, 50.0, T * TAU, D, H, TAU, S, mu)[1]) for T in (0.0, 5.0, 50.0, 500.0)]
    assert sxy_t[0] > sxy_t[1] > sxy_t[2] > sxy_t[3] and sxy_t[3] < 1e-4 * sxy_t[0]


def test_cycle_velocity_averages_to_the_plate_rate_and_converges_in_past_events():
    x = np.array([-30.0, -2.0, 1.0, 6.0, 25.0, 400.0])
    for tc in (0.2, 3.0, 25.0):
        v = solver.cycle_velocity(x, 0.4, D, H, TAU, tc * TAU, n_events=10)
        np.testing.assert_allclose(v, solver.cycle_velocity(x, 0.4, D, H, TAU, tc * TAU, n_events=60), atol=2e-4)
        np.testing.assert_allclose(solver.cycle_velocity(-x, 0.4, D, H, TAU, tc * TAU), -v, atol=1e-14)
        # over one cycle the surface moves V T_r/2 far away, and V T_r (1/2 - g_elastic) minus the jump near it
        phase = (np.arange(400) + 0.5) / 400
        mean = solver.cycle_velocity(x[:, None], phase[None, :], D, H, TAU, tc * TAU).mean(axis=1)
        np.testing.assert_allclose(mean, np.sign(x) / 2 - np.arctan(D / x) / np.pi, atol=3e-4)
    far = solver.cycle_velocity(1e5, np.array([0.1, 0.5, 0.9]), D, H, TAU, 5 * TAU, plate_rate=35.0)
    np.testing.assert_allclose(far, 35.0 / 2, rtol=1e-3)  # far from the fault the plate moves at V/2


def test_shipped_surrogate_matches_the_solver_on_held_out_points():
    from deepgallery.apps.viscoelastic.model import load_shipped
    from deepgallery.apps.viscoelastic.train import evaluate, sample_points

    model = load_shipped("surrogate")
    inputs, target = sample_points(3000, model.cfg, seed=424242)  # a seed never used in training
    metrics = evaluate(model, inputs, target)
    assert metrics["rel_rmse"] < 0.01
    assert metrics["rel_rmse_postseismic"] < 0.02
    # physical units: the network's total displacement against the solver at a few (x, t)
    from deepgallery.apps.viscoelastic.physics import EarthModel, solver_displacement, surrogate_displacement

    m = EarthModel(fault_depth=10.0, layer_thickness=35.0, viscosity=5e18, shear_modulus=40.0, slip=2.0)
    x, t = np.meshgrid([-50.0, -5.0, 2.0, 20.0, 90.0], [0.0, 3.0, 12.0, 40.0])
    err = surrogate_displacement(model, m, x, t) - solver_displacement(m, x, t)
    assert np.abs(err).max() < 0.01 * m.slip


def test_shipped_cycle_surrogate_matches_the_solver():
    from deepgallery.apps.viscoelastic.model import load_shipped
    from deepgallery.apps.viscoelastic.train import evaluate, sample_points

    model = load_shipped("cycle")
    inputs, target = sample_points(300, model.cfg, seed=434343)
    assert evaluate(model, inputs, target)["rel_rmse"] < 0.03


def test_tiny_training_learns_and_resumes(tmp_path, one_torch_thread):
    from deepgallery.apps.viscoelastic.model import SurrogateConfig, load_surrogate
    from deepgallery.apps.viscoelastic.train import TrainConfig, train

    out = tmp_path / "tiny"
    mc = SurrogateConfig(width=16, depth=2)
    tc = TrainConfig(steps=300, batch_size=256, samples=4000, held_out=1000, save_every=100, lr=5e-3, warmup=20)
    first = train(out, tc, mc, log=lambda *_: None)
    _, meta = load_surrogate(out)
    losses = [loss for _, loss in meta["losses"]]
    assert meta["step"] == 300 and losses[-1] < 0.3 * losses[0]
    assert first["rel_rmse"] < 0.5
    longer = TrainConfig(**{**tc.__dict__, "steps": 500})
    second = train(out, longer, mc, resume=True, log=lambda *_: None)
    _, meta2 = load_surrogate(out)
    assert meta2["step"] == 500 and len(meta2["losses"]) == 5 and meta2["losses"][:3] == meta["losses"]
    assert second["rel_rmse"] < 0.5


def _error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepgallery: error:"), lines
    return lines[0]


@pytest.mark.parametrize("flags, words", [
    (["--viscosity=-1e19"], "viscosity"),
    (["--slip", "-5"], "slip"),
    (["--slip", "nan"], "slip"),
    (["--fault-depth", "40", "--layer-thickness", "30"], "fault depth"),
    (["--t", "-3"], "times"),
    (["--x-max", "5000"], "lower --x-max"),
    (["--t", "1e6"], "raise the viscosity"),
    (["--recurrence", "150", "--t", "200"], "below the recurrence"),
    (["--recurrence", "1e5"], "--recurrence"),
    (["--recurrence", "0"], "recurrence"),
    (["--depth", "-2"], "depth"),
    (["--depth", "5", "--recurrence", "100"], "single event only"),
])
def test_bad_numbers_exit_2_with_one_line(tmp_path, run_cli, flags, words):
    out = tmp_path / "u.png"
    code, _, err = run_cli("run", "viscoelastic", *flags, "-o", str(out))
    assert code == 2
    assert words in _error_line(err)
    assert not out.exists()


def test_missing_corrupt_checkpoint_and_bad_params_file(tmp_path, run_cli):
    out = tmp_path / "u.png"
    code, _, err = run_cli("run", "viscoelastic", "--checkpoint", str(tmp_path / "nope"), "-o", str(out))
    assert code == 2
    assert "not found" in _error_line(err)
    for suffix in (".safetensors", ".json"):
        shutil.copy(SURROGATE.with_name(SURROGATE.name + suffix), tmp_path / f"bad{suffix}")
    with open(tmp_path / "bad.safetensors", "r+b") as f:
        f.seek(200)
        f.write(b"\x00garbage\x00")
    code, _, err = run_cli("run", "viscoelastic", "--checkpoint", str(tmp_path / "bad"), "-o", str(out))
    assert code == 2
    line = _error_line(err)
    assert "corrupt" in line and "deepgallery train viscoelastic" in line
    (tmp_path / "p.json").write_text("{not json")
    code, _, err = run_cli("run", "viscoelastic", "--params", str(tmp_path / "p.json"), "-o", str(out))
    assert code == 2
    assert "not valid JSON" in _error_line(err)
    assert not out.exists()


def test_run_with_params_file_and_predict(tmp_path, run_cli):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"fault_depth": 20, "layer_thickness": 20, "viscosity": 3e18, "t": [0, 5, 20],
                                  "model": "savage-prescott"}))
    out, table = tmp_path / "u.png", tmp_path / "u.json"
    assert run_cli("run", "viscoelastic", "--params", str(params), "--x", "10", "40", "-o", str(out),
                   "--json", str(table), "--depth", "8")[0] == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads(table.read_text())
    assert len(record["data"]) == 6 and record["model"]["fault_depth"] == 20
    assert record["summary"]["rel_rmse_on_plotted_curves"] < 0.01
    at_depth = np.array(record["at_depth"]["data"])  # (6, 5): x, t, w, sigma_xy, sigma_yz from the solver
    w, _, _ = solver.field(at_depth[:, 0], 8.0, at_depth[:, 1], 20.0, 20.0,
                           float(solver.relaxation_time_years(3e18, 30.0)), 5.0)
    np.testing.assert_allclose(at_depth[:, 2], w, atol=1e-12)
    cycle_png = tmp_path / "cycle.png"
    code, stdout, _ = run_cli("run", "viscoelastic", "--recurrence", "200", "--plate-rate", "30", "-o", str(cycle_png))
    assert code == 0
    assert cycle_png.is_file() and "mm/yr" in stdout
    from deepgallery.apps.viscoelastic.entry import predict

    result = predict(viscosity=2e19, t_max=50.0)
    assert result["plot"].is_file() and len(result["table"]["data"]) == 20


# ------------------------------------------------------------------ the three-layer solver (layered.py)
from deepgallery.apps.viscoelastic import layered  # noqa: E402
from deepgallery.core.errors import UserError  # noqa: E402

H2, TAU_M = 18.0, 4.0  # km lower-crust thickness, yr Maxwell time eta/mu (Savage-Prescott tau = 2 eta/mu = TAU)


def test_talbot_inverts_a_known_transform():
    sigma, weight = layered.talbot_contour(layered.DEFAULT.talbot_nodes)
    for a, t in ((0.3, 0.5), (0.3, 7.0), (2.0, 40.0)):  # L^-1[a/(p+a)/p] = 1 - e^{-a t}
        f = (2 / sigma.size / 2) * np.sum(weight * a / (sigma / t + a)).imag
        assert abs(f - (1 - np.exp(-a * t))) < 1e-4  # N = 8: e^{-1.358 N} ~ 2e-5


@pytest.mark.parametrize("lower", [0.0, H2, 60.0])
def test_layered_reduces_to_savage_prescott_for_one_maxwell_material(lower):
    for t in (0.0, 0.7, 5.0, 30.0, 400.0):
        u = layered.surface_displacement(X, t, D, H, lower, TAU_M, TAU_M, S)
        ref = solver.surface_displacement(X, t, D, H, 2 * TAU_M, S)
        np.testing.assert_allclose(u, ref, rtol=1e-3, atol=1e-4 * S)


def test_layered_t0_is_elastic_and_the_modulus_contrast_gives_rybicki_images():
    np.testing.assert_allclose(layered.surface_displacement(X, 0.0, D, H, H2, TAU_M, 10 * TAU_M, S),
                               S / np.pi * np.arctan(D / X), atol=1e-14)
    # elastic layer (mu1) over a half-space of modulus mu2 = mu1/3: images weighted Gamma^n, Gamma = 1/2
    g, n = 0.5, np.arange(1, 60)[:, None]
    images = S / np.pi * (np.arctan(D / X) + np.sum(g ** n * (np.arctan((2 * n * H + D) / X)
                                                              - np.arctan((2 * n * H - D) / X)), axis=0))
    u = layered.surface_displacement(X, 0.0, D, H, H2, TAU_M, TAU_M, S, mu_lower=1 / 3, mu_mantle=1 / 3)
    np.testing.assert_allclose(u, images, atol=1e-6 * S)


def test_layered_late_times_relax_to_the_plate_over_fluid():
    relaxed = solver.relaxed_surface_displacement(X, D, H, S)
    gaps = [np.abs(layered.surface_displacement(X, T * TAU_M, D, H, H2, TAU_M, 3 * TAU_M, S) - relaxed).max()
            for T in (3, 30, 300)]
    assert gaps[0] > gaps[1] > gaps[2]
    # an elastic mantle (tau = inf) under a Maxwell lower crust: the relaxed lower crust is a fluid channel that
    # carries no traction, so the upper crust still ends up as a plate over fluid -- slowly, like 1/sqrt(t)
    gap = [np.abs(layered.surface_displacement(X, T * TAU_M, D, H, H2, TAU_M, np.inf, S) - relaxed).max()
           for T in (1e4, 1e6, 1e10)]
    assert 8 < gap[0] / gap[1] < 12 and gap[2] < 1e-4 * S
    # ... and a stiffer (slower) mantle gives less postseismic motion at the same time than a weak one
    fast = layered.surface_displacement(30.0, 20.0, D, H, H2, TAU_M, 0.2 * TAU_M, S)
    slow = layered.surface_displacement(30.0, 20.0, D, H, H2, TAU_M, 5 * TAU_M, S)
    elastic = S / np.pi * np.arctan(D / 30.0)
    assert fast - elastic > slow - elastic > 0


def test_layered_strain_is_the_x_derivative_and_defaults_are_accurate():
    x, h = np.array([-30.0, 3.0, 12.0, 70.0]), 1e-4
    du = layered.surface_displacement(x, 9.0, D, H, H2, TAU_M, 2 * TAU_M, S, strain=True)
    fd = (layered.surface_displacement(x + h, 9.0, D, H, H2, TAU_M, 2 * TAU_M, S)
          - layered.surface_displacement(x - h, 9.0, D, H, H2, TAU_M, 2 * TAU_M, S)) / (2 * h)
    np.testing.assert_allclose(du, fd, rtol=1e-5, atol=1e-9)
    acc = layered.accuracy(n=80, seed=11)
    assert acc["max_abs_error"] < 1e-4
    # the check must be able to fail: a too-short Talbot contour is visibly worse
    assert layered.accuracy(layered.Quadrature(talbot_nodes=4), n=80, seed=11)["max_abs_error"] > 1e-3


@pytest.mark.parametrize("kwargs, words", [
    ({"tau_lower": -1.0}, "lower-crust Maxwell time"),
    ({"tau_mantle": np.nan}, "mantle Maxwell time"),
    ({"fault_depth": 30.0}, "elastic upper crust"),
    ({"t": -1.0}, "time t"),
    ({"lower_crust": -5.0}, "lower-crust thickness"),
    ({"mu_mantle": 0.0}, "mantle shear modulus"),
])
def test_layered_bad_parameters_raise_user_error(kwargs, words):
    args = {"x": X, "t": 3.0, "fault_depth": D, "crust": H, "lower_crust": H2, "tau_lower": TAU_M,
            "tau_mantle": TAU_M, "slip": S} | kwargs
    with pytest.raises(UserError, match=words):
        layered.surface_displacement(**args)


def test_shipped_layered_surrogate_matches_the_solver():
    from deepgallery.apps.viscoelastic.model import load_shipped
    from deepgallery.apps.viscoelastic.physics import (
        EarthModel,
        layered_solver_displacement,
        layered_surrogate_displacement,
    )
    from deepgallery.apps.viscoelastic.train import evaluate, sample_points

    model = load_shipped("layered")
    inputs, target = sample_points(2000, model.cfg, seed=565656)  # a seed never used in training
    assert evaluate(model, inputs, target)["rel_rmse"] < 0.01
    m = EarthModel(fault_depth=12.0, layer_thickness=20.0, lower_crust_thickness=25.0, viscosity=5e19,
                   mantle_viscosity=1e19, slip=2.0)
    x, t = np.meshgrid([-90.0, -6.0, 2.0, 25.0, 150.0], [0.0, 3.0, 30.0, 300.0])
    err = layered_surrogate_displacement(model, m, x, t) - layered_solver_displacement(m, x, t)
    assert np.abs(err).max() < 0.01 * m.slip


def test_tiny_layered_training_learns(tmp_path, one_torch_thread):
    from deepgallery.apps.viscoelastic.model import LayeredConfig, load_surrogate
    from deepgallery.apps.viscoelastic.train import TrainConfig, train

    tc = TrainConfig(steps=200, batch_size=256, samples=3000, held_out=500, save_every=100, lr=5e-3, warmup=20)
    metrics = train(tmp_path / "tiny", tc, LayeredConfig(width=16, depth=2), log=lambda *_: None)
    _, meta = load_surrogate(tmp_path / "tiny")
    losses = [loss for _, loss in meta["losses"]]
    assert meta["task"] == "layered" and losses[-1] < 0.5 * losses[0] and metrics["rel_rmse"] < 0.5


@pytest.mark.parametrize("flags, words", [
    (["--model", "layerd"], "unknown model"),
    (["--mantle-viscosity", "1e22"], "mantle / lower-crust viscosity"),
    (["--lower-crust-thickness", "500"], "--lower-crust-thickness"),
    (["--depth", "5"], "savage-prescott only"),
    (["--model", "layered", "--recurrence", "100"], "savage-prescott only"),
    (["--t", "1e5"], "raise the viscosity"),
])
def test_layered_run_bad_input_exits_2(tmp_path, run_cli, flags, words):
    out = tmp_path / "u.png"
    code, _, err = run_cli("run", "viscoelastic", *flags, "-o", str(out))
    assert code == 2
    assert words in _error_line(err)
    assert not out.exists()


def test_layered_run_is_the_default(tmp_path, run_cli):
    out, table = tmp_path / "u.png", tmp_path / "u.json"
    code, stdout, _ = run_cli("run", "viscoelastic", "--x", "10", "40", "--t", "0", "20", "--lower-crust-thickness",
                              "15", "--mantle-viscosity", "2e19", "-o", str(out), "--json", str(table))
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "model: layered" in stdout
    record = json.loads(table.read_text())
    assert record["model_kind"] == "layered" and record["summary"]["rel_rmse_on_plotted_curves"] < 0.01


# ------------------------------------------------------------------ the variant table, devices, several processes
def test_each_variant_is_one_entry_of_the_table():
    from deepgallery.apps.viscoelastic import variants
    from deepgallery.apps.viscoelastic.model import NETWORKS

    assert sorted(v.checkpoint for v in variants.VARIANTS) == sorted(APP.checkpoints)
    assert sorted(v.task for v in variants.VARIANTS) == sorted(NETWORKS)
    for v in variants.VARIANTS:
        net = v.load()  # the shipped one, through APP.checkpoint(v.checkpoint)
        assert net.task == v.task and isinstance(net.cfg, v.config) and variants.for_config(net.cfg) is v
        assert variants.by_task(v.task) is v and variants.for_run(v.kind, v.cycle) is v
    assert variants.for_run(None, False).kind == "layered" and variants.for_run(None, True).task == "cycle"
    with pytest.raises(UserError, match="savage-prescott only"):
        variants.for_run("3d", True)
    with pytest.raises(UserError, match="cycle model is needed"):  # a checkpoint of another task
        variants.by_task("cycle").load(APP.checkpoint("surrogate"))


TINY_TRAIN = ("--steps", "6", "--batch-size", "64", "--samples", "256", "--held-out", "64", "--width", "8",
              "--depth", "2", "--lr", "1e-2", "--warmup", "0", "--save-every", "3", "--threads", "1")


def test_device_flag_reaches_run_and_train(tmp_path, run_cli, monkeypatch):
    import torch

    from deepgallery.apps.viscoelastic import entry
    from deepgallery.core import runtime
    from deepgallery.core.checkpoint import load

    asked = []
    monkeypatch.setattr(entry, "choose_device", lambda name: asked.append(name) or runtime.choose_device(name))
    code, _, err = run_cli("run", "viscoelastic", "--model", "savage-prescott", "--x", "10", "--t", "0", "5",
                           "--device", "cpu", "-o", tmp_path / "u.png")
    assert code == 0 and asked == ["cpu"], err
    code, _, err = run_cli("train", "viscoelastic", *TINY_TRAIN, "--device", "cpu", "--out", tmp_path / "tiny")
    assert code == 0, err
    _, config, meta = load(tmp_path / "tiny")
    assert meta["device"] == "cpu" and meta["processes"] == 1 and meta["step"] == 6
    assert config["train"]["warmup"] == 0 and config["model"]["width"] == 8
    if not torch.cuda.is_available():  # an absent device is one line, exit 2, nothing written
        for verb, extra in (("run", ("-o", tmp_path / "v.png")), ("train", ("--out", tmp_path / "v"))):
            code, _, err = run_cli(verb, "viscoelastic", "--device", "cuda", *extra)
            assert code == 2 and "no CUDA GPU" in _error_line(err)
        assert not (tmp_path / "v.png").exists() and not (tmp_path / "v.safetensors").exists()


def test_train_flags_are_checked_once(tmp_path, run_cli):
    for flags, words in ((("--steps", "0"), "--steps must be >= 1"), (("--lr", "0"), "--lr must be > 0"),
                         (("--width", "0"), "--width must be >= 1"), (("--cycle", "--layered"), "choose one of"),
                         (("--samples", "100", "--batch-size", "128"), "below --batch-size")):
        code, _, err = run_cli("train", "viscoelastic", *flags, "--device", "cpu", "--out", tmp_path / "x")
        assert code == 2 and words in _error_line(err)
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.slow
def test_two_gloo_processes_train_like_one(tmp_path, run_cli, torchrun_cli):
    """The same tiny training alone and under torchrun with 2 gloo processes: each process takes half of every
    global batch (core.distributed.loader), DDP averages the gradients, so the weights agree to round-off."""
    from deepgallery.apps.viscoelastic.model import SurrogateConfig, build
    from deepgallery.core.checkpoint import load
    from deepgallery.core.runtime import seed_everything

    code, _, err = run_cli("train", "viscoelastic", *TINY_TRAIN, "--device", "cpu", "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, "train", "viscoelastic", *TINY_TRAIN, "--device", "cpu", "--out", tmp_path / "two",
                        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = load(tmp_path / "one")
    two, _, meta_two = load(tmp_path / "two")
    assert (meta_one["processes"], meta_two["processes"]) == (1, 2) and meta_one["step"] == meta_two["step"] == 6
    seed_everything(0)
    start = build("postseismic", SurrogateConfig(width=8, depth=2).to_dict()).state_dict()
    assert max(float((one[k] - start[k]).abs().max()) for k in one) > 1e-2  # it trained (6 Adam steps of 1e-2)
    for key in one:
        np.testing.assert_allclose(two[key].numpy(), one[key].numpy(), rtol=1e-4, atol=1e-5, err_msg=key)
    assert meta_two["metrics"]["rel_rmse"] == pytest.approx(meta_one["metrics"]["rel_rmse"], rel=1e-4)
