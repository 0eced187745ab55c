"""One web job, independent of Gradio: check the inputs, call the app's ``predict``, shape its outputs.

The contract (docs/CONTRIBUTING.md): ``predict(**inputs) -> {output name: value}``, inputs as declared in
``App.inputs`` (images, videos and files as path strings, numbers, text), a value being a file ``Path``
(image / video / GIF / PNG / CSV / JSON), text, a number, or a JSON-able dict / list. Here each input is
checked against its `Param` and the `Limits` before ``predict`` runs, and each value is turned into what
the output's widget shows (see `widget_kind`), plus one JSON record of the whole job for download.
"""

from __future__ import annotations

import inspect
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.app import App, Output, Param
from ..core.atomic import write_text
from ..core.config import to_number
from ..core.errors import UserError, unknown_name_error
from .limits import Limits

MEDIA_KINDS = ("image", "video", "file")  # inputs that arrive as uploaded files

# Output.kind (free text in the registry) -> the widget that shows it; unknown kinds fall back to JSON.
WIDGET_KINDS = {
    "image": "image", "plot": "image", "png": "image", "figure": "image",
    "video": "video", "gif": "video", "animation": "video",
    "gallery": "gallery", "images": "gallery",
    "table": "table", "csv": "table", "dataframe": "table",
    "json": "json", "dict": "json",
    "text": "text", "str": "text", "label": "text",
    "number": "number", "float": "number", "int": "number",
    "file": "file",
}


def widget_kind(output: Output) -> str:
    return WIDGET_KINDS.get(output.kind.lower(), "json")


class JobDirs:
    """Per-job scratch folders under one root in the system temp folder (Gradio serves files from there).

    Folders older than `keep_seconds` are removed as new jobs arrive, so a long-running server does not fill
    the disk; Gradio has copied the outputs into its own cache by then.
    """

    def __init__(self, keep_seconds: float = 3600.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="deepgallery-web-"))
        self.keep_seconds = keep_seconds
        self._count = 0

    def new(self) -> Path:
        self._prune()
        self._count += 1
        return Path(tempfile.mkdtemp(prefix=f"job{self._count:05d}-", dir=self.root))

    def _prune(self) -> None:
        cutoff = time.time() - self.keep_seconds
        for old in self.root.iterdir():
            try:
                if old.stat().st_mtime < cutoff:
                    shutil.rmtree(old, ignore_errors=True)
            except FileNotFoundError:  # another job pruned it first
                pass

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- inputs


def optional_inputs(predict) -> frozenset[str]:
    """Names of ``predict`` arguments that have a default: a media input left empty is then omitted."""
    try:
        parameters = inspect.signature(predict).parameters.values()
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(p.name for p in parameters if p.default is not inspect.Parameter.empty)


