"""What one web job may ask of the machine: bounded uploads, image / video dimensions, text and queue.

The upload size is enforced by Gradio before a job starts (the browser sees "file too large"); the rest
is checked by `jobs.prepare_inputs` before the application's ``predict`` runs, so an oversized input costs
nothing but a clear message. Each field can be changed with an environment variable
``DEEPGALLERY_WEB_<FIELD>`` (for example ``DEEPGALLERY_WEB_MAX_IMAGE_SIDE=4096``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from ..core.errors import UserError


@dataclass(frozen=True)
class Limits:
    max_upload_mb: int = 50  # per uploaded file; larger uploads are refused by the server before any work
    max_image_side: int = 2048  # longer image side; larger images are downscaled (aspect kept) for the app
    max_image_pixels: int = 50_000_000  # images above this are refused outright (decompression bombs)
    max_video_side: int = 1920  # longer video side; larger videos are refused (1080p is fine)
    max_video_seconds: float = 120.0  # longer videos are refused: trim them, or use `deepgallery run`
    max_text_chars: int = 5000  # longer text inputs are refused
    queue_size: int = 64  # jobs waiting beyond this are turned away with "the queue is full"

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by DEEPGALLERY_WEB_<FIELD> environment variables (a bad value is a UserError)."""
        changes = {}
        for f in fields(cls):
            raw = os.environ.get(f"DEEPGALLERY_WEB_{f.name.upper()}")
            if raw is None:
                continue
            kind = float if f.type in ("float", float) else int
            try:
                value = kind(raw)
            except ValueError:
                raise UserError(f"DEEPGALLERY_WEB_{f.name.upper()}={raw!r} is not a number") from None
            if value <= 0:
                raise UserError(f"DEEPGALLERY_WEB_{f.name.upper()} must be > 0, got {raw}")
            changes[f.name] = value
        return replace(cls(), **changes)

    def describe(self) -> str:
        return (f"uploads up to {self.max_upload_mb} MB, images downscaled to {self.max_image_side} px, "
                f"videos up to {self.max_video_side} px and {self.max_video_seconds:g} s, "
                f"text up to {self.max_text_chars} characters, {self.queue_size} jobs waiting at most")
