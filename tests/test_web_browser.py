"""End to end in a real browser: start the gallery, drive headless Debian Chromium with Playwright, run an
app on its built-in example, wait for the outputs and check them, see a failure's message, save a screenshot.

Needs the `playwright` Python package and /usr/bin/chromium (Debian `chromium`; never `playwright install`);
skipped with the reason when either is missing. DEEPGALLERY_CHROMIUM points at another Chromium binary;
DEEPGALLERY_SCREENSHOT_DIR keeps the screenshots (else they go to pytest's tmp folder).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("gradio")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (uses Debian chromium)")
CHROMIUM = os.environ.get("DEEPGALLERY_CHROMIUM", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM} (apt install chromium)"),
    pytest.mark.filterwarnings("ignore:::gradio.queueing"),
]

from deepgallery import registry  # noqa: E402
from deepgallery.core.app import App, Output, Param  # noqa: E402
from deepgallery.web import probe, server  # noqa: E402
from deepgallery.web.limits import Limits  # noqa: E402

PLANNED = App(id="planned", title="Planned app", paper="Someone 2030", paper_url="https://example.org", summary="-")


def _counting(steps: int) -> dict:
    """A slow app with a tqdm bar (core.runtime.progress), as the long-running applications have."""
    import time

    from deepgallery.core.runtime import progress

    for _ in progress(range(steps), desc="counting"):
        time.sleep(0.4)
    return {"counted": steps}


def _mirror(photo: str) -> dict:
    """An uploaded image, mirrored; and its size as the app saw it (after the gallery's limits)."""
    import tempfile

    from PIL import Image, ImageOps

    with Image.open(photo) as im:
        out = Path(tempfile.mkdtemp()) / "mirror.png"
        ImageOps.mirror(im.convert("RGB")).save(out)
        return {"mirrored": out, "size": f"{im.width}x{im.height}"}


sys.modules["dg_test_mirror"] = types.SimpleNamespace(predict=_mirror)
MIRROR = App(id="mirror", title="Mirror app", paper="test", paper_url="https://example.org", summary="-",
             status="built", entry="dg_test_mirror", inputs=(Param("photo", "image", "any photo"),),
             outputs=(Output("mirrored", "image"), Output("size", "text")))
sys.modules["dg_test_counting"] = types.SimpleNamespace(predict=_counting)
COUNTING = App(id="counting", title="Counting app", paper="test", paper_url="https://example.org", summary="-",
               status="built", entry="dg_test_counting", inputs=(Param("steps", "int", "", 10, minimum=1, maximum=20),),
               outputs=(Output("counted", "number"),))
TIMEOUT_MS = 60_000
NET = ("http", "https", "ws", "wss")


@pytest.fixture(scope="module")
def gallery_url():
    """The gallery from the registry (real apps as they land) plus the probe and a planned app."""
    apps = {"probe": probe.APP, "planned": PLANNED, "counting": COUNTING, "mirror": MIRROR, **registry.all_apps()}
    limits = Limits(max_image_side=200)
    demo = server.build_gallery(apps, max_jobs=1, limits=limits)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield server.launch(demo, "127.0.0.1", port, max_jobs=1, limits=limits, block=False)
    demo.close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, gallery_url):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    hosts = set()  # every network host the page asks for (data: and blob: URLs are not network requests)
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc) if urlsplit(r.url).scheme in NET else None)
    page.goto(gallery_url, wait_until="domcontentloaded")
    yield page
    assert hosts <= {urlsplit(gallery_url).netloc}, f"the page reached beyond the server: {hosts}"
    page.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DEEPGALLERY_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page, tmp_path: Path, name: str, full_page: bool = False) -> Path:
    """A screenshot, kept small (PNG, 8-bit palette) so docs/screenshots stays lean."""
    from PIL import Image

    shot = _screenshot_dir(tmp_path) / name
    page.screenshot(path=str(shot), full_page=full_page)
    with Image.open(shot) as im:
        im.convert("RGB").quantize(colors=128).save(shot, optimize=True)
    print(f"screenshot: {shot}")
    return shot


def _open_app(page, gallery_url: str, app_id: str) -> None:
    """Every application has its own URL: /ID."""
    page.goto(gallery_url + app_id, wait_until="domcontentloaded")
    page.locator(f"#page-{app_id}").wait_for(timeout=TIMEOUT_MS)


def _built_apps() -> list[str]:
    return [a.id for a in registry.all_apps().values() if a.entry is not None]


