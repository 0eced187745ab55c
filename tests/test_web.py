"""The web gallery: widgets fit the declared kinds, inputs are checked, outputs shaped, and a live server
(gradio_client on loopback) runs jobs, reports failures as one line, stays up and never runs more jobs at
once than --max-jobs. Fake applications are registered here; the real ones join as they land."""

from __future__ import annotations

import html
import json
import socket
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest

gr = pytest.importorskip("gradio")
pytestmark = pytest.mark.filterwarnings("ignore:::gradio.queueing")  # Gradio's own pandas deprecations

from deepgallery import cli, registry  # noqa: E402
from deepgallery.core.app import App, Headline, Output, Param  # noqa: E402
from deepgallery.core.errors import UserError  # noqa: E402
from deepgallery.web import bench, catalog, jobs, probe, server, widgets  # noqa: E402
from deepgallery.web.limits import Limits  # noqa: E402

# ------------------------------------------------------------------------------------------ fake apps


def _module(name: str, **attrs) -> str:
    """Register an importable module `name` holding `attrs` (the entry module of a fake app)."""
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return name


class Gate:
    """Counts jobs running at the same time, across every fake app that shares it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def predict(self, seconds: float) -> dict:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(seconds)
        with self.lock:
            self.running -= 1
        return {"slept": seconds}


GATE = Gate()


def _crash(message: str) -> dict:
    if message == "bad":
        raise UserError("message: 'bad' is not allowed, try another word")
    raise RuntimeError("boom")


SLOW = tuple(App(id=f"slow{i}", title=f"Slow {i}", paper="test", paper_url="https://example.org", summary="sleeps",
                 status="built", entry=_module(f"dg_test_slow{i}", predict=GATE.predict),
                 inputs=(Param("seconds", "float", "how long", default=0.3, minimum=0.0, maximum=5.0),),
                 outputs=(Output("slept", "number"),)) for i in (1, 2))
CRASH = App(id="crash", title="Crashing app", paper="test", paper_url="https://example.org", summary="fails",
            status="built", entry=_module("dg_test_crash", predict=_crash),
            inputs=(Param("message", "text", "anything", default="x"),), outputs=(Output("never", "text"),))
def _halve(clip: str) -> dict:
    """Video in, every frame at half size out as a GIF (the gallery shows it as MP4)."""
    import tempfile

    from deepgallery.core.media import read_video, write_video

    frames = [f[::2, ::2] for _, _, f in read_video(clip)]  # (H/2, W/2, 3)
    return {"half": write_video(Path(tempfile.mkdtemp()) / "half.gif", frames, fps=5.0), "frames": len(frames)}


CLIP = App(id="clip", title="Video app", paper="test", paper_url="https://example.org", summary="halves a video",
           status="built", entry=_module("dg_test_clip", predict=_halve), inputs=(Param("clip", "video", ""),),
           outputs=(Output("half", "video"), Output("frames", "number")))
PLANNED = App(id="planned", title="Planned app", paper="Someone 2030", paper_url="https://example.org",
              summary="not yet")
MISSING = App(id="missing", title="Needs a package", paper="test", paper_url="https://example.org",
              summary="needs a package", status="built", extra="science",
              entry="dg_test_missing_dep_entry")  # written by the fixture below: imports an absent package
NO_PREDICT = App(id="nopredict", title="CLI only", paper="test", paper_url="https://example.org", summary="cli",
                 status="built", entry=_module("dg_test_nopredict", run=lambda args: 0))
BAD_PAGE = App(id="badpage", title="Bad declaration", paper="test", paper_url="https://example.org", summary="-",
               status="built", entry=_module("dg_test_badpage", predict=lambda k: {}),
               inputs=(Param("k", "int", "", 5, minimum=10, maximum=1),))  # Gradio refuses the slider
BROKEN = App(id="broken", title="Broken app", paper="test", paper_url="https://example.org", summary="raises",
             status="built", entry="dg_test_broken_entry")
FAKE_APPS = {a.id: a for a in (probe.APP, *SLOW, CRASH, PLANNED, MISSING, NO_PREDICT, BROKEN, BAD_PAGE)}


@pytest.fixture(autouse=True)
def _failing_imports(monkeypatch, tmp_path):
    """MISSING's entry needs an absent package; BROKEN's entry raises while importing."""
    (tmp_path / "dg_test_missing_dep_entry.py").write_text("import surely_not_installed_pkg\n")
    (tmp_path / "dg_test_broken_entry.py").write_text("raise RuntimeError('half-written app')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dg_test_missing_dep_entry", raising=False)
    monkeypatch.delitem(sys.modules, "dg_test_broken_entry", raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -------------------------------------------------------------------------------------- widgets, inputs


def test_input_and_output_widgets_fit_the_declared_kinds():
    cases = {
        Param("a", "image", ""): gr.Image, Param("b", "video", ""): gr.Video, Param("c", "text", ""): gr.Textbox,
        Param("d", "int", "", 3, minimum=1, maximum=9): gr.Slider, Param("e", "float", "", 0.5): gr.Number,
        Param("f", "choice", "", "x", choices=("x", "y")): gr.Radio, Param("h", "bool", "", True): gr.Checkbox,
        Param("g", "choice", "", "1", choices=tuple("12345")): gr.Dropdown, Param("i", "file", ""): gr.File,
        Param("v", "float", "", 1e19, minimum=1e16, maximum=1e24): gr.Textbox,  # shown as 1e+19
    }
    with gr.Blocks():
        for param, kind in cases.items():
            assert type(widgets.input_component(param)) is kind, param
        image = widgets.input_component(Param("a", "image", ""))
        assert set(image.sources) >= {"upload", "webcam"}
        shown = {k: type(widgets.output_component(Output("o", k))) for k in
                 ("image", "plot", "video", "gallery", "table", "json", "text", "number", "file", "weird")}
    assert shown == {"image": gr.Image, "plot": gr.Image, "video": gr.Video, "gallery": gr.Gallery,
                     "table": gr.Dataframe, "json": gr.JSON, "text": gr.Textbox, "number": gr.Number,
                     "file": gr.File, "weird": gr.JSON}


def test_inputs_are_checked_and_coerced(tmp_path):
    limits = Limits(max_image_side=100, max_image_pixels=1_000_000, max_text_chars=10)
    params = (Param("n", "int", "", 2, minimum=1, maximum=5), Param("x", "float", "", 0.5),
              Param("c", "choice", "", 3, choices=(3, 5)), Param("t", "text", ""), Param("b", "bool", ""))
    assert jobs.prepare_inputs(params, [3.6, "1e-3", "5", None, 1], limits, tmp_path) == \
        {"n": 4, "x": 0.001, "c": 5, "t": "", "b": True}
    for bad in ([9, 0.5, 3, "", False], [2, "nan", 3, "", False], [2, 0.5, 4, "", False], [2, 0.5, 3, "x" * 11, 0]):
        with pytest.raises(UserError):
            jobs.prepare_inputs(params, bad, limits, tmp_path)
    image = Param("photo", "image", "")
    with pytest.raises(UserError, match="photo: give an image"):
        jobs.coerce_input(image, None, limits, tmp_path)
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(UserError, match="not a readable image"):
        jobs.coerce_input(image, str(tmp_path / "junk.png"), limits, tmp_path)
    from PIL import Image

    Image.new("RGB", (300, 200)).save(tmp_path / "big.png")
    small = jobs.coerce_input(image, {"path": str(tmp_path / "big.png")}, limits, tmp_path)
    assert Image.open(small).size == (100, 67)  # longer side to the limit, aspect kept
    Image.new("RGB", (80, 60)).save(tmp_path / "ok.png")
    assert jobs.coerce_input(image, str(tmp_path / "ok.png"), limits, tmp_path) == str(tmp_path / "ok.png")
    Image.new("L", (1100, 1000)).save(tmp_path / "huge.png")
    with pytest.raises(UserError, match="over the gallery's limit"):
        jobs.coerce_input(image, str(tmp_path / "huge.png"), limits, tmp_path)


def test_sketch_points_and_strokes_arrive_as_the_hooks_expect(tmp_path):
    limits = Limits(max_image_side=100, max_image_pixels=1_000_000, max_text_chars=10)
    sketch = Param("edges", "sketch", "")
    drawn = np.zeros((50, 60, 3), np.uint8)
    drawn[10:20, 5:50] = 255
    path = jobs.coerce_input(sketch, {"composite": drawn, "layers": []}, limits, tmp_path)
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), drawn)  # the drawing, as a PNG file
    with pytest.raises(UserError, match="edges: draw something first"):
        jobs.coerce_input(sketch, None, limits, tmp_path)
    assert jobs.coerce_input(Param("hints", "points", ""), "3,4,#f00", limits, tmp_path) == "3,4,#f00"
    with pytest.raises(UserError, match="up to 10"):
        jobs.coerce_input(Param("hints", "points", ""), "1,1;" * 5, limits, tmp_path)
    Image.new("RGB", (400, 200)).save(tmp_path / "wide.png")  # downscaled to 100x50: clicked points follow it
    params = (Param("photo", "image", ""), Param("hints", "points", ""))
    kwargs = jobs.prepare_inputs(params, [str(tmp_path / "wide.png"), "200,100,#f00;x"],
                                 Limits(max_image_side=100, max_image_pixels=1_000_000), tmp_path)
    assert Image.open(kwargs["photo"]).size == (100, 50) and kwargs["hints"] == "50,25,#f00;x"
    strokes = "[[[1, 2, 0.0], [3, 4, 0.01]]]" * 10  # a written line is longer than a text field's limit
    assert jobs.coerce_input(Param("pen", "strokes", ""), strokes, limits, tmp_path) == strokes


def test_video_over_the_limits_is_refused(tmp_path):
    from deepgallery.core.media import write_video

    frames = [np.full((64, 96, 3), i * 20, np.uint8) for i in range(10)]
    path = str(write_video(tmp_path / "clip.mp4", frames, fps=5.0))  # 96x64, 2 s
    video = Param("clip", "video", "")
    assert jobs.coerce_input(video, path, Limits(), tmp_path) == path
    with pytest.raises(UserError, match="up to 64 px"):
        jobs.coerce_input(video, path, Limits(max_video_side=64), tmp_path)
    with pytest.raises(UserError, match="up to 1 s"):
        jobs.coerce_input(video, path, Limits(max_video_seconds=1), tmp_path)


def test_outputs_are_shaped_for_their_widgets(tmp_path, monkeypatch):
    from PIL import Image

    outside = tmp_path / "outside"
    outside.mkdir()
    Image.new("RGB", (10, 10), (255, 0, 0)).save(outside / "red.png")
    frames = [Image.new("RGB", (11, 9), (i * 60, 0, 0)) for i in range(4)]
    frames[0].save(outside / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (outside / "data.json").write_text('{"k": [1, 2]}')
    workdir = tmp_path / "job"
    workdir.mkdir()
    monkeypatch.setattr(jobs.tempfile, "gettempdir", lambda: str(workdir))  # "outside" is not servable

    image = jobs.present_output(Output("o", "image"), outside / "red.png", workdir)
    assert Path(image).parent == workdir and Path(image).read_bytes() == (outside / "red.png").read_bytes()
    video = jobs.present_output(Output("o", "video"), outside / "anim.gif", workdir)
    assert video.endswith(".mp4") and Path(video).stat().st_size > 0  # GIF re-encoded for <video>
    array = jobs.present_output(Output("o", "plot"), np.zeros((5, 6, 3), np.uint8), workdir)
    assert Image.open(array).size == (6, 5)
    table = jobs.present_output(Output("o", "table"), [{"a": 1, "b": 2}, {"a": 3, "b": 4}], workdir)
    assert list(table.columns) == ["a", "b"] and table.shape == (2, 2)
    assert jobs.present_output(Output("o", "json"), outside / "data.json", workdir) == {"k": [1, 2]}
    assert jobs.present_output(Output("o", "json"), {"x": np.float32(0.5), "p": Path("/a/b.png")}, workdir) == \
        {"x": 0.5, "p": "b.png"}
    assert jobs.present_output(Output("o", "text"), ["a", "b"], workdir) == "a\nb"
    assert jobs.present_output(Output("o", "text"), None, workdir) is None
    with pytest.raises(FileNotFoundError):
        jobs.present_output(Output("o", "image"), outside / "gone.png", workdir)


def test_examples_come_from_the_app(tmp_path):
    from PIL import Image

    (tmp_path / "examples").mkdir()
    for name in ("b.jpg", "a.png"):
        Image.new("RGB", (8, 8)).save(tmp_path / "examples" / name)
    (tmp_path / "examples" / "notes.json").write_text("{}")
    params = (Param("photo", "image", ""), Param("k", "int", "", 3), Param("start", "image", ""))

    def predict(photo, k, start=None):
        return {}

    hooks = types.SimpleNamespace(__file__=str(tmp_path / "entry.py"), predict=predict)
    files = [str(tmp_path / "examples" / n) for n in ("a.png", "b.jpg")]  # sorted, images only
    assert widgets.example_rows(params, hooks) == [[f, 3, None] for f in files]
    hooks.WEB_EXAMPLES = [{"photo": tmp_path / "examples" / "a.png", "k": 5}, {"k": 1}, "junk"]
    assert widgets.example_rows(params, hooks) == [[str(tmp_path / "examples" / "a.png"), 5, None]]
    text_only = (Param("msg", "text", "", "hi"), Param("n", "int", "", None))
    assert widgets.example_rows(text_only, types.SimpleNamespace(predict=predict)) == []  # n has no value


def _pages(demo) -> list[str]:
    return [path for path, _, _ in demo.config["pages"]]


def test_the_real_registry_builds():
    """Every application of the registry gets a page at /ID, whatever state its code is in right now; every
    built one with a measured.json shows its numbers and its card shows its headline beside the paper's."""
    apps = registry.all_apps()
    demo = server.build_gallery(apps)
    assert set(apps) <= set(_pages(demo)) and _pages(demo)[0] == ""
    text = json.dumps(demo.config, ensure_ascii=False)
    for app in apps.values():
        assert f'id=\\"card-{app.id}\\"' in text, app.id
        if app.entry is not None and app.measured():
            assert f"numbers-{app.id}" in text and app.measured()["date"] in text, app.id
        if app.headline is not None and app.measured():
            ours, label, paper = catalog.headline(app)
            assert html.escape(label) in text and html.escape(f"paper: {paper}") in text, app.id


