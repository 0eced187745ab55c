"""Indexing: video files → sampled frames → text lines → occurrences → the store.

Frame sampling (`SampleConfig`): one frame every `interval` seconds, `interval` ≤ 1 s, so any text that
stays on screen for 1 s is on at least one sampled frame. Before reading a sampled frame we compare it with
the last frame that was read, cell by cell on a 1/4-size grey copy:
- no cell changed → a duplicate: the previous lines are re-used without running the reader;
- most of the frame changed a lot → a shot/scene cut: open occurrences close before the new frame is read.
A small caption appearing on a still frame changes a few cells strongly, so it is never mistaken for a
duplicate (the test is the largest cell change, not the mean).

Files are skipped when unchanged: first by (path, size, mtime), otherwise by SHA-256 of the content, so a
moved or copied video is not read twice. Each video is written in one store transaction.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepgallery.core.errors import UserError
from deepgallery.core.hashing import sha256_file
from deepgallery.core.media import IMAGE_SUFFIXES
from deepgallery.core.runtime import progress

from .occurrences import OccurrenceTracker
from .readers import Line, Reader
from .store import Store, VideoRecord

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".webm", ".mov", ".m4v"}


@dataclass
class SampleConfig:
    """How frames are sampled and compared."""

    interval: float = 0.5  # seconds between sampled frames (≤ 1 s: nothing on screen for 1 s is missed)
    change_threshold: float = 10.0  # mean grey change of a 32×32-pixel cell that counts as new content
    cut_threshold: float = 40.0  # mean grey change of the whole frame that counts as a shot cut
    cut_share: float = 0.6  # … and the share of cells that must have changed for a cut
    max_side: int = 1280  # frames larger than this are downscaled before reading
    thumb_side: int = 480  # longer side of the stored thumbnail frames
    single_min_conf: float = 0.9  # in videos, text read in only one sampled frame must be this confident:
    # anything on screen for 1 s is sampled at least twice at the default interval, so a lone, unsure
    # reading is usually noise (a texture read as "XK")


def find_inputs(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Expand folders (recursively) into video/image files; returns (files, problems with the arguments)."""
    files, problems = [], []
    for arg in paths:
        p = Path(arg).expanduser()
        if p.is_dir():
            wanted = VIDEO_SUFFIXES | IMAGE_SUFFIXES
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in wanted)
        elif p.is_file():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    return files, problems