def prepare_inputs(params: tuple[Param, ...], values: list[Any], limits: Limits, workdir: Path,
                   optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The keyword arguments for ``predict``: each value checked and coerced to its `Param` kind.

    An empty image / video / file input is omitted when its name is in `optional` (``predict`` has a
    default for it, e.g. an optional starting image); otherwise it is a UserError asking for one.
    """
    if len(values) != len(params):
        raise UserError(f"expected {len(params)} inputs ({', '.join(p.name for p in params)}), got {len(values)}")
    kwargs = {}
    for p, v in zip(params, values, strict=True):
        if p.kind in MEDIA_KINDS and _upload_path(v) is None and p.name in optional:
            continue
        kwargs[p.name] = coerce_input(p, v, limits, workdir)
    images = [p for p in params if p.kind == "image" and p.name in kwargs]
    if images:  # points were clicked on the first image as uploaded: follow it if it was downscaled
        original, used = _upload_path(values[params.index(images[0])]), kwargs[images[0].name]
        for p in params:
            if p.kind == "points" and kwargs.get(p.name) and original and used != original:
                kwargs[p.name] = _scale_points(kwargs[p.name], _image_size(original), _image_size(used))
    return kwargs


def _image_size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        return im.size


def _scale_points(text: str, before: tuple[int, int], after: tuple[int, int]) -> str:
    """"x,y[,#RRGGBB];..." in the pixels of an image of size `before`, moved to the same places at size `after`.
    Entries that are not numbers are left as they are, for the app to report."""
    sx, sy = after[0] / before[0], after[1] / before[1]
    out = []
    for item in text.split(";"):
        parts = item.strip().split(",")
        try:
            x, y = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            out.append(item)
            continue
        out.append(",".join([f"{round(x * sx)}", f"{round(y * sy)}", *parts[2:]]))
    return ";".join(out)


def coerce_input(p: Param, value: Any, limits: Limits, workdir: Path) -> Any:
    if p.kind in MEDIA_KINDS:
        path = _upload_path(value)
        if path is None:
            article = "an" if p.kind == "image" else "a"
            raise UserError(f"{p.name}: give {article} {p.kind} first (upload one or pick an example)")
        if p.kind == "image":
            return prepare_image(p.name, path, limits, workdir)
        if p.kind == "video":
            return prepare_video(p.name, path, limits)
        return path
    if p.kind == "sketch":
        return _sketch_path(p, value, limits, workdir)
    if p.kind in ("text", "points", "strokes"):  # points and strokes arrive as text ("x,y,#RRGGBB;..." / JSON)
        text = "" if value is None else str(value)
        if p.kind == "strokes":
            text_limit = 50 * limits.max_text_chars  # a written line is a few thousand [x, y, t] points
        else:
            text_limit = limits.max_text_chars
        if len(text) > text_limit:
            raise UserError(f"{p.name}: {len(text)} characters, the gallery accepts up to {text_limit}")
        return text
    if p.kind in ("int", "float"):
        return _number(p, value)
    if p.kind == "bool":
        return bool(value)
    if p.kind == "choice":
        for choice in p.choices:
            if value == choice or str(value) == str(choice):
                return choice
        raise unknown_name_error(f"{p.name} choice", str(value), [str(c) for c in p.choices])
    raise UserError(f"{p.name}: the gallery does not know the input kind {p.kind!r}")


def _sketch_path(p: Param, value: Any, limits: Limits, workdir: Path) -> str:
    """A drawing from the sketch pad as a PNG path: Gradio's editor value ({"composite": image, ...}), an image
    array, or a path (an example or an API client's upload)."""
    import numpy as np
    from PIL import Image

    if isinstance(value, dict) and "composite" in value:
        value = value["composite"]
    if isinstance(value, np.ndarray):
        path = workdir / f"{p.name}.png"
        Image.fromarray(value.astype(np.uint8)).save(path)
        return prepare_image(p.name, str(path), limits, workdir)
    path = _upload_path(value)
    if path is None:
        raise UserError(f"{p.name}: draw something first (or pick an example)")
    return prepare_image(p.name, path, limits, workdir)


def _upload_path(value: Any) -> str | None:
    """A file path from what Gradio or an API client sends: a path string, or a FileData-like dict."""
    if isinstance(value, dict):
        value = value.get("path") or value.get("video") or value.get("name")
        if isinstance(value, dict):
            value = value.get("path")
    if value is None or value == "":
        return None
    return str(value)


def _number(p: Param, value: Any) -> int | float:
    """A form field's number (or its text; empty: the default), checked as the Python API checks one."""
    if value is None or value == "":
        if p.default is None:
            raise UserError(f"{p.name}: give a number")
        value = p.default
    return to_number(p.name, value, p.kind, p.minimum, p.maximum, text=True)


def prepare_image(name: str, path: str, limits: Limits, workdir: Path) -> str:
    """Refuse unreadable or gigantic images; downscale large ones so the longer side is `max_image_side`."""
    from PIL import Image, UnidentifiedImageError

    from ..core import media

    try:
        with Image.open(path) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        raise UserError(f"{name}: the image is too large to open safely") from None
    except (UnidentifiedImageError, OSError, ValueError):  # the command line's words, with the upload's name
        raise UserError(f"{Path(path).name}: not a readable image (expected PNG, JPEG, BMP, GIF, WebP or TIFF)") \
            from None
    if w * h > limits.max_image_pixels:
        raise UserError(f"{name}: the image is {w}x{h}, over the gallery's limit of "
                        f"{limits.max_image_pixels:,} pixels; shrink it or use `deepgallery run`")
    if max(w, h) <= limits.max_image_side:
        return path
    small = media.resize_max_side(media.read_image(path), limits.max_image_side)  # (h', w', 3)
    return str(media.save_image(workdir / f"{name}.png", small))


def prepare_video(name: str, path: str, limits: Limits) -> str:
    """Refuse unreadable videos and those over the side / duration limits (trimming is the user's choice)."""
    from ..core import media

    info = media.video_info(path)
    w, h = info["size"]
    if max(w, h) > limits.max_video_side:
        raise UserError(f"{name}: the video is {w}x{h}, the gallery accepts up to {limits.max_video_side} px "
                        "per side; shrink it or use `deepgallery run`")
    if info["duration"] > limits.max_video_seconds:
        raise UserError(f"{name}: the video lasts {info['duration']:.0f} s, the gallery accepts up to "
                        f"{limits.max_video_seconds:g} s; trim it or use `deepgallery run`")
    return path


# --------------------------------------------------------------------------------------------- outputs


@dataclass
class JobResult:
    values: list[Any]  # one per App.outputs, ready for its widget
    record: dict[str, Any]  # the whole job as JSON-able data
    record_path: Path  # that record written as result.json (offered for download)
    seconds: float


def run_job(app: App, predict, values: list[Any], limits: Limits, workdir: Path) -> JobResult:
    """Check inputs, run ``predict`` and shape its outputs; UserError for anything the user can fix."""
    uploads = [path for path in map(_upload_path, values) if path]
    try:
        inputs = prepare_inputs(app.inputs, values, limits, workdir, optional_inputs(predict))
        uploads += [str(v) for v in inputs.values() if isinstance(v, (str, Path)) and Path(v).is_absolute()]
        start = time.perf_counter()
        result = predict(**inputs)
        seconds = time.perf_counter() - start
    except UserError as exc:  # the message names the file as the user knows it, never a server path
        raise UserError(hide_paths(str(exc), uploads + [str(workdir)])) from None
    if not isinstance(result, dict):
        raise TypeError(f"{app.id}.predict returned {type(result).__name__}, expected a dict of outputs")
    shown = [present_output(out, result.get(out.name), workdir) for out in app.outputs]
    declared = {out.name for out in app.outputs}
    record = {
        "app": app.id,
        "inputs": {k: _jsonable(v) for k, v in inputs.items()},
        "outputs": {k: _jsonable(v) for k, v in result.items() if k in declared},
        "extra": {k: _jsonable(v) for k, v in result.items() if k not in declared},
        "seconds": round(seconds, 3),
    }
    if not record["extra"]:
        del record["extra"]
    path = write_text(workdir / f"{app.id}-result.json", json.dumps(record, indent=2) + "\n")
    return JobResult(shown, record, path, seconds)


def hide_paths(message: str, paths: list[str]) -> str:
    """`message` with each server path replaced by its file name (longest first: folders after their files)."""
    for path in sorted(set(paths), key=len, reverse=True):
        message = message.replace(path, Path(path).name)
    return message


def present_output(out: Output, value: Any, workdir: Path) -> Any:
    """Turn one ``predict`` value into what the output's widget takes (None stays None: nothing shown)."""
    if value is None:
        return None
    kind = widget_kind(out)
    if kind == "image":
        return _image_file(out.name, value, workdir)
    if kind == "video":
        path = _served_file(value, workdir)
        return _gif_to_mp4(path, workdir) if Path(path).suffix.lower() == ".gif" else path
    if kind == "gallery":
        items = value if isinstance(value, (list, tuple)) else [value]
        shown = []
        for i, item in enumerate(items):
            if isinstance(item, tuple) and len(item) == 2:  # (image, caption)
                shown.append((_image_file(f"{out.name}-{i}", item[0], workdir), str(item[1])))
            else:
                shown.append(_image_file(f"{out.name}-{i}", item, workdir))
        return shown
    if kind == "table":
        return _table(value)
    if kind == "text":
        return "\n".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    if kind == "number":
        return float(value)
    if kind == "file":
        return _served_file(value, workdir)
    if isinstance(value, (str, Path)) and Path(value).suffix.lower() == ".json" and Path(value).is_file():
        return json.loads(Path(value).read_text(encoding="utf-8"))
    return _jsonable(value)


def _served_file(value: Any, workdir: Path) -> str:
    """A path Gradio may serve: files outside the system temp folder are copied into the job folder."""
    path = Path(value)
    if not path.is_file():
        raise FileNotFoundError(f"output file {path} does not exist")
    try:
        path.resolve().relative_to(Path(tempfile.gettempdir()).resolve())
        return str(path)
    except ValueError:
        return str(shutil.copy2(path, workdir / path.name))


def _image_file(name: str, value: Any, workdir: Path) -> str:
    """Paths pass through; arrays, PIL images and matplotlib figures are written as PNG first."""
    if isinstance(value, (str, Path)):
        return _served_file(value, workdir)
    target = workdir / f"{name}.png"
    if hasattr(value, "savefig"):  # a matplotlib Figure
        value.savefig(target, dpi=100, bbox_inches="tight")
        return str(target)
    if hasattr(value, "save") and hasattr(value, "mode"):  # a PIL image
        value.save(target)
        return str(target)
    from ..core import media

    return str(media.save_image(target, value))


def _gif_to_mp4(path: str, workdir: Path) -> str:
    """Browsers' <video> does not play GIF: re-encode it as MP4 (even sides, for H.264)."""
    import numpy as np
    from PIL import Image, ImageSequence

    from ..core import media

    with Image.open(path) as im:
        durations = [frame.info.get("duration", 100) or 100 for frame in ImageSequence.Iterator(im)]
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(im)]  # each (H, W, 3)
    h, w = frames[0].shape[:2]
    frames = [np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge") for f in frames]
    fps = 1000.0 / (sum(durations) / len(durations))
    return str(media.write_video(workdir / (Path(path).stem + ".mp4"), frames, fps=fps))


def _table(value: Any):
    """A pandas DataFrame from a list of dicts / rows, a dict of columns, or a CSV file."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, (str, Path)) and Path(value).suffix.lower() == ".csv":
        return pd.read_csv(value)
    if isinstance(value, dict) and "data" in value and "headers" in value:
        return pd.DataFrame(value["data"], columns=value["headers"])
    if isinstance(value, dict) and not all(isinstance(v, (list, tuple)) for v in value.values()):
        return pd.DataFrame({"name": list(value), "value": [str(v) for v in value.values()]})
    return pd.DataFrame(value)


def _jsonable(value: Any) -> Any:
    """JSON-able data: files become their names, numpy scalars and arrays become numbers and shapes."""
    if isinstance(value, Path):
        return value.name
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:  # numpy / torch scalar
        return value.item()
    if hasattr(value, "shape"):
        return f"<array {tuple(value.shape)}>"
    if hasattr(value, "to_dict"):  # pandas
        return _jsonable(value.to_dict(orient="records") if hasattr(value, "columns") else value.to_dict())
    return str(value)


def failure_message(app: App, exc: BaseException) -> str:
    """The one line the browser shows for a failed job; UserError messages are already clear."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return f"{app.title} ran out of memory on this input; try a smaller one. The server is still running."
    return (f"{app.title} failed unexpectedly ({type(exc).__name__}: {exc}). The server is still running; "
            "the details are in its log.")
