"""`deepgallery bench ID --device`: handed to a bench that takes a device, refused in one line by one that
cannot use it (it runs on the CPU only), and cpu by default so measured numbers stay comparable."""

from __future__ import annotations

import json

import pytest

from deepgallery import registry
from deepgallery.core.app import App


def _fake(monkeypatch, bench):
    module = type("FakeBench", (), {"bench": staticmethod(bench)})
    fake = App(id="fake", title="Fake", paper="p", paper_url="u", summary="s", status="built", entry="x")
    monkeypatch.setattr(registry, "get", lambda _id: fake)
    monkeypatch.setattr(App, "bench_module", lambda self: module)


def test_bench_hands_the_device_to_a_bench_that_takes_one(monkeypatch, run_cli, tmp_path):
    seen = []

    def bench(quick: bool = False, device: str = "auto") -> dict:
        seen.append(device)
        return {"metrics": {"score": 1.0}, "device": device}

    _fake(monkeypatch, bench)
    code, out, err = run_cli("bench", "fake", "--quick", "--device", "auto", "--json", tmp_path / "r.json")
    assert code == 0 and seen == ["auto"] and "score" in out
    assert json.loads((tmp_path / "r.json").read_text())["machine"].endswith(", auto")
    assert run_cli("bench", "fake", "--quick")[0] == 0 and seen[-1] == "cpu"  # cpu unless asked


@pytest.mark.parametrize("device", ["cuda", "auto", "mps"])
def test_a_cpu_only_bench_refuses_another_device_in_one_line(monkeypatch, run_cli, tmp_path, device):
    ran = []
    _fake(monkeypatch, lambda quick=False: ran.append(quick) or {"metrics": {"score": 1.0}})
    code, out, err = run_cli("bench", "fake", "--device", device, "--json", tmp_path / "r.json")
    assert code == 2 and len(err.splitlines()) == 1 and "runs on the CPU only" in err and f"--device {device}" in err
    assert not ran and not list(tmp_path.iterdir())  # nothing ran, nothing written
    assert run_cli("bench", "fake", "--device", "cpu")[0] == 0 and ran == [False]


def test_bench_device_is_one_of_the_cli_choices(run_cli):
    code, _, err = run_cli("bench", "fake", "--device", "tpu")
    assert code == 2 and "invalid choice: 'tpu'" in err and len(err.splitlines()) == 1


def test_the_python_api_keeps_each_bench_default(monkeypatch):
    from deepgallery import api

    seen = []
    _fake(monkeypatch, lambda quick=False, device="auto": seen.append(device) or {"metrics": {}})
    api.bench("fake")
    assert seen == ["auto"]  # dg.bench without device: the bench's own default, as before
