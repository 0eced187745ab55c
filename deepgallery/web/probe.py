"""A tiny application used to check the gallery itself (load check, browser test): no model, instant.

It follows the same `App` contract as the real applications — a text and an int in; an image, a text and
a JSON record out — so a job through it exercises the whole path (queue, inputs, outputs, files) while
timing only the server. Empty text is a `UserError`, the case of a clear failure message.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from ..core.app import App, Output, Param
from ..core.errors import UserError

APP = App(
    id="probe",
    title="Gallery self-test",
    paper="none: a self-test of the web gallery",
    paper_url="https://www.gradio.app/docs",
    summary="Draws your text on a small image: checks the queue, inputs and outputs without a model.",
    status="built",
    entry="deepgallery.web.probe",
    inputs=(
        Param("message", "text", "text to draw", default="hello gallery"),
        Param("size", "int", "image side in pixels", default=128, minimum=32, maximum=512, step=32),
    ),
    outputs=(
        Output("image", "image", "the text drawn"),
        Output("shout", "text", "the text in capitals"),
        Output("stats", "json", "what was drawn"),
    ),
)

_DIR: Path | None = None


def _out_dir() -> Path:
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="deepgallery-probe-"))
        atexit.register(shutil.rmtree, _DIR, True)
    return _DIR


def predict(message: str, size: int) -> dict:
    from PIL import Image, ImageDraw

    if not message.strip():
        raise UserError("message: write something to draw")
    image = Image.new("RGB", (size, size), (250, 245, 230))
    ImageDraw.Draw(image).multiline_text((8, 8), "\n".join(message[i:i + 12] for i in range(0, 48, 12)),
                                         fill=(20, 40, 120))
    path = Path(tempfile.mkstemp(suffix=".png", dir=_out_dir())[1])
    image.save(path)
    return {"image": path, "shout": message.upper(), "stats": {"characters": len(message), "size": size}}
