"""Watch an agent play: one game in colour, the score drawn on every frame, written as MP4 or GIF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from deepgallery.core.media import write_video

from .atari import display_name
from .config import DQNConfig
from .evaluate import evaluate

BANNER = 22  # pixels of the score strip above the (upscaled) screen


def _font(size: int):
    for name in ("DejaVuSansMono-Bold.ttf", "DejaVuSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def annotate(rgb: np.ndarray, text: str, scale: int = 2) -> np.ndarray:
    """(210, 160, 3) screen -> (BANNER + 210*scale, 160*scale, 3) with `text` drawn in the banner."""
    screen = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    h, w = screen.shape[:2]
    canvas = Image.new("RGB", (w, h + BANNER), (0, 0, 0))
    canvas.paste(Image.fromarray(screen), (0, BANNER))
    ImageDraw.Draw(canvas).text((6, 3), text, fill=(255, 255, 80), font=_font(15))
    return np.asarray(canvas)


def record(q_net: torch.nn.Module, cfg: DQNConfig, out: str | Path, max_steps: int = 4_500, eps: float = 0.05,
           seed: int = 0, fps: float = 15.0, every: int = 1) -> float:
    """Play one evaluation game (paper protocol) and write it to `out` (.mp4 or .gif); returns the score.

    fps 15 = real time (the agent acts every 4th frame of a 60 Hz console). `every` keeps every n-th step.
    """
    frames: list[np.ndarray] = []
    name = display_name(cfg.game)
    step = [0]

    def on_frame(i, env, score):  # noqa: ARG001
        if step[0] % every == 0:
            frames.append(annotate(env.rgb(), f"{name}  score {score:g}  step {step[0]}"))
        step[0] += 1

    score = evaluate(q_net, cfg, episodes=1, max_steps=max_steps, eps=eps, seed=seed, on_frame=on_frame)[0]
    last = annotate(frames[-1][BANNER::2, ::2], f"{name}  final score {score:g}")  # hold the end for 1 s
    write_video(out, frames + [last] * int(fps), fps=fps)
    return score