def test_landing_page_shows_a_card_per_app(page, gallery_url, tmp_path):
    from deepgallery.web import catalog

    page.locator("#dg-cards").wait_for(timeout=TIMEOUT_MS)
    for app_id in ("probe", "planned", *registry.all_apps()):
        assert page.locator(f"#card-{app_id}").count() == 1, app_id
    assert "dg-planned" in page.locator("#card-planned").get_attribute("class")  # greyed
    for app_id in _built_apps():
        if catalog.thumbnail(app_id) is not None:  # the picture is really drawn
            img = page.locator(f"#card-{app_id} img")
            assert img.evaluate("img => img.complete && img.naturalWidth") > 0, app_id
        if catalog.headline(registry.get(app_id)):
            assert "paper:" in page.locator(f"#card-{app_id}").inner_text(), app_id
    _shot(page, tmp_path, "gallery-landing.png", full_page=True)
    first = next((a for a in _built_apps() if page.locator(f"#card-{a}").count()), "probe")
    page.locator(f"#card-{first}").click()  # a card leads to the app's own page
    page.locator(f"#page-{first}").wait_for(timeout=TIMEOUT_MS)
    assert page.url.rstrip("/").endswith("/" + first)


@pytest.mark.parametrize("app_id", [a for a in ("viscoelastic", "style") if a in registry.all_apps()])
def test_app_page_shows_its_numbers(page, gallery_url, tmp_path, app_id):
    app = registry.get(app_id)
    _open_app(page, gallery_url, app_id)
    if not app.measured():
        pytest.skip(f"{app_id} has no measured.json yet")
    numbers = page.locator(f"#numbers-{app_id}")
    numbers.locator("table").first.wait_for(timeout=TIMEOUT_MS)
    text = numbers.inner_text()
    assert app.measured()["date"] in text and app.measured()["machine"] in text
    assert "paper" in text.lower() and "ours" in text.lower()
    first_metric = next(iter(app.measured()["metrics"]))
    assert first_metric in text
    page.locator(f"#readme-{app_id}").wait_for(timeout=TIMEOUT_MS)
    _shot(page, tmp_path, f"gallery-{app_id}.png", full_page=True)


def test_probe_example_runs_in_the_browser(page, gallery_url, tmp_path):
    _open_app(page, gallery_url, "probe")
    page.get_by_text("hello gallery").last.click()  # the built-in example fills the inputs
    page.locator("#run-probe").click()
    page.locator("#status-probe").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#out-probe-shout textarea").input_value() == "HELLO GALLERY"
    image = page.locator("#out-probe-image img").first
    image.wait_for(timeout=TIMEOUT_MS)
    assert image.evaluate("img => img.complete && img.naturalWidth") == 128

    # A bad input: the app's one-line message, then the same page runs the next job.
    page.locator("#in-probe-message textarea").fill("")
    page.locator("#run-probe").click()
    page.get_by_text("message: write something to draw").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#in-probe-message textarea").fill("again")
    page.locator("#run-probe").click()
    page.wait_for_function("document.querySelector('#out-probe-shout textarea').value === 'AGAIN'",
                           timeout=TIMEOUT_MS)


def test_planned_app_says_what_to_do(page, gallery_url):
    _open_app(page, gallery_url, "planned")
    page.get_by_text("Planned — not built yet.").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#run-planned").count() == 0


def test_uploaded_image_is_limited_and_processed(page, gallery_url, tmp_path):
    from PIL import Image

    Image.new("RGB", (400, 100), (200, 30, 30)).save(tmp_path / "wide.png")
    _open_app(page, gallery_url, "mirror")
    page.locator("#in-mirror-photo input[type=file]").set_input_files(str(tmp_path / "wide.png"))
    page.locator("#in-mirror-photo img").first.wait_for(timeout=TIMEOUT_MS)  # the upload is in place
    page.locator("#run-mirror").click()
    page.locator("#status-mirror").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#out-mirror-size textarea").input_value() == "200x50"  # downscaled to the limit
    assert page.locator("#out-mirror-mirrored img").first.evaluate("img => img.naturalWidth") == 200


BAD_IMAGE_MESSAGE = "fake.png: not a readable image (expected PNG, JPEG, BMP, GIF, WebP or TIFF)"


