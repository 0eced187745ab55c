"""Data: any folder-per-class image set (the NDSB ``train/`` layout; WHOI-Plankton is the same), the rotated
Fashion-MNIST that stands in for plankton offline, the team's affine augmentation and test-time augmentation,
and the Kaggle submission CSV.

Every image goes through `prepare`: grey, the object made bright on a dark background (NDSB images are dark
organisms on white; the border decides), the longer side rescaled to the network's input size with the aspect
kept, centred on a square canvas. The rescaling throws the size away, so `prepare` also returns the original
size (log of the longer and the shorter side), which the networks take as an extra input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ...core.errors import UserError
from ...core.fashion_mnist import FASHION_CLASSES, FASHION_DIR, read_idx  # noqa: F401 (re-exported)
from ...core.fashion_mnist import fashion_mnist as fashion_mnist_split
from ...core.media import read_image

FASHION_HINT = "or train on your own images with --data FOLDER (one subfolder per class)"


# ---------------------------------------------------------------------------------------------- preparation


def size_features(height: int, width: int) -> np.ndarray:
    """(2,) log(longer side / 32), log(shorter side / 32): unchanged when the image is turned by 90°."""
    return np.log(np.array([max(height, width), min(height, width)], dtype=np.float32) / 32.0)


def prepare(grey: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey uint8 image (H, W) -> (the network's (size, size) uint8 input, its (2,) size features)."""
    from PIL import Image

    h, w = grey.shape
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    img = 255 - grey if border.mean() > 127 else grey  # object bright, background dark
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray(img).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.zeros((size, size), np.uint8)
    y, x = (size - nh) // 2, (size - nw) // 2
    canvas[y:y + nh, x:x + nw] = small
    return canvas, size_features(h, w)


def read_grey(path: Path) -> np.ndarray:
    """An image file as grey uint8 (H, W); UserError for anything unreadable."""
    rgb = read_image(path)  # (H, W, 3)
    return (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)


@dataclass
class ImageSet:
    """Prepared images: x (N, S, S) uint8, size (N, 2) float, y (N,) class indices (-1: unlabelled)."""

    x: torch.Tensor
    size: torch.Tensor
    y: torch.Tensor
    classes: list[str]
    names: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # files that could not be read

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx) -> ImageSet:
        idx = torch.as_tensor(idx, dtype=torch.long)
        names = [self.names[i] for i in idx.tolist()] if self.names else []
        return ImageSet(self.x[idx], self.size[idx], self.y[idx], self.classes, names)


def _stack(prepared: list[tuple[np.ndarray, np.ndarray]], labels: list[int], classes: list[str], names: list[str],
           skipped: list[str], size: int) -> ImageSet:
    x = torch.from_numpy(np.stack([p[0] for p in prepared])) if prepared else torch.zeros(0, size, size,
                                                                                          dtype=torch.uint8)
    s = torch.from_numpy(np.stack([p[1] for p in prepared])) if prepared else torch.zeros(0, 2)
    return ImageSet(x, s, torch.tensor(labels, dtype=torch.long), classes, names, skipped)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def read_class_folders(root: str | Path, size: int) -> ImageSet:
    """A folder with one subfolder per class (NDSB ``train/``, WHOI-Plankton): every file in them, prepared.
    Files that are not readable images are skipped and listed in `skipped`."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: not a folder (expected one subfolder of images per class)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise UserError(f"{root}: needs at least two class subfolders, found {len(classes)}")
    prepared, labels, names, skipped = [], [], [], []
    for k, name in enumerate(classes):
        for path in image_files(root / name):
            try:
                prepared.append(prepare(read_grey(path), size))
            except UserError:
                skipped.append(str(path))
                continue
            labels.append(k)
            names.append(f"{name}/{path.name}")
    empty = [c for k, c in enumerate(classes) if k not in set(labels)]
    if empty:
        raise UserError(f"{root}: class folder(s) without a readable image: {', '.join(empty)}")
    return _stack(prepared, labels, classes, names, skipped, size)


def read_unlabelled(paths: list[Path], size: int) -> ImageSet:
    """Images to classify (e.g. the NDSB ``test/`` folder); unreadable files are skipped and counted."""
    prepared, names, skipped = [], [], []
    for path in paths:
        try:
            prepared.append(prepare(read_grey(path), size))
        except UserError:
            skipped.append(str(path))
            continue
        names.append(path.name)
    return _stack(prepared, [-1] * len(prepared), [], names, skipped, size)


# ------------------------------------------------------------------------------------- Fashion-MNIST offline


def fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 28, 28) uint8, labels (N,)) of the 'train' (60000) or 't10k' (10000) split (core.fashion_mnist)."""
    return fashion_mnist_split(split, hint=FASHION_HINT)


def rotated_item(image: np.ndarray, angle: float, scale: float) -> np.ndarray:
    """One Fashion-MNIST image as a plankton-like picture: scaled, turned by `angle` degrees, cropped to the object
    with a 2-pixel margin, dark on white (so its size, like an organism's, depends on what it is)."""
    from PIL import Image

    side = max(8, round(28 * scale))
    im = Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR)
    im = im.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    arr = np.asarray(im)
    ys, xs = np.nonzero(arr > 20)
    if len(ys):
        arr = arr[max(0, ys.min() - 2):ys.max() + 3, max(0, xs.min() - 2):xs.max() + 3]
    return 255 - arr


