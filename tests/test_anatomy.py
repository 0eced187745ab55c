"""The one anatomy every app follows (docs/CONTRIBUTING.md), checked on the source: no import circle anywhere
(function-level imports included), each app's files in their places, checkpoints named once, and the idioms
that core owns not written again inside an app."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from deepgallery import registry

ROOT = Path(__file__).resolve().parents[1] / "deepgallery"
BUILT = [a for a in registry.all_apps().values() if a.entry]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports anywhere in its body (top level or inside functions)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    stem = ".".join(base + ([node.module] if node.module else []))
                else:
                    stem = node.module or ""
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in modules else stem for a in node.names]
            else:
                continue
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_planted_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_in_the_package():
    assert cycles(import_graph()) == []


def test_core_imports_no_app_and_apps_import_no_other_app():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("deepgallery.core"):
            assert not any(t.startswith(("deepgallery.apps", "deepgallery.web", "deepgallery.cli")) for t in targets), \
                module
        if module.startswith("deepgallery.apps."):
            own = ".".join(module.split(".")[:3])
            others = {t for t in targets if t.startswith("deepgallery.apps.") and not t.startswith(own)}
            assert not others, f"{module} imports {others}"


@pytest.mark.slow
def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(n for n in _modules()  # __main__ runs the command; the server is imported by test_web
                   if not n.endswith("__main__") and not n.startswith("deepgallery.web.server"))
    code = "import importlib, sys\nfor n in sys.argv[1:]:\n    importlib.import_module(n)\n"
    proc = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("app", BUILT, ids=lambda a: a.id)
def test_app_anatomy(app):
    folder = app.folder
    for required in ("__init__.py", "entry.py", "bench.py", "README.md"):
        assert (folder / required).is_file(), f"{app.id} lacks {required}"
    assert not (folder / "benchmark.py").exists(), "the benchmark lives in bench.py"
    assert app.entry == f"deepgallery.apps.{app.id}.entry"
    entry = ast.parse((folder / "entry.py").read_text(encoding="utf-8"))
    top = {n.name for n in entry.body if isinstance(n, ast.FunctionDef)}
    assert "bench" not in top, "bench(quick) lives in bench.py, not entry.py"
    bench = ast.parse((folder / "bench.py").read_text(encoding="utf-8"))
    assert "bench" in {n.name for n in bench.body if isinstance(n, ast.FunctionDef)}
    init = (folder / "__init__.py").read_text(encoding="utf-8")
    assert "import torch" not in init and "import numpy" not in init, "__init__.py stays light"


@pytest.mark.parametrize("app", BUILT, ids=lambda a: a.id)
def test_shipped_checkpoints_are_named_once(app):
    """Every shipped checkpoint is in APP.checkpoints, every name there exists, and code reaches them through
    APP.checkpoint(name) rather than a path of its own."""
    shipped = {p.stem for p in (app.folder / "checkpoints").glob("*.safetensors")}
    assert shipped == set(app.checkpoints)
    for name in app.checkpoints:
        assert app.checkpoint(name).with_suffix(".json").is_file()
    for path in app.folder.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert '"checkpoints"' not in text and "'checkpoints'" not in text, \
            f"{path.name} builds a checkpoint path itself; use APP.checkpoint(name)"


def test_core_owns_the_repeated_idioms():
    """Saving and restoring torch threads, half-precision export and numeric flag checks live in core."""
    for path in (ROOT / "apps").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        saves_and_sets = "get_num_threads()" in text and "set_num_threads(" in text
        assert not saves_and_sets, f"{path}: save/set/restore of torch threads: use core.runtime.torch_threads"
        assert "v.half()" not in text, f"{path}: use core.checkpoint.half / export_half"
