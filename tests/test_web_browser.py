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
from deepgallery.web import bench, probe, server  # noqa: E402
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


def test_probe_example_runs_in_the_browser(page, tmp_path):
    page.get_by_text("applications are ready here").wait_for(timeout=TIMEOUT_MS)
    _open_tab(page, "probe")
    page.get_by_text("hello gallery").last.click()  # the built-in example fills the inputs
    page.locator("#run-probe").click()
    page.locator("#status-probe").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#out-probe-shout textarea").input_value() == "HELLO GALLERY"
    image = page.locator("#out-probe-image img").first
    image.wait_for(timeout=TIMEOUT_MS)
    assert image.evaluate("img => img.complete && img.naturalWidth") == 128
    shot = _screenshot_dir(tmp_path) / "gallery-probe.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")

    # A bad input: the app's one-line message, then the same page runs the next job.
    page.locator("#in-probe-message textarea").fill("")
    page.locator("#run-probe").click()
    page.get_by_text("message: write something to draw").first.wait_for(timeout=TIMEOUT_MS)
    page.locator("#in-probe-message textarea").fill("again")
    page.locator("#run-probe").click()
    page.wait_for_function("document.querySelector('#out-probe-shout textarea').value === 'AGAIN'",
                           timeout=TIMEOUT_MS)


def _open_tab(page, name: str) -> None:
    """Click the app's tab; tabs that do not fit the bar sit in Gradio's overflow menu ("…")."""
    page.get_by_role("tab").first.wait_for(timeout=TIMEOUT_MS)
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    page.locator(".overflow-menu button").first.click()
    page.locator(".overflow-dropdown").get_by_role("button", name=name, exact=True).first.click()


def test_planned_app_says_what_to_do(page):
    _open_tab(page, "planned")
    page.get_by_text("Planned — not built yet.").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#run-planned").count() == 0


def test_uploaded_image_is_limited_and_processed(page, tmp_path):
    from PIL import Image

    Image.new("RGB", (400, 100), (200, 30, 30)).save(tmp_path / "wide.png")
    _open_tab(page, "mirror")
    page.locator("#in-mirror-photo input[type=file]").set_input_files(str(tmp_path / "wide.png"))
    page.locator("#in-mirror-photo img").first.wait_for(timeout=TIMEOUT_MS)  # the upload is in place
    page.locator("#run-mirror").click()
    page.locator("#status-mirror").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#out-mirror-size textarea").input_value() == "200x50"  # downscaled to the limit
    assert page.locator("#out-mirror-mirrored img").first.evaluate("img => img.naturalWidth") == 200


def test_long_job_shows_its_progress_bar(page):
    _open_tab(page, "counting")
    page.locator("#run-counting").click()
    page.get_by_text(re.compile(r"counting - \d+\.\d%")).first.wait_for(timeout=TIMEOUT_MS)  # the tqdm bar
    page.locator("#status-counting").get_by_text("Done in").wait_for(timeout=TIMEOUT_MS)


def test_real_fast_apps_run_their_examples(page, gallery_url, tmp_path):
    """neuralcrypto / viscoelastic / pose, each once its example runs (checked through the API first)."""
    working, skipped = bench._working_fast_apps(gallery_url)
    if not working:
        pytest.skip(f"none of {', '.join(bench.FAST_APPS)} runs its example yet: {skipped}")
    for app_id, _ in working:
        _open_tab(page, app_id)
        page.locator(f"#tab-{app_id} .gallery-item, #tab-{app_id} table tbody tr").first.click()
        for p in registry.get(app_id).inputs:  # an example's image / video must be in place before Run
            if p.kind in ("image", "video"):
                page.locator(f"#in-{app_id}-{p.name} {'img' if p.kind == 'image' else 'video'}").first.wait_for(
                    timeout=TIMEOUT_MS)
        page.locator(f"#run-{app_id}").click()
        page.locator(f"#status-{app_id}").get_by_text("Done in").wait_for(timeout=180_000)
        page.screenshot(path=str(_screenshot_dir(tmp_path) / f"gallery-{app_id}.png"), full_page=True)
