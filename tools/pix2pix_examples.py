"""Make pix2pix's built-in examples (deepgallery/apps/pix2pix/examples/*.png): black-on-white edge maps at 256 px.

Two are the Canny edge maps (pairs.edges) of held-out corpus photos (never trained on); one is drawn with lines
and circles, like a person on the sketch pad. Run from the repository root: python tools/pix2pix_examples.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deepgallery.apps.pix2pix.pairs import as_edge_map, edges  # noqa: E402
from deepgallery.core.photos import corpus, load_rgb  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "deepgallery" / "apps" / "pix2pix" / "examples"
PHOTOS = {"eagle.jpg": "1-eagle", "building.jpg": "2-building"}


def centre_square(photo: np.ndarray, side: int = 256) -> np.ndarray:
    h, w = photo.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return np.asarray(Image.fromarray(photo[y:y + s, x:x + s]).resize((side, side), Image.Resampling.LANCZOS))


def drawn_house() -> np.ndarray:
    """A house under a hill with a sun, drawn with a 3-px pen (thinned to the trained style by the app)."""
    im = Image.new("RGB", (256, 256), "white")
    d = ImageDraw.Draw(im)
    pen = dict(fill="black", width=3)
    d.line([(0, 140), (40, 115), (62, 128)], **pen)  # hills behind the house
    d.line([(178, 128), (210, 100), (256, 118)], **pen)
    d.rectangle([70, 150, 170, 235], outline="black", width=3)  # walls
    d.line([(60, 152), (120, 105), (180, 152)], **pen)  # roof
    d.rectangle([105, 190, 135, 235], outline="black", width=3)  # door
    d.rectangle([82, 165, 100, 182], outline="black", width=3)  # window
    d.ellipse([190, 20, 235, 65], outline="black", width=3)  # sun
    d.line([(0, 235), (256, 235)], **pen)  # ground
    return np.asarray(im)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    found = {r.path.name: r for r in corpus("heldout")}
    for name, stem in PHOTOS.items():
        if name in found:
            Image.fromarray(edges(centre_square(load_rgb(found[name])))[..., 0]).save(OUT / f"{stem}.png",
                                                                                   optimize=True)
    Image.fromarray(as_edge_map(drawn_house())[..., 0]).save(OUT / "3-drawn-house.png", optimize=True)
    for p in sorted(OUT.glob("*.png")):
        print(p, p.stat().st_size)


if __name__ == "__main__":
    main()
