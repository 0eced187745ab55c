"""Watch an agent play: one game in colour, the score drawn on every frame, written as MP4 or GIF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from deepgallery.core.media import write_video

from .atari import display_name
from .config import DQNConfig
from .evaluate import play

BANNER = 22  # pixels of the score strip above the screen


def _font(size: int):
    for name in ("DejaVuSansMono-Bold.ttf", "DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def annotate(rgb: np.ndarray, text: str, scale: int = 2) -> np.ndarray:
    """(210, 160, 3) screen -> (BANNER + 210*scale, 160*scale, 3) with `text` drawn in the banner."""
    screen = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1) if scale > 1 else rgb
    h, w = screen.shape[:2]
    canvas = Image.new("RGB", (w, h + BANNER), (0, 0, 0))
    canvas.paste(Image.fromarray(screen), (0, BANNER))
    ImageDraw.Draw(canvas).text((4, 3), text, fill=(255, 255, 80), font=_font(13 if scale == 1 else 15))
    return np.asarray(canvas)


def _frames(q_net, cfg: DQNConfig, max_steps: int, eps: float, seed: int, every: int, scale: int, fps: float,
            result: dict) -> Iterator[np.ndarray]:
    name = display_name(cfg.game)
    last = None
    for step, (env, score, done) in enumerate(play(q_net, cfg, max_steps=max_steps, eps=eps, seed=seed)):
        if step % every == 0 or done:
            last = env.rgb()
            yield annotate(last, f"{name}  score {score:g}" + (f"  step {step}" if scale > 1 else ""), scale)
        result["score"] = score
    final = annotate(last, f"{name}  final score {result['score']:g}", scale)
    for _ in range(int(fps)):  # hold the end for a second
        yield final


def record(q_net: torch.nn.Module, cfg: DQNConfig, out: str | Path, max_steps: int = 4_500, eps: float = 0.05,
           seed: int = 0, fps: float = 15.0, every: int = 1, scale: int = 2) -> float:
    """Play one evaluation game (paper protocol) and stream it to `out` (.mp4 or .gif); returns the score.

    fps 15 with every=1 is real time (the agent acts on every 4th frame of a 60 Hz console).
    """
    result = {"score": 0.0}
    write_video(out, _frames(q_net, cfg, max_steps, eps, seed, every, scale, fps, result), fps=fps)
    return float(result["score"])
