"""The web gallery, generated from the registry: a landing page of cards, one page per application.

The landing page (``/``) has a card per application: a picture of its real output, one line on what it
does and its headline number beside the paper's; planned ones greyed. Each application's page (``/ID``)
shows its paper link and summary, inputs that fit its declared `Param`s (with
its built-in examples), a Run button, outputs that fit its `Output`s and the whole result as JSON for
download. Applications that are planned, miss an optional dependency, have no ``predict`` yet or fail
to load show what to do instead. Jobs go through one queue: at most ``max_jobs`` run at once across all tabs, the rest
wait with their position and a progress bar shown; a failing job shows one clear message and the
server stays up. Nothing here reaches the internet: analytics off, no share link, fonts served locally.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Mapping
from types import ModuleType

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio is imported: nothing phones home

import gradio as gr  # noqa: E402

from .. import registry  # noqa: E402
from ..core.app import App  # noqa: E402
from ..core.errors import UserError  # noqa: E402
from ..version import __version__  # noqa: E402
from . import catalog  # noqa: E402
from .jobs import JobDirs, failure_message, run_job  # noqa: E402
from .limits import Limits  # noqa: E402
from .widgets import example_rows, input_component, output_component  # noqa: E402

log = logging.getLogger("deepgallery.web")
CONCURRENCY_ID = "deepgallery-jobs"  # one shared pool: max_jobs is a limit for the whole server, not per tab
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
CSS = ".dg-unavailable {border-left: 4px solid #d97706; padding-left: 1em}" + catalog.CARD_CSS


def availability(app: App) -> tuple[ModuleType | None, str]:
    """(entry module, "") when the app can run here, else (None, a Markdown line saying what to do)."""
    if app.entry is None:
        return None, ("**Planned — not built yet.** `deepgallery list` shows which applications are ready; "
                      "the paper is linked above.")
    try:
        hooks = app.hooks()
    except UserError as exc:  # a missing optional dependency: the message names the pip extra
        return None, f"**Not available on this machine:** {exc}"
    except Exception as exc:  # noqa: BLE001 - a broken app must not take the gallery down
        log.warning("loading %s failed: %s: %s", app.id, type(exc).__name__, exc)
        return None, f"**Could not be loaded** ({type(exc).__name__}: {exc}). Try `deepgallery info {app.id}`."
    if not callable(getattr(hooks, "predict", None)):
        return None, (f"**No web demo yet.** Run it from the command line: `deepgallery run {app.id} --help`.")
    try:  # a rehearsal in a scratch page: a declaration Gradio rejects costs this tab, not the gallery
        with gr.Blocks():
            _app_panel(app, hooks, 1, Limits(), None)
    except Exception as exc:  # noqa: BLE001
        log.warning("page of %s left out: %s: %s", app.id, type(exc).__name__, exc)
        return None, f"**Its page could not be built** ({type(exc).__name__}: {exc}). Try `deepgallery run {app.id}`."
    return hooks, ""


def build_gallery(apps: Mapping[str, App] | None = None, max_jobs: int = 1, limits: Limits | None = None,
                  dirs: JobDirs | None = None) -> gr.Blocks:
    """The Gradio Blocks app: a landing page of cards at ``/``, and one page per application at ``/ID``.

    Pages (``gr.Blocks.route``) rather than tabs: nineteen tabs overflow a bar, while a grid of cards scales and
    every application has its own URL to share. Ready applications come first, planned ones last (greyed).
    """
    apps = registry.all_apps() if apps is None else apps
    limits = limits or Limits()
    dirs = dirs or JobDirs()
    checked = [(app, *availability(app)) for app in apps.values()]
    checked.sort(key=lambda item: (item[0].entry is None, item[1] is None))  # stable: registry order within
    with gr.Blocks(title="deepgallery", analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        gr.Navbar(visible=False)  # the cards are the navigation; each page links back
        gr.Markdown(f"# deepgallery {__version__}\nLandmark deep-learning applications, each one live on your "
                    "input. Pick a card; every job runs on this machine.", elem_id="dg-landing")
        gr.HTML(_cards(checked))
        gr.Markdown(_overview(checked, max_jobs, limits), elem_classes=["dg-section"])
    for app, hooks, reason in checked:
        with demo.route(app.title, app.id, show_in_navbar=False):
            gr.Navbar(visible=False)
            gr.Markdown(_header(app), elem_id=f"page-{app.id}")
            if hooks is None:
                gr.Markdown(reason, elem_classes=["dg-unavailable"])
            else:
                _app_panel(app, hooks, max_jobs, limits, dirs)
            _numbers(app)
    return demo


def _cards(checked: list[tuple[App, ModuleType | None, str]]) -> str:
    cards = []
    for app, hooks, reason in checked:
        state = "planned" if app.entry is None else "ready" if hooks is not None else "unavailable"
        note = reason.replace("**", "").replace("`", "") if state == "unavailable" else ""
        cards.append(catalog.card_html(app, state, note))
    return '<div class="dg-grid" id="dg-cards">' + "".join(cards) + "</div>"


def _header(app: App) -> str:
    install = f" · needs `pip install 'deepgallery[{app.extra}]'`" if app.extra else ""
    return (f"[← all applications](./)\n## {app.title}\n[{app.paper}]({app.paper_url}) · command line: "
            f"`deepgallery run {app.id}`{install} · [README](#readme-{app.id})\n\n{app.summary}")


def _numbers(app: App) -> None:
    """The app's numbers (paper / peer / ours, from its README and measured.json) and its README."""
    table = catalog.numbers_markdown(app)
    when = catalog.measured_on(app)
    if table:
        gr.Markdown(f"### Numbers: paper, peer, ours\nMeasured {when} by `deepgallery bench {app.id} --save`; "
                    f"the README explains each one.\n\n{table}" if when else f"### Numbers\n\n{table}",
                    elem_id=f"numbers-{app.id}", elem_classes=["dg-section"])
    elif app.entry is not None:
        gr.Markdown(f"### Numbers\nNot measured yet: `deepgallery bench {app.id} --save` writes them.",
                    elem_id=f"numbers-{app.id}", elem_classes=["dg-section"])
    readme = catalog.readme_markdown(app)
    if readme:
        with gr.Accordion(f"README of {app.id}", open=False, elem_id=f"readme-{app.id}"):
            gr.Markdown(readme)