def _grey_small(frame: np.ndarray) -> np.ndarray:
    import cv2

    h, w = frame.shape[:2]
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (max(1, w // 4), max(1, h // 4)),
                      interpolation=cv2.INTER_AREA).astype(np.float32)


def frame_change(a: np.ndarray, b: np.ndarray, cell: int = 8) -> tuple[float, float, float]:
    """(largest cell change, mean change, share of changed cells) between two 1/4-size grey frames."""
    d = np.abs(a - b)
    h, w = d.shape
    hc, wc = max(1, h // cell), max(1, w // cell)
    cells = d[: hc * cell, : wc * cell].reshape(hc, cell, wc, cell).mean((1, 3)) if h >= cell and w >= cell else d
    return float(cells.max()), float(d.mean()), float((cells > 10.0).mean())


def sample_frames(path: Path, cfg: SampleConfig, fps: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    """(time in s, RGB frame) every `cfg.interval` seconds of a video (of `fps` frames/s), or an image."""
    from deepgallery.core.media import read_image, read_video, resize_max_side

    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield 0.0, resize_max_side(read_image(path), cfg.max_side)
        return
    every = max(1, int(fps * cfg.interval + 1e-6))  # whole frames, so the step never exceeds `interval`
    for _, t, frame in read_video(path, every=every):
        yield t, resize_max_side(frame, cfg.max_side)


def _jpeg(frame: np.ndarray, side: int) -> tuple[bytes, float]:
    import io

    from PIL import Image

    im = Image.fromarray(frame)
    scale = min(1.0, side / max(im.size))
    if scale < 1.0:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=80)
    return buf.getvalue(), scale


@dataclass
class IndexStats:
    indexed: int = 0
    skipped: int = 0  # unchanged files
    failed: int = 0
    seconds_of_video: float = 0.0
    frames_read: int = 0  # frames the reader ran on
    frames_sampled: int = 0
    occurrences: int = 0


def index_file(path: Path, store: Store, reader: Reader, cfg: SampleConfig, stats: IndexStats,
               force: bool = False) -> str:
    """Index one file in one transaction; returns 'indexed' or 'skipped'. UserError if unreadable."""
    st = path.stat()
    key = str(path.resolve())
    if not force:
        old = store.by_path(key)
        if old and old.size == st.st_size and abs(old.mtime - st.st_mtime) < 1e-3 and old.backend == reader.name:
            return "skipped"
    digest = sha256_file(path)
    old = store.lookup(digest)
    if old and not force and old.backend == reader.name:
        if old.path != key or old.mtime != st.st_mtime:  # same content, moved or touched: nothing to read
            store.relocate(digest, key, st.st_size, st.st_mtime)
        return "skipped"
    record = VideoRecord(path=key, sha256=digest, size=st.st_size, mtime=st.st_mtime, backend=reader.name)
    expected = 1  # sampled frames, for the progress bar
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        from deepgallery.core.media import video_info

        info = video_info(path)  # UserError for a file ffmpeg cannot open
        record.fps = info["fps"]
        expected = int(info["duration"] / cfg.interval) + 1 if info.get("duration") else None
    tracker = OccurrenceTracker(gap=cfg.interval * 1.5 + 1e-3)
    thumbs: dict[float, tuple[bytes, float]] = {}  # time → (jpeg, scale) of frames still needed
    with store.video(record) as writer:

        is_video = path.suffix.lower() not in IMAGE_SUFFIXES

        def flush(closed):
            for occ in closed:
                if is_video and occ.sightings == 1 and occ.conf < cfg.single_min_conf:
                    continue
                jpeg, scale = thumbs.get(occ.best_t, (None, 1.0))
                writer.add(occ, jpeg, scale)
                stats.occurrences += 1

        last_grey, last_lines, t = None, [], 0.0
        # a bar per file over its sampled frames: one long video shows real progress (the web gallery follows it)
        for t, frame in progress(sample_frames(path, cfg, record.fps), total=expected, desc=path.name,
                                 unit="frame", leave=False):
            stats.frames_sampled += 1
            if record.width == 0:
                record.height, record.width = frame.shape[:2]
            grey = _grey_small(frame)
            lines: list[Line]
            if last_grey is not None:
                cell_max, mean, share = frame_change(grey, last_grey)
                if mean > cfg.cut_threshold and share > cfg.cut_share:  # shot cut
                    flush(tracker.close_all())
                if cell_max < cfg.change_threshold:  # duplicate frame: same text as before
                    flush(tracker.update(t, last_lines))
                    continue
            lines = reader.read(frame)
            stats.frames_read += 1
            last_grey, last_lines = grey, lines
            if lines:
                thumbs[t] = _jpeg(frame, cfg.thumb_side)
            flush(tracker.update(t, lines))
            needed = tracker.needed_frames()
            for k in [k for k in thumbs if k not in needed]:
                del thumbs[k]
        flush(tracker.close_all())
        record.duration = t + cfg.interval if stats.frames_sampled else 0.0
        writer.finish(record)
    stats.seconds_of_video += record.duration
    return "indexed"


def index_paths(paths: list[str], store: Store, reader: Reader, cfg: SampleConfig | None = None,
                force: bool = False, log=None) -> IndexStats:
    """Index files and folders; an unreadable file is named in one line and skipped, the batch goes on."""
    cfg = cfg or SampleConfig()
    if not 0 < cfg.interval <= 1.0:
        raise UserError(f"--interval must be in (0, 1] seconds so 1-second text is never missed, got {cfg.interval}")
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    files, problems = find_inputs(paths)
    stats = IndexStats()
    for msg in problems:
        log(f"textspot: skipped {msg}")
        stats.failed += 1
    if not files and not problems:
        raise UserError("no video or image files found (looked for " + ", ".join(sorted(VIDEO_SUFFIXES)) + ")")
    for path in progress(files, desc="indexing", unit="file"):
        try:
            state = index_file(path, store, reader, cfg, stats, force=force)
        except UserError as exc:
            log(f"textspot: skipped {exc}")
            stats.failed += 1
            continue
        except (OSError, ValueError, RuntimeError) as exc:  # decoder crashes on broken files
            log(f"textspot: skipped {path}: could not be read ({type(exc).__name__}: {str(exc)[:120]})")
            stats.failed += 1
            continue
        stats.indexed += state == "indexed"
        stats.skipped += state == "skipped"
    return stats


def default_db() -> Path:
    from deepgallery.core import assets

    return Path(os.environ.get("TEXTSPOT_DB", assets.home() / "textspot" / "index.sqlite"))
