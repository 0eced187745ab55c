"""deepwarp: the warping op, the network, a tiny training run, angle parsing, bad input, no-face frames."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from deepgallery.apps.deepwarp.geometry import angles_to_offset, offset_to_angles, parse_angle
from deepgallery.apps.deepwarp.model import DeepWarp, DeepWarpConfig, warp
from deepgallery.core.errors import UserError

HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
needs_mediapipe = pytest.mark.skipif(not HAS_MEDIAPIPE, reason="mediapipe not installed")


def test_zero_flow_is_identity_and_shift_moves_content():
    x = torch.rand(2, 3, 8, 12)
    assert torch.allclose(warp(x, torch.zeros(2, 2, 8, 12)), x, atol=1e-6)
    flow = torch.zeros(2, 2, 8, 12)
    flow[:, 0] = 1.0  # every pixel samples its right neighbour: content moves one pixel left
    assert torch.allclose(warp(x, flow)[..., :-1], x[..., 1:], atol=1e-6)


def test_network_shapes_and_identity_start():
    model = DeepWarp(DeepWarpConfig(channels=8)).eval()
    x = torch.rand(3, 3, 32, 48)
    pred = model(x, torch.tensor([[10.0, -5.0]] * 3))
    assert pred["out"].shape == (3, 3, 32, 48)
    assert pred["flow"].shape == (3, 2, 32, 48) and pred["mask"].shape == (3, 1, 32, 48)
    # zero-initialised heads: an untrained network starts as (nearly) the identity
    assert (pred["out"] - x).abs().max() < 0.05


@pytest.mark.usefixtures("one_torch_thread")  # tiny convs: more threads only contend on a shared CPU
def test_tiny_training_run_lowers_the_loss(monkeypatch):
    import deepgallery.apps.deepwarp.train as train_module
    from deepgallery.apps.deepwarp.render import PairBank
    from deepgallery.apps.deepwarp.train import TrainConfig, fit

    torch.manual_seed(0)
    model = DeepWarp(DeepWarpConfig(channels=8, coarse_layers=2, fine_layers=2))
    cfg = TrainConfig(steps=60, batch=8, lr=3e-3, bank_sets=12, bank_views=3)
    bank = PairBank(12, 3, seed=0)
    gen = torch.Generator().manual_seed(1)
    monkeypatch.setattr(train_module, "batches", lambda cfg, data, device: iter(lambda: bank.sample(cfg.batch, gen),
                                                                                  None))
    losses = fit(model, cfg, log=lambda _: None)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:5])


def test_render_pairs_move_the_iris_with_the_gaze():
    from deepgallery.apps.deepwarp.render import RenderConfig, render, sample_params

    gen = torch.Generator().manual_seed(0)
    params = sample_params(1, RenderConfig(), gen)
    params.update(scale=torch.ones(1), shift_x=torch.zeros(1), shift_y=torch.zeros(1), tilt=torch.zeros(1))
    dark = []
    for yaw in (-15.0, 15.0):
        img = render(params, torch.tensor([yaw]), torch.tensor([0.0]), RenderConfig(), gen)[0].mean(0)  # (H, W)
        cols = (img < 0.1).float().sum(0)
        dark.append(float((cols * torch.arange(img.shape[1])).sum() / cols.sum()))
    expected = 2 * angles_to_offset(15.0, 0.0, 30.0)[0]
    assert abs((dark[1] - dark[0]) - expected) < 1.5


def test_true_iris_flow_carries_the_source_iris_onto_the_target():
    """`render.iris_flow` (the auxiliary training target) is the renderer's own iris motion: warping the
    source eye along it redraws the target's iris, also for bank pairs that were mirrored."""
    from deepgallery.apps.deepwarp.render import PairBank, RenderConfig, iris_flow, render, sample_params

    cfg, gen = RenderConfig(noise=0.0), torch.Generator().manual_seed(3)
    params = sample_params(8, cfg, gen)
    src, dst = (torch.rand(8, 2, generator=gen) * 2 - 1) * 15, (torch.rand(8, 2, generator=gen) * 2 - 1) * 15
    x, y = render(params, src[:, 0], src[:, 1], cfg, gen), render(params, dst[:, 0], dst[:, 1], cfg, gen)
    flow, weight = iris_flow(params, src, dst)
    assert flow.shape == (8, 2, 32, 48) and weight.shape == (8, 1, 32, 48) and weight.sum() > 100
    err = lambda out, target, w: float((((out - target) ** 2).mean(1, keepdim=True) * w).sum() / w.sum())  # noqa: E731
    assert err(warp(x, flow), y, weight) < 0.05 * err(x, y, weight)

    bank = PairBank(6, 3, seed=0)
    x, _, y, flow, weight = bank.sample(32, torch.Generator().manual_seed(0), iris=True)
    assert err(warp(x, flow), y, weight) < 0.1 * err(x, y, weight)


