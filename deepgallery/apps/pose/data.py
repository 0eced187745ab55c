"""COCO keypoints loader: ``person_keypoints_*.json`` + an images folder → (image, S*, L*, W) training samples.

Reads the standard COCO 2017 keypoint annotations (https://cocodataset.org/#keypoints-2017: download
``annotations_trainval2017.zip`` and ``train2017.zip``). Each sample is letterboxed to a square of
``size`` px; people with keypoints give the ground-truth maps (targets.py, Eq. 6-9); crowds and people with no
labelled keypoint are masked out of the loss (W(p), Eq. 3-4). Augmentation: a random horizontal flip (left and
right keypoints swapped) and a random scale, drawn from (seed, epoch, image index) so that they do not depend
on which process draws the image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from .skeleton import KEYPOINTS, PAF_LIMBS
from .targets import confidence_maps, ignore_mask, part_affinity_fields

FLIP = [KEYPOINTS.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in KEYPOINTS]
MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet statistics (the paper's VGG stem expects them)
STD = np.array([0.229, 0.224, 0.225], np.float32)


@dataclass(frozen=True)
class DataConfig:
    """How samples are made."""

    size: int = 256  # network input side (the paper: 368)
    stride: int = 8  # output stride of the network (PAFConfig.stride)
    sigma: float = 7.0  # σ of the Gaussian peaks (Eq. 6) in input pixels (the authors' code: 7 at 368 px)
    limb_width: float = 8.0  # σ_l: half-width of a limb in the PAF (Eq. 8), input pixels
    flip: bool = True  # random horizontal flip
    scale_range: tuple[float, float] = (0.8, 1.2)  # random zoom before letterboxing (1, 1: none)


def load_coco(ann_file: str | Path, images_dir: str | Path) -> list[dict]:
    """Per image: {"path", "people": (P, 17, 3) float32, "ignore": (Q, 4) boxes}; images without people dropped."""
    ann_file, images_dir = Path(ann_file), Path(images_dir)
    if not ann_file.is_file():
        raise UserError(f"{ann_file}: no such COCO annotation file (person_keypoints_*.json)")
    if not images_dir.is_dir():
        raise UserError(f"{images_dir}: no such images folder")
    try:
        doc = json.loads(ann_file.read_text(encoding="utf-8"))
        images = {im["id"]: im for im in doc["images"]}
        anns = doc["annotations"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise UserError(f"{ann_file}: not a COCO keypoints file (needs 'images' and 'annotations')") from None
    people: dict[int, list] = {}
    ignore: dict[int, list] = {}
    for a in anns:
        if a.get("category_id", 1) != 1:
            continue
        kp = np.asarray(a.get("keypoints") or [], np.float32)
        labelled = a.get("num_keypoints", int((kp[2::3] > 0).sum())) if kp.size == 3 * len(KEYPOINTS) else 0
        if a.get("iscrowd", 0) or labelled == 0:
            x, y, w, h = a.get("bbox", (0, 0, 0, 0))
            ignore.setdefault(a["image_id"], []).append((x, y, x + w, y + h))
            continue
        people.setdefault(a["image_id"], []).append(kp.reshape(len(KEYPOINTS), 3))
    records = []
    for image_id, ppl in sorted(people.items()):
        if image_id not in images:
            continue
        records.append({"path": images_dir / images[image_id]["file_name"], "people": np.stack(ppl),
                        "ignore": np.asarray(ignore.get(image_id, []), np.float32).reshape(-1, 4)})
    if not records:
        raise UserError(f"{ann_file}: no person with keypoints found")
    return records


class CocoKeypoints(torch.utils.data.Dataset):
    """Samples for PAFNet: image (3, size, size), S* (J+1, size/8, size/8), L* (2C, ·, ·), W (1, ·, ·)."""

    def __init__(self, records: list[dict], cfg: DataConfig | None = None, limbs=PAF_LIMBS, seed: int = 0):
        self.records, self.cfg, self.limbs = records, cfg or DataConfig(), limbs
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        """New augmentations for a new pass over the data."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        import cv2

        from ...core.media import read_image

        cfg, rec = self.cfg, self.records[i]
        rng = np.random.default_rng((self.seed, self.epoch, i))  # a sample's augmentation depends on nothing else,
        # so it is the same whichever process (under torchrun) or worker draws it
        rgb = read_image(rec["path"])
        people, boxes = rec["people"].copy(), rec["ignore"].copy()
        h, w = rgb.shape[:2]
        scale = cfg.size / max(h, w) * rng.uniform(*cfg.scale_range)
        img = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((cfg.size, cfg.size, 3), np.uint8)
        ch, cw = min(cfg.size, img.shape[0]), min(cfg.size, img.shape[1])
        canvas[:ch, :cw] = img[:ch, :cw]
        people[..., :2] *= scale
        boxes *= scale
        if cfg.flip and rng.random() < 0.5:
            canvas = canvas[:, ::-1]
            people = people[:, FLIP]
            people[..., 0] = cfg.size - 1 - people[..., 0]
            boxes = np.stack([cfg.size - 1 - boxes[:, 2], boxes[:, 1], cfg.size - 1 - boxes[:, 0], boxes[:, 3]], 1) \
                if len(boxes) else boxes
        grid = (cfg.size // cfg.stride, cfg.size // cfg.stride)
        s = confidence_maps(people, grid, cfg.stride, cfg.sigma)
        paf = part_affinity_fields(people, self.limbs, grid, cfg.stride, cfg.limb_width)
        mask = ignore_mask(boxes, grid, cfg.stride)
        x = (canvas.astype(np.float32) / 255.0 - MEAN) / STD  # (size, size, 3)
        return (torch.from_numpy(x.transpose(2, 0, 1).copy()), torch.from_numpy(s), torch.from_numpy(paf),
                torch.from_numpy(mask))
