"""Atomic file writes: output appears whole or not at all (no half-written files after an error).

A path that cannot be written (its folder is a file, no permission, a read-only disk, a full disk) is a
`UserError` naming the path and the reason, so the CLI prints one line and exits 2; nothing is left behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import UserError

# OS errors inside the writing block that are about the destination, not about the data being written
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.ENOTDIR, errno.EISDIR,
                 getattr(errno, "EDQUOT", errno.ENOSPC)}


def unwritable(path: str | os.PathLike, exc: OSError) -> UserError:
    """The one-line UserError for an OS error met while writing `path`: the path and the reason in words."""
    path = Path(path)
    for parent in path.parents:  # `out/x.png` where `out` is a file: say so, not "File exists"
        if parent.exists():
            if not parent.is_dir():
                return UserError(f"cannot write {path}: {parent} is a file, not a folder")
            break
    if path.is_dir():
        return UserError(f"cannot write {path}: it is a folder; give a file name")
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.EACCES, errno.EPERM):
        reason += " (choose a folder you can write to)"
    return UserError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The temporary file keeps the real suffix so writers that pick a format by extension (PIL,
    imageio, matplotlib) still work. An unwritable destination raises `UserError` (see module docstring).
    """
    path = Path(path)
    created = [p for p in path.parents if not p.exists()]  # folders made for this file, removed again on failure
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        _remove_empty(created)
        raise unwritable(path, exc) from None
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if exc.errno in _WRITE_ERRNOS or exc.filename in (tmp, tmp_path):
                raise unwritable(path, exc) from None
            raise
        try:
            # mkstemp creates 0600; give the file the permissions a plain open() would (0666 minus the umask).
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
            os.replace(tmp_path, path)
        except OSError as exc:
            raise unwritable(path, exc) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        _remove_empty(created)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # innermost first
        with contextlib.suppress(OSError):
            folder.rmdir()


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any] | Sequence[Any]],
              header: Sequence[str] | None = None) -> Path:
    """A CSV table (UTF-8, a header row first) written atomically. Rows are dicts, whose columns are `header` or
    else every key in the order first seen (a cell a row lacks is empty), or sequences under `header`."""
    import csv

    rows = list(rows)
    dicts = bool(rows) and isinstance(rows[0], Mapping)
    if dicts and header is None:
        header = list(dict.fromkeys(key for row in rows for key in row))
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if dicts:
            writer = csv.DictWriter(f, fieldnames=list(header))
            writer.writeheader()
        else:
            writer = csv.writer(f)
            if header is not None:
                writer.writerow(header)
        writer.writerows(rows)
    return Path(path)


def write_figure(path: str | os.PathLike, fig, **savefig: Any) -> Path:
    """A Matplotlib figure saved atomically (the format from the suffix unless `format=` says), then closed, even
    when saving fails; `savefig` goes to `Figure.savefig` (dpi, bbox_inches, ...)."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, **savefig)
    finally:
        plt.close(fig)
    return Path(path)
