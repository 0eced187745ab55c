"""The paper's alignment figure (Figure 5 style): each word of a sentence written on the region it aligns to best."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128)]


def alignment_figure(rgb: np.ndarray, boxes: np.ndarray, words: list[str], best: list[int], scores: list[float],
                     out: str | Path, title: str = "") -> Path:
    """Draw each region that some word chose, with those words on it, and the sentence below (each word in its
    region's colour, its v_i·s_t in brackets). Written atomically as PNG."""
    from PIL import Image, ImageDraw, ImageFont

    from ...core.atomic import atomic_path

    img = Image.fromarray(rgb).convert("RGB")
    scale = 640 / max(img.size)
    img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))))
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", 15)
        small = ImageFont.truetype("DejaVuSans.ttf", 14)
    except OSError:
        font = small = ImageFont.load_default()
    chosen = list(dict.fromkeys(best))
    colour = {r: PALETTE[n % len(PALETTE)] for n, r in enumerate(chosen)}
    line_h = 22
    canvas = Image.new("RGB", (img.width, img.height + line_h * (2 + len(words) // 6)), "white")
    canvas.paste(img, (0, 0))
    draw = ImageDraw.Draw(canvas)
    for r in chosen:
        x1, y1, x2, y2 = (boxes[r] * scale).tolist()
        inset = 2 * chosen.index(r)  # the whole image's box and a region touching the edge stay apart
        draw.rectangle([x1 + inset, y1 + inset, x2 - 1 - inset, y2 - 1 - inset], outline=colour[r], width=3)
        label = " ".join(w for w, b in zip(words, best, strict=True) if b == r)
        tw = draw.textlength(label, font=font)
        tx, ty = min(max(0, x1 + inset), img.width - tw - 4), max(0, y1 + inset)
        draw.rectangle([tx, ty, tx + tw + 4, ty + 19], fill=colour[r])
        draw.text((tx + 2, ty + 1), label, fill="white", font=font)
    x, y = 6, img.height + 4
    if title:
        draw.text((x, y), title, fill="black", font=small)
        y += line_h
    for w, b, s in zip(words, best, scores, strict=True):
        piece = f"{w} ({s:.1f})  "
        tw = draw.textlength(piece, font=small)
        if x + tw > canvas.width - 6:
            x, y = 6, y + line_h
        draw.text((x, y), piece, fill=colour[b], font=small)
        x += tw
    out = Path(out)
    with atomic_path(out) as tmp:
        canvas.save(tmp, format="PNG")
    return out