def test_catalog_reads_numbers_from_measured_json(tmp_path, monkeypatch):
    """The card's number is measured.json's, never typed; the page's table comes from the README block."""
    from deepgallery.core import app as app_module

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "measured.json").write_text(json.dumps(
        {"app": "demo", "metrics": {"speedup": 123.4, "n": 3}, "date": "2030-01-02", "machine": "m1, 2 cores"}))
    (tmp_path / "demo" / "README.md").write_text(
        "# demo\n\n## Numbers\n\n| | paper | ours |\n|---|---|---|\n| speed | 500x | `speedup` |\n\n"
        "| old run | x |\n|---|---|\n| 1 | 2 |\n\n<!-- measured:begin -->\n| metric | ours |\n|---|---|\n"
        "| `speedup` | 123.4 |\n<!-- measured:end -->\n\n## Next\n| not | this |\n")
    monkeypatch.setattr(app_module, "APPS_DIR", tmp_path)
    demo = App(id="demo", title="Demo", paper="p", paper_url="https://example.org", summary="Does it. More.",
               status="built", entry="x", headline=Headline("speedup", "speed-up", "≈ 500×", "{:.0f}×"))
    assert catalog.headline(demo) == ("123×", "speed-up", "≈ 500×")
    assert catalog.measured_on(demo) == "2030-01-02 on m1, 2 cores (full budget)"
    table = catalog.numbers_markdown(demo)
    assert "| speed | 500x | `speedup` |" in table and "| `speedup` | 123.4 |" in table
    assert "old run" not in table and "not | this" not in table  # only paper/peer/ours tables and the block
    (tmp_path / "demo" / "README.md").write_text("# demo\n")  # no block: built from measured.json
    assert catalog.numbers_markdown(demo) == "| metric | ours |\n|---|---|\n| `speedup` | 123.4 |\n| `n` | 3 |"
    card = catalog.card_html(demo, "ready")
    assert 'href="demo"' in card and "123×" in card and "paper: ≈ 500×" in card and "Does it." in card
    assert "More." not in card and "planned" in catalog.card_html(demo, "planned")
    for app in registry.all_apps().values():  # every headline names a metric its app really measures
        measured = app.measured()
        assert app.headline is None or not measured or app.headline.metric in measured["metrics"], app.id