def _overview(checked: list[tuple[App, ModuleType | None, str]], max_jobs: int, limits: Limits) -> str:
    ready = sum(h is not None for _, h, _ in checked)
    return (f"{ready} of {len(checked)} applications are ready here. At most {max_jobs} job(s) run at once; "
            f"the others wait in a queue. Limits: {limits.describe()}. Numbers: each card shows one measured "
            "number beside the paper's; each page shows the full table.")


def _app_panel(app: App, hooks: ModuleType, max_jobs: int, limits: Limits, dirs: JobDirs | None) -> None:
    with gr.Row():
        with gr.Column():
            inputs = [input_component(p, f"in-{app.id}-{p.name}") for p in app.inputs]
            run = gr.Button("Run", variant="primary", elem_id=f"run-{app.id}")
            rows = _examples(app, hooks)
            if rows:
                gr.Examples(rows, inputs, label="Examples: click one, then Run", cache_examples=False,
                            elem_id=f"examples-{app.id}")
        with gr.Column():
            outputs = [output_component(out, f"out-{app.id}-{out.name}") for out in app.outputs]
            status = gr.Markdown(elem_id=f"status-{app.id}")
            record = gr.File(label="the whole result (JSON)", interactive=False)
    run.click(_handler(app, hooks.predict, limits, dirs), inputs, [*outputs, record, status], api_name=app.id,
              concurrency_limit=max_jobs, concurrency_id=CONCURRENCY_ID)


def _examples(app: App, hooks: ModuleType) -> list[list]:
    if not app.inputs:
        return []
    try:
        return example_rows(app.inputs, hooks)
    except Exception as exc:  # noqa: BLE001 - a bad example list costs the examples, not the gallery
        log.warning("examples of %s left out: %s: %s", app.id, type(exc).__name__, exc)
        return []


