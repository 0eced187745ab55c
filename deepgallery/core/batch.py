"""Resumable batch jobs over many files: one SQLite database, one process per core, Dask for several machines.

An app's batch stage (detect the cars in 50 million photos, index a video archive) is a function of one key
(a file path) that returns a picklable value. `BatchJob.run` maps it over the keys and yields each outcome as
it finishes; the caller stores the value in its own tables *and* marks the key done in one transaction, so a
job killed at any moment restarts where it stopped: a key is either fully stored or not done at all, and keys
done earlier are never recomputed. A key whose function raised (a corrupt image) is recorded as failed, counted
and skipped, not fatal; `retry_failed=True` tries those again.

The engine is Dask (dask.distributed), not a scheduler of our own: `workers=1` runs in this process (no Dask
needed, the default for small jobs and tests); `workers=N` or `None` (all cores) starts a local cluster of
single-threaded worker processes; `cluster="tcp://host:8786"` uses an existing Dask scheduler, whose workers may
be on many machines (`dask scheduler` on one, `dask worker tcp://host:8786` on each; or dask-jobqueue / Kubernetes
/ Coiled). Dask over Ray: pure Python and a few MB to install, a local cluster with no daemon, and the same
client API from a laptop to a cluster. Only the caller's process writes the database, so SQLite's one writer is
never contended; workers only compute.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import unwritable
from .errors import UserError

SCHEMA = """CREATE TABLE IF NOT EXISTS batch_done (
    key TEXT PRIMARY KEY,
    ok INTEGER NOT NULL,        -- 1 stored, 0 failed (the function raised)
    error TEXT,                 -- one line, for failed keys
    seconds REAL,               -- time the function took on its worker
    finished REAL               -- unix time the key was marked
)"""


@dataclass
class Outcome:
    key: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def call(fn: Callable[[str], Any], key: str) -> Outcome:
    """Run `fn(key)` on a worker; an exception becomes a one-line error instead of killing the job."""
    start = time.perf_counter()
    try:
        value = fn(key)
    except Exception as exc:  # noqa: BLE001 - a bad file must not end a job over millions
        message = " ".join(str(exc).split()) or type(exc).__name__
        return Outcome(key, error=f"{type(exc).__name__}: {message}"[:500], seconds=time.perf_counter() - start)
    return Outcome(key, value=value, seconds=time.perf_counter() - start)


class BatchJob:
    """The done-keys ledger of one job, kept in the job's SQLite database beside the caller's own tables."""

    def __init__(self, db_path: str | os.PathLike):
        self.path = Path(db_path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, isolation_level=None)  # autocommit; transactions are explicit
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(SCHEMA)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
                raise unwritable(self.path, PermissionError(13, "unable to open the database")) from None
            raise UserError(f"{self.path} is not a SQLite database of this job ({exc})") from None
        except OSError as exc:
            raise unwritable(self.path, exc) from None
        self.counts = {"done": 0, "failed": 0, "skipped_already_done": 0}
        self.failed_keys: list[str] = []

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> BatchJob:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def finished_keys(self, include_failed: bool = True) -> set[str]:
        query = "SELECT key FROM batch_done" + ("" if include_failed else " WHERE ok = 1")
        return {row[0] for row in self.conn.execute(query)}

    def pending(self, keys: Iterable[str], retry_failed: bool = False) -> list[str]:
        """The keys not finished in an earlier run (in their given order, duplicates dropped)."""
        finished = self.finished_keys(include_failed=not retry_failed)
        seen: set[str] = set()
        out = []
        for key in keys:
            if key not in finished and key not in seen:
                seen.add(key)
                out.append(key)
        return out

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the caller's rows for a key and `mark(conn, outcome)` land together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def mark(self, conn: sqlite3.Connection, outcome: Outcome) -> None:
        conn.execute("INSERT OR REPLACE INTO batch_done VALUES (?, ?, ?, ?, ?)",
                     (outcome.key, int(outcome.ok), outcome.error, outcome.seconds, time.time()))
        if outcome.ok:
            self.counts["done"] += 1
        else:
            self.counts["failed"] += 1
            self.failed_keys.append(outcome.key)

    def run(self, fn: Callable[[str], Any], keys: Iterable[str], workers: int | None = 1, cluster: str | None = None,
            desc: str = "batch", retry_failed: bool = False, progress_bar: bool = True) -> Iterator[Outcome]:
        """Yield the outcome of `fn(key)` for every key not finished earlier, in the order they finish.

        The caller must store each outcome (`with job.transaction() as conn: ...; job.mark(conn, outcome)`);
        an outcome not marked is computed again next time. `fn` must be picklable (a top-level function, or
        functools.partial of one) when Dask runs it.
        """
        from .runtime import progress

        keys = list(keys)
        todo = self.pending(keys, retry_failed=retry_failed)
        self.counts["skipped_already_done"] += len(set(keys)) - len(todo)
        if not todo:
            return
        bar = progress(total=len(todo), desc=desc, unit="file", enabled=progress_bar)
        try:
            if workers == 1 and cluster is None:
                for key in todo:
                    yield call(fn, key)
                    bar.update(1)
            else:
                for outcome in _dask_map(fn, todo, workers, cluster):
                    yield outcome
                    bar.update(1)
        finally:
            bar.close()

    def summary(self) -> dict:
        return {**self.counts, "failed_keys": list(self.failed_keys)}


def _dask_map(fn: Callable[[str], Any], keys: list[str], workers: int | None, cluster: str | None) -> Iterator[Outcome]:
    """Map over Dask with a bounded window of futures in flight (millions of keys never sit in memory as tasks)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("several workers need Dask: pip install 'dask[distributed]' (or use --workers 1)") from None

    with contextlib.ExitStack() as stack:
        if cluster is None:
            n = workers or os.cpu_count() or 1
            local = stack.enter_context(LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                     dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(local))
        else:
            try:
                client = stack.enter_context(Client(cluster, timeout="20s"))
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler at {cluster}: {exc}") from None
            n = max(1, len(client.scheduler_info().get("workers", {})))
        window = 4 * n
        remaining = iter(keys)
        first = [client.submit(call, fn, key, pure=False) for key in itertools.islice(remaining, window)]
        pending = as_completed(first)
        for future in pending:
            yield future.result()
            future.release()
            nxt = next(remaining, None)
            if nxt is not None:
                pending.add(client.submit(call, fn, nxt, pure=False))
