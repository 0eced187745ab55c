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

from .occurrences import Occurrence, OccurrenceTracker
from .readers import Line, Reader
from .store import Store, VideoRecord

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".webm", ".mov", ".m4v"}


DECODERS = ("select", "imageio")


@dataclass
class SampleConfig:
    """How frames are sampled and compared."""

    interval: float = 0.5  # seconds between sampled frames (≤ 1 s: nothing on screen for 1 s is missed)
    change_threshold: float = 10.0  # mean grey change of a 32×32-pixel cell that counts as new content
    cut_threshold: float = 40.0  # mean grey change of the whole frame that counts as a shot cut
    cut_share: float = 0.6  # … and the share of cells that must have changed for a cut
    max_side: int = 3840  # frames larger than this are downscaled before reading (the reader's detector
    # works on its own smaller copy; recognition reads the frame at this size)
    decoder: str = "select"  # "select": ffmpeg hands over only the sampled frames (its select filter, so the
    # other frames are decoded but never converted to RGB nor piped); "imageio": every frame through the pipe
    trim_edges: bool = True  # a line touching the left/right border loses its outermost word there (a word
    # cut by the frame edge, e.g. a ticker word scrolling in, is read as a different, partial word)
    image_det_side: int = 1280  # a still image is read once, with time to spare: its detector sees more pixels
    thumb_side: int = 480  # longer side of the stored thumbnail frames
    single_min_conf: float = 0.9  # in videos, text read in only one sampled frame must be this confident:
    # anything on screen for 1 s is sampled at least twice at the default interval, so a lone, unsure
    # reading is usually noise (a texture read as "XK")

    @classmethod
    def legacy(cls, **kw) -> SampleConfig:
        """The settings before the 720p/1080p work (issue 20): every frame piped, frames downscaled to 1280 px,
        no edge trimming; with RapidOCRReader(det_side=0, reuse=False)."""
        return cls(max_side=1280, decoder="imageio", trim_edges=False, **kw)


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


