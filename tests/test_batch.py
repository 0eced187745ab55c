"""core.batch: a job killed part-way resumes without redoing finished keys; bad keys are counted, not fatal; a
two-worker Dask cluster stores exactly what one process stores."""

from __future__ import annotations

import functools
import sqlite3

import pytest

from deepgallery.core.batch import BatchJob, call
from deepgallery.core.errors import UserError


def square_of_file(path: str, calls_log: str | None = None) -> int:
    if calls_log:
        with open(calls_log, "a") as f:
            f.write(path + "\n")
    with open(path) as f:
        return int(f.read()) ** 2  # a bad file raises ValueError


def _files(tmp_path, n=6, bad=(2,)):
    keys = []
    for i in range(n):
        p = tmp_path / f"f{i}.txt"
        p.write_text("not a number" if i in bad else str(i))
        keys.append(str(p))
    return keys


def _store(job, outcomes, stop_after=None):
    job.conn.execute("CREATE TABLE IF NOT EXISTS squares (key TEXT PRIMARY KEY, value INTEGER)")
    for n, outcome in enumerate(outcomes, 1):
        with job.transaction() as conn:
            if outcome.ok:
                conn.execute("INSERT OR REPLACE INTO squares VALUES (?, ?)", (outcome.key, outcome.value))
            job.mark(conn, outcome)
        if stop_after is not None and n == stop_after:
            break  # as if killed here: the generator is dropped mid-job


def test_call_turns_an_exception_into_one_line():
    out = call(int, "x\ny")
    assert not out.ok and out.error.startswith("ValueError:") and "\n" not in out.error
    assert call(int, "7").value == 7


def test_resume_after_a_kill_skips_finished_keys_and_counts_bad_files(tmp_path):
    keys = _files(tmp_path)
    log = tmp_path / "calls.log"
    fn = functools.partial(square_of_file, calls_log=str(log))
    with BatchJob(tmp_path / "job.sqlite") as job:
        _store(job, job.run(fn, keys, progress_bar=False), stop_after=3)
    first_calls = log.read_text().split()
    assert len(first_calls) == 3
    with BatchJob(tmp_path / "job.sqlite") as job:
        _store(job, job.run(fn, keys + keys[:1], progress_bar=False))  # a duplicate key is done once
        summary = job.summary()
    again = log.read_text().split()[3:]
    assert sorted(again) == sorted(set(keys) - set(first_calls))  # nothing computed twice
    assert summary["skipped_already_done"] == 3 and summary["done"] == 3
    db = sqlite3.connect(tmp_path / "job.sqlite")
    failed = db.execute("SELECT key, error FROM batch_done WHERE ok = 0").fetchall()
    assert [k for k, _ in failed] == [keys[2]] and failed[0][1].startswith("ValueError:")  # the bad file, counted
    rows = dict(db.execute("SELECT key, value FROM squares"))
    assert rows == {k: i * i for i, k in enumerate(keys) if i != 2}
    with BatchJob(tmp_path / "job.sqlite") as job:  # failed keys stay failed unless asked
        assert job.pending(keys) == [] and job.pending(keys, retry_failed=True) == [keys[2]]


def test_a_failed_transaction_leaves_the_key_not_done(tmp_path):
    keys = _files(tmp_path, n=2, bad=())
    with BatchJob(tmp_path / "job.sqlite") as job:
        with pytest.raises(RuntimeError):
            for outcome in job.run(square_of_file, keys, progress_bar=False):
                with job.transaction() as conn:
                    job.mark(conn, outcome)
                    raise RuntimeError("crash between the caller's rows and the commit")
        assert job.pending(keys) == keys


def test_not_a_database_is_one_user_error(tmp_path):
    bad = tmp_path / "x.sqlite"
    bad.write_text("hello, not sqlite " * 100)
    with pytest.raises(UserError, match="not a SQLite database"):
        BatchJob(bad)


@pytest.mark.slow
def test_two_dask_workers_store_what_one_process_stores(tmp_path):
    pytest.importorskip("dask.distributed")
    keys = _files(tmp_path, n=21, bad=(5,))  # more keys than the window of futures in flight (4 per worker)
    results = {}
    for workers in (1, 2):
        with BatchJob(tmp_path / f"job{workers}.sqlite") as job:
            _store(job, job.run(square_of_file, keys, workers=workers, progress_bar=False))
            results[workers] = (job.summary()["done"], job.summary()["failed_keys"])
        rows = dict(sqlite3.connect(tmp_path / f"job{workers}.sqlite").execute("SELECT key, value FROM squares"))
        results[workers] += (rows,)
    assert results[1] == results[2] and results[1][0] == 20