def rotated_fashion_mnist(split: str, size: int, seed: int, limit: int = 0) -> ImageSet:
    """Fashion-MNIST with every image at a random rotation (0-360°) and scale (0.75-1.33), prepared: an
    orientation-free stand-in for plankton. The same `seed` always gives the same images."""
    images, labels = fashion_mnist(split)
    if limit:
        images, labels = images[:limit], labels[:limit]
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0, 360, len(images))
    scales = np.exp(rng.uniform(math.log(0.75), math.log(4 / 3), len(images)))
    prepared = [prepare(rotated_item(im, a, s), size) for im, a, s in zip(images, angles, scales, strict=True)]
    names = [f"{split}-{i:05d}.png" for i in range(len(images))]
    return _stack(prepared, labels.astype(int).tolist(), list(FASHION_CLASSES), names, [], size)


# ------------------------------------------------------------------------------------ splits, class weights


def stratified_split(y: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices): `fraction` of every class held out, at least one image of each class
    that has two or more, so every class is in both parts whenever it can be."""
    gen = torch.Generator().manual_seed(seed)
    train, held = [], []
    for k in torch.unique(y).tolist():
        idx = torch.nonzero(y == k).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        n = 0 if len(idx) < 2 or fraction <= 0 else min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held.append(idx[:n])
        train.append(idx[n:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


def class_weights(y: torch.Tensor, classes: int) -> torch.Tensor:
    """Inverse class frequencies, scaled so their mean over the examples is 1 (rare classes count more)."""
    counts = torch.bincount(y, minlength=classes).float().clamp(min=1)
    w = 1.0 / counts
    return w / w[y].mean()


# ----------------------------------------------------------------------------------------------- augmentation


@dataclass(frozen=True)
class AugmentConfig:
    """The team's affine augmentation (their convroll4: zoom 1/1.6-1.6, rotation 0-360°, shear ±20°, translation
    ±10 px of 95, flips, stretch up to 1.3), translation here in pixels of our smaller input."""

    zoom: float = 1.3
    rotation: float = 360.0
    shear: float = 20.0
    translation: float = 3.0
    flip: bool = True
    stretch: float = 1.3


def random_params(n: int, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """(n, 6) draws: rotation (°), log zoom, shear (°), tx, ty (px), log stretch, with flip in the zoom's sign."""
    u = torch.rand(n, 7, generator=gen)
    rot = u[:, 0] * cfg.rotation
    zoom = (u[:, 1] * 2 - 1) * math.log(cfg.zoom)
    shear = (u[:, 2] * 2 - 1) * cfg.shear
    tx, ty = (u[:, 3] * 2 - 1) * cfg.translation, (u[:, 4] * 2 - 1) * cfg.translation
    stretch = (u[:, 5] * 2 - 1) * math.log(cfg.stretch)
    flip = (u[:, 6] < 0.5) & cfg.flip
    return torch.stack([rot, zoom, shear, tx, ty, stretch, flip.float()], dim=1)  # (n, 7)


def affine(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Apply per-image affine maps to (B, 1, S, S) float images; params (B, 7) as `random_params` draws them."""
    b, _, s, _ = x.shape
    rot, zoom, shear = torch.deg2rad(params[:, 0]), params[:, 1].exp(), torch.deg2rad(params[:, 2])
    stretch = params[:, 5].exp().sqrt()
    sx, sy = zoom * stretch, zoom / stretch
    flip = 1 - 2 * params[:, 6]
    cos, sin, tan = torch.cos(rot), torch.sin(rot), torch.tan(shear)
    # forward map A = R(rot) · Shear · Scale · Flip; grid_sample needs the inverse (output -> input coordinates)
    a = torch.zeros(b, 2, 2)
    a[:, 0, 0], a[:, 0, 1] = cos * sx * flip, (cos * tan - sin) * sy
    a[:, 1, 0], a[:, 1, 1] = sin * sx * flip, (sin * tan + cos) * sy
    inv = torch.linalg.inv(a)
    t = torch.stack([params[:, 3], params[:, 4]], dim=1) * 2 / s  # pixels -> [-1, 1] units
    theta = torch.cat([inv, -(inv @ t.unsqueeze(2))], dim=2).to(x)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def tta_params(n: int = 8) -> torch.Tensor:
    """Test-time augmentation: `n` fixed transforms (rotations that are not multiples of 90° — the cyclic network
    already sees those — with and without a flip), (n, 7). The team used 70 quasi-random transforms."""
    rows = []
    turns = max(1, n // 2)
    for flip in (0.0, 1.0):
        for i in range(turns):
            rows.append([90.0 * i / turns, 0.0, 0.0, 0.0, 0.0, 0.0, flip])
    return torch.tensor(rows[:n], dtype=torch.float32)


def as_input(x: torch.Tensor) -> torch.Tensor:
    """(B, S, S) uint8 -> (B, 1, S, S) float in [0, 1]."""
    return x.float().div(255).unsqueeze(1)


# --------------------------------------------------------------------------------------------- submission CSV


def write_submission(path: str | Path, names: list[str], probs: np.ndarray, classes: list[str]) -> Path:
    """The Kaggle NDSB submission: header ``image,<class 1>,...,<class K>``, one row of probabilities per image."""
    import csv

    from ...core.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["image", *classes])
        for name, row in zip(names, probs, strict=True):
            out.writerow([name, *(f"{p:.6g}" for p in row)])
    return Path(path)


def folder_images(folder: Path) -> list[Path]:
    """The files of a folder to classify (subfolders included), hidden files left out."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not paths:
        raise UserError(f"{folder}: no files to classify")
    return paths

