"""Search results out: text table, JSON, CSV, thumbnails with the box drawn, and an HTML page whose videos
start playing at each hit's time (HTML media fragments, ``video.mp4#t=83``)."""

from __future__ import annotations

import csv
import html
import io
import json
import os
from pathlib import Path

from deepgallery.core.atomic import write_bytes, write_text

from .search import hhmmss
from .store import Hit


def thumbnail_png(hit: Hit) -> bytes | None:
    """The hit's frame with its box drawn (PNG bytes), or None when the store kept no frame."""
    if hit.thumbnail is None:
        return None
    from PIL import Image, ImageDraw

    im = Image.open(io.BytesIO(hit.thumbnail)).convert("RGB")
    s = hit.thumb_scale
    x0, y0, x1, y1 = (v * s for v in hit.box)
    draw = ImageDraw.Draw(im)
    draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), outline=(255, 40, 40), width=3)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def rows(scored: list[tuple[Hit, float]], thumbs: list[Path | None]) -> list[dict]:
    """JSON-able records, best first."""
    out = []
    for rank, ((hit, score), thumb) in enumerate(zip(scored, thumbs, strict=True), 1):
        out.append({"rank": rank, "video": hit.video, "time": hhmmss(hit.start), "start": round(hit.start, 2),
                    "end": round(hit.end, 2), "text": hit.text, "confidence": round(hit.conf, 3),
                    "score": round(score, 3), "box": [round(v, 1) for v in hit.box],
                    "thumbnail": str(thumb) if thumb else None})
    return out


def write_thumbnails(scored: list[tuple[Hit, float]], folder: Path) -> list[Path | None]:
    for old in folder.glob("hit_*.png"):  # thumbnails of an earlier search must not linger
        old.unlink()
    paths: list[Path | None] = []
    for i, (hit, _) in enumerate(scored, 1):
        png = thumbnail_png(hit)
        paths.append(write_bytes(folder / f"hit_{i:03d}.png", png) if png else None)
    return paths


def as_text(records: list[dict]) -> str:
    if not records:
        return "no hits"
    lines = []
    for r in records:
        lines.append(f"{r['rank']:>3}. {r['time']}  {r['text']!r}  conf {r['confidence']:.2f}  {r['video']}")
    return "\n".join(lines)


def as_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    fields = ["rank", "video", "time", "start", "end", "text", "confidence", "score", "box", "thumbnail"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in records:
        w.writerow({**r, "box": " ".join(str(v) for v in r["box"])})
    return buf.getvalue()


def as_json(query: str, records: list[dict]) -> str:
    return json.dumps({"query": query, "hits": records}, indent=1, ensure_ascii=False)


def _video_src(video: str, page_dir: Path) -> str:
    try:
        return Path(os.path.relpath(video, page_dir)).as_posix()
    except ValueError:  # another drive (Windows)
        return Path(video).as_uri()


def write_html(path: Path, query: str, records: list[dict]) -> Path:
    """A results page: per hit the thumbnail, the text line and the video, set to start at the hit."""
    esc = html.escape
    page_dir = path.parent.resolve()
    items = []
    for r in records:
        src = _video_src(r["video"], page_dir)
        start = max(0.0, r["start"] - 0.5)
        thumb = (f"<img src='{esc(Path(os.path.relpath(r['thumbnail'], page_dir)).as_posix())}' alt='frame'>"
                 if r["thumbnail"] else "")
        items.append(
            f"<div class=hit><h3>{r['rank']}. <q>{esc(r['text'])}</q> at {r['time']} "
            f"<small>({r['start']:.1f}–{r['end']:.1f} s, confidence {r['confidence']:.2f})</small></h3>"
            f"<p class=path>{esc(r['video'])}</p>{thumb}"
            f"<video controls preload=metadata src='{esc(src)}#t={start:.1f}'></video></div>")
    body = "\n".join(items) or "<p>No hits.</p>"
    page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>textspot: {esc(query)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
            ".hit{border-top:1px solid #ddd;padding:.5em 0}.hit img,.hit video{max-width:48%;vertical-align:top;"
            "margin-right:1%}.path{color:#666;font-size:90%}</style></head>"
            f"<body><h1>textspot: “{esc(query)}”</h1><p>{len(records)} hits. Each video starts at the hit "
            f"(press play).</p>{body}</body></html>")
    return write_text(path, page)
