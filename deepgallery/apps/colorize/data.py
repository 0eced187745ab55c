"""Training data: photos (the offline corpus, or any folder such as ImageNet's or Places' train/), random crops,
their L* / a*b* and simulated user hints, and scene labels for the classification head.

The paper trains on Places (2.3 M photos of 205 scene classes) at 224×224, with the Places class as the label of
its classification network. Offline there is no Places: the default is the photo corpus of
`deepgallery.core.photos` (real photographs shipped by installed packages, split by source so held-out photos
never train), with *pseudo* scene labels, the top-1 ImageNet class of the offline EfficientNet-Lite0 on the
whole photo (`labels="classifier"`); `labels="folder"` takes the subfolder names instead (Places' and
ImageNet's own layout: that is the paper's setting), `labels="none"` trains without the head (α = 0).

Every crop is drawn from (seed, epoch, item index) alone, so one process and N processes under torchrun see the
same crops in the same global batches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES
from .color import ab_to_unit, normalise_l, rgb_to_lab
from .hints import simulate

MAX_SIDE = 512  # photos are kept at most this large in memory (crops are taken from them at random scales)


@dataclass
class Photos:
    """Photos in memory (RGB uint8, longer side <= MAX_SIDE), a scene label each (-1: none), and provenance."""

    images: list[np.ndarray]
    labels: list[int]
    names: list[str]
    classes: list[str]  # label index -> name
    manifest: list[dict] = field(default_factory=list)  # what they are (source, file, licence, SHA-256)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def corpus_photos(split: str = "train", max_side: int = MAX_SIDE) -> Photos:
    """The offline photo corpus (`core.photos`), one split; no labels yet (see `pseudo_labels`)."""
    from ...core.photos import corpus, load_rgb, manifest

    records = corpus(split)
    if not records:
        raise UserError(f"no {split} photos of the offline corpus are installed; see `deepgallery data photos`, "
                        "or give --data DIR")
    images = [load_rgb(r, max_side) for r in records]
    rows = [{k: v for k, v in row.items() if k in ("source", "path", "licence", "sha256", "width", "height")}
            for row in manifest(records)]
    return Photos(images, [-1] * len(images), [f"{r.source}/{r.path.name}" for r in records], [], rows)


def image_files(folder: str | Path) -> list[Path]:
    """Every image file under `folder`, recursively, in a fixed order (ImageNet's and Places' layouts work)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: not a folder of photos")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise UserError(f"{root}: no image files in it (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def folder_photos(folder: str | Path, max_side: int = MAX_SIDE, folder_labels: bool = False,
                  limit: int = 0, log=print) -> Photos:
    """All readable photos under `folder` (grayscale ones are skipped: they teach no colour); unreadable files
    are counted and skipped. `folder_labels`: the first subfolder's name is the class (Places, ImageNet)."""
    from ...core.media import read_image, resize_max_side
    from ...core.runtime import progress

    root = Path(folder).expanduser()
    files = image_files(root)[: limit or None]
    images, names, skipped, class_of = [], [], [], []
    for path in progress(files, desc="reading photos"):
        try:
            rgb = resize_max_side(read_image(path, min_side=32), max_side)
        except UserError as exc:
            skipped.append(f"{path}: {exc}")
            continue
        if float(np.abs(rgb.astype(np.int16) - rgb.mean(-1, keepdims=True)).mean()) < 1.0:
            skipped.append(f"{path}: grayscale, no colour to learn from")
            continue
        images.append(rgb)
        names.append(str(path.relative_to(root)))
        rel = path.relative_to(root).parts
        class_of.append(rel[0] if len(rel) > 1 else "")
    if skipped:
        log(f"skipped {len(skipped)} of {len(files)} file(s), e.g. {skipped[0]}")
    if not images:
        raise UserError(f"{root}: none of its {len(files)} image files is a readable colour photo")
    classes: list[str] = []
    labels = [-1] * len(images)
    if folder_labels:
        classes = sorted(set(class_of))
        if classes == [""]:
            raise UserError(f"{root}: --labels folder needs one subfolder per class (as Places and ImageNet)")
        labels = [classes.index(c) for c in class_of]
    manifest = [{"file": n} for n in names]
    return Photos(images, labels, names, classes, manifest, skipped)


def pseudo_labels(photos: Photos, device: str | torch.device = "cpu") -> Photos:
    """Label every photo with the offline ImageNet classifier's top-1 class (EfficientNet-Lite0 on the whole
    photo resized to 224×224): a stand-in for Places' scene labels. Classes are the 1000 ImageNet names."""
    from ...core.backbones import efficientnet_lite0, imagenet_class_names
    from ...core.runtime import progress

    net, prep = efficientnet_lite0()
    net = net.to(device)
    labels = []
    with torch.no_grad():
        for img in progress(photos.images, desc="pseudo scene labels (EfficientNet-Lite0 top-1)"):
            x = torch.nn.functional.interpolate(torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255,
                                                size=(224, 224), mode="bilinear", antialias=True)
            labels.append(int(net(prep.normalize(x.to(device))).argmax(1)))
    photos.labels = labels
    photos.classes = imagenet_class_names()
    return photos


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator, min_scale: float = 0.35) -> np.ndarray:
    """A square of random side (min_scale..1 of the shorter side) at a random place, resized to `size`, mirrored
    half the time: (size, size, 3) uint8."""
    from PIL import Image

    h, w = img.shape[:2]
    side = max(8, int(min(h, w) * rng.uniform(min_scale, 1.0)))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = np.array(Image.fromarray(img[y:y + side, x:x + side]).resize((size, size), Image.Resampling.BILINEAR))
    return np.ascontiguousarray(crop[:, ::-1]) if rng.random() < 0.5 else crop


class CropDataset(torch.utils.data.Dataset):
    """`per_epoch` crops of every photo per epoch; item i of epoch e is photo i % n, cropped with a generator
    seeded by (seed, e, i). Returns (crop uint8 (3, S, S), label, the item's seed for its hints): the colour
    conversion and the hints are computed batched on the training device (`make_batch`)."""

    def __init__(self, photos: Photos, size: int, per_epoch: int, seed: int) -> None:
        self.photos, self.size, self.per_epoch, self.seed, self.epoch = photos, size, per_epoch, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.photos) * self.per_epoch

    def __getitem__(self, i: int):
        k = i % len(self.photos)
        seq = np.random.SeedSequence([self.seed, self.epoch, i])
        crop = random_crop(self.photos.images[k], self.size, np.random.default_rng(seq))
        return torch.from_numpy(crop).permute(2, 0, 1), self.photos.labels[k], int(seq.generate_state(1)[0])


def make_batch(crops: torch.Tensor, seeds: torch.Tensor, hints: bool, hint_none: float = 0.5
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 crops (B, 3, S, S) on the device -> (network input (B, 1 [+3], S, S), a*b* target in [0, 1]
    (B, 2, S, S)); hints simulated from each crop's own seed."""
    lab = rgb_to_lab(crops.float() / 255.0)  # (B, 3, S, S)
    x = normalise_l(lab[:, :1])
    if hints:
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds.tolist()]
        x = torch.cat([x, simulate(lab[:, 1:], gens, p_none=hint_none)], dim=1)
    return x, ab_to_unit(lab[:, 1:])