def _handler(app: App, predict, limits: Limits, dirs: JobDirs):
    """The Gradio callback for one app: a queued job with a progress bar; failures become one clear line.

    Its signature names the app's inputs and then a `gr.Progress(track_tqdm=True)` default, the way Gradio
    finds the progress tracker: tqdm bars inside ``predict`` (``core.runtime.progress``) then show in the page.
    """

    def handler(*args):
        *values, progress = args
        progress(0.0, desc=f"{app.title}: running")
        try:
            job = run_job(app, predict, values, limits, dirs.new())
        except Exception as exc:  # noqa: BLE001 - any failure is reported; the server stays up
            if not isinstance(exc, UserError):
                log.error("job for %s failed", app.id, exc_info=exc)
            raise gr.Error(failure_message(app, exc), title=app.title, duration=None, print_exception=False) from None
        notes = [str(v) for v in job.record.get("extra", {}).values() if isinstance(v, str)]
        return [*job.values, str(job.record_path), "\n\n".join([f"Done in {job.seconds:.1f} s.", *notes])]

    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    handler.__signature__ = inspect.Signature(
        [inspect.Parameter(p.name, positional) for p in app.inputs]
        + [inspect.Parameter("gallery_progress", positional, default=gr.Progress(track_tqdm=True))])
    return handler


def _patient_url_ok(url: str, wait_s: float = 60.0) -> bool:
    """Gradio's own check gives up after one 3-second timeout, which a busy machine (a first page render
    under load) can exceed: then it refuses to start without a share link. Here: retry for up to a minute."""
    import httpx

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if httpx.head(url, timeout=10, trust_env=False).status_code < 400:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def launch(demo: gr.Blocks, host: str, port: int, max_jobs: int, limits: Limits, block: bool = True) -> str:
    """Queue and start the server; returns its local URL (blocks until Ctrl-C when `block`)."""
    gr.networking.url_ok = _patient_url_ok  # see there; we never ask for a share link
    demo.queue(default_concurrency_limit=max_jobs, max_size=limits.queue_size)
    demo.launch(server_name=host, server_port=port, share=False, inbrowser=False, show_error=False,
                max_file_size=f"{limits.max_upload_mb}mb", ssr_mode=False, mcp_server=False,
                enable_monitoring=False, run_history=False, prevent_thread_lock=not block, quiet=True, css=CSS)
    return demo.local_url


def serve(host: str = "127.0.0.1", port: int = 7860, max_jobs: int = 1, apps: Mapping[str, App] | None = None,
          limits: Limits | None = None) -> int:
    """`deepgallery serve`: the gallery on http://HOST:PORT until Ctrl-C."""
    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    if max_jobs < 1:
        raise UserError(f"--max-jobs must be at least 1, got {max_jobs}")
    cpus = _cpu_count()
    if max_jobs > cpus:
        print(f"deepgallery: --max-jobs {max_jobs} is more than this machine's {cpus} CPU cores; using {cpus}")
        max_jobs = cpus
    limits = limits or Limits.from_env()
    _log_to_stderr()
    _share_threads(max_jobs, cpus)
    if host not in LOCAL_HOSTS:
        print(f"deepgallery: listening on {host}: anyone who can reach this address can run jobs here")
    dirs = JobDirs()
    demo = build_gallery(apps, max_jobs, limits, dirs)
    shown = f"[{host}]" if ":" in host else host
    print(f"deepgallery gallery on http://{shown}:{port}/ — {max_jobs} job(s) at once; {limits.describe()}. "
          "Ctrl-C stops it.", flush=True)
    try:
        launch(demo, host, port, max_jobs, limits, block=True)
    except OSError:
        raise UserError(f"cannot listen on {host}:{port}: the port is taken or the address is not this machine's; "
                        "pick another with --port / --host") from None
    finally:
        dirs.cleanup()
    return 0


def _log_to_stderr() -> None:
    """Failed jobs' tracebacks and apps that could not load go to stderr, with a time stamp."""
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


def _share_threads(max_jobs: int, cpus: int) -> None:
    """Jobs running side by side share the cores instead of each taking all of them."""
    if max_jobs > 1:
        import torch

        torch.set_num_threads(max(1, cpus // max_jobs))


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