def test_iris_loss_is_used_and_zero_for_the_true_flow():
    from deepgallery.apps.deepwarp.train import iris_loss

    flow = torch.randn(2, 2, 4, 6)
    weight = (torch.rand(2, 1, 4, 6) > 0.5).float()
    assert float(iris_loss(flow, flow, weight)) == 0.0
    assert abs(float(iris_loss(flow + torch.tensor([3.0, 4.0]).view(1, 2, 1, 1), flow, weight)) - 25.0) < 1e-4


@pytest.mark.usefixtures("one_torch_thread")
def test_training_with_the_iris_loss_moves_the_iris(monkeypatch):
    """A few steps on bank pairs with their true iris flow: the flow error inside the iris drops."""
    import deepgallery.apps.deepwarp.train as train_module
    from deepgallery.apps.deepwarp.render import PairBank
    from deepgallery.apps.deepwarp.train import TrainConfig, fit, iris_loss

    torch.manual_seed(0)
    model = DeepWarp(DeepWarpConfig(channels=8, coarse_layers=2, fine_layers=2))
    bank = PairBank(12, 3, seed=0)
    x, angle, _, flow, weight = bank.sample(16, torch.Generator().manual_seed(9), iris=True)
    before = float(iris_loss(model(x, angle)["flow"], flow, weight))
    gen = torch.Generator().manual_seed(1)
    monkeypatch.setattr(train_module, "batches",
                        lambda cfg, data, device: iter(lambda: bank.sample(cfg.batch, gen, iris=True), None))
    fit(model, TrainConfig(steps=80, batch=8, lr=3e-3, iris_weight=0.05), log=lambda _: None)
    with torch.no_grad():
        after = float(iris_loss(model(x, angle)["flow"], flow, weight))
    assert after < 0.7 * before, (before, after)


def test_eyeball_model_round_trip_and_angle_parsing():
    dx, dy = angles_to_offset(12.0, -7.0, 30.0)
    assert np.allclose(offset_to_angles(dx, dy, 30.0), (12.0, -7.0), atol=1e-6)
    assert parse_angle("15,-10") == (15.0, -10.0)
    assert parse_angle(" 5 ") == (5.0, 0.0)
    for bad in ("", "abc", "1,2,3", "40,0", "0,-30", "nan,0", "5,"):
        with pytest.raises(UserError):
            parse_angle(bad)


def test_columbia_names():
    from deepgallery.apps.deepwarp.data import parse_name

    assert parse_name("0003_2m_-15P_10V_-5H.jpg") == ("0003", -15, -5.0, 10.0)
    assert parse_name("notes.txt") is None


def test_bad_input_exits_2_with_one_line(tmp_path, run_cli):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    for argv in (["run", "deepwarp", str(tmp_path / "missing.jpg")], ["run", "deepwarp", str(bad)],
                 ["run", "deepwarp", str(bad), "--angle", "up"]):
        code, _, err = run_cli(*argv, "-o", tmp_path / "out.png")
        assert code == 2
        assert err.count("\n") == 0 and err.startswith("deepgallery: error:")
    assert not (tmp_path / "out.png").exists()


@needs_mediapipe
def test_unreadable_camera_is_one_line(tmp_path, run_cli):
    code, _, err = run_cli("run", "deepwarp", "--camera", "97", "-o", tmp_path / "cam.mp4")
    assert code == 2
    err = err.splitlines()
    assert err[-1].startswith("deepgallery: error: camera 97")
    assert not (tmp_path / "cam.mp4").exists()


@needs_mediapipe
def test_no_face_image_written_unchanged_with_message(tmp_path, run_cli):
    from PIL import Image

    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 60 + 100).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "wall.png")
    code, _, err = run_cli("run", "deepwarp", tmp_path / "wall.png", "-o", tmp_path / "out.png")
    assert code == 0
    assert "no face found" in err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png").convert("RGB")), img)


