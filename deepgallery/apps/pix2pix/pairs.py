"""Paired data: the two dataset layouts pix2pix users have, the pairs we make from any photo folder, and the
paper's random jitter and mirroring.

Layouts (`find_pairs`):

* **A|B side by side** — the layout of the authors' datasets (facades, cityscapes, maps, edges2shoes,
  edges2handbags, night2day): ``DIR/train/*.jpg`` and ``DIR/val/*.jpg`` (or the images right in ``DIR``), each
  image the input A on the left half and the target B on the right half (e.g. 512 × 256 for 256 × 256 pairs).
* **Aligned folders** — ``DIR/A/`` and ``DIR/B/`` holding files of the same names (optionally each with
  ``train/`` and ``val/`` inside): ``A/0001.png`` is translated into ``B/0001.png``.

`--direction BtoA` swaps the roles, as the authors' code does (maps: aerial → map or map → aerial).

Pairs from photos (`make_pair`, `deepgallery run pix2pix pairs PHOTOS --task ...`): the target is the photo and
the input is computed from it:

* ``edges``: Canny's detector (Canny 1986) with automatic thresholds (the median grey level m of the smoothed
  photo gives low/high = (1 ∓ 0.33)·m), short fragments removed, lines thinned to one pixel and drawn 2 px wide,
  black on white — what a person draws on the sketch pad. (The paper's edges2shoes used HED, a network not
  available offline; Canny finds more texture edges than HED, so we smooth the photo first.)
* ``gray``: the luminance (ITU-R 601) in three equal channels — grayscale → colour.
* ``segments``: SLIC superpixels (Achanta et al. 2012) each filled with its mean colour — a coarse colour
  layout → photo, the analogue of the paper's labels → facade.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES, read_image

Task = Literal["edges", "gray", "segments"]
TASKS: tuple[str, ...] = ("edges", "gray", "segments")
TASK_HELP = {
    "edges": "Canny edges (automatic thresholds), black on white -> photo",
    "gray": "grayscale -> colour",
    "segments": "SLIC superpixels filled with their mean colour -> photo",
}


# ----------------------------------------------------------------------------------------- inputs from photos


def edges(photo: np.ndarray, sigma: float | None = None, min_length: int | None = None) -> np.ndarray:
    """The edge map of an (H, W, 3) uint8 photo: (H, W, 3) uint8, black 2-px lines on white.

    Gaussian smoothing (σ = 1.5 px per 256 px of the shorter side: Canny keeps object outlines, not texture),
    Canny with thresholds from the median grey level, fragments shorter than `min_length` px dropped, then the
    same thinning and drawing as a user's sketch (`as_edge_map`), so a drawn and a detected edge look alike."""
    import cv2

    side = min(photo.shape[:2])
    sigma = sigma if sigma is not None else 1.5 * max(side / 256, 0.5)
    min_length = min_length if min_length is not None else max(8, round(12 * side / 256))
    gray = cv2.cvtColor(np.ascontiguousarray(photo), cv2.COLOR_RGB2GRAY)
    smooth = cv2.GaussianBlur(gray, (0, 0), sigma)
    median = float(np.median(smooth))
    low, high = max(0.0, 0.67 * median), min(255.0, 1.33 * median)
    lines = cv2.Canny(smooth, low, max(high, low + 1)) > 0  # (H, W) bool, 1-px lines
    count, labels, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] > min_length  # (count,) fragments of more than min_length pixels
    keep[0] = False  # the background
    return draw_lines(keep[labels])


def draw_lines(lines: np.ndarray, width: int = 2) -> np.ndarray:
    """(H, W) bool one-pixel lines -> (H, W, 3) uint8 black lines `width` px wide on white."""
    import cv2

    if width > 1:
        lines = cv2.dilate(lines.astype(np.uint8), np.ones((width, width), np.uint8)) > 0
    out = np.full((*lines.shape, 3), 255, np.uint8)
    out[lines] = 0
    return out


