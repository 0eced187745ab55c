"""What the gallery says about each application beyond its `App` record: its card and its numbers.

- a thumbnail of its real output on its built-in example (``thumbnails/ID.jpg``, made once by the
  maintainer script ``tools/gallery_thumbnails.py`` from ``deepgallery demo`` outputs);
- its headline number: the metric of its ``measured.json`` that its `App(headline=...)` names, and the
  paper's figure beside it (the value itself is always read from ``measured.json``, written by ``deepgallery bench ID
  --save``; nothing here is a measured number);
- its numbers section for its page: the README's tables of that section (paper / peer / ours) and its
  generated measured block, with the date and machine of the run.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from ..core.app import App

THUMBNAILS = Path(__file__).with_name("thumbnails")
THUMBNAIL_SUFFIXES = (".jpg", ".png", ".webp")  # .jpg: what the package data ships




def thumbnail(app_id: str) -> Path | None:
    for suffix in THUMBNAIL_SUFFIXES:
        path = THUMBNAILS / f"{app_id}{suffix}"
        if path.is_file():
            return path
    return None


def thumbnail_uri(app_id: str) -> str | None:
    """The thumbnail as a data: URI (a few kB), so the landing page needs no file route."""
    path = thumbnail(app_id)
    if path is None:
        return None
    mime = {".webp": "image/webp", ".jpg": "image/jpeg", ".png": "image/png"}[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def headline(app: App) -> tuple[str, str, str] | None:
    """(our value, its label, the paper's figure) from measured.json; None without one."""
    spec = app.headline
    if spec is None:
        return None
    value = _measured(app).get("metrics", {}).get(spec.metric)
    if not isinstance(value, (int, float)):
        return None
    return spec.fmt.format(value), spec.label, spec.paper


def measured_on(app: App) -> str | None:
    """"2026-11-25 on x86_64, 2 cores, cpu (full budget)" from measured.json, or None."""
    record = _measured(app)
    if not record:
        return None
    budget = "`--quick` budget" if record.get("quick") else "full budget"
    return f"{record.get('date', '?')} on {record.get('machine', '?')} ({budget})"


def numbers_markdown(app: App) -> str | None:
    """The README's numbers: the paper / peer / ours tables of the section holding the measured block, then
    the block itself.

    Built from measured.json when the README has no block (a plain metric / value table).
    """
    readme = app.folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    match = re.search(r"<!-- measured:begin -->\n(.*?)<!-- measured:end -->", text, re.S)
    if match is None or not match.group(1).strip():
        record = _measured(app)
        if not record.get("metrics"):
            return None
        rows = [f"| `{k}` | {_number(v)} |" for k, v in record["metrics"].items()]
        return "| metric | ours |\n|---|---|\n" + "\n".join(rows)
    section_start = text.rfind("\n## ", 0, match.start()) + 1
    before = text[section_start:match.start()]
    tables = [block.strip() for block in re.split(r"\n(?!\|)[^\n]*", "\n" + before) if block.strip().startswith("|")]
    compared = [t for t in tables if re.search(r"paper|peer|ours", t.split("\n", 1)[0], re.I)]  # not history tables
    parts = compared + [match.group(1).strip()]
    return "\n\n".join(parts)


def readme_markdown(app: App) -> str | None:
    readme = app.folder / "README.md"
    return readme.read_text(encoding="utf-8") if readme.is_file() else None


def one_line(app: App) -> str:
    """The summary's first sentence (a card has room for one line)."""
    first = re.split(r"(?<=[.!?])\s+", app.summary.strip(), maxsplit=1)[0]
    return first if len(first) <= 160 else first[:157].rstrip() + "…"


def card_html(app: App, state: str, note: str = "") -> str:
    """One card of the landing page: a link to the app's page. `state`: ready, unavailable or planned."""
    uri = thumbnail_uri(app.id) if state != "planned" else None
    picture = (f'<img src="{uri}" alt="{html.escape(app.title)}: its output on its example" loading="lazy">'
               if uri else f'<div class="dg-noimg">{html.escape(app.id)}</div>')
    number = ""
    found = headline(app) if state != "planned" else None
    if found:
        ours, label, paper = found
        number = (f'<div class="dg-num"><b>{html.escape(ours)}</b> <span>{html.escape(label)}</span>'
                  f'<br><span>paper: {html.escape(paper)}</span></div>')
    badge = {"ready": "", "planned": '<span class="dg-badge">planned</span>',
             "unavailable": '<span class="dg-badge">not available here</span>'}[state]
    extra = f'<div class="dg-note">{html.escape(note)}</div>' if note else ""
    return (f'<a class="dg-card dg-{state}" href="{app.id}" id="card-{app.id}">{picture}'
            f'<div class="dg-body"><div class="dg-title">{html.escape(app.title)} {badge}</div>'
            f'<div class="dg-line">{html.escape(one_line(app))}</div>{number}{extra}</div></a>')


CARD_CSS = """
.dg-grid {display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 16px}
.dg-card {display: flex; flex-direction: column; border: 1px solid var(--border-color-primary);
  border-radius: 10px; overflow: hidden; text-decoration: none !important; color: inherit !important;
  background: var(--background-fill-primary)}
.dg-card:hover {box-shadow: 0 4px 14px rgba(0,0,0,.15)}
.dg-card img, .dg-noimg {width: 100%; aspect-ratio: 16 / 10; object-fit: cover; display: block}
.dg-noimg {display: flex; align-items: center; justify-content: center; font-size: 1.4em;
  background: var(--background-fill-secondary); color: var(--body-text-color-subdued)}
.dg-body {padding: 10px 12px; display: flex; flex-direction: column; gap: 6px}
.dg-title {font-weight: 600; font-size: 1.05em}
.dg-line {font-size: .9em; color: var(--body-text-color-subdued)}
.dg-num {font-size: .85em} .dg-num b {font-size: 1.25em} .dg-num span {color: var(--body-text-color-subdued)}
.dg-badge {font-size: .7em; padding: 1px 6px; border-radius: 8px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); font-weight: 400; vertical-align: middle}
.dg-note {font-size: .8em; color: #b45309}
.dg-planned {opacity: .5; filter: grayscale(1)}
.dg-section {margin: 18px 0 8px}
"""


def _measured(app: App) -> dict:
    try:
        return app.measured() or {}
    except (OSError, ValueError):  # an unreadable record: the card shows no number rather than failing
        return {}


def _number(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
