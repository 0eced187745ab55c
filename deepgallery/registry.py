"""Discovery: finds the `App` record of every application under ``deepgallery/apps/`` (the contract types
live in `deepgallery.core.app`). Applications not built yet appear as "planned" records from `PLANNED`.
"""

from __future__ import annotations

import importlib
import pkgutil

from .core.app import App
from .core.errors import unknown_name_error

# The nineteen applications of the list of twenty landmark ones (DQN on Breakout and DQN on the other Atari
# games are one app), ids stable. Built apps replace these records with their own.
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
