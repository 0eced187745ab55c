"""Make colorize's built-in examples (deepgallery/apps/colorize/examples/) from held-out photos of the corpus.

    python tools/colorize_examples.py

Three darknet sample photos (held out: the shipped model never trained on them; GPL-3.0+, Debian darknet),
longer side 384, stored as the user would give them:
* giraffe.jpg — made grayscale (its L* alone);
* person.jpg — grayscale, with person.hints: one click on the jacket (its true blue), the hint example;
* horses-old-scan.jpg — an "old scan": sepia toned, faded, film grain, dust and a scratch (what `--denoise` is for).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "deepgallery" / "apps" / "colorize" / "examples"


def photo(name: str) -> np.ndarray:
    im = Image.open(f"/usr/share/darknet/data/{name}.jpg").convert("RGB")
    im.thumbnail((384, 384), Image.Resampling.LANCZOS)
    return np.asarray(im)


def old_scan(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """Sepia toning, faded contrast, grain, dust specks and one vertical scratch."""
    from deepgallery.apps.colorize.color import lightness

    rng = np.random.default_rng(seed)
    L = lightness(rgb) / 100.0  # (H, W) in [0, 1]
    L = 0.12 + 0.78 * L  # faded: no true black or white
    L = L + rng.normal(0, 0.045, L.shape)  # grain
    h, w = L.shape
    for _ in range(60):  # dust
        y, x = rng.integers(0, h), rng.integers(0, w)
        L[max(0, y - 1):y + 1, max(0, x - 1):x + 1] = rng.choice([0.1, 0.95])
    L[:, int(w * 0.63)] += 0.25  # a scratch
    L = np.clip(L, 0, 1)
    sepia = np.stack([L * 1.07 + 0.03, L * 0.91 + 0.02, L * 0.68], axis=-1)
    return (np.clip(sepia, 0, 1) * 255 + 0.5).astype(np.uint8)


def main() -> int:
    from deepgallery.apps.colorize.color import gray_rgb

    OUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray_rgb(photo("giraffe"))[..., 0]).save(OUT / "giraffe.jpg", quality=88)
    Image.fromarray(gray_rgb(photo("person"))[..., 0]).save(OUT / "person.jpg", quality=88)
    (OUT / "person.hints").write_text("138,110,#1f5fd0\n", encoding="utf-8")  # the jacket, its true colour
    Image.fromarray(old_scan(photo("horses"))).save(OUT / "horses-old-scan.jpg", quality=88)
    for p in sorted(OUT.iterdir()):
        print(p.name, p.stat().st_size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