@needs_mediapipe
def test_astronaut_eyes_turn_the_requested_way(tmp_path):
    from deepgallery.apps.deepwarp.bench import EXAMPLES
    from deepgallery.apps.deepwarp.pipeline import Redirector
    from deepgallery.core.media import read_image

    rgb = read_image(EXAMPLES / "astronaut.jpg")
    red = Redirector()
    before = red.mesh.faces(rgb)
    assert len(before) == 1
    for yaw in (-15.0, 15.0):
        out, n = red(rgb, yaw, 0.0, before)
        assert n == 1
        changed = np.abs(out.astype(int) - rgb.astype(int)).sum(-1) > 0
        ys, xs = np.nonzero(changed)
        assert 150 < xs.mean() < 300 and 60 < ys.mean() < 150  # only around the eyes
        after = red.mesh.faces(out)[0]
        moved = np.mean([after[e].gaze()[0] - before[0][e].gaze()[0] for e in ("left", "right")])
        assert moved * yaw > 0


@needs_mediapipe
def test_video_frames_without_face_are_said_and_kept(tmp_path, run_cli):
    from deepgallery.apps.deepwarp.bench import test_frames
    from deepgallery.core.media import read_video, write_video

    face = test_frames()[1][1]
    blank = np.full_like(face, 128)
    write_video(tmp_path / "clip.mp4", [face, blank, face], fps=5)
    code, said, err = run_cli("run", "deepwarp", tmp_path / "clip.mp4", "--angle", "-12,5", "-o", tmp_path / "out.mp4")
    assert code == 0
    assert "frame 1: no face found" in err and "frame 0:" not in err
    assert "3 frames, 1 without a face" in said
    assert len(list(read_video(tmp_path / "out.mp4"))) == 3


@needs_mediapipe
def test_predict_returns_image_and_gaze_report():
    from deepgallery.apps.deepwarp.bench import EXAMPLES
    from deepgallery.apps.deepwarp.entry import predict

    result = predict(image=str(EXAMPLES / "astronaut.jpg"), yaw=-15, pitch=0, animate=False)
    assert result["image"].is_file() and "animation" not in result
    eyes = result["gaze"]["faces"][0]
    assert set(eyes) == {"left", "right"} and all(len(e["turned_by"]) == 2 for e in eyes.values())
    for eye in eyes.values():  # asked for 15 deg to the left: the validated localiser sees about that
        yaw, pitch = eye["turned_by"]
        assert -20 < yaw < -10 and abs(pitch) < 5
        assert len(eye["turned_by_mediapipe"]) == 2
    with pytest.raises(UserError):
        predict(image=str(EXAMPLES / "astronaut.jpg"), yaw=40, pitch=0)


def _drawn_eye(center, radius=8.0, size=(60, 90)):
    """A grey 'eye': bright sclera in an elliptic opening, skin outside, a dark textured iris disc at `center`
    (drawn at 8× and averaged, so its position is sub-pixel), and the opening polygon."""
    h, w = size
    s = 8
    ys, xs = (np.mgrid[0:h * s, 0:w * s] + 0.5) / s - 0.5  # pixel centres at integer coordinates, like cv2
    opening = ((xs - 45) / 32) ** 2 + ((ys - 30) / 11) ** 2 < 1
    rho = np.hypot(xs - center[0], ys - center[1])
    img = np.where(opening, 215.0, 150.0)
    iris = opening & (rho < radius)
    img[iris] = (60 + 15 * np.sin(5 * np.arctan2(ys - center[1], xs - center[0])) * (rho / radius))[iris]
    img[opening & (rho < 0.4 * radius)] = 15.0
    img = img.reshape(h, s, w, s).mean((1, 3))
    t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    contour = np.stack([45 + 32 * np.cos(t), 30 + 11 * np.sin(t)], 1)
    return np.repeat(img[..., None], 3, 2).astype(np.uint8), contour


