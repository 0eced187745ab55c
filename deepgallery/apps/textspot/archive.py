"""Index an archive: many videos, every core of this machine, or the workers of a Dask cluster.

One process reads one video at a time (`read_one`, run by `core.batch.BatchJob` on Dask workers: a local
cluster of single-threaded processes, or an existing scheduler whose workers are on other machines); only
this process writes the index, each video's rows and its done mark in one transaction. So a run killed at any
moment resumes where it stopped: the videos committed before are neither read nor written again (the job's
ledger, `batch_done` in the index file, has their key), the others are read from the start. The key of a
file is its path, size and mtime, so an edited file is read again; an unchanged file indexed by any earlier run
(one process or many) is skipped before any work is sent out.

Workers need the files at the same paths (a shared or network file system) and the app installed; they return
the text they read (`indexer.VideoText`: occurrences and the JPEGs of their frames), never touch the index.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deepgallery.core.errors import UserError

from .indexer import IndexStats, SampleConfig, VideoText, find_inputs, is_unchanged, read_text, write_text
from .readers import DET_SIDE, Reader, make_reader
from .store import SQLiteStore, replace_video


@dataclass
class ReaderSettings:
    """How each worker reads (picklable: it travels to the workers with the function)."""

    backend: str = "rapidocr"
    min_confidence: float = 0.5
    det_side: int = DET_SIDE
    reuse: bool = True
    threads: int = 1  # ONNX Runtime threads per worker: one worker process per core
    device: str = "cpu"
    sample: SampleConfig = field(default_factory=SampleConfig)

    def reader(self) -> Reader:
        return make_reader(self.backend, self.min_confidence, device=self.device, det_side=self.det_side,
                           reuse=self.reuse, threads=self.threads)


_READERS: dict[str, Reader] = {}  # per worker process: the models load once, not once per video


def file_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime}"


def read_one(key: str, settings: ReaderSettings) -> VideoText:
    """Worker side: read the video of `key` (path|size|mtime). Raises UserError for an unreadable file."""
    path = Path(key.rsplit("|", 2)[0])
    reader = _READERS.get(repr(settings))
    if reader is None:
        reader = _READERS[repr(settings)] = settings.reader()
    return read_text(path, reader, settings.sample, show_progress=False)


def default_workers(n_files: int) -> int:
    """One process per core (at most one per file); 1 (no Dask) for a single file or without Dask."""
    if n_files <= 1:
        return 1
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return 1
    return max(1, min(n_files, os.cpu_count() or 1))


def index_archive(paths: list[str], db: Path, settings: ReaderSettings, workers: int | None = None,
                  cluster: str | None = None, force: bool = False, log=None) -> IndexStats:
    """Index files and folders with `workers` local processes (None: all cores) or on the Dask scheduler at
    `cluster`; unreadable files are named in one line each and counted, the rest goes on."""
    from deepgallery.core.batch import BatchJob

    if not 0 < settings.sample.interval <= 1.0:
        raise UserError(f"--interval must be in (0, 1] seconds so 1-second text is never missed, "
                        f"got {settings.sample.interval}")
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    files, problems = find_inputs(paths)
    stats = IndexStats()
    for msg in problems:
        log(f"textspot: skipped {msg}")
        stats.failed += 1
    if not files and not problems:
        raise UserError("no video or image files found")
    store = SQLiteStore(db)
    try:
        store.conn  # noqa: B018 - create the index (its tables) before the job's ledger joins the file
        keys = []
        for f in files:
            if not force and is_unchanged(store, f, settings.backend):
                stats.skipped += 1
            else:
                keys.append(file_key(f))
        with BatchJob(store.path) as job:
            if force:  # read again even what the ledger has as done
                with job.transaction() as conn:
                    conn.executemany("DELETE FROM batch_done WHERE key = ?", [(k,) for k in keys])
            fn = functools.partial(read_one, settings=settings)
            # a failed file is tried again on every run (and named again), as the one-process indexer does
            for outcome in job.run(fn, keys, workers=workers, cluster=cluster, desc="indexing",
                                   retry_failed=True):
                with job.transaction() as conn:
                    if outcome.ok:
                        text: VideoText = outcome.value
                        write_text(replace_video(conn, text.record), text)
                    job.mark(conn, outcome)
                if outcome.ok:
                    stats.add(outcome.value.stats)
                    stats.indexed += 1
                else:
                    stats.failed += 1
                    path = outcome.key.rsplit("|", 2)[0]
                    kind, _, message = outcome.error.partition(": ")
                    log(f"textspot: skipped {message}" if kind == "UserError"
                        else f"textspot: skipped {path}: could not be read ({outcome.error[:160]})")
            stats.skipped += job.counts["skipped_already_done"]
    finally:
        store.close()
    return stats
