"""The Python API (`import deepgallery as dg`): the same registry, hooks and errors as the command line."""

from __future__ import annotations

import argparse
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import deepgallery as dg
from deepgallery import api, registry
from deepgallery.core.app import App, Output, Param


def _fake_app(monkeypatch, tmp_path):
    """An app whose hooks record what they were given: predict inverts an image, train and bench echo."""
    seen = {}

    def predict(image: str, strength: float = 1.0, label: str = "a") -> dict:
        seen["predict"] = {"image": image, "strength": strength, "label": label}
        pixels = np.asarray(Image.open(image).convert("RGB"))
        out = tmp_path / "inverted.png"
        Image.fromarray(255 - pixels).save(out)
        return {"image": out, "caption": f"inverted {label}", "mean": float(pixels.mean())}

    def add_train_args(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=int, default=4)
        parser.add_argument("--resume", action="store_true")
        parser.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True)
        parser.add_argument("--out", default="x")

    def train(args) -> int:
        seen["train"] = vars(args)
        return 0

    hooks = types.SimpleNamespace(predict=predict, add_train_args=add_train_args, train=train)
    bench_module = types.SimpleNamespace(bench=lambda quick: {"metrics": {"score": 0.5 if quick else 0.9}})
    app = App(id="fake", title="Fake", paper="p", paper_url="u", summary="s", status="built",
              entry="fake.entry", inputs=(Param("image", "image", "a photo"),
                                          Param("strength", "float", "how much", 1.0, minimum=0, maximum=2),
                                          Param("label", "choice", "a name", "a", choices=("a", "b"))),
              outputs=(Output("image", "image"), Output("caption", "text"), Output("mean", "number")))
    monkeypatch.setattr(App, "hooks", lambda self: hooks)
    monkeypatch.setattr(App, "bench_module", lambda self: bench_module)
    real_get = registry.get
    monkeypatch.setattr(registry, "get", lambda app_id: app if app_id == "fake" else real_get(app_id))
    return seen


def test_list_and_info():
    apps = dg.list()
    assert len(apps) == 19 and len({a.id for a in apps}) == 19
    built = dg.list(status="built")
    assert {"style", "neuralcrypto", "dqn"} <= {a.id for a in built}
    assert all(a.status == "built" for a in built)
    info = dg.info("neuralcrypto")
    assert info["id"] == "neuralcrypto" and info["inputs"][0]["name"] == "message"
    assert "neuralcrypto" in info["checkpoints"]
    with pytest.raises(dg.UserError, match="Did you mean 'neuralcrypto'"):
        dg.info("neuralcrypt")


def test_run_takes_arrays_and_pil_images_and_returns_pil_images(monkeypatch, tmp_path):
    seen = _fake_app(monkeypatch, tmp_path)
    photo = np.zeros((6, 8, 3), np.uint8)
    photo[:, :4] = 200
    out = dg.run("fake", image=photo, strength=2, label="b")
    assert Path(seen["predict"]["image"]).suffix == ".png"  # the array reached predict as a file
    assert seen["predict"]["strength"] == 2.0 and isinstance(seen["predict"]["strength"], float)
    assert isinstance(out["image"], Image.Image) and out["image"].size == (8, 6)
    assert np.asarray(out["image"])[0, 0, 0] == 55 and np.asarray(out["image"])[0, 7, 0] == 255
    assert out.files["image"] == tmp_path / "inverted.png"
    assert out["caption"] == "inverted b" and out["mean"] == pytest.approx(100.0)
    again = dg.run("fake", image=Image.fromarray(photo))
    assert np.array_equal(np.asarray(again["image"]), np.asarray(out["image"]))


@pytest.mark.parametrize(("inputs", "message"), [
    ({"imgae": "x.png"}, "unknown fake input 'imgae'. Did you mean 'image'"),
    ({"image": "/nonexistent.png"}, "is not a file"),
    ({"image": np.zeros((2, 2, 3), np.uint8), "strength": 3}, "strength must be <= 2"),
    ({"image": np.zeros((2, 2, 3), np.uint8), "strength": "lots"}, "strength must be a number"),
    ({"image": np.zeros((2, 2, 3), np.uint8), "label": "c"}, "unknown label choice 'c'"),
])
def test_run_refuses_bad_inputs_with_the_cli_message(monkeypatch, tmp_path, inputs, message):
    _fake_app(monkeypatch, tmp_path)
    with pytest.raises(dg.UserError, match=message):
        dg.run("fake", **inputs)


def test_train_turns_keywords_into_the_apps_flags(monkeypatch, tmp_path):
    seen = _fake_app(monkeypatch, tmp_path)
    settings = dg.train("fake", batch_size=8, resume=True, amp=False, out=str(tmp_path / "ck"))
    assert seen["train"] == settings
    assert settings["batch_size"] == 8 and settings["resume"] is True and settings["amp"] is False
    with pytest.raises(dg.UserError, match="Did you mean 'batch_size'"):
        dg.train("fake", batchsize=8)
    with pytest.raises(dg.UserError, match="train fake: argument --batch-size: invalid int value: 'many'"):
        dg.train("fake", batch_size="many")


def test_bench_returns_the_cli_record(monkeypatch, tmp_path):
    _fake_app(monkeypatch, tmp_path)
    record = dg.bench("fake", quick=True)
    assert record["metrics"] == {"score": 0.5} and record["quick"] is True and record["app"] == "fake"
    assert dg.bench("fake", quick=False)["metrics"] == {"score": 0.9}


def test_planned_app_is_a_user_error(monkeypatch):
    from deepgallery import registry
    from deepgallery.core.app import App

    planned = App(id="someday", title="Someday", paper="p", paper_url="https://example.org", summary="s")
    monkeypatch.setitem(registry.all_apps(), "someday", planned)  # all nineteen are built now
    with pytest.raises(dg.UserError, match="planned but not built"):
        dg.run("someday")


def test_run_a_real_app_end_to_end():
    """The README's example shape on a real app: neuralcrypto through the shipped checkpoint."""
    out = dg.run("neuralcrypto", message="attack at dawn")
    assert "Bob  (has the key): attack at dawn" in out["result"]
    assert isinstance(out["plot"], Image.Image) and out.files["plot"].suffix == ".png"
    assert out["bits_wrong"]["bob"] == 0 and out["bits_wrong"]["total"] == 112


def test_api_and_package_stay_light():
    """`import deepgallery` does not import torch (the API loads on first use)."""
    import subprocess
    import sys

    code = "import sys, deepgallery; assert 'torch' not in sys.modules; deepgallery.list; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "ok"
    assert api.Result({"a": 1}, {}).files == {}