def test_thumbnails_are_small_and_shipped_for_built_apps():
    from PIL import Image

    for app in registry.all_apps().values():
        path = catalog.thumbnail(app.id)
        if app.status == "built":
            assert app.headline is not None, f"{app.id}: App(headline=...) names the card's number"
            assert path is not None, f"no thumbnail for {app.id}: python tools/gallery_thumbnails.py"
        if path is not None:
            assert path.stat().st_size <= 40_000, path
            with Image.open(path) as im:
                assert max(im.size) <= 320, path


def test_run_job_writes_the_whole_result_as_json(tmp_path):
    job = jobs.run_job(probe.APP, probe.predict, ["hi", 64], Limits(), tmp_path)
    assert job.values[1] == "HI" and job.values[2] == {"characters": 2, "size": 64}
    record = json.loads(job.record_path.read_text())
    assert record["app"] == "probe" and record["inputs"] == {"message": "hi", "size": 64}
    assert record["outputs"]["shout"] == "HI" and record["outputs"]["image"].endswith(".png")
    assert "failed unexpectedly (RuntimeError: boom)" in jobs.failure_message(CRASH, RuntimeError("boom"))
    assert jobs.failure_message(CRASH, UserError("one clear line")) == "one clear line"


def test_every_app_gets_a_tab_and_unavailable_ones_say_what_to_do(monkeypatch):
    monkeypatch.setattr(registry, "all_apps", lambda: FAKE_APPS)
    demo = server.build_gallery()  # from the (patched) registry
    text = json.dumps(demo.config, ensure_ascii=False)
    pages = _pages(demo)
    assert pages[0] == "" and set(pages[1:]) == set(FAKE_APPS)  # the landing page, then one page per app
    assert pages.index("probe") < pages.index("missing") < pages.index("planned")  # ready, unavailable, planned
    assert "dg-card dg-planned" in text and "dg-card dg-unavailable" in text
    assert "Planned" in text and "not built yet" in text
    assert "pip install 'deepgallery[science]'" in text and "surely_not_installed_pkg" in text
    assert "deepgallery run nopredict --help" in text
    assert "Could not be loaded" in text and "half-written app" in text
    assert "could not be built" in text
    assert "https://example.org" in text and "hello gallery" in text  # paper link, probe's example
    api = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"probe", "slow1", "slow2", "crash"} <= api and "planned" not in api


