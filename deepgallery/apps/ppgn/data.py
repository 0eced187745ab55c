"""Training photos for the prior: the natural photos that ship inside installed packages, or a user's folder.

ImageNet itself is not available offline. The PPGN-x prior is a DAE of local image statistics, so a
handful of photos cut into many random crops at random scales (with flips and a colour shuffle) goes a long
way: scikit-image's sample photos (astronaut, cat, coffee, motorcycle, rocket, …) and matplotlib's
Grace Hopper portrait. ``deepgallery train ppgn --data DIR`` uses your own photos instead.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES, read_image

# (package, file inside the package folder): colour photos of natural scenes and objects.
BUILTIN_PHOTOS: tuple[tuple[str, str], ...] = (
    ("skimage", "data/astronaut.png"),
    ("skimage", "data/chelsea.png"),
    ("skimage", "data/coffee.png"),
    ("skimage", "data/motorcycle_left.png"),
    ("skimage", "data/motorcycle_right.png"),
    ("skimage", "data/rocket.jpg"),
    ("skimage", "data/hubble_deep_field.jpg"),
    ("skimage", "data/horse.png"),
    ("skimage", "data/camera.png"),
    ("skimage", "data/grass.png"),
    ("skimage", "data/gravel.png"),
    ("skimage", "data/brick.png"),
    ("skimage", "data/coins.png"),
    ("skimage", "data/moon.png"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def builtin_photo_paths() -> list[Path]:
    """The built-in photos that exist in this environment (scikit-image is optional)."""
    paths = []
    for package, rel in BUILTIN_PHOTOS:
        root = _package_dir(package)
        if root is not None and (root / rel).is_file():
            paths.append(root / rel)
    return paths


def folder_photo_paths(folder: str | Path) -> list[Path]:
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: not a folder of photos")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not paths:
        raise UserError(f"{root}: no images found (PNG, JPEG, BMP, GIF, WebP or TIFF)")
    return paths


class CropSampler:
    """Random crops (B, 3, S, S) in [0, 1] from photos kept at several scales (a small pyramid)."""

    def __init__(self, paths: list[Path], crop: int, short_sides: tuple[int, ...] = (72, 96, 128, 176, 256)):
        from PIL import Image

        if not paths:
            raise UserError("no training photos: pip install scikit-image, or pass --data DIR with your photos")
        self.crop = crop
        self.images: list[torch.Tensor] = []
        for path in paths:
            rgb = read_image(path)  # (H, W, 3) uint8; grey photos come back as three equal channels
            for side in short_sides:
                if side < crop:
                    continue
                h, w = rgb.shape[:2]
                scale = side / min(h, w)
                size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
                small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))
                self.images.append(torch.from_numpy(small.copy()).permute(2, 0, 1))  # (3, h, w) uint8

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        out = torch.empty(batch, 3, self.crop, self.crop)
        idx = torch.randint(len(self.images), (batch,), generator=generator)
        for b, i in enumerate(idx.tolist()):
            img = self.images[i]
            _, h, w = img.shape
            y = int(torch.randint(h - self.crop + 1, (1,), generator=generator))
            x = int(torch.randint(w - self.crop + 1, (1,), generator=generator))
            patch = img[:, y : y + self.crop, x : x + self.crop].float() / 255.0
            if torch.rand(1, generator=generator) < 0.5:
                patch = patch.flip(2)
            # colour shuffle: a random channel order, so a few photos cover more colours
            patch = patch[torch.randperm(3, generator=generator)]
            out[b] = patch
        return out  # (B, 3, S, S)
