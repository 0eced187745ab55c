"""Procedural "paintings" used as built-in style images (no artwork ships offline, so we paint our own).

    python tools/style_make_examples.py   # rewrites deepgallery/apps/style/examples/swirl.jpg and mosaic.jpg

* ``swirl`` — brush strokes along a field of vortices in night-sky blues and yellows: noise smeared
  along streamlines (line-integral convolution), in the spirit of a Van Gogh sky.
* ``mosaic`` — stained glass: Voronoi cells in warm colours with dark lead lines.

The content photo ``examples/chelsea.jpg`` is scikit-image's ``chelsea`` (public domain, Stefan van der Walt's
cat), downscaled.
"""

from __future__ import annotations

import numpy as np

from deepgallery.apps.style import APP

EXAMPLES = APP.folder / "examples"


def swirl(size: int = 384, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    vx, vy = np.zeros_like(xx) + 0.3, np.zeros_like(yy) + 0.05  # a gentle drift, plus vortices
    for _ in range(7):
        cx, cy, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(size * 0.08, size * 0.2)]
        dx, dy = xx - cx, yy - cy
        d2 = dx**2 + dy**2 + 1.0
        s = rng.choice([-1, 1]) * np.exp(-d2 / (2 * r * r)) * 2.5
        vx, vy = vx - s * dy / np.sqrt(d2), vy + s * dx / np.sqrt(d2)
    norm = np.sqrt(vx**2 + vy**2) + 1e-6
    vx, vy = vx / norm, vy / norm
    noise = rng.random((size, size))
    acc = np.zeros((size, size))
    for direction in (1, -1):  # line-integral convolution along the streamlines
        px, py = xx.copy(), yy.copy()
        for _ in range(14):
            ix, iy = np.clip(px.round().astype(int), 0, size - 1), np.clip(py.round().astype(int), 0, size - 1)
            acc += noise[iy, ix]
            px, py = px + direction * vx[iy, ix], py + direction * vy[iy, ix]
    strokes = (acc - acc.min()) / (np.ptp(acc) + 1e-9)  # (H, W) in [0, 1]
    low = np.sin(xx / size * 5 + rng.uniform(0, 6)) * np.cos(yy / size * 4) * 0.5 + 0.5  # colour regions
    palette = np.array([[20, 40, 110], [40, 90, 170], [90, 150, 210], [235, 200, 60], [250, 240, 170]]) / 255.0
    t = np.clip(0.65 * strokes + 0.5 * low - 0.1, 0, 0.999) * (len(palette) - 1)
    i = t.astype(int)
    f = (t - i)[..., None]
    img = palette[i] * (1 - f) + palette[np.minimum(i + 1, len(palette) - 1)] * f
    return (img * 255).astype(np.uint8)


def mosaic(size: int = 384, cells: int = 90, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, size, (cells, 2))
    yy, xx = np.mgrid[0:size, 0:size]
    d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2  # (H, W, cells)
    order = np.sort(d, axis=-1)
    label = d.argmin(-1)
    edge = np.sqrt(order[..., 1]) - np.sqrt(order[..., 0]) < 3.0  # lead lines between cells
    palette = np.array([[200, 40, 30], [230, 150, 20], [40, 110, 60], [30, 70, 160], [240, 210, 120],
                        [120, 40, 120]]) / 255.0
    colours = palette[rng.integers(0, len(palette), cells)] * rng.uniform(0.75, 1.1, (cells, 1))
    img = colours[label] * (0.85 + 0.15 * rng.random((size, size, 1)))
    img[edge] = 0.08
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def main() -> None:
    from PIL import Image

    EXAMPLES.mkdir(exist_ok=True)
    Image.fromarray(swirl()).save(EXAMPLES / "swirl.jpg", quality=88)
    Image.fromarray(mosaic()).save(EXAMPLES / "mosaic.jpg", quality=88)
    try:
        from skimage import data

        Image.fromarray(data.chelsea()).resize((384, 256), Image.Resampling.LANCZOS).save(
            EXAMPLES / "chelsea.jpg", quality=88)
    except ImportError:
        print("scikit-image not installed: kept the existing chelsea.jpg")


if __name__ == "__main__":
    main()
