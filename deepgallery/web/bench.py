"""`deepgallery bench gallery`: a load check of the web gallery on loopback.

It starts `deepgallery serve` in a child process (with the self-test `probe` app added), sends N
concurrent clients (gradio_client, 127.0.0.1 only) that each submit jobs one after another, and reports
how many finished, how many failed and the 95th-percentile time from submit to result (queue wait
included). Then it sends one bad job, which must come back as its one-line message, and checks that the
server still answers. When a fast real application (neuralcrypto, viscoelastic, pose) is ready with a
built-in example that runs, a smaller round runs it too (metrics prefixed with its id). Bounded in count and time.

    python -m deepgallery.web.bench --serve PORT MAX_JOBS   (the child process; not for users)
    python -m deepgallery.web.bench --readme RUN.json...     (the README table from `--json` records)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..core.errors import UserError

# gradio_client sends telemetry unless this is "False" (its analytics_enabled=False alone does not stop it)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
FAST_APPS = ("neuralcrypto", "viscoelastic", "pose")  # real applications quick enough to load-check, if ready


@dataclass(frozen=True)
class LoadConfig:
    clients: int = 16  # concurrent clients, each on its own connection
    jobs_per_client: int = 5  # jobs each client submits, one after another
    app_clients: int = 4  # clients for the round with a real application
    app_jobs_per_client: int = 2  # and their jobs each
    max_jobs: int = 2  # the server's --max-jobs (this machine: 2 cores)
    job_timeout_s: float = 120.0  # a job not back by then counts as failed
    start_timeout_s: float = 90.0  # the server must answer by then


QUICK = LoadConfig(clients=6, jobs_per_client=3, app_clients=2, app_jobs_per_client=2)


def bench(quick: bool = False) -> dict[str, Any]:
    try:
        import gradio  # noqa: F401 - the server's dependency, checked here for one clear line
        import gradio_client  # noqa: F401
    except ModuleNotFoundError as exc:
        raise UserError(f"the gallery load check needs {exc.name!r}: pip install 'deepgallery[web]'") from None
    cfg = QUICK if quick else LoadConfig()
    load = round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None  # shared machines: context
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = Path(tempfile.mkstemp(prefix="deepgallery-gallery-bench-", suffix=".log")[1])
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "DEEPGALLERY_QUIET": "1"}
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "deepgallery.web.bench", "--serve", str(port),
                                   str(cfg.max_jobs)], stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_up(url, server, cfg.start_timeout_s, log_path)
        metrics: dict[str, Any] = {}
        cpu_before = _cpu_seconds(server.pid)
        probe = _load_round(url, "probe", ["hello gallery", 128], cfg.clients, cfg.jobs_per_client, cfg)
        metrics.update(probe)
        cpu_after = _cpu_seconds(server.pid)
        if cpu_before is not None and cpu_after is not None and probe["jobs_ok"]:
            # the server's own CPU time per job: what the gallery costs, less blurred by a busy machine
            metrics["server_cpu_ms_per_job"] = round(1000 * (cpu_after - cpu_before) / probe["jobs_ok"], 1)
        real, skipped = _warm_fast_app(url)
        if real is not None:
            app_id, args = real
            extra = _load_round(url, app_id, args, cfg.app_clients, cfg.app_jobs_per_client, cfg)
            metrics["jobs_ok"] += extra.pop("jobs_ok")
            metrics["jobs_failed"] += extra.pop("jobs_failed")
            metrics.update({f"{app_id}_{k}": v for k, v in extra.items()})
        metrics["bad_job_clear_message"] = int(_bad_job_message(url) == "message: write something to draw")
        metrics["server_up_after"] = int(server.poll() is None and _answers(url))
    finally:
        _stop(server)
        log_path.unlink(missing_ok=True)
    config = {**asdict(cfg), "apps": "probe" if real is None else f"probe, {real[0]}",
              "transport": "gradio_client on 127.0.0.1", "load_average_at_start": load}
    if skipped:
        config["skipped"] = skipped
    return {"metrics": metrics, "config": config, "device": "cpu"}


def _load_round(url: str, app_id: str, args: list[Any], clients: int, jobs: int, cfg: LoadConfig) -> dict:
    """`clients` threads, each with its own client, submit `jobs` jobs one after another."""

    times: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start_all = threading.Barrier(clients)

    def client_loop() -> None:
        try:
            client = _client(url, cfg.job_timeout_s)
        except Exception as exc:  # noqa: BLE001 - a client that cannot connect fails all its jobs
            with lock:
                failures.extend([f"connect: {exc}"] * jobs)
            start_all.abort()
            return
        try:
            start_all.wait(timeout=cfg.start_timeout_s)
        except threading.BrokenBarrierError:
            pass
        for _ in range(jobs):
            t0 = time.perf_counter()
            try:
                client.submit(*args, api_name=f"/{app_id}").result(timeout=cfg.job_timeout_s)
                with lock:
                    times.append(time.perf_counter() - t0)
            except Exception as exc:  # noqa: BLE001 - counted, not raised: the check is about the server
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
        client.close()

    wall = time.perf_counter()
    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=cfg.job_timeout_s * jobs + cfg.start_timeout_s)
    wall = time.perf_counter() - wall
    if failures:
        print(f"gallery bench: {len(failures)} {app_id} job(s) failed, first: {failures[0]}", file=sys.stderr)
    ordered = sorted(times)
    return {
        "jobs_ok": len(times),
        "jobs_failed": clients * jobs - len(times),
        "p95_seconds": round(_percentile(ordered, 0.95), 3),
        "p50_seconds": round(_percentile(ordered, 0.50), 3),
        "max_seconds": round(ordered[-1], 3) if ordered else float("nan"),
        "jobs_per_second": round(len(times) / wall, 2),
    }


def _client(url: str, timeout_s: float = 120.0):
    """A gradio_client on loopback: no telemetry, patient HTTP (a busy machine is slow, not broken)."""
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, httpx_kwargs={"timeout": timeout_s})


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process from /proc (Linux); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (nan when empty)."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n q)
    return ordered[int(rank) - 1]


def _warm_fast_app(url: str) -> tuple[tuple[str, list[Any]] | None, dict[str, str]]:
    """The first fast application whose example runs (one warm-up job, untimed), and why others were skipped."""
    working, skipped = _working_fast_apps(url, first_only=True)
    return (working[0] if working else None), skipped


def _working_fast_apps(url: str, first_only: bool = False) -> tuple[list[tuple[str, list[Any]]], dict[str, str]]:
    """The fast applications whose example runs through the server (one job each), and why others fail."""

    working, skipped = [], {}
    for app_id, args in _fast_app_args():
        client = _client(url)
        try:
            client.predict(*args, api_name=f"/{app_id}")
            working.append((app_id, args))
            if first_only:
                break
        except Exception as exc:  # noqa: BLE001 - an app not working yet is the app's state, not the server's
            skipped[app_id] = f"its example failed: {exc}"
        finally:
            client.close()
    return working, skipped


def _fast_app_args() -> list[tuple[str, list[Any]]]:
    """The ready fast applications with a built-in example, and that example's arguments."""
    from gradio_client import handle_file

    from .. import registry
    from .server import availability
    from .widgets import example_rows

    apps = registry.all_apps()
    found = []
    for app_id in FAST_APPS:
        if app_id not in apps or not apps[app_id].inputs:
            continue
        hooks, _ = availability(apps[app_id])
        rows = example_rows(apps[app_id].inputs, hooks) if hooks is not None else []
        if rows:
            media = {p.name for p in apps[app_id].inputs if p.kind in ("image", "video", "file")}
            params = apps[app_id].inputs
            found.append((app_id, [handle_file(v) if p.name in media else v
                                   for p, v in zip(params, rows[0], strict=True)]))
    return found


