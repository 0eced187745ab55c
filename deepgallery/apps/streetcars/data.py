"""Car images for the fine-grained classifier, in the folder-per-class layout.

Stanford Cars (Krause et al. 2013; 16,185 images of 196 make/model/year classes) is published as two image folders
with the labels in MATLAB files; the variant this loader reads is the widely used *folder-per-class* one (e.g.
Kaggle's "Stanford Car Dataset by classes folder"): ``car_data/train/<Make Model Year>/*.jpg`` and
``car_data/test/<Make Model Year>/*.jpg``. Give ``--data car_data/train`` (a held-out part of every class is split
off for validation) — or any folder with one subfolder of images per class (your own Street View crops, CompCars
re-sorted into folders). Files that are not readable images are skipped and counted.

Every image is read, resized (whole image, aspect not kept — the paper's crops are boxes around one car) to the
network's input side and kept in memory as uint8; the one augmentation is a left-right flip, drawn from
(seed, epoch, image index) so one process and N processes under torchrun flip the same images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES, read_image
from ...core.runtime import progress


@dataclass
class CarImages:
    x: torch.Tensor  # (N, S, S, 3) uint8
    y: torch.Tensor  # (N,) class indices
    classes: list[str]
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> CarImages:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return CarImages(self.x[idx], self.y[idx], self.classes)


def read_class_folders(root: str | Path, size: int, limit_per_class: int = 0, show_progress: bool = True) -> CarImages:
    """A folder with one subfolder of car images per class → all of them at (size, size)."""
    from PIL import Image

    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: not a folder (expected one subfolder of car images per class, e.g. "
                        "Stanford Cars' car_data/train)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root}: needs at least two class subfolders, found {len(classes)}")
    files = []
    for k, name in enumerate(classes):
        paths = sorted(p for p in (root / name).iterdir() if p.is_file() and not p.name.startswith("."))
        paths = [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES] + \
            [p for p in paths if p.suffix.lower() not in IMAGE_SUFFIXES]  # non-image suffixes: tried, then skipped
        files += [(p, k) for p in (paths[:limit_per_class] if limit_per_class else paths)]
    images, labels, skipped = [], [], []
    for path, k in progress(files, desc="read car images", enabled=show_progress):
        try:
            rgb = read_image(path)
        except UserError:
            skipped.append(str(path))
            continue
        images.append(np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.BILINEAR)))
        labels.append(k)
    empty = [c for k, c in enumerate(classes) if k not in set(labels)]
    if empty:
        raise UserError(f"{root}: class folder(s) without a readable image: {', '.join(empty[:5])}")
    return CarImages(torch.from_numpy(np.stack(images)), torch.tensor(labels), classes, skipped)


def stratified_split(y: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices): `fraction` of every class with two or more images held out."""
    gen = torch.Generator().manual_seed(seed)
    train, held = [], []
    for k in torch.unique(y).tolist():
        idx = torch.nonzero(y == k).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n = 0 if len(idx) < 2 or fraction <= 0 else min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held.append(idx[:n])
        train.append(idx[n:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


def flips(n: int, seed: int, epoch: int) -> torch.Tensor:
    """(n,) booleans: which images are mirrored this epoch, the same for any number of processes."""
    return torch.rand(n, generator=torch.Generator().manual_seed(seed * 7919 + epoch)) < 0.5
