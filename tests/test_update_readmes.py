"""bench/update_readmes.py: the READMEs are in sync with the registry, and --app names a real app."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "update_readmes.py"


def _load():
    spec = importlib.util.spec_from_file_location("update_readmes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readmes_are_in_sync():
    assert _load().main(["--check"]) == 0


def test_one_app_only_and_unknown_app_is_an_error(capsys):
    module = _load()
    assert module.main(["--check", "--app", "neuralcrypto"]) == 0
    with pytest.raises(SystemExit) as exc:
        module.main(["--app", "no-such-app"])
    assert exc.value.code == 2
    assert "unknown app 'no-such-app'" in capsys.readouterr().err


def test_measured_table_lists_every_metric():
    table = _load().measured_table({"app": "x", "metrics": {"a": 1.23456, "b": 7}, "quick": True})
    assert "`deepgallery bench x --quick --save`" in table
    assert "| `a` | 1.235 |" in table and "| `b` | 7 |" in table