@pytest.mark.parametrize("app_id", ["mirror", *[a for a in ("deepdream", "style") if a in registry.all_apps()]])
def test_bad_upload_gets_the_command_lines_message(page, gallery_url, tmp_path, app_id, run_cli):
    """A text file renamed .png: the one line the CLI gives (with the file's name), not Gradio's bare "Error"."""
    fake = tmp_path / "fake.png"
    fake.write_text("this is not an image\n")
    if app_id != "mirror":
        from deepgallery.web.server import availability

        if availability(registry.get(app_id))[0] is None:
            pytest.skip(f"{app_id} is not available here")
        image = next(p for p in registry.get(app_id).inputs if p.kind == "image")
        flag = {"deepdream": [str(fake)], "style": ["--content", str(fake), "--method", "fast"]}[app_id]
        code, _, err = run_cli("run", app_id, *flag, "-o", str(tmp_path / "out.png"))
        assert code == 2 and err.endswith(BAD_IMAGE_MESSAGE.split(": ", 1)[1]), err  # the CLI's own line
    else:
        image = MIRROR.inputs[0]
    _open_app(page, gallery_url, app_id)
    page.locator(f"#in-{app_id}-{image.name} input[type=file]").set_input_files(str(fake))
    page.locator(f"#run-{app_id}").click()
    page.get_by_text(BAD_IMAGE_MESSAGE).first.wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_text("/tmp/").count() == 0  # no server path anywhere on the page


def test_long_job_shows_its_progress_bar(page, gallery_url):
    _open_app(page, gallery_url, "counting")
    page.locator("#run-counting").click()
    page.get_by_text(re.compile(r"counting - \d+\.\d%")).first.wait_for(timeout=TIMEOUT_MS)  # the tqdm bar
    page.locator("#status-counting").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)


@pytest.mark.slow
@pytest.mark.parametrize("app_id", _built_apps())
def test_every_built_app_runs_its_first_example(page, gallery_url, tmp_path, app_id):
    """Open the app by its URL, see its numbers table, click its first example, run it, wait for the result."""
    from deepgallery.web.server import availability

    app = registry.get(app_id)
    hooks, reason = availability(app)
    _open_app(page, gallery_url, app_id)
    if app.measured():
        page.locator(f"#numbers-{app_id} table").first.wait_for(timeout=TIMEOUT_MS)
    if hooks is None:
        page.get_by_text(reason.split("**")[1]).first.wait_for(timeout=TIMEOUT_MS)
        pytest.skip(f"{app_id}: {reason}")
    from deepgallery.web.widgets import example_rows

    rows = example_rows(app.inputs, hooks) if app.inputs else []
    if app.inputs and not rows:
        pytest.skip(f"{app_id} has no built-in example in the gallery (its entry module gives none)")
    examples = page.locator(f"#examples-{app_id} .gallery-item, #examples-{app_id} tbody tr")
    if app.inputs:  # the app has examples (example_rows above): wait until they are drawn, then take the first,
        examples.first.wait_for(timeout=TIMEOUT_MS)  # the affordable one in every app's list
        examples.first.click()
    for p, value in zip(app.inputs, rows[0] if rows else [], strict=False):  # the example's image / video must
        if p.kind in ("image", "video") and value:  # be in place before Run (an optional one it leaves empty: not)
            page.locator(f"#in-{app_id}-{p.name} {'img' if p.kind == 'image' else 'video'}").first.wait_for(
                timeout=TIMEOUT_MS)
        if p.kind == "sketch" and value:  # the pad draws the example on its canvas as a background, then settles
            page.locator(f"#in-{app_id}-{p.name} canvas").first.wait_for(timeout=TIMEOUT_MS)
            page.wait_for_timeout(1000)
    page.locator(f"#run-{app_id}").click()
    page.locator(f"#status-{app_id}").get_by_text("Done in").wait_for(timeout=600_000)
    for out in app.outputs:  # videos the app wrote play in Chromium (H.264): none reports an error
        if out.kind in ("video", "gif"):
            video = page.locator(f"#out-{app_id}-{out.name} video").first
            if video.count():
                video.wait_for(timeout=TIMEOUT_MS)
                # HAVE_METADATA (1) means the browser parsed the container and the codec: what "plays" needs to
                # prove (an unplayable codec sets v.error instead); more data may never load under preload=metadata
                page.wait_for_function("v => v.readyState >= 1 || v.error", arg=video.element_handle(),
                                       timeout=TIMEOUT_MS)
                assert video.evaluate("v => v.error === null"), f"{app_id}.{out.name} does not play"
    assert page.get_by_text("Video not playable").count() == 0
