"""Image and video I/O with input validation: bad files give one clear UserError, outputs are atomic.

Images are numpy ``uint8`` arrays of shape ``(H, W, 3)`` in RGB. Videos are read lazily frame by frame
(imageio + the ffmpeg binary that ships in the ``imageio-ffmpeg`` wheel) and written as MP4 or GIF.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".webm", ".mov", ".m4v", ".gif"}
MAX_PIXELS = 50_000_000  # refuse decompression bombs; callers downscale larger working images themselves


def _existing(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(f"{p}: no such file")
    if p.is_dir():
        raise UserError(f"{p}: is a folder, expected a file")
    if p.stat().st_size == 0:
        raise UserError(f"{p}: file is empty")
    return p


def read_image(path: str | os.PathLike, min_side: int = 1) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3). Raises UserError for unreadable or tiny images."""
    from PIL import Image, UnidentifiedImageError

    p = _existing(path)
    try:
        with Image.open(p) as im:
            if im.width * im.height > MAX_PIXELS:
                raise UserError(f"{p}: image is {im.width}x{im.height}, over the {MAX_PIXELS:,}-pixel limit")
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UserError(f"{p}: not a readable image (expected PNG, JPEG, BMP, GIF, WebP or TIFF)") from None
    if min(rgb.shape[:2]) < min_side:
        raise UserError(f"{p}: image is {rgb.shape[1]}x{rgb.shape[0]}, needs at least {min_side} px per side")
    return rgb


def resize_max_side(image: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale so the longer side is at most `max_side` (aspect kept); smaller images are unchanged."""
    from PIL import Image

    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def save_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB/gray uint8 (or float in [0, 1]) array atomically; the format follows the suffix."""
    from PIL import Image

    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(arr).save(tmp)
    return Path(path)


def is_video(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES - {".gif"}


def video_info(path: str | os.PathLike) -> dict:
    """fps, duration (s), size (W, H) and frame count estimate of a video; UserError if unreadable."""
    import imageio.v2 as iio

    p = _existing(path)
    try:
        reader = iio.get_reader(str(p), format="FFMPEG")
        meta = reader.get_meta_data()
        reader.close()
    except Exception:  # noqa: BLE001 - ffmpeg raises many types for corrupt files
        raise UserError(f"{p}: not a readable video") from None
    fps = float(meta.get("fps") or 25.0)
    duration = float(meta.get("duration") or 0.0)
    return {"fps": fps, "duration": duration, "size": tuple(meta.get("size") or (0, 0)),
            "frames": int(round(fps * duration))}


def read_video(path: str | os.PathLike, every: int = 1) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield (frame index, time in s, RGB frame) for every `every`-th frame. UserError if unreadable/empty."""
    import imageio.v2 as iio

    p = _existing(path)
    try:
        reader = iio.get_reader(str(p), format="FFMPEG")
        fps = float(reader.get_meta_data().get("fps") or 25.0)
    except Exception:  # noqa: BLE001
        raise UserError(f"{p}: not a readable video") from None
    n = 0
    try:
        for i, frame in enumerate(reader):
            if i % every == 0:
                n += 1
                yield i, i / fps, np.asarray(frame)[..., :3]
    except (OSError, RuntimeError, IndexError):
        if n == 0:
            raise UserError(f"{p}: video could not be decoded") from None
    finally:
        reader.close()
    if n == 0:
        raise UserError(f"{p}: video has no frames")


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 25.0) -> Path:
    """Write frames (RGB uint8, (H, W, 3)) as a video or GIF by suffix, atomically.

    MP4 / MKV / MOV / AVI are H.264 in yuv420p with the index at the front (``+faststart``): what every browser's
    ``<video>`` plays, Chromium included. yuv420p needs even sides, so an odd height or width gets one edge row
    or column repeated. WebM is VP9 (browsers do not take H.264 in WebM).
    """
    import imageio.v2 as iio

    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif", ".mkv", ".webm", ".avi", ".mov"):
        raise UserError(f"{path}: unsupported video suffix {suffix!r} (use .mp4 or .gif)")
    with atomic_path(path) as tmp:
        if suffix == ".gif":
            writer = iio.get_writer(str(tmp), mode="I", duration=1000.0 / fps, loop=0)
        else:
            codec = "libvpx-vp9" if suffix == ".webm" else "libx264"
            extra = ["-movflags", "+faststart"] if suffix in (".mp4", ".mov") else []
            writer = iio.get_writer(str(tmp), fps=fps, codec=codec, quality=7, macro_block_size=1,
                                    pixelformat="yuv420p", output_params=extra, ffmpeg_log_level="error")
        count = 0
        try:
            for frame in frames:
                frame = np.asarray(frame, dtype=np.uint8)
                if suffix != ".gif" and (frame.shape[0] % 2 or frame.shape[1] % 2):
                    pad = ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2)) + ((0, 0),) * (frame.ndim - 2)
                    frame = np.pad(frame, pad, mode="edge")  # (H + H % 2, W + W % 2, 3)
                writer.append_data(frame)
                count += 1
        finally:
            writer.close()
        if count == 0:
            raise UserError(f"{path}: no frames to write")
    return Path(path)


def open_camera(index: int):
    """Open webcam `index` with OpenCV: returns (cv2.VideoCapture, first BGR frame), or one clear UserError.

    OpenCV's own warnings are silenced while probing so a missing camera prints our one line only.
    """
    import cv2

    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        cap = cv2.VideoCapture(index)
        ok = cap.isOpened()
        frame = cap.read()[1] if ok else None
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not ok or frame is None:
        cap.release()
        raise UserError(f"camera {index} could not be opened (no such device, busy, or no permission); "
                        f"try another --camera index or a video file")
    return cap, frame
