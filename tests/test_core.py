"""Core pieces: atomic writes, checkpoints (round trip, corruption, optimizer resume), assets, media, CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from deepgallery import cli, registry
from deepgallery.core import assets, checkpoint, media
from deepgallery.core.app import App
from deepgallery.core.atomic import atomic_path
from deepgallery.core.errors import UserError, closest


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_gives_normal_permissions(tmp_path):
    import os

    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_checkpoint_round_trip_and_optimizer_resume(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    path = checkpoint.save(tmp_path / "ck", model.state_dict(), {"width": 3}, {"step": 7}, optimizer=opt)
    assert path.name == "ck.safetensors" and (tmp_path / "ck.json").is_file()

    tensors, config, meta = checkpoint.load(tmp_path / "ck")
    assert config == {"width": 3} and meta["step"] == 7
    fresh = torch.nn.Linear(3, 2)
    fresh.load_state_dict(tensors)
    fresh_opt = torch.optim.Adam(fresh.parameters(), lr=0.01)
    assert checkpoint.restore_optimizer(fresh_opt, meta)
    a, b = opt.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert torch.equal(a[0]["exp_avg"], b[0]["exp_avg"]) and float(a[0]["step"]) == float(b[0]["step"])


def test_resume_takes_a_config_field_added_since_the_checkpoint_at_its_default(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Net:
        width: int = 3
        stages: tuple = (1, 2)  # JSON gives it back as a list
        gated: bool = False  # a field added after the checkpoint was saved

    model = torch.nn.Linear(3, 2)
    checkpoint.save(tmp_path / "ck", model.state_dict(), {"net": {"width": 3, "stages": [1, 2]}}, {"step": 7})
    assert checkpoint.resume(tmp_path / "ck", torch.nn.Linear(3, 2), same={"net": Net()})["step"] == 7
    for changed in (Net(gated=True), Net(width=4), Net(stages=(1, 3))):
        with pytest.raises(UserError, match="was trained with net="):
            checkpoint.resume(tmp_path / "ck", torch.nn.Linear(3, 2), same={"net": changed})
    checkpoint.save(tmp_path / "gone", model.state_dict(), {"net": {"width": 3, "removed": 1}}, {})
    with pytest.raises(UserError, match="was trained with net="):  # a field this version no longer has
        checkpoint.resume(tmp_path / "gone", torch.nn.Linear(3, 2), same={"net": Net()})


def test_checkpoint_missing_and_corrupt(tmp_path):
    with pytest.raises(UserError, match="not found.*train it"):
        checkpoint.load(tmp_path / "nope", how_to_fix="train it")
    checkpoint.save(tmp_path / "ck", {"w": torch.ones(2)}, {})
    data = bytearray((tmp_path / "ck.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "ck.safetensors").write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        checkpoint.load(tmp_path / "ck")


def test_asset_checksum(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPGALLERY_HOME", str(tmp_path))
    asset = assets.Asset(name="toy", filename="toy.bin", sha256="0" * 64, how_to_get="make it")
    assert assets.status(asset) == "missing"
    with pytest.raises(UserError, match="missing asset 'toy'.*make it"):
        assets.fetch(asset)
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "toy.bin").write_bytes(b"abc")
    assert assets.status(asset) == "corrupt"
    good = assets.Asset(name="toy", filename="toy.bin",
                        sha256="ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert assets.fetch(good) == tmp_path / "assets" / "toy.bin"


def test_assets_command_exits_1_when_a_checksum_fails(tmp_path, monkeypatch, run_cli):
    """`deepgallery assets` reports missing assets and exits 0; a corrupt one (SHA-256 mismatch) exits 1."""
    monkeypatch.setenv("DEEPGALLERY_HOME", str(tmp_path))
    toy = assets.Asset(name="toy", filename="toy.bin", sha256="0" * 64, how_to_get="make it")
    fake = App(id="fake", title="Fake", paper="p", paper_url="u", summary="s", assets=(toy,))
    monkeypatch.setattr(registry, "all_apps", lambda: {"fake": fake})
    code, out, err = run_cli("assets")
    assert code == 0 and "missing" in out and err == ""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "toy.bin").write_bytes(b"abc")
    code, out, err = run_cli("assets")
    assert code == 1 and "corrupt" in out and "1 asset(s) fail their SHA-256 check" in err


def test_media_image_round_trip_and_bad_files(tmp_path):
    img = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    media.save_image(tmp_path / "a.png", img)
    assert np.array_equal(media.read_image(tmp_path / "a.png"), img)
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(UserError, match="not a readable image"):
        media.read_image(tmp_path / "bad.jpg")
    with pytest.raises(UserError, match="no such file"):
        media.read_image(tmp_path / "missing.png")
    assert media.resize_max_side(img, 15).shape == (10, 15, 3)


def test_video_round_trip(tmp_path):
    frames = [np.full((32, 48, 3), i * 20, np.uint8) for i in range(6)]
    media.write_video(tmp_path / "v.mp4", frames, fps=6)
    got = list(media.read_video(tmp_path / "v.mp4"))
    assert len(got) == 6 and got[0][2].shape == (32, 48, 3)
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="broken.mp4"):
        list(media.read_video(tmp_path / "broken.mp4"))


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".webm"])
def test_written_videos_play_in_browsers(tmp_path, suffix):
    """H.264 yuv420p (VP9 for WebM), even sides: what Chromium's <video> plays; checked with ffprobe."""
    import shutil

    import imageio_ffmpeg

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    rng = np.random.default_rng(0)
    frames = [(rng.random((31, 45, 3)) * 255).astype(np.uint8) for _ in range(5)]  # odd sides on purpose
    out = media.write_video(tmp_path / f"v{suffix}", frames, fps=5)
    # imageio-ffmpeg ships ffmpeg only (no ffprobe): `ffmpeg -i` prints the stream line ffprobe would give
    info = subprocess.run([ffmpeg, "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    stream = next(line for line in info.splitlines() if "Video:" in line)
    codec = "vp9" if suffix == ".webm" else "h264"
    assert f"Video: {codec}" in stream and "yuv420p" in stream and "46x32" in stream, stream
    got = list(media.read_video(out))
    assert len(got) == 5 and got[0][2].shape == (32, 46, 3)
    probe = shutil.which("ffprobe")
    if probe:  # a system ffprobe, when there is one, agrees
        meta = json.loads(subprocess.run([probe, "-v", "error", "-show_streams", "-of", "json", str(out)],
                                         capture_output=True, text=True).stdout)["streams"][0]
        assert meta["codec_name"] == codec and meta["pix_fmt"] == "yuv420p"


def test_registry_lists_all_nineteen_apps():
    apps = registry.all_apps()
    assert len(apps) == 19 and {"neuralcrypto", "viscoelastic", "dqn", "style"} <= set(apps)
    assert closest("neuralcryto", apps) == ["neuralcrypto"]


def test_cli_unknown_app_is_one_line(capsys):
    assert cli.main(["info", "viscoelastik"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "viscoelastic" in err[0]


def test_cli_list_and_console_script():
    out = subprocess.run([sys.executable, "-m", "deepgallery.cli", "list"], capture_output=True, text=True)
    assert out.returncode == 0 and len(out.stdout.strip().splitlines()) == 19


def test_bench_json_contract(tmp_path, monkeypatch):
    class FakeHooks:
        @staticmethod
        def bench(quick):
            return {"metrics": {"score": 1.5}, "config": {"quick": quick}}

    fake = App(id="fake", title="Fake", paper="p", paper_url="u", summary="s", status="built",
                        entry="x")
    monkeypatch.setattr(registry, "get", lambda _id: fake)
    monkeypatch.setattr(App, "bench_module", lambda self: FakeHooks)  # bench(quick) lives in the app's bench.py
    assert cli.main(["bench", "fake", "--quick", "--json", str(tmp_path / "r.json")]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["app"] == "fake" and record["metrics"] == {"score": 1.5} and record["config"] == {"quick": True}


# ------------------------------------------------------------------ optical flow (core/flow.py)

def _texture(h=64, w=80, seed=0):
    """Smooth random texture (H, W, 3) uint8: enough structure everywhere for the flow."""
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur((rng.random((h, w, 3)) * 255).astype(np.uint8), (7, 7), 2)


def test_flow_recovers_a_known_shift_and_warping_undoes_it():
    from deepgallery.core.flow import flow_warp, optical_flow, warp

    base = _texture()
    moved = np.roll(base, (-2, 3), axis=(0, 1))  # the scene moves 3 px right and 2 px up
    inner = (slice(12, -12), slice(12, -12))
    forward = optical_flow(base, moved)  # (H, W, 2): where base's pixels went
    assert forward.shape == (64, 80, 2)
    assert np.allclose(np.median(forward[inner], axis=(0, 1)), [3, -2], atol=0.2)
    backward = optical_flow(moved, base)
    assert np.allclose(np.median(backward[inner], axis=(0, 1)), [-3, 2], atol=0.2)
    back = warp(base, backward)  # base carried into moved's geometry
    assert np.abs(back[inner].astype(int) - moved[inner]).mean() < 1.5
    assert np.abs(base[inner].astype(int) - moved[inner]).mean() > 10  # the shift matters
    assert np.array_equal(flow_warp(base, base, moved), back)
    # an exact integer flow is an exact shift, for uint8 and float images with and without channels
    flow = np.zeros((64, 80, 2), np.float32)
    flow[..., 0] = -3  # every pixel comes from 3 px to its left
    img = np.random.default_rng(1).random((64, 80)).astype(np.float32)
    assert np.array_equal(warp(img, flow)[:, 3:], img[:, :-3])
    assert np.array_equal(warp(base, flow)[:, 3:], base[:, :-3])
    assert warp(img[..., None], flow).shape == (64, 80, 1)


def test_consistency_mask_marks_disocclusions_and_motion_boundaries():
    """Ruder et al. Sec. 3.2 on known flows: an object (rows 10-29) moves 6 px right over a still background."""
    from deepgallery.core.flow import consistency_mask

    h, w, d = 40, 60, 6
    backward = np.zeros((h, w, 2), np.float32)  # ŵ, frame i -> i-1, on frame i: the object is at x 26..45
    backward[10:30, 26:46, 0] = -d
    forward = np.zeros((h, w, 2), np.float32)  # w, frame i-1 -> i, on frame i-1: the object was at x 20..39
    forward[10:30, 20:40, 0] = d
    c = consistency_mask(backward, forward)
    assert c.shape == (h, w) and c.dtype == np.float32
    assert (c[12:28, 20:26] == 0).all()  # background uncovered behind the object: disoccluded
    assert (c[12:28, 45:47] == 0).all()  # the object's leading edge: a motion boundary
    assert (c[12:28, 28:44] == 1).all()  # the object's inside moves consistently
    assert (c[:8] == 1).all() and (c[12:28, :18] == 1).all() and (c[12:28, 49:] == 1).all()  # still background


def test_consistency_mask_on_a_pan_keeps_the_inside_and_drops_the_entering_border():
    from deepgallery.core.flow import optical_flow, warp_previous

    base = _texture()
    prev, moved = base[:, 4:], base[:, :-4]  # the window pans left: content moves 4 px right, new enters left
    omega, c = warp_previous(prev, prev, moved)
    assert c[8:-8, 12:-8].mean() == 1.0  # consistent motion: trusted
    assert c[:, :3].mean() == 0.0  # came from outside the previous frame: disoccluded
    assert omega.shape == moved.shape and omega.dtype == np.uint8
    assert optical_flow(prev, moved).shape == (64, 76, 2)


def test_flow_without_opencv_is_a_user_error(monkeypatch):
    import sys

    from deepgallery.core.flow import optical_flow

    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` now raises ImportError
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(UserError, match="pip install opencv-python-headless"):
        optical_flow(img, img)


@pytest.mark.parametrize(("argv", "message"), [
    (["bogus"], "invalid choice: 'bogus'"),
    (["bench"], "the following arguments are required: app"),
    (["run", "nosuchapp"], "unknown application 'nosuchapp'"),
])
def test_top_level_mistakes_are_one_line(run_cli, argv, message):
    code, out, err = run_cli(*argv)
    assert code == 2 and message in err and len(err.splitlines()) == 1 and "Traceback" not in err
