"""The application registry: one `App` record per application, read by the CLI, `demo` and the web gallery.

Each built application lives in ``deepgallery/apps/<id>/``; its ``__init__.py`` defines ``APP`` (light:
no torch import, so ``deepgallery list`` stays instant) and names an ``entry`` module holding the hooks,
imported only when used:

    add_run_args(parser) / run(args)        `deepgallery run ID ...`
    add_train_args(parser) / train(args)    `deepgallery train ID ...`
    bench(quick: bool) -> {"metrics": {...}, "config": {...}}
    demo(out_dir: Path) -> list[DemoItem]   built-in examples for `deepgallery demo`
    predict(**inputs) -> dict[str, Any]     the web gallery's call, inputs as declared in APP.inputs

Applications not built yet appear as "planned" records from `PLANNED` below.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from .core.errors import UserError, unknown_name_error

ParamKind = Literal["image", "video", "text", "int", "float", "choice", "bool", "file"]


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

    def hooks(self) -> ModuleType:
        """Import the entry module; a missing optional dependency becomes a UserError saying what to install."""
        if self.entry is None:
            raise UserError(f"{self.id} is planned but not built yet (see `deepgallery list`)")
        try:
            return importlib.import_module(self.entry)
        except ModuleNotFoundError as exc:
            if exc.name and not exc.name.startswith("deepgallery"):
                extra = self.extra or "all"
                how = NO_DEPS_INSTALLS.get(exc.name.split(".")[0], f"pip install 'deepgallery[{extra}]'")
                raise UserError(f"{self.id} needs the Python package {exc.name!r}: {how}") from None
            raise

    def has(self, hook: str) -> bool:
        return self.entry is not None and hasattr(self.hooks(), hook)

    def measured(self) -> dict[str, Any]:
        """Numbers from the last saved benchmark run (measured.json beside the app), if any."""
        import json

        path = Path(__file__).parent / "apps" / self.id / "measured.json"
        if not path.is_file():
            return {}
        return json.loads(path.read_text(encoding="utf-8"))


# Packages whose own requirements break the environment, installed without them (see pyproject.toml).
NO_DEPS_INSTALLS = {
    "mediapipe": "pip install 'deepgallery[people]' && pip install --no-deps mediapipe==0.10.14",
}

# The twenty landmark applications (ids are stable). Built apps replace these records with their own.
PLANNED: list[tuple[str, str, str, str]] = [
    ("face2face", "Live facial reenactment", "Thies et al. 2016, Face2Face", "https://arxiv.org/abs/2007.14808"),
    ("colorize", "Automatic colorization", "Iizuka et al. 2016, Let there be Color!",
     "http://iizuka.cs.tsukuba.ac.jp/projects/colorization/en/"),
    ("superres", "Face super-resolution 8x8 -> 32x32", "Dahl et al. 2017, Pixel Recursive Super Resolution",
     "https://arxiv.org/abs/1702.00783"),
    ("pose", "Real-time multi-person 2D pose", "Cao et al. 2017, Realtime Multi-Person 2D Pose Estimation",
     "https://arxiv.org/abs/1611.08050"),
    ("caption", "Photo captioning", "Karpathy & Fei-Fei 2015, Deep Visual-Semantic Alignments",
     "https://arxiv.org/abs/1412.2306"),
    ("deepwarp", "Gaze redirection", "Ganin et al. 2016, DeepWarp", "https://arxiv.org/abs/1607.07215"),
    ("ppgn", "Plug & Play Generative Networks", "Nguyen et al. 2017, Plug & Play Generative Networks",
     "https://arxiv.org/abs/1612.00005"),
    ("plankton", "Plankton species classification", "Dieleman et al. 2015, Kaggle NDSB (kaggle-ndsb)",
     "https://benanne.github.io/2015/03/17/plankton.html"),
    ("pix2pix", "Image-to-image translation", "Isola et al. 2017, Image-to-Image Translation with cGANs",
     "https://arxiv.org/abs/1611.07004"),
    ("textspot", "Read and search text in video", "Jaderberg et al. 2016, Reading Text in the Wild",
     "https://arxiv.org/abs/1412.1842"),
    ("sunroof", "Rooftop solar potential", "Google Project Sunroof", "https://sunroof.withgoogle.com/"),
    ("dqn", "Deep Q-network plays Atari", "Mnih et al. 2015, Human-level control through deep RL (Nature)",
     "https://www.nature.com/articles/nature14236"),
    ("lipnet", "Sentence-level lip reading", "Assael et al. 2016, LipNet", "https://arxiv.org/abs/1611.01599"),
    ("style", "Neural style transfer", "Gatys et al. 2016, Image Style Transfer Using CNNs",
     "https://openaccess.thecvf.com/content_cvpr_2016/html/Gatys_Image_Style_Transfer_CVPR_2016_paper.html"),
    ("handwriting", "Handwriting generation", "Graves 2013, Generating Sequences With RNNs",
     "https://arxiv.org/abs/1308.0850"),
    ("streetcars", "Cars in street images -> neighbourhood statistics",
     "Gebru et al. 2017, Using Deep Learning and Google Street View to Estimate Demographics",
     "https://arxiv.org/abs/1702.06683"),
    ("deepdream", "DeepDream / inceptionism", "Mordvintsev et al. 2015, Inceptionism",
     "https://research.google/blog/inceptionism-going-deeper-into-neural-networks/"),
    ("neuralcrypto", "Alice, Bob and Eve learn to encrypt",
     "Abadi & Andersen 2016, Learning to Protect Communications with Adversarial Neural Cryptography",
     "https://arxiv.org/abs/1610.06918"),
    ("viscoelastic", "Neural surrogate for viscoelastic earthquake cycles",
     "DeVries et al. 2017, Enabling large-scale viscoelastic calculations via neural network acceleration",
     "https://arxiv.org/abs/1701.08884"),
]


def _load_all() -> dict[str, App]:
    from . import apps as apps_pkg

    found: dict[str, App] = {}
    for mod in pkgutil.iter_modules(apps_pkg.__path__):
        if mod.ispkg:
            module = importlib.import_module(f"{apps_pkg.__name__}.{mod.name}")
            app = getattr(module, "APP", None)
            if isinstance(app, App):
                found[app.id] = app
    result: dict[str, App] = {}
    for app_id, title, paper, url in PLANNED:
        result[app_id] = found.pop(app_id, None) or App(
            id=app_id, title=title, paper=paper, paper_url=url, summary=title
        )
    result.update(found)
    return result


_APPS: dict[str, App] | None = None


def all_apps() -> dict[str, App]:
    global _APPS
    if _APPS is None:
        _APPS = _load_all()
    return _APPS


def get(app_id: str) -> App:
    """The App for `app_id`; UserError with the closest ids when unknown."""
    apps = all_apps()
    if app_id not in apps:
        raise unknown_name_error("application", app_id, apps)
    return apps[app_id]
