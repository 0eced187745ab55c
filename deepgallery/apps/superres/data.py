"""Data for super resolution: pairs (low, high) of uint8 images, the low one the high one shrunk by the factor.

* **Fashion-MNIST** 7×7 → 28×28 (grey, ×4, the paper's factor): what the shipped model is trained on offline
  (Debian package dataset-fashion-mnist, read by `core.fashion_mnist`); its labels drive the class-consistency
  test of `bench`.
* **CelebA** 8×8 → 32×32 (RGB), the paper's face data, in its own layout: ``img_align_celeba/*.jpg`` and
  ``list_eval_partition.txt`` (``000001.jpg 0`` — 0 train, 1 validation, 2 test). Every aligned 178×218 face
  is cut to its central 178×178 square (the face) and shrunk to 32×32; the paper crops the faces and shrinks
  them to 32×32 without giving the exact box.
* **Face crops from the photo corpus** (`face_crops`): MediaPipe's face detector on `core.photos`, each face's
  box grown to a square with a margin and shrunk to 32×32.

Shrinking is the mean over factor×factor blocks (area averaging), both for the high-resolution targets
(anti-aliased) and for the low-resolution inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from ...core.fashion_mnist import FASHION_CLASSES, fashion_mnist

CELEBA_SPLITS = {"train": 0, "validation": 1, "test": 2}
FASHION_HINT = "or train on CelebA with --data celeba DIR"


@dataclass
class PairSet:
    """low (N, C, h, w) uint8, high (N, C, H, W) uint8, labels (N,) long (-1: none), class names."""

    low: torch.Tensor
    high: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    source: str

    def __len__(self) -> int:
        return len(self.high)

    def subset(self, idx) -> PairSet:
        idx = torch.as_tensor(idx, dtype=torch.long)
        return PairSet(self.low[idx], self.high[idx], self.labels[idx], self.classes, self.source)


def shrink(images: np.ndarray, factor: int) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> (N, H/f, W/f[, C]) uint8: the mean of each factor×factor block, rounded."""
    n, h, w = images.shape[:3]
    if h % factor or w % factor:
        raise UserError(f"images of {h}×{w} cannot be shrunk by {factor}: the sides must be multiples of it")
    blocks = images.reshape(n, h // factor, factor, w // factor, factor, *images.shape[3:]).astype(np.float32)
    return blocks.mean(axis=(2, 4)).round().astype(np.uint8)


def pairs(high: np.ndarray, factor: int, labels: np.ndarray | None = None, classes: list[str] | None = None,
          source: str = "") -> PairSet:
    """High-resolution uint8 images (N, H, W) grey or (N, H, W, 3) RGB -> the PairSet of them and their shrunk
    copies, channels first."""
    low = shrink(high, factor)
    if high.ndim == 3:
        high, low = high[:, None], low[:, None]
    else:
        high, low = high.transpose(0, 3, 1, 2), low.transpose(0, 3, 1, 2)
    y = torch.from_numpy(labels.astype(np.int64)) if labels is not None else torch.full((len(high),), -1)
    return PairSet(torch.from_numpy(np.array(low, copy=True)), torch.from_numpy(np.array(high, copy=True)), y,
                   list(classes or []), source)


def fashion_pairs(split: str, limit: int = 0, factor: int = 4) -> PairSet:
    """Fashion-MNIST 'train' (60000) or 't10k' (10000) as 28×28 targets and 7×7 inputs, with their labels."""
    images, labels = fashion_mnist(split, hint=FASHION_HINT)
    if limit:
        images, labels = images[:limit], labels[:limit]
    return pairs(images, factor, labels, FASHION_CLASSES, f"Fashion-MNIST {split} (Debian dataset-fashion-mnist)")


# -------------------------------------------------------------------------------------------------- CelebA


def celeba_face(path: Path, size: int = 32) -> np.ndarray:
    """One aligned CelebA image (178×218) -> its central square, shrunk to size×size RGB uint8."""
    from PIL import Image

    from ...core.media import read_image

    rgb = read_image(path)
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = Image.fromarray(rgb[top:top + side, left:left + side])
    return np.asarray(square.resize((size, size), Image.Resampling.BOX))


def read_celeba(root: str | Path, split: str = "train", limit: int = 0, size: int = 32, factor: int = 4) -> PairSet:
    """CelebA from its folder (img_align_celeba/ + list_eval_partition.txt): the split's faces as size×size RGB
    targets and (size/factor)² inputs. Unreadable images are skipped; a missing file or a malformed partition
    line is one UserError."""
    root = Path(root).expanduser()
    images_dir, partition = root / "img_align_celeba", root / "list_eval_partition.txt"
    if not images_dir.is_dir() or not partition.is_file():
        raise UserError(f"{root}: not a CelebA folder (needs img_align_celeba/ and list_eval_partition.txt)")
    if split not in CELEBA_SPLITS:
        raise UserError(f"unknown CelebA split {split!r}; choose {', '.join(CELEBA_SPLITS)}")
    names = []
    for number, line in enumerate(partition.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise UserError(f"{partition}:{number}: expected '<image>.jpg <0|1|2>', got {line.strip()!r}")
        if int(parts[1]) == CELEBA_SPLITS[split]:
            names.append(parts[0])
    faces = []
    for name in names:
        if limit and len(faces) >= limit:
            break
        try:
            faces.append(celeba_face(images_dir / name, size))
        except UserError:
            continue
    if not faces:
        raise UserError(f"{root}: no readable image in the {split} split")
    return pairs(np.stack(faces), factor, source=f"CelebA {split} ({root})")


# ------------------------------------------------------------------------------------ faces in the photo corpus


def face_crops(split: str = "train", size: int = 32, margin: float = 0.25, min_side: int = 32) -> np.ndarray:
    """Faces found by MediaPipe's face detector (the short-range BlazeFace model inside the mediapipe wheel) in the
    offline photo corpus: (N, size, size, 3) uint8, each box grown by `margin` to a square. Faces smaller than
    `min_side` pixels are left out (they would be upsampled, not shrunk)."""
    from PIL import Image

    from ...core.photos import corpus, load_rgb
    from ...core.runtime import quiet_native_logs

    try:
        from mediapipe.python.solutions import face_detection
    except ImportError:
        raise UserError("face crops need mediapipe: pip install --no-deps mediapipe==0.10.14") from None
    crops = []
    with quiet_native_logs(), face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6) as det:
        for record in corpus(split):
            rgb = load_rgb(record, max_side=1920)
            h, w = rgb.shape[:2]
            for found in det.process(rgb).detections or []:
                box = found.location_data.relative_bounding_box
                side = max(box.width * w, box.height * h) * (1 + 2 * margin)
                cx, cy = (box.xmin + box.width / 2) * w, (box.ymin + box.height / 2) * h
                left, top = round(cx - side / 2), round(cy - side / 2)
                if side < min_side or left < 0 or top < 0 or left + side > w or top + side > h:
                    continue
                face = Image.fromarray(rgb[top:top + round(side), left:left + round(side)])
                crops.append(np.asarray(face.resize((size, size), Image.Resampling.BOX)))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)