def read_sampled(path: Path, every: int) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, time in s, RGB frame) of every `every`-th frame, from ffmpeg's select filter: all frames
    are decoded (a compressed video cannot skip), but only the selected ones are converted to RGB and piped.
    UserError if the file cannot be read."""
    import imageio_ffmpeg

    try:
        gen = imageio_ffmpeg.read_frames(str(path), output_params=[
            "-vf", f"select=not(mod(n\\,{every}))", "-fps_mode", "passthrough"])
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration):
        raise UserError(f"{path}: not a readable video") from None
    w, h = meta["size"]
    fps = float(meta.get("fps") or 25.0)
    count = 0
    try:
        for raw in gen:
            i = count * every
            count += 1
            yield i, i / fps, np.frombuffer(raw, np.uint8).reshape(h, w, 3)
    except (OSError, RuntimeError):
        if count == 0:
            raise UserError(f"{path}: video could not be decoded") from None
        raise
    finally:
        gen.close()
    if count == 0:
        raise UserError(f"{path}: video has no frames")


def sample_frames(path: Path, cfg: SampleConfig, fps: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    """(time in s, RGB frame) every `cfg.interval` seconds of a video (of `fps` frames/s), or an image."""
    from deepgallery.core.media import read_image, read_video, resize_max_side

    if path.suffix.lower() in IMAGE_SUFFIXES:
        yield 0.0, resize_max_side(read_image(path), cfg.max_side)
        return
    every = max(1, int(fps * cfg.interval + 1e-6))  # whole frames, so the step never exceeds `interval`
    frames = read_sampled(path, every) if cfg.decoder == "select" else read_video(path, every=every)
    for _, t, frame in frames:
        yield t, resize_max_side(frame, cfg.max_side)


def trim_edge_words(lines: list[Line], frame: np.ndarray, margin: float = 0.004) -> list[Line]:
    """Drop the outermost word of a line cut by the frame's left or right border ("TRA" of a ticker's "TRAIN"
    scrolling in); a one-word line cut by a border goes. A line is cut when its box touches the border and the
    ink there belongs to a word: the run of ink columns reaching the border (gaps between letters bridged) is
    at least half the box's height wide. A narrower sliver (a letter just coming in, after a space) is not
    read as a word, and the word before it is whole; the detector's boxes reach past the glyphs, so a whole
    word just inside the border touches it too, with no ink at the border."""
    width = frame.shape[1]
    out = []
    for ln in lines:
        words = ln.text.split()
        h = ln.box[3] - ln.box[1]
        if ln.box[0] <= margin * width and _border_ink_run(frame, ln.box, left=True) >= 0.5 * h:
            words = words[1:]
        if ln.box[2] >= (1 - margin) * width - 1 and _border_ink_run(frame, ln.box, left=False) >= 0.5 * h:
            words = words[:-1]
        if words:
            out.append(Line(" ".join(words), ln.box, ln.conf) if len(words) < len(ln.text.split()) else ln)
    return out


def _border_ink_run(frame: np.ndarray, box: tuple[float, float, float, float], left: bool) -> int:
    """Width in px of the run of ink columns of the line in `box` that reaches the frame's left (`left`) or
    right border, gaps narrower than an eighth of the box height bridged (0: no ink at the border). Ink is the
    minority class of Otsu's threshold on the line crop."""
    import cv2

    h, w = frame.shape[:2]
    x0, y0, x1, y1 = (int(max(0, box[0])), int(max(0, box[1])), int(min(w, box[2] + 1)), int(min(h, box[3] + 1)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return x1 - x0
    grey = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    _, bw = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = bw > 0
    if ink.mean() > 0.5:
        ink = ~ink
    cols = ink[int(0.2 * (y1 - y0)):int(0.8 * (y1 - y0)) + 1].mean(0) > 0.02  # the glyphs' middle rows
    if not left:
        cols = cols[::-1]
    if not cols[:3].any():
        return 0
    gap_limit, gap, end = max(2, (y1 - y0) // 8), 0, 0  # letters: ~1/20 of the box height apart; words ~1/5
    for x, on in enumerate(cols):
        if on:
            end, gap = x + 1, 0
        else:
            gap += 1
            if gap > gap_limit:
                break
    return end


def _jpeg(frame: np.ndarray, side: int) -> tuple[bytes, float]:
    import io

    import cv2
    from PIL import Image

    h, w = frame.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale < 1.0:  # OpenCV's area average: ~10× faster than Pillow's resize of a 1080p frame
        frame = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    im = Image.fromarray(frame)
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
    decode_seconds: float = 0.0  # waiting for the next sampled frame (decoding, converting, piping)

    def add(self, other: IndexStats) -> None:
        for k, v in other.__dict__.items():
            setattr(self, k, getattr(self, k) + v)


@dataclass
class VideoText:
    """What reading one file gives: its record and its occurrences, each with the JPEG of its best frame (one
    bytes object per frame, shared by the occurrences it shows). Picklable, so a worker process or machine can
    read a video and the process that owns the index write it."""

    record: VideoRecord
    occurrences: list[tuple[str, float, float, tuple[float, float, float, float], float, int | None]]
    # (text, start, end, box, conf, index into frames or None)
    frames: list[tuple[bytes, float]]  # (jpeg, scale)
    stats: IndexStats


def is_unchanged(store: Store, path: Path, backend: str) -> bool:
    """Indexed before under this path with the same size and mtime by the same backend."""
    st = path.stat()
    old = store.by_path(str(path.resolve()))
    return bool(old and old.size == st.st_size and abs(old.mtime - st.st_mtime) < 1e-3 and old.backend == backend)


def index_file(path: Path, store: Store, reader: Reader, cfg: SampleConfig, stats: IndexStats,
               force: bool = False) -> str:
    """Index one file in one transaction; returns 'indexed' or 'skipped'. UserError if unreadable."""
    if not force and is_unchanged(store, path, reader.name):
        return "skipped"
    st = path.stat()
    key = str(path.resolve())
    digest = sha256_file(path)
    old = store.lookup(digest)
    if old and not force and old.backend == reader.name:
        if old.path != key or old.mtime != st.st_mtime:  # same content, moved or touched: nothing to read
            store.relocate(digest, key, st.st_size, st.st_mtime)
        return "skipped"
    text = read_text(path, reader, cfg, digest)
    with store.video(text.record) as writer:
        write_text(writer, text)
    stats.add(text.stats)
    return "indexed"


def write_text(writer, text: VideoText) -> None:
    """Add a read file's occurrences through a store's VideoWriter (inside its transaction)."""
    for occ_text, start, end, box, conf, frame in text.occurrences:
        jpeg, scale = text.frames[frame] if frame is not None else (None, 1.0)
        writer.add(Occurrence(occ_text, start, end, box, conf, start), jpeg, scale)
    writer.finish(text.record)


def read_text(path: Path, reader: Reader, cfg: SampleConfig, digest: str | None = None,
              show_progress: bool = True) -> VideoText:
    """Read the text of one video or image: sample, skip duplicates, read, track into occurrences.
    UserError if the file cannot be read."""
    stats = IndexStats()
    st = path.stat()
    record = VideoRecord(path=str(path.resolve()), sha256=digest or sha256_file(path), size=st.st_size,
                         mtime=st.st_mtime, backend=reader.name)
    is_video = path.suffix.lower() not in IMAGE_SUFFIXES
    expected = 1  # sampled frames, for the progress bar
    if is_video:
        from deepgallery.core.media import video_info

        info = video_info(path)  # UserError for a file ffmpeg cannot open
        record.fps = info["fps"]
        expected = int(info["duration"] / cfg.interval) + 1 if info.get("duration") else None
    tracker = OccurrenceTracker(gap=cfg.interval * 1.5 + 1e-3)
    thumbs: dict[float, tuple[bytes, float]] = {}  # time → (jpeg, scale) of frames still needed
    frame_ids: dict[int, int] = {}  # id(jpeg bytes) → index in frames
    out = VideoText(record, [], [], stats)

    def flush(closed):
        for occ in closed:
            if is_video and occ.sightings == 1 and not occ.continued and occ.conf < cfg.single_min_conf:
                continue
            frame = None
            if occ.best_t in thumbs:
                jpeg = thumbs[occ.best_t]
                frame = frame_ids.setdefault(id(jpeg[0]), len(out.frames))
                if frame == len(out.frames):
                    out.frames.append(jpeg)
            out.occurrences.append((occ.text, occ.start, occ.end, tuple(occ.box), occ.conf, frame))
            stats.occurrences += 1

    last_grey, last_lines, t = None, [], 0.0
    reader.reset()
    # a bar per file over its sampled frames: one long video shows real progress (the web gallery follows it)
    for t, frame in progress(_timed(sample_frames(path, cfg, record.fps), stats), total=expected,
                             desc=path.name, unit="frame", leave=False, enabled=show_progress):
        stats.frames_sampled += 1
        if record.width == 0:
            record.height, record.width = frame.shape[:2]
        grey = _grey_small(frame)
        lines: list[Line]
        if last_grey is not None:
            cell_max, mean, share = frame_change(grey, last_grey)
            if mean > cfg.cut_threshold and share > cfg.cut_share:  # shot cut
                flush(tracker.close_all())
                reader.reset()
            if cell_max < cfg.change_threshold:  # duplicate frame: same text as before
                flush(tracker.update(t, last_lines))
                continue
        if is_video:
            lines = reader.read(frame)
        else:
            lines = _read_still(reader, frame, cfg.image_det_side)
        if cfg.trim_edges and is_video:
            lines = trim_edge_words(lines, frame)
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
    stats.seconds_of_video = record.duration
    return out


def _read_still(reader: Reader, image: np.ndarray, det_side: int) -> list[Line]:
    """A still image, its text detected on a larger copy than a video frame's (when the reader has the knob)."""
    side = getattr(reader, "det_side", 0)
    if not side:
        return reader.read(image)
    reader.det_side = max(side, det_side)
    try:
        return reader.read(image)
    finally:
        reader.det_side = side


def _timed(frames: Iterator, stats: IndexStats) -> Iterator:
    """`frames`, adding the time spent waiting for each to stats.decode_seconds."""
    import time

    it = iter(frames)
    while True:
        t0 = time.perf_counter()
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            stats.decode_seconds += time.perf_counter() - t0
        yield item


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
