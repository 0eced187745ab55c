"""Drawing pen strokes: SVG (one polyline per stroke), PNG (anti-aliased ink on paper) and the pen's animation.

Strokes are a list of (n, 2+) arrays of [x, y, ...] with y up (as the model writes); the pictures put y down.
The pen points are a tablet's samples of a smooth movement (20 per second in the shipped data), so the ink is
drawn through them as a Catmull-Rom spline (`smooth`), as a pen would have moved, not as straight segments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...core.atomic import write_text
from ...core.media import save_image, write_video

INK = (20, 30, 90)


def smooth(strokes: list[np.ndarray], k: int = 4) -> list[np.ndarray]:
    """Each stroke through its points as a centripetal Catmull-Rom spline, k points per original segment."""
    out = []
    for s in strokes:
        p = np.asarray(s, dtype=np.float64)[:, :2]
        if len(p) < 3:
            out.append(p)
            continue
        q = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])  # (n + 2, 2) end points mirrored
        pieces = []
        for i in range(1, len(q) - 2):
            p0, p1, p2, p3 = q[i - 1], q[i], q[i + 1], q[i + 2]
            t0 = 0.0
            t1 = t0 + max(np.linalg.norm(p1 - p0) ** 0.5, 1e-6)
            t2 = t1 + max(np.linalg.norm(p2 - p1) ** 0.5, 1e-6)
            t3 = t2 + max(np.linalg.norm(p3 - p2) ** 0.5, 1e-6)
            t = np.linspace(t1, t2, k, endpoint=False)[:, None]
            a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
            a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
            a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
            b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
            b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
            pieces.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
        out.append(np.vstack([*pieces, p[-1:]]))
    return out


def _frame(strokes: list[np.ndarray], height: int, margin: int) -> tuple[np.ndarray, float, int, int]:
    """The offset and scale that put the strokes into a picture `height` pixels tall (line height), and its size."""
    pts = np.concatenate([s[:, :2] for s in strokes])
    lo, hi = pts.min(0), pts.max(0)
    scale = (height - 2 * margin) / max(hi[1] - lo[1], 1e-6)
    width = int(np.ceil((hi[0] - lo[0]) * scale)) + 2 * margin
    return lo, scale, max(width, 2 * margin + 1), height


def _pixels(strokes, lo, scale, height, margin) -> list[np.ndarray]:
    out = []
    for s in strokes:
        p = (s[:, :2] - lo) * scale + margin
        p[:, 1] = height - p[:, 1]
        out.append(p)
    return out


def svg(strokes: list[np.ndarray], path: str | Path, height: int = 120, margin: int = 10) -> Path:
    """One <polyline> per pen-down stroke, in writing order."""
    if not strokes:
        raise ValueError("nothing to draw")
    strokes = smooth(strokes)
    lo, scale, width, height = _frame(strokes, height, margin)
    lines = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">', f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<g fill="none" stroke="rgb{INK}" stroke-width="2.2" stroke-linecap="round" '
             'stroke-linejoin="round">']
    for p in _pixels(strokes, lo, scale, height, margin):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in p)
        lines.append(f'<polyline points="{pts}"/>' if len(p) > 1 else
                     f'<circle cx="{p[0, 0]:.1f}" cy="{p[0, 1]:.1f}" r="1.1" fill="rgb{INK}" stroke="none"/>')
    lines += ["</g>", "</svg>"]
    return write_text(path, "\n".join(lines) + "\n")


def raster(strokes: list[np.ndarray], height: int = 120, margin: int = 10, upto: int | None = None,
           pen: bool = False, width: float = 2.2, smoothed: list[np.ndarray] | None = None) -> np.ndarray:
    """The strokes as an RGB uint8 picture (drawn at 3x and reduced, for smooth ink); `upto` draws only the first
    points (the animation), `pen` marks the pen tip."""
    from PIL import Image, ImageDraw

    strokes = smooth(strokes) if smoothed is None else smoothed
    lo, scale, w, h = _frame(strokes, height, margin)
    k = 3
    im = Image.new("RGB", (w * k, h * k), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    left = upto if upto is not None else 1 << 60
    tip = None
    for p in _pixels(strokes, lo, scale, h, margin):
        if left <= 0:
            break
        p = p[:left] * k
        left -= len(p)
        pts = [tuple(q) for q in p]
        if len(pts) > 1:
            draw.line(pts, fill=INK, width=int(width * k), joint="curve")
        r = width * k / 2
        for q in (pts[0], pts[-1]):
            draw.ellipse([q[0] - r, q[1] - r, q[0] + r, q[1] + r], fill=INK)
        tip = pts[-1]
    if pen and tip is not None:
        r = 4 * k
        draw.ellipse([tip[0] - r, tip[1] - r, tip[0] + r, tip[1] + r], outline=(200, 40, 40), width=k)
    return np.asarray(im.resize((w, h), Image.Resampling.LANCZOS))


def png(strokes: list[np.ndarray], path: str | Path, height: int = 120) -> Path:
    return save_image(path, raster(strokes, height))


def animation(strokes: list[np.ndarray], path: str | Path, height: int = 100, fps: float = 25.0,
              points_per_frame: int = 3) -> Path:
    """The pen writing the line, point by point (GIF or MP4 by the suffix), the last frame held for a second."""
    curves = smooth(strokes)
    total = sum(len(s) for s in curves)
    step = points_per_frame * 4  # smooth() puts 4 points per pen sample
    counts = list(range(step, total, step)) + [total] * int(fps)
    return write_video(path, (raster(strokes, height, upto=n, pen=n < total, smoothed=curves) for n in counts),
                       fps=fps)