def test_serve_refuses_bad_settings(monkeypatch, capsys):
    with pytest.raises(UserError, match="max-jobs"):
        server.serve(max_jobs=0)
    with pytest.raises(UserError, match="port"):
        server.serve(port=70000)
    assert cli.main(["serve", "--max-jobs", "0"]) == 2
    assert "--max-jobs must be at least 1" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match="pick another with --port"):
            server.serve("127.0.0.1", port, 1, apps={"probe": probe.APP})


# ---------------------------------------------------------------------------------------- live server


@pytest.fixture(scope="module")
def live():
    """The gallery on a loopback port with max_jobs=1, the fake apps and a 1 MB upload limit."""
    limits = Limits(max_upload_mb=1)
    demo = server.build_gallery({a.id: a for a in (probe.APP, *SLOW, CRASH, CLIP)}, max_jobs=1, limits=limits)
    url = server.launch(demo, "127.0.0.1", _free_port(), max_jobs=1, limits=limits, block=False)
    assert url.startswith("http://127.0.0.1:")
    yield url
    demo.close()


def test_live_server_runs_jobs_and_survives_failures(live):
    from gradio_client import Client

    client = Client(live, verbose=False)
    image, shout, stats, record, status = client.predict("hello", 96, api_name="/probe")
    from PIL import Image

    assert Image.open(image).size == (96, 96) and shout == "HELLO" and stats == {"characters": 5, "size": 96}
    assert json.loads(Path(record).read_text())["outputs"]["shout"] == "HELLO" and status.startswith("Done in")
    with pytest.raises(Exception, match="^message: 'bad' is not allowed, try another word$"):
        client.predict("bad", api_name="/crash")
    with pytest.raises(Exception, match=r"Crashing app failed unexpectedly \(RuntimeError: boom\)"):
        client.predict("other", api_name="/crash")
    with pytest.raises(Exception, match="message: write something to draw"):
        client.predict("   ", 64, api_name="/probe")
    assert client.predict("still up", 32, api_name="/probe")[1] == "STILL UP"
    client.close()