def as_edge_map(drawing: np.ndarray) -> np.ndarray:
    """A sketch (any pen width, dark strokes on a light background) as the edge maps the model was trained on:
    strokes found by Otsu's threshold (dark < 128 when the drawing is nearly all blank), thinned to their
    one-pixel skeleton and drawn 2 px wide. A drawing whose strokes are light on dark is inverted first."""
    from skimage.filters import threshold_otsu
    from skimage.morphology import skeletonize

    gray = drawing.astype(np.float32).mean(axis=2)  # (H, W)
    if np.median(gray) < 128:  # light lines on a dark pad
        gray = 255 - gray
    level = threshold_otsu(gray) if gray.max() - gray.min() > 32 else 128.0
    strokes = gray < min(level, 200)
    return draw_lines(skeletonize(strokes) if strokes.any() else strokes)


def grayscale(photo: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma in three equal channels: (H, W, 3) uint8."""
    luma = photo.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.repeat(np.clip(luma + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def segments(photo: np.ndarray, count: int = 150) -> np.ndarray:
    """SLIC superpixels (about `count` per image), each filled with its mean colour: (H, W, 3) uint8."""
    from skimage.segmentation import slic

    labels = slic(photo, n_segments=count, compactness=10, start_label=0)  # (H, W) int
    flat = labels.ravel()
    sums = np.zeros((flat.max() + 1, 3))
    np.add.at(sums, flat, photo.reshape(-1, 3).astype(np.float64))
    means = sums / np.maximum(np.bincount(flat, minlength=len(sums)), 1)[:, None]
    return np.clip(means[labels] + 0.5, 0, 255).astype(np.uint8)


def make_input(photo: np.ndarray, task: str) -> np.ndarray:
    """The input A the model learns to translate into `photo` (B)."""
    if task == "edges":
        return edges(photo)
    if task == "gray":
        return grayscale(photo)
    if task == "segments":
        return segments(photo)
    raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def random_square(photo: np.ndarray, side: int, rng: np.random.Generator, min_scale: float = 0.5) -> np.ndarray:
    """A random square crop (a side between `min_scale` and 1 of the photo's shorter side), resized to `side`."""
    from PIL import Image

    h, w = photo.shape[:2]
    crop = int(rng.uniform(min_scale, 1.0) * min(h, w))
    y, x = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    square = Image.fromarray(photo[y:y + crop, x:x + crop])
    resample = Image.Resampling.LANCZOS if crop > side else Image.Resampling.BICUBIC
    return np.asarray(square.resize((side, side), resample))


def make_pair(photo: np.ndarray, task: str) -> np.ndarray:
    """One A|B image: the computed input on the left, the photo on the right, (H, 2W, 3) uint8."""
    return np.concatenate([make_input(photo, task), photo], axis=1)


# ------------------------------------------------------------------------------------------------ the layouts


@dataclass(frozen=True)
class Pair:
    """One training pair on disk: `a` is the file (left half when `b` is None: an A|B image), `b` the target file."""

    a: Path
    b: Path | None = None

    @property
    def name(self) -> str:
        return self.a.name


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def find_pairs(root: str | os.PathLike, split: str = "train") -> list[Pair]:
    """The pairs of `split` (train / val / test) under `root` in either layout; a malformed folder is one
    UserError line naming the problem. A layout without split subfolders gives all its pairs for any split."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: no such folder (give a folder of A|B pairs or one holding A/ and B/)")
    if (root / "A").is_dir() or (root / "B").is_dir():
        return _aligned(root, split)
    folder = root / split if (root / split).is_dir() else root
    files = _images(folder)
    if not files:
        subs = ", ".join(sorted(p.name + "/" for p in root.iterdir() if p.is_dir())) or "none"
        raise UserError(f"{folder}: no images; expected A|B pair images in {root}/{split}/ (or in {root}), "
                        f"or folders {root}/A and {root}/B (subfolders found: {subs})")
    return [Pair(f) for f in files]


def _aligned(root: Path, split: str) -> list[Pair]:
    a_dir, b_dir = root / "A", root / "B"
    for d in (a_dir, b_dir):
        if not d.is_dir():
            raise UserError(f"{root}: has {'A' if d is b_dir else 'B'}/ but no {d.name}/; aligned pairs need both "
                            "folders, with files of the same names")
    if (a_dir / split).is_dir() or (b_dir / split).is_dir():
        a_dir, b_dir = a_dir / split, b_dir / split
        if not (a_dir.is_dir() and b_dir.is_dir()):
            raise UserError(f"{root}: {split}/ exists in only one of A/ and B/")
    a = {p.stem: p for p in _images(a_dir)}
    b = {p.stem: p for p in _images(b_dir)}
    if not a or not b:
        raise UserError(f"{a_dir if not a else b_dir}: no images")
    only_a, only_b = sorted(a.keys() - b.keys()), sorted(b.keys() - a.keys())
    if only_a or only_b:
        side, names = ("A", only_a) if only_a else ("B", only_b)
        raise UserError(f"{root}: {len(names)} file(s) in {side}/ have no namesake in the other folder "
                        f"(e.g. {names[0]}); aligned pairs need the same file names in A/ and B/")
    return [Pair(a[k], b[k]) for k in sorted(a)]


def read_pair(pair: Pair, direction: str = "AtoB") -> tuple[np.ndarray, np.ndarray]:
    """(input, target), each (H, W, 3) uint8, from an A|B image or two aligned files; UserError if malformed."""
    if pair.b is None:
        ab = read_image(pair.a, min_side=2)
        h, w = ab.shape[:2]
        if w % 2:
            raise UserError(f"{pair.a}: is {w}x{h}, an odd width: an A|B pair image holds two equal halves side "
                            "by side (A left, B right)")
        a, b = ab[:, : w // 2], ab[:, w // 2:]
    else:
        a, b = read_image(pair.a), read_image(pair.b)
        if a.shape != b.shape:
            raise UserError(f"{pair.a.name}: A is {a.shape[1]}x{a.shape[0]} but B is {b.shape[1]}x{b.shape[0]}; "
                            "aligned pairs must be the same size")
    return (a, b) if direction == "AtoB" else (b, a)


# ------------------------------------------------------------------------------------- the paper's augmentation


def jitter(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, load_size: int = 286, crop: int = 256,
           flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Random jitter and mirroring (Appendix 6.2): both images resized to load_size², the same random crop²
    and, half of the time, the same left-right flip. load_size == crop gives a plain resize (no jitter)."""
    from PIL import Image

    def resized(x: np.ndarray) -> np.ndarray:
        if x.shape[:2] == (load_size, load_size):
            return x
        return np.asarray(Image.fromarray(x).resize((load_size, load_size), Image.Resampling.BICUBIC))

    a, b = resized(a), resized(b)
    y, x = (int(v) for v in rng.integers(0, load_size - crop + 1, size=2))
    a, b = a[y:y + crop, x:x + crop], b[y:y + crop, x:x + crop]
    if flip and rng.random() < 0.5:
        a, b = a[:, ::-1], b[:, ::-1]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


class PairDataset(torch.utils.data.Dataset):
    """Pairs as (x, y) tensors (3, crop, crop) in [-1, 1], jittered by (seed, epoch, index): the same example
    gets the same crop whatever the number of processes (set `epoch` before each pass)."""

    def __init__(self, pairs: list[Pair], direction: str = "AtoB", load_size: int = 286, crop: int = 256,
                 flip: bool = True, seed: int = 0, augment: bool = True) -> None:
        self.pairs, self.direction = pairs, direction
        self.load_size, self.crop, self.flip, self.seed, self.augment = load_size, crop, flip, seed, augment
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = read_pair(self.pairs[i], self.direction)
        rng = np.random.default_rng([self.seed, self.epoch, i])
        if self.augment:
            a, b = jitter(a, b, rng, self.load_size, self.crop, self.flip)
        else:
            a, b = jitter(a, b, rng, self.crop, self.crop, flip=False)

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(x).permute(2, 0, 1).float() / 127.5 - 1.0  # (3, H, W)

        return t(a), t(b)


class PhotoPairs(torch.utils.data.Dataset):
    """Pairs made on the fly from photos: example i of an epoch is a random square of a random photo (chosen by
    its megapixels, a side between `min_scale` and 1 of its shorter side) resized to load_size, its computed
    input beside it, then the paper's jitter and mirroring. Drawn from (seed, epoch, i), so the same whatever
    the number of processes; `length` examples make an epoch. What trained the shipped edges → photo model."""

    def __init__(self, photos: list[np.ndarray], task: str, length: int, load_size: int = 286, crop: int = 256,
                 flip: bool = True, seed: int = 0, min_scale: float = 0.25) -> None:
        if task not in TASKS:
            raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
        if not photos:
            raise UserError("no photos to make pairs from")
        self.photos, self.task, self.length = photos, task, length
        self.load_size, self.crop, self.flip, self.seed, self.min_scale = load_size, crop, flip, seed, min_scale
        sizes = np.array([p.shape[0] * p.shape[1] for p in photos], np.float64)
        self.weights = sizes / sizes.sum()
        self.epoch = 0

    def __len__(self) -> int:
        return self.length

    def example(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(input, photo), each (crop, crop, 3) uint8."""
        rng = np.random.default_rng([self.seed, self.epoch, i])
        photo = self.photos[int(rng.choice(len(self.photos), p=self.weights))]
        square = random_square(photo, self.load_size, rng, self.min_scale)
        return jitter(make_input(square, self.task), square, rng, self.load_size, self.crop, self.flip)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.example(i)
        return (torch.from_numpy(a).permute(2, 0, 1).float() / 127.5 - 1.0,
                torch.from_numpy(b).permute(2, 0, 1).float() / 127.5 - 1.0)


def write_pairs(photo_dir: str | os.PathLike, task: str, out: str | os.PathLike, crops: int = 4, side: int = 256,
                val_fraction: float = 0.1, seed: int = 0, log=print) -> dict:
    """Make an A|B dataset from a folder of photos: OUT/train/ and OUT/val/ (split by photo, so no val photo is
    trained on), `crops` random squares per photo of `side` px, each written as one PNG (A left, B right).
    Unreadable files are skipped and counted. Returns counts."""
    from ...core.media import save_image
    from ...core.runtime import progress

    src = Path(photo_dir).expanduser()
    if not src.is_dir():
        raise UserError(f"{src}: no such folder (give a folder of photos)")
    files = [p for p in sorted(src.rglob("*")) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise UserError(f"{src}: no images (PNG, JPEG, BMP, GIF, WebP or TIFF) in it or its subfolders")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(files))
    n_val = int(round(val_fraction * len(files))) if len(files) > 1 else 0
    val = {int(k) for k in order[:n_val]}
    counts = {"train": 0, "val": 0, "skipped": 0}
    for k, path in enumerate(progress(files, desc=f"pairs ({task})")):
        try:
            photo = read_image(path, min_side=32)
        except UserError as exc:
            counts["skipped"] += 1
            log(f"skipped: {exc}")
            continue
        split = "val" if k in val else "train"
        stem = path.relative_to(src).with_suffix("").as_posix().replace("/", "_")
        for c in range(crops):
            square = random_square(photo, side, np.random.default_rng([seed, k, c]))
            save_image(Path(out) / split / f"{stem}_{c}.png", make_pair(square, task))
            counts[split] += 1
    if not counts["train"] and not counts["val"]:
        raise UserError(f"{src}: none of its {len(files)} image files could be read")
    return counts