def test_iris_localiser_recovers_a_known_subpixel_iris_position_and_shift():
    from deepgallery.apps.deepwarp.iris import locate_iris, track_iris

    a, contour = _drawn_eye((41.3, 29.6))
    b, _ = _drawn_eye((46.05, 27.35))  # moved by (4.75, -2.25) px, partly under the upper lid
    fit = locate_iris(a, contour, seed=(43.0, 31.0), radius=7.0)  # seed and radius both a little off
    assert fit is not None and np.hypot(*(fit.center - (41.3, 29.6))) < 0.3 and abs(fit.radius - 8.0) < 0.8
    d = track_iris(a, b, contour, fit.center, fit.radius)
    assert d is not None and np.hypot(*(d - (4.75, -2.25))) < 0.3
    still = track_iris(a, a, contour, fit.center, fit.radius)
    assert np.hypot(*still) < 0.15


def test_iris_localiser_says_none_when_no_iris_is_visible():
    from deepgallery.apps.deepwarp.iris import locate_iris, track_iris

    _, contour = _drawn_eye((41.3, 29.6))
    blank = np.full((60, 90, 3), 200, np.uint8)  # open eye, no iris (no limbus edge anywhere)
    assert locate_iris(blank, contour, seed=(45, 30), radius=8.0) is None
    eye, _ = _drawn_eye((41.3, 29.6))
    closed = np.stack([contour[:, 0], 30 + 0.05 * (contour[:, 1] - 30)], 1)  # lids together: a slit
    assert locate_iris(eye, closed, seed=(45, 30), radius=8.0) is None
    assert track_iris(eye, eye, closed, (45, 30), 8.0) is None


def test_iris_tracker_reads_re_rendered_gazes_at_face_value():
    """On procedural eyes re-drawn at a known gaze (foreshortened iris, lids following the pitch, new
    glint) the instrument's achieved/requested gain is 1 and its error a fraction of a degree."""
    from deepgallery.apps.deepwarp.bench import _score, render_check

    score = _score(render_check(eyes=4))
    assert score["error"] < 1.0, score
    assert 0.9 < score["gain_yaw"] < 1.1 and 0.9 < score["gain_pitch"] < 1.1, score


@needs_mediapipe
def test_instrument_recovers_known_iris_shifts_on_the_test_face():
    from deepgallery.apps.deepwarp.bench import known_shift, measured_redirection, test_frames
    from deepgallery.apps.deepwarp.face import FaceMesh

    frame = test_frames()[0][1]
    face = FaceMesh().faces(frame)[0]
    for yaw, pitch in ((15.0, 0.0), (-10.0, 10.0)):
        out = known_shift(frame, face, yaw, pitch)
        for eye in face.values():
            got = measured_redirection(frame, out, eye)
            assert got is not None and np.hypot(got[0] - yaw, got[1] - pitch) < 1.5, (yaw, pitch, got)
    assert all(np.hypot(*measured_redirection(frame, frame, eye)) < 0.5 for eye in face.values())


def test_lids_follow_vertical_gaze():
    """Renders' lids move with the pitch as real lids do: the upper margin travels with the iris centre,
    the lower one by about a third, in the same direction (render.lid_margins)."""
    from deepgallery.apps.deepwarp.geometry import EYEBALL_RATIO
    from deepgallery.apps.deepwarp.render import LID_FOLLOW, RenderConfig, lid_margins, sample_params

    p = sample_params(3, RenderConfig(), torch.Generator().manual_seed(0))
    ew, apex = torch.full((3, 1, 1), 40.0), torch.ones(1, 1, 1)
    up_0, low_0 = lid_margins(p, torch.zeros(3), ew, apex)
    up_u, low_u = lid_margins(p, torch.full((3,), 10.0), ew, apex)
    rise = EYEBALL_RATIO * 40.0 * torch.sin(torch.deg2rad(torch.tensor(10.0)))
    assert torch.allclose(up_0 - up_u, LID_FOLLOW[0] * rise * torch.ones(3, 1, 1), atol=1e-4)  # v grows downwards
    assert torch.allclose(low_0 - low_u, LID_FOLLOW[1] * rise * torch.ones(3, 1, 1), atol=1e-4)
    up_d, _ = lid_margins(p, torch.full((3,), -10.0), ew, apex)
    assert (up_d > up_0).all()  # looking down lowers the upper lid


# ------------------------------------------------------------------- devices, resume, several processes


