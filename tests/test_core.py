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

    fake = registry.App(id="fake", title="Fake", paper="p", paper_url="u", summary="s", status="built",
                        entry="x")
    monkeypatch.setattr(registry, "get", lambda _id: fake)
    monkeypatch.setattr(registry.App, "hooks", lambda self: FakeHooks)
    assert cli.main(["bench", "fake", "--quick", "--json", str(tmp_path / "r.json")]) == 0
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["app"] == "fake" and record["metrics"] == {"score": 1.5} and record["config"] == {"quick": True}
