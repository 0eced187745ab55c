"""deepgallery: nineteen landmark deep-learning applications that run, train and benchmark on a laptop.

The Python API (see `deepgallery.api`): ``dg.list()``, ``dg.info(id)``, ``dg.run(id, **inputs)``,
``dg.train(id, **flags)``, ``dg.bench(id, quick=True)``. Importing the package stays light: the API and torch
load on first use.
"""

from .core.errors import UserError
from .version import __version__

__all__ = ["UserError", "__version__", "bench", "info", "list", "run", "run_cli", "train"]

_API = {"list": "list_apps", "info": "info", "run": "run", "run_cli": "run_cli", "train": "train", "bench": "bench"}


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, _API[name])
    raise AttributeError(f"module 'deepgallery' has no attribute {name!r}")
