"""What the segmentation network sees: an orthophoto's RGB (or nothing) and channels derived from the DSM, from
generated towns or from a real labelled dataset in the Inria Aerial Image Labeling layout.

Channels (8, all roughly in −1..1):
    0-2  RGB / 255 − 0.5 (zeros without a photo)       3  1 if the photo is there, else 0
    4    height above ground / 10 m                     5  sin(slope)
    6-7  sin(slope)·sin(aspect), sin(slope)·cos(aspect)  (the horizontal part of the surface normal)
Height above ground comes from a bare-earth estimate: a morphological opening of the DSM with a window wider
than any building (as progressive-morphology ground filters do), smoothed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from ...core.errors import UserError
from . import scene as scenes

CHANNELS = 8


def ground_estimate(dsm: np.ndarray, cell: float, window: float = 40.0) -> np.ndarray:
    """A bare-earth surface under `dsm`: grey opening with a `window`-metre square on a 2-metre grid, smoothed."""
    f = max(1, int(round(2.0 / cell)))
    h, w = dsm.shape
    ph, pw = (-h) % f, (-w) % f
    padded = np.pad(dsm, ((0, ph), (0, pw)), mode="edge")
    coarse = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).min(axis=(1, 3))
    size = max(3, int(round(window / (cell * f))) | 1)
    opened = ndimage.grey_opening(coarse, size=(size, size), mode="nearest")
    opened = ndimage.uniform_filter(opened, size=max(3, size // 2), mode="nearest")
    fine = np.repeat(np.repeat(opened, f, axis=0), f, axis=1)[:h, :w]
    fine = ndimage.uniform_filter(fine, size=f, mode="nearest") if f > 1 else fine
    return np.minimum(fine, dsm).astype(np.float32)


def features(dsm: np.ndarray, cell: float, rgb: np.ndarray | None = None) -> np.ndarray:
    """(8, H, W) float32 network input from a DSM (metres) and an optional (H, W, 3) uint8 orthophoto."""
    from .shade import surface_normals

    h, w = dsm.shape
    x = np.zeros((CHANNELS, h, w), np.float32)
    if rgb is not None:
        x[0:3] = rgb.transpose(2, 0, 1).astype(np.float32) / 255.0 - 0.5
        x[3] = 1.0
    x[4] = np.clip((dsm - ground_estimate(dsm, cell)) / 10.0, -1, 4)
    n = surface_normals(dsm, cell)
    x[5] = np.sqrt(np.clip(1 - n[..., 2] ** 2, 0, 1))
    x[6], x[7] = n[..., 0], n[..., 1]
    return x


@dataclass
class Sample:
    x: np.ndarray  # (8, H, W) float32
    y: np.ndarray  # (H, W) int64: 0 ground, 1 roof, 2 tree


def generated_sample(seed: int, crop: int = 128, drop_rgb: float = 0.3) -> Sample:
    """One training example: a crop of a generated town at a random quarter turn and mirror, its photo dropped
    with probability `drop_rgb` (so one network also works from the DSM alone)."""
    rng = np.random.default_rng(seed)
    size = crop + 32
    sc = scenes.town(size=size, cell=0.5, seed=int(rng.integers(2 ** 31)), density=float(rng.uniform(0.6, 1.2)))
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    dsm, rgb, y = (np.rot90(a, k) for a in (sc.dsm, sc.ortho, sc.labels))
    if flip:
        dsm, rgb, y = dsm[:, ::-1], rgb[:, ::-1], y[:, ::-1]
    r0, c0 = rng.integers(0, size - crop + 1, 2)
    dsm, rgb, y = (np.ascontiguousarray(a[r0:r0 + crop, c0:c0 + crop]) for a in (dsm, rgb, y))
    use_rgb = rng.random() >= drop_rgb
    return Sample(features(dsm, 0.5, rgb if use_rgb else None), y.astype(np.int64))


def generated_batch(seeds: list[int], crop: int = 128, drop_rgb: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    samples = [generated_sample(s, crop, drop_rgb) for s in seeds]
    return np.stack([s.x for s in samples]), np.stack([s.y for s in samples])


# ------------------------------------------------------------------------ the Inria Aerial Image Labeling layout


INRIA_HELP = ("the Inria layout: <root>/images/NAME.tif (RGB GeoTIFF) with <root>/gt/NAME.tif (255 = building); "
              "DSMs in <root>/dsm/NAME.tif if you have them (Inria ships none, so their height channels are zero)")


@dataclass
class InriaTile:
    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    roof: np.ndarray  # (H, W) bool
    dsm: np.ndarray | None  # (H, W) float32 metres, when dsm/NAME.tif exists
    cell: float


def inria_tiles(root: str | Path) -> list[Path]:
    """The image files that have a ground-truth mask beside them."""
    root = Path(root)
    images, gt = root / "images", root / "gt"
    if not images.is_dir() or not gt.is_dir():
        raise UserError(f"{root}: not {INRIA_HELP}")
    found = sorted(p for p in images.iterdir() if p.suffix.lower() in (".tif", ".tiff") and (gt / p.name).is_file())
    if not found:
        raise UserError(f"{root}: no image in images/ has a mask of the same name in gt/ ({INRIA_HELP})")
    return found


def read_inria(path: Path) -> InriaTile:
    """One tile: its photo, its building mask and, if present, its DSM."""
    import rasterio

    root = path.parent.parent
    with rasterio.open(path) as src:
        rgb = src.read([1, 2, 3]).transpose(1, 2, 0)
        cell = abs(src.transform.a) if src.crs is not None and not src.crs.is_geographic else 0.3
    with rasterio.open(root / "gt" / path.name) as src:
        roof = src.read(1) > 127
    dsm = None
    if (root / "dsm" / path.name).is_file():
        with rasterio.open(root / "dsm" / path.name) as src:
            dsm = src.read(1).astype(np.float32)
    if roof.shape != rgb.shape[:2]:
        raise UserError(f"{path.name}: the mask is {roof.shape}, the image {rgb.shape[:2]}")
    return InriaTile(path.stem, rgb.astype(np.uint8), roof, dsm, float(cell))


def inria_sample(tile: InriaTile) -> Sample:
    """The network's input and labels from an Inria tile (labels: roof or ground; Inria marks no trees)."""
    if tile.dsm is not None:
        x = features(tile.dsm, tile.cell, tile.rgb)
    else:
        x = np.zeros((CHANNELS, *tile.roof.shape), np.float32)
        x[0:3] = tile.rgb.transpose(2, 0, 1) / 255.0 - 0.5
        x[3] = 1.0
    return Sample(x, tile.roof.astype(np.int64))