def test_live_server_takes_a_video_and_shows_a_gif_as_mp4(live, tmp_path):
    import imageio.v2 as iio
    from gradio_client import Client, handle_file

    from deepgallery.core.media import write_video

    source = write_video(tmp_path / "in.mp4", [np.full((64, 96, 3), 25 * i, np.uint8) for i in range(8)], fps=5.0)
    client = Client(live, verbose=False)
    half, frames, _, _ = client.predict(handle_file(str(source)), api_name="/clip")
    client.close()
    assert frames == 8 and half.endswith(".mp4")
    reader = iio.get_reader(half, format="FFMPEG")
    assert reader.get_meta_data()["size"] == (48, 32)
    reader.close()


def test_live_server_never_runs_more_jobs_than_max_jobs(live):
    """Six jobs on two apps, submitted at once: with --max-jobs 1 they run one after another."""
    from gradio_client import Client

    clients = [Client(live, verbose=False) for _ in range(3)]
    GATE.peak = 0
    pending = [c.submit(0.2, api_name=f"/slow{1 + i % 2}") for i, c in enumerate(clients * 2)]
    assert [p.result(timeout=60)[0] for p in pending] == [0.2] * 6
    assert GATE.peak == 1
    for c in clients:
        c.close()


def test_live_server_refuses_oversized_uploads(live):
    import httpx

    small = httpx.post(f"{live}gradio_api/upload", files={"files": ("a.bin", b"x" * 1000)}, trust_env=False)
    big = httpx.post(f"{live}gradio_api/upload", files={"files": ("b.bin", b"x" * 2_000_000)}, trust_env=False)
    assert small.status_code == 200 and big.status_code == 413


def test_load_round_counts_jobs(live):
    stats = bench._load_round(live, "probe", ["load", 32], clients=3, jobs=2, cfg=bench.QUICK)
    assert stats["jobs_ok"] == 6 and stats["jobs_failed"] == 0 and stats["p95_seconds"] >= stats["p50_seconds"] > 0
    failing = bench._load_round(live, "probe", ["", 32], clients=2, jobs=1, cfg=bench.QUICK)
    assert failing["jobs_ok"] == 0 and failing["jobs_failed"] == 2
    assert bench._bad_job_message(live) == "message: write something to draw"
    assert bench._percentile([1.0, 2.0, 3.0, 4.0], 0.95) == 4.0 and bench._percentile([1.0, 2.0], 0.5) == 1.0
