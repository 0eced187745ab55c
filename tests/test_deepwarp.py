"""deepwarp: the warping op, the network, a tiny training run, angle parsing, bad input, no-face frames."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from deepgallery.apps.deepwarp.geometry import angles_to_offset, offset_to_angles, parse_angle
from deepgallery.apps.deepwarp.model import DeepWarp, DeepWarpConfig, warp
from deepgallery.cli import main
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


def test_tiny_training_run_lowers_the_loss():
    from deepgallery.apps.deepwarp.render import PairBank
    from deepgallery.apps.deepwarp.train import TrainConfig, fit

    torch.manual_seed(0)
    model = DeepWarp(DeepWarpConfig(channels=8, coarse_layers=2, fine_layers=2))
    cfg = TrainConfig(steps=60, batch=8, lr=3e-3, bank_sets=12, bank_views=3)
    import deepgallery.apps.deepwarp.train as train_module

    bank = PairBank(12, 3, seed=0)
    gen = torch.Generator().manual_seed(1)
    original, threads = train_module.batches, torch.get_num_threads()
    train_module.batches = lambda cfg, data, device: iter(lambda: bank.sample(cfg.batch, gen), None)
    torch.set_num_threads(1)  # tiny convs: more threads only contend on a shared CPU
    try:
        losses = fit(model, cfg, log=lambda _: None)
    finally:
        train_module.batches = original
        torch.set_num_threads(threads)
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


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    for argv in (["run", "deepwarp", str(tmp_path / "missing.jpg")], ["run", "deepwarp", str(bad)],
                 ["run", "deepwarp", str(bad), "--angle", "up"]):
        assert main(argv + ["-o", str(tmp_path / "out.png")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and err.startswith("deepgallery: error:")
    assert not (tmp_path / "out.png").exists()


@needs_mediapipe
def test_unreadable_camera_is_one_line(tmp_path, capsys):
    assert main(["run", "deepwarp", "--camera", "97", "-o", str(tmp_path / "cam.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("deepgallery: error: camera 97")
    assert not (tmp_path / "cam.mp4").exists()


@needs_mediapipe
def test_no_face_image_written_unchanged_with_message(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    img = (rng.random((120, 160, 3)) * 60 + 100).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "wall.png")
    assert main(["run", "deepwarp", str(tmp_path / "wall.png"), "-o", str(tmp_path / "out.png")]) == 0
    assert "no face found" in capsys.readouterr().err
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
def test_video_frames_without_face_are_said_and_kept(tmp_path, capsys):
    from deepgallery.apps.deepwarp.bench import test_frames
    from deepgallery.core.media import read_video, write_video

    face = test_frames()[1][1]
    blank = np.full_like(face, 128)
    write_video(tmp_path / "clip.mp4", [face, blank, face], fps=5)
    assert main(["run", "deepwarp", str(tmp_path / "clip.mp4"), "--angle", "-12,5", "-o",
                 str(tmp_path / "out.mp4")]) == 0
    captured = capsys.readouterr()
    assert "frame 1: no face found" in captured.err and "frame 0:" not in captured.err
    assert "3 frames, 1 without a face" in captured.out
    assert len(list(read_video(tmp_path / "out.mp4"))) == 3


@needs_mediapipe
def test_predict_returns_image_and_gaze_report():
    from deepgallery.apps.deepwarp.bench import EXAMPLES
    from deepgallery.apps.deepwarp.entry import predict

    result = predict(image=str(EXAMPLES / "astronaut.jpg"), yaw=-15, pitch=0, animate=False)
    assert result["image"].is_file() and "animation" not in result
    eyes = result["gaze"]["faces"][0]
    assert set(eyes) == {"left", "right"} and all(len(e["turned_by"]) == 2 for e in eyes.values())
    with pytest.raises(UserError):
        predict(image=str(EXAMPLES / "astronaut.jpg"), yaw=40, pitch=0)
