"""Training photos for the fast style networks: a user's folder, or the few photos that ship offline.

Johnson et al. train on the 80k images of MS-COCO at 256x256. Offline here we have ~12 colour photos in
scikit-image and matplotlib's sample data (astronaut, cat, coffee, rocket, motorcycle, Grace Hopper, …); random
crops at random scales and flips make many different 96-128 px training patches out of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepgallery.core.errors import UserError
from deepgallery.core.media import IMAGE_SUFFIXES, read_image, resize_max_side

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "immunohistochemistry",
                  "retina", "hubble_deep_field", "colorwheel", "cat")


def offline_photos(max_side: int = 512) -> list[np.ndarray]:
    """RGB uint8 photos that ship inside installed packages (scikit-image, matplotlib)."""
    photos = []
    try:
        from skimage import data

        for name in SKIMAGE_PHOTOS:
            fn = getattr(data, name, None)
            if fn is None:
                continue
            img = np.asarray(fn())
            if img.ndim == 3 and img.shape[2] >= 3:
                photos.append(resize_max_side(np.ascontiguousarray(img[..., :3]), max_side))
    except ImportError:
        pass
    try:
        import matplotlib.cbook as cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            from PIL import Image

            photos.append(resize_max_side(np.asarray(Image.open(f).convert("RGB")), max_side))
    except (ImportError, OSError, ValueError):
        pass
    if not photos:
        raise UserError("no offline photos found: pip install scikit-image, or pass --data FOLDER of photos")
    return photos


def folder_photos(folder: str | os.PathLike, max_side: int = 512, limit: int = 2000) -> list[np.ndarray]:
    """Every readable image under `folder` (recursively), downscaled to `max_side`."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"--data {root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    photos = []
    for p in files:
        try:
            photos.append(resize_max_side(read_image(p, min_side=64), max_side))
        except UserError:
            continue  # skip unreadable or tiny files
    if not photos:
        raise UserError(f"--data {root}: no readable images of at least 64 px")
    return photos


def random_crops(photos: list[np.ndarray], batch: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """(B, size, size, 3) uint8: random photo, random scale (crop side 0.3-1.0 of the short side), flips."""
    from PIL import Image

    out = np.empty((batch, size, size, 3), dtype=np.uint8)
    for b in range(batch):
        img = photos[rng.integers(len(photos))]
        h, w = img.shape[:2]
        side = int(min(h, w) * rng.uniform(0.3, 1.0))
        side = max(side, min(h, w, size))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(img[y:y + side, x:x + side]).resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(crop)
        out[b] = arr[:, ::-1] if rng.random() < 0.5 else arr
    return out