def _bad_job_message(url: str) -> str:
    """Submit an empty message to the probe; the error that comes back must be the app's one line."""

    client = _client(url)
    try:
        client.predict("", 64, api_name="/probe")
        return "(no error)"
    except Exception as exc:  # noqa: BLE001 - gradio_client raises AppError carrying the message
        return str(exc)
    finally:
        client.close()


def _answers(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url, timeout=10, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until_up(url: str, server: subprocess.Popen, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise UserError(f"the gallery server exited with code {server.returncode} before answering:\n{tail}")
        if _answers(url):
            return
        time.sleep(0.5)
    raise UserError(f"the gallery server did not answer on {url} within {timeout_s:g} s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)  # Ctrl-C: Gradio closes cleanly and serve() removes its job folders
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_child(port: int, max_jobs: int) -> int:
    from .. import registry
    from . import probe, server

    return server.serve("127.0.0.1", port, max_jobs, apps={"probe": probe.APP, **registry.all_apps()})


METRIC_NOTES = {
    "jobs_ok": "jobs that came back with their outputs",
    "jobs_failed": "jobs that failed or timed out",
    "p95_seconds": "95th percentile, submit to result (queue wait included)",
    "p50_seconds": "median, submit to result",
    "max_seconds": "slowest job",
    "jobs_per_second": "jobs finished per second of the round",
    "server_cpu_ms_per_job": "the server process's CPU time per job",
    "bad_job_clear_message": "1: an empty message came back as the app's one line",
    "server_up_after": "1: the server still answered after the load",
}


def readme_table(records: list[dict]) -> str:
    """A Markdown table of `deepgallery bench gallery --json` records, one column per run."""
    keys = list(dict.fromkeys(k for r in records for k in r["metrics"]))
    heads = [f"{'quick' if r.get('quick') else 'full'}: {r['config']['clients']} clients x "
             f"{r['config']['jobs_per_client']} jobs" for r in records]
    lines = ["| metric | " + " | ".join(heads) + " | meaning |", "|---" * (len(records) + 2) + "|"]
    for key in keys:
        cells = [str(r["metrics"].get(key, "")) for r in records]
        note = METRIC_NOTES.get(key.split("_", 1)[1] if key.split("_", 1)[0] in FAST_APPS else key, "")
        lines.append(f"| `{key}` | " + " | ".join(cells) + f" | {note} |")
    runs = "; ".join(f"{'quick' if r.get('quick') else 'full'}: {r['date']}, {r['machine']}, "
                     f"apps {r['config']['apps']}, load average {r['config'].get('load_average_at_start')} at start, "
                     f"{r['seconds']} s" for r in records)
    return "\n".join(lines) + f"\n\nRuns ({runs}); server `--max-jobs {records[0]['config']['max_jobs']}`."


def _update_readme(paths: list[str]) -> None:
    import json

    from ..core.atomic import write_text

    records = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    readme = Path(__file__).with_name("README.md")
    text = readme.read_text(encoding="utf-8")
    begin, end = "<!-- measured:begin -->", "<!-- measured:end -->"
    head, rest = text.split(begin, 1)
    write_text(readme, head + begin + "\n" + readme_table(records) + "\n" + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        sys.exit(_serve_child(int(sys.argv[2]), int(sys.argv[3])))
    if len(sys.argv) >= 3 and sys.argv[1] == "--readme":
        sys.exit(_update_readme(sys.argv[2:]))
    print(__doc__)
    sys.exit(2)
