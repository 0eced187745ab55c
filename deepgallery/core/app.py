"""The contract every application fills in: its `App` record, declared inputs and outputs, demo items.

Each app's ``__init__.py`` builds one `App` (light: no torch import, so ``deepgallery list`` stays instant)
and names an ``entry`` module holding the hooks, imported only when used:

    add_run_args(parser) / run(args)        `deepgallery run ID ...`
    add_train_args(parser) / train(args)    `deepgallery train ID ...`
    bench(quick: bool) -> {"metrics": {...}, "config": {...}}
    demo(out_dir: Path) -> list[DemoItem]   built-in examples for `deepgallery demo`
    predict(**inputs) -> dict[str, Any]     the web gallery's and the Python API's call, inputs as in APP.inputs

`deepgallery.registry` finds the records; this module imports nothing of the project but `core.errors`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from .errors import UserError, unknown_name_error

APPS_DIR = Path(__file__).resolve().parent.parent / "apps"

# "sketch": a drawing pad in the gallery (a PNG path on the command line); "points": positions on the first image
# input, "x,y[,#RRGGBB];..." on the command line and clicks on that image in the gallery; "strokes": pen strokes
# written with the mouse or a pen in the gallery (a JSON file of [[x, y, t], ...] strokes on the command line).
ParamKind = Literal["image", "video", "text", "int", "float", "choice", "bool", "file", "sketch", "points", "strokes"]


@dataclass(frozen=True)
class Param:
    """One input of an application, declared once for the CLI and the web gallery."""

    name: str
    kind: ParamKind
    help: str
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None


@dataclass(frozen=True)
class Output:
    """One output of an application: its name, kind (image, video, text, plot, table, json, file) and meaning."""

    name: str
    kind: str
    help: str = ""


@dataclass
class DemoItem:
    """One built-in example as shown on the demo page."""

    title: str
    inputs: dict[str, str] = field(default_factory=dict)  # name -> text or file path
    outputs: list[Path] = field(default_factory=list)  # files written
    text: str = ""  # printed result, if any
    seconds: float = 0.0  # filled in by `deepgallery demo`


@dataclass(frozen=True)
class Headline:
    """The one number the gallery card shows: which metric of measured.json, and the paper's figure beside it."""

    metric: str  # key in measured.json["metrics"]
    label: str  # what the number is, in a few words
    paper: str  # the paper's figure for the same quantity, as the app's README states it ("—" when none)
    fmt: str = "{:.3g}"  # how to print our value


@dataclass(frozen=True)
class App:
    """What the CLI, the demo page and the web gallery know of one application."""

    id: str
    title: str
    paper: str  # "Authors Year, Title"
    paper_url: str
    summary: str
    status: Literal["built", "partial", "planned"] = "planned"
    extra: str = ""  # pip extra that installs its dependencies: pip install 'deepgallery[EXTRA]'
    entry: str | None = None  # module with the hooks (see module docstring)
    inputs: tuple[Param, ...] = ()
    outputs: tuple[Output, ...] = ()
    assets: tuple[Any, ...] = ()  # core.assets.Asset records it can use
    checkpoints: tuple[str, ...] = ()  # shipped checkpoint names
    headline: Headline | None = None  # the gallery card's number (older apps keep theirs in web.catalog)

    def hooks(self) -> ModuleType:
        """Import the entry module; a missing optional dependency becomes a UserError saying what to install."""
        if self.entry is None:
            raise UserError(f"{self.id} is planned but not built yet (see `deepgallery list`)")
        return self._import(self.entry)

    def arg_parser(self, verb: str) -> argparse.ArgumentParser:
        """The flags of `deepgallery run|train ID`, from the entry's ``add_<verb>_args`` hook."""
        hooks = self.hooks()
        if getattr(hooks, verb, None) is None:
            raise UserError(f"{self.id} has no `{verb}` command yet")
        parser = AppArgumentParser(prog=f"deepgallery {verb} {self.id}", description=f"{self.title} ({self.paper})")
        adder = getattr(hooks, f"add_{verb}_args", None)
        if adder is not None:
            adder(parser)
        return parser

    def bench_module(self) -> ModuleType:
        """The app's ``bench.py``, whose ``bench(quick)`` measures it against the paper and a peer."""
        if self.entry is None:
            raise UserError(f"{self.id} is planned but not built yet (see `deepgallery list`)")
        name = self.entry.rsplit(".", 1)[0] + ".bench"
        if importlib.util.find_spec(name) is None:
            raise UserError(f"{self.id} has no benchmark yet")
        return self._import(name)

    def _import(self, module: str) -> ModuleType:
        try:
            return importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("deepgallery"):
                extra = self.extra or "all"
                how = NO_DEPS_INSTALLS.get(exc.name.split(".")[0], f"pip install 'deepgallery[{extra}]'")
                raise UserError(f"{self.id} needs the Python package {exc.name!r}: {how}") from None
            raise

    @property
    def folder(self) -> Path:
        """The app's package folder, deepgallery/apps/<id>/."""
        return APPS_DIR / self.id

    def checkpoint(self, name: str) -> Path:
        """Path (without suffix) of the shipped checkpoint `name`; `checkpoints` above is the one place names live."""
        if name not in self.checkpoints:
            raise unknown_name_error(f"{self.id} checkpoint", name, self.checkpoints)
        return self.folder / "checkpoints" / name

    def measured(self) -> dict[str, Any]:
        """Numbers from the last saved benchmark run (measured.json beside the app), if any."""
        path = self.folder / "measured.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))


class AppArgumentParser(argparse.ArgumentParser):
    """The parser of every `deepgallery run|train ID` (and of its sub-commands): negative numbers are values, and a
    mistake is one line (a UserError, exit 2) instead of argparse's usage dump.

    argparse takes a value that starts with "-" for an option unless it looks like a plain negative number
    (``-1``, ``-0.5``): ``--viscosity -1e19`` or ``--angle -12,5`` would fail with "expected one argument". No
    option of ours starts with a digit, so anything of the form ``-<digit>``, ``-.<digit>``, ``-inf`` or ``-nan``
    is read as a value (and then checked by the flag's own type).
    """

    NEGATIVE_VALUE = re.compile(r"^-(\.?\d|inf(inity)?$|nan$)", re.IGNORECASE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = self.NEGATIVE_VALUE

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{message} (see `{self.prog} --help`)")


# Packages whose own requirements break the environment, installed without them (see pyproject.toml).
NO_DEPS_INSTALLS = {
    "mediapipe": "pip install 'deepgallery[people]' && pip install --no-deps mediapipe==0.10.14",
}

