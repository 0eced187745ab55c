"""The Python API: the same registry, hooks and errors as the command line and the web gallery, for notebooks
and scripts.

    import deepgallery as dg
    dg.list()                                   # [App, ...] all nineteen, built and planned
    dg.info("style")                            # paper, inputs, outputs, checkpoints, measured numbers
    out = dg.run("style", content="cat.jpg", style="swirl.jpg")
    out["image"]                                # a PIL image; out.files["image"] is the PNG it came from
    dg.train("neuralcrypto", steps=2000, out="runs/nc")   # the `deepgallery train` flags as keywords
    dg.bench("neuralcrypto", quick=True)        # {"metrics": {...}, "config": {...}, ...}

Mistakes raise `deepgallery.UserError` with the same one-line message the command line prints.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import registry
from .core.app import App, Param
from .core.config import to_number
from .core.errors import UserError, unknown_name_error

IMAGE_OUTPUT_KINDS = ("image", "plot", "png", "figure")


class Result(dict):
    """The named outputs of one run, as the web gallery shows them: images as PIL images, text, numbers,
    dicts. `files` maps each output that was written to disk to its path (images, videos, CSV, JSON)."""

    def __init__(self, values: dict[str, Any], files: dict[str, Path]) -> None:
        super().__init__(values)
        self.files = files


def list_apps(status: str | None = None) -> list[App]:
    """Every application (or those with `status`: built / partial / planned), in the registry's order."""
    return [a for a in registry.all_apps().values() if status is None or a.status == status]


def info(app_id: str) -> dict[str, Any]:
    """What `deepgallery info ID` prints, as a dict."""
    app = registry.get(app_id)
    return {
        "id": app.id, "title": app.title, "status": app.status, "paper": app.paper, "paper_url": app.paper_url,
        "summary": app.summary, "extra": app.extra,
        "inputs": [{"name": p.name, "kind": p.kind, "help": p.help, "default": p.default} for p in app.inputs],
        "outputs": [{"name": o.name, "kind": o.kind, "help": o.help} for o in app.outputs],
        "checkpoints": list(app.checkpoints), "measured": app.measured(),
    }


def run(app_id: str, **inputs: Any) -> Result:
    """Run application `app_id` on `inputs` (named as in `info(app_id)["inputs"]`; images as a path, a PIL
    image or an (H, W, 3) uint8 array) and return its named outputs."""
    app = registry.get(app_id)
    predict = getattr(app.hooks(), "predict", None)
    if predict is None:
        raise UserError(f"{app.id} has no Python entry point yet; use `deepgallery run {app.id}`")
    declared = {p.name: p for p in app.inputs}
    workdir = Path(tempfile.mkdtemp(prefix=f"deepgallery-{app.id}-"))
    kwargs = {}
    for name, value in inputs.items():
        if name not in declared:
            raise unknown_name_error(f"{app.id} input", name, declared)
        kwargs[name] = _coerce(declared[name], value, workdir)
    raw = predict(**kwargs)
    values, files = {}, {}
    kinds = {o.name: o.kind for o in app.outputs}
    for name, value in raw.items():
        if isinstance(value, (str, Path)) and kinds.get(name) not in ("text", None) and Path(value).is_file():
            files[name] = Path(value)
            if kinds[name] in IMAGE_OUTPUT_KINDS:
                from PIL import Image

                with Image.open(value) as im:
                    value = im.copy()
            else:
                value = Path(value)
        values[name] = value
    return Result(values, files)


def _coerce(p: Param, value: Any, workdir: Path) -> Any:
    """One input as `predict` takes it: media as a file path, numbers checked against the declared range."""
    if p.kind == "image" and not isinstance(value, (str, Path)) and value is not None:
        from .core import media

        if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image
            path = workdir / f"{p.name}.png"
            value.convert("RGB").save(path)
            return str(path)
        return str(media.save_image(workdir / f"{p.name}.png", value))
    if p.kind in ("image", "video", "file") and value is not None:
        if not Path(value).is_file():
            raise UserError(f"{p.name}: {value} is not a file")
        return str(value)
    if p.kind in ("int", "float") and value is not None:
        return to_number(p.name, value, p.kind, p.minimum, p.maximum)
    if p.kind == "choice" and p.choices and value not in p.choices:
        raise unknown_name_error(f"{p.name} choice", str(value), [str(c) for c in p.choices])
    return value


def train(app_id: str, *positional: str, **flags: Any) -> dict[str, Any]:
    """`deepgallery train ID` with its flags as keywords (``batch_size=8`` for ``--batch-size 8``; True/False
    for switches). Returns the parsed settings the training ran with; raises UserError as the CLI would exit 2."""
    return _call(app_id, "train", positional, flags)


def run_cli(app_id: str, *positional: str, **flags: Any) -> dict[str, Any]:
    """`deepgallery run ID` with its command-line flags as keywords (for options `run` has beyond `run()`'s)."""
    return _call(app_id, "run", positional, flags)


def _call(app_id: str, verb: str, positional: tuple[str, ...], flags: dict[str, Any]) -> dict[str, Any]:
    app = registry.get(app_id)
    parser = app.arg_parser(verb)
    by_dest = {a.dest: a for a in parser._actions if a.option_strings}
    argv = [str(p) for p in positional]
    for name, value in flags.items():
        action = by_dest.get(name)
        if action is None:
            raise unknown_name_error(f"`{verb} {app.id}` option", name, [d for d in by_dest if d != "help"])
        argv += _flag_words(action, value)
    def refuse(message: str):
        raise UserError(f"{verb} {app.id}: {message}")

    parser.error = refuse  # argparse's own complaints become the API's UserError instead of SystemExit
    ns = parser.parse_args(argv)
    code = int(getattr(app.hooks(), verb)(ns) or 0)
    if code:
        raise UserError(f"{verb} {app.id} stopped with exit status {code}")
    return vars(ns)


def _flag_words(action: argparse.Action, value: Any) -> list[str]:
    if isinstance(action, argparse.BooleanOptionalAction):
        on = next(o for o in action.option_strings if o.startswith("--") and not o.startswith("--no-"))
        return [on if value else f"--no-{on[2:]}"]
    long = max(action.option_strings, key=len)
    if action.nargs == 0:  # store_true / store_false
        return [long] if bool(value) != bool(action.default) else []
    if isinstance(value, (list, tuple)):
        return [long, *map(str, value)]
    return [long, str(value)]


def bench(app_id: str, quick: bool = True, device: str | None = None) -> dict[str, Any]:
    """Run the app's benchmark; the record `deepgallery bench ID --json` writes (metrics, config, machine).

    `device` (auto, cpu, cuda, mps) goes to a bench that takes one (``bench(quick, device)``); None leaves the
    bench's own default. A bench without one runs on the CPU only, so any device but cpu is a UserError for it."""
    if app_id == "gallery":
        from .web import bench as module
    else:
        module = registry.get(app_id).bench_module()
    kwargs: dict[str, Any] = {"quick": quick}
    if device is not None:
        import inspect

        if "device" in inspect.signature(module.bench).parameters:
            kwargs["device"] = device
        elif device != "cpu":
            raise UserError(f"{app_id}'s bench runs on the CPU only (it takes no device); drop --device {device} "
                            "or give --device cpu")
    start = time.perf_counter()
    result = module.bench(**kwargs)
    return {
        "app": app_id,
        "metrics": result["metrics"],
        "config": result.get("config", {}),
        "quick": bool(quick),
        "seconds": round(time.perf_counter() - start, 1),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {_cpu_count()} cores, {result.get('device', 'cpu')}",
    }


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