def test_iris_loss_of_slices_averages_to_the_loss_of_the_whole_batch():
    """What a process under torchrun computes on its half of a global batch: the global weight / 2 as the
    divisor, so the two halves' losses average to the single-process loss (and so do their gradients)."""
    from deepgallery.apps.deepwarp.train import iris_loss

    gen = torch.Generator().manual_seed(0)
    flow, target = torch.randn(4, 2, 4, 6, generator=gen), torch.randn(4, 2, 4, 6, generator=gen)
    weight = (torch.rand(4, 1, 4, 6, generator=gen) > 0.3).float()
    whole = iris_loss(flow, target, weight)
    total = weight.sum().clamp(min=1.0) / 2
    halves = [iris_loss(flow[i:i + 2], target[i:i + 2], weight[i:i + 2], total=total) for i in (0, 2)]
    assert torch.allclose((halves[0] + halves[1]) / 2, whole, rtol=1e-6)


def test_the_shipped_network_loads_beside_the_model():
    from deepgallery.apps.deepwarp import APP
    from deepgallery.apps.deepwarp.model import load

    model = load()
    assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())
    assert model.cfg == DeepWarpConfig()
    again = load(APP.checkpoint("deepwarp"))
    first, second = model.state_dict(), again.state_dict()
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


_TINY = ["--bank-sets", "4", "--channels", "4", "--batch", "4", "--lr", "3e-3", "--seed", "2"]


@pytest.mark.usefixtures("one_torch_thread")
def test_train_resume_init_and_run_on_the_cpu_device(tmp_path, run_cli):
    from deepgallery.core import checkpoint

    out = tmp_path / "dw"
    code, text, _ = run_cli("train", "deepwarp", *_TINY, "--steps", "2", "--out", out, "--device", "cpu")
    assert code == 0 and "trained on cpu" in text and checkpoint.load(out)[2]["step"] == 2
    code, text, _ = run_cli("train", "deepwarp", *_TINY, "--steps", "3", "--out", out, "--device", "cpu")
    assert code == 0 and f"resumed {out} at step 2" in text and checkpoint.load(out)[2]["step"] == 3
    code, text, _ = run_cli("train", "deepwarp", *_TINY, "--steps", "1", "--out", tmp_path / "b", "--init", out)
    assert code == 0 and f"initialised from {out}" in text
    code, _, err = run_cli("train", "deepwarp", *_TINY[:2], "--steps", "1", "--out", tmp_path / "c", "--init", out)
    assert code == 2 and "channels=4" in err and len(err.splitlines()) == 1  # another width: refused in one line
    if HAS_MEDIAPIPE:
        from deepgallery.core.media import save_image

        wall = (np.random.default_rng(0).random((120, 160, 3)) * 60 + 100).astype(np.uint8)
        save_image(tmp_path / "wall.png", wall)
        code, _, err = run_cli("run", "deepwarp", tmp_path / "wall.png", "--checkpoint", out, "--device", "cpu",
                               "-o", tmp_path / "out.png")
        assert code == 0 and "no face found" in err and (tmp_path / "out.png").is_file()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_two_processes_train_the_same_network_as_one(tmp_path, run_cli, torchrun_cli):
    """`torchrun --nproc_per_node 2`: both gloo processes draw the same global batch of 4 pairs from the seed and
    train on their halves (pixel L2 + the iris-flow loss, normalised by the global iris weight); DDP averages the
    gradients, so after three steps the weights match one process trained on the whole batches."""
    from deepgallery.core import checkpoint

    flags = [*_TINY, "--steps", "3", "--save-every", "3", "--device", "cpu"]
    code, _, err = run_cli("train", "deepwarp", *flags, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, "train", "deepwarp", *flags, "--out", tmp_path / "two", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("wrote") == 1 and "2 processes on cpu" in proc.stdout  # only rank 0 speaks
    one, _, meta_one = checkpoint.load(tmp_path / "one")
    two, _, meta_two = checkpoint.load(tmp_path / "two")
    assert meta_one["step"] == meta_two["step"] == 3 and one.keys() == two.keys()
    worst = max(float((one[k] - two[k]).abs().max()) for k in one)
    assert worst < 2e-5, worst  # float32 sums in another order; Adam steps lr · sign(g) early on
    assert abs(meta_one["loss"] - meta_two["loss"]) < 1e-5 * max(1.0, abs(meta_one["loss"]))
