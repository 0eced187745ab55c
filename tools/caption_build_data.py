"""Build the caption app's offline training set: real photos with pseudo-captions, in Karpathy's split-file format.

    python tools/caption_build_data.py --out /tmp/caption/data [--crops 700] [--heldout-crops 64]

Writes OUT/images/{train,test}/*.jpg (the photo corpus's training photos, downscaled to at most 512 px, plus random
square crops of them; the held-out photos and crops of them as the test split), OUT/dataset_photos.json (five
pseudo-captions per image, written by deepgallery/apps/caption/pseudo.py from the COCO detector and the ImageNet
classifier), and OUT/features.npz (the regions and CNN features of every image, the same as `train` would compute,
so training does not detect twice). Then:

    deepgallery train caption --data karpathy OUT/dataset_photos.json --images OUT/images \
        --features-cache OUT/features.npz
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from deepgallery.apps.caption.data import write_karpathy
from deepgallery.apps.caption.features import encode, save_cache
from deepgallery.apps.caption.pseudo import describe
from deepgallery.core.photos import corpus, load_rgb, manifest, random_crops
from deepgallery.core.runtime import progress, torch_threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--crops", type=int, default=700, help="random crops of the training photos")
    parser.add_argument("--heldout-crops", type=int, default=64, help="random crops of the held-out photos")
    parser.add_argument("--composites", type=int, default=600,
                        help="scenes pasted from the training photos' detected objects onto training backgrounds")
    parser.add_argument("--append", action="store_true",
                        help="add only the composites to an OUT made before (keeps its images, sentences, features)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.append:
        return append_composites(args)
    rng = np.random.default_rng(args.seed)
    items: list[tuple[str, str, np.ndarray, str]] = []  # (split, filename, rgb, origin)
    for split, side, n_crops in (("train", "train", args.crops), ("test", "heldout", args.heldout_crops)):
        records = corpus(side)
        for k, rec in enumerate(records):
            items.append((split, f"{side}_{k:03d}_{rec.path.stem}.jpg", load_rgb(rec, 512), f"{rec.source}:{rec.path}"))
        for k, crop in enumerate(random_crops(records, 320, n_crops, seed=args.seed + (split == "test"))):
            items.append((split, f"{side}_crop{k:04d}.jpg", crop, f"random crop of the {side} corpus"))
    rows, encoded = [], {}
    with torch_threads(1):
        for split, name, rgb, origin in progress(items, desc="detect + caption"):
            path = args.out / "images" / split / name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rgb).save(path, quality=92)
            rgb = np.asarray(Image.open(path).convert("RGB"))  # encode what the file holds (JPEG), as train will
            enc = encode(rgb)
            encoded[f"{split}/{name}"] = enc
            rows.append({"filename": name, "filepath": split, "split": split, "origin": origin,
                         "sentences": describe(enc, rgb, rng)})
    write_karpathy(args.out / "dataset_photos.json", rows, "photos")
    save_cache(args.out / "features.npz", encoded)
    (args.out / "manifest.json").write_text(json.dumps({
        "train": manifest(corpus("train")), "test": manifest(corpus("heldout")), "crops": args.crops,
        "heldout_crops": args.heldout_crops, "seed": args.seed}, indent=1, default=str))
    print(f"wrote {len(rows)} images to {args.out}")
    return 0


def object_bank(encoded: dict, images_dir: Path, min_score: float = 0.45, min_side: int = 40):
    """(label, RGB crop) of every confident detection in the training images (full photos and crops)."""
    bank = []
    for key, enc in sorted(encoded.items()):
        if not key.startswith("train/"):
            continue
        rgb = None
        for label, score, (x1, y1, x2, y2) in zip(enc.labels[1:], enc.scores[1:], enc.boxes[1:], strict=True):
            if score < min_score or min(x2 - x1, y2 - y1) < min_side:
                continue
            if rgb is None:
                rgb = np.asarray(Image.open(images_dir / key).convert("RGB"))
            bank.append((label, rgb[int(y1):int(y2), int(x1):int(x2)].copy()))
    return bank


def composite(bank, background: np.ndarray, rng: np.random.Generator):
    """1-3 objects of the bank pasted at random places and sizes (later ones in front): (RGB, boxes, labels)."""
    canvas = background.copy()
    side = canvas.shape[0]
    boxes, labels = [], []
    for _ in range(int(rng.choice([1, 1, 2, 2, 3]))):
        label, crop = bank[int(rng.integers(len(bank)))]
        h = int(side * rng.uniform(0.3, 0.75))
        w = max(8, min(side - 1, int(h * crop.shape[1] / crop.shape[0])))
        h = max(8, min(side - 1, int(w * crop.shape[0] / crop.shape[1])))
        x, y = int(rng.integers(0, side - w + 1)), int(rng.integers(0, side - h + 1))
        if any(_overlap((x, y, x + w, y + h), b) > 0.3 for b in boxes):
            continue  # a hidden object would be named but not seen
        piece = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.BILINEAR))
        canvas[y:y + h, x:x + w] = piece[:, ::-1] if rng.random() < 0.5 else piece
        boxes.append((x, y, x + w, y + h))
        labels.append(label)
    return canvas, boxes, labels


def _overlap(a, b) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def append_composites(args) -> int:
    """Composited scenes, captioned from where the objects were pasted (exact), added to the training split."""
    from deepgallery.apps.caption.features import EncodedImage, load_cache

    data = json.loads((args.out / "dataset_photos.json").read_text())
    first = sum(im["filename"].startswith("composite") for im in data["images"])  # a second --append adds more
    rng = np.random.default_rng(args.seed + 17 + first)
    encoded = load_cache(args.out / "features.npz")
    bank = object_bank(encoded, args.out / "images")
    print(f"object bank: {len(bank)} crops of {sorted({lab for lab, _ in bank})}")
    backgrounds = random_crops(corpus("train"), 320, args.composites, seed=args.seed + 5 + first)
    rows = [{k: v for k, v in im.items() if k not in ("sentences", "imgid")} |
            {"sentences": [s["raw"] for s in im["sentences"]]} for im in data["images"]]
    with torch_threads(1):
        for k, bg in enumerate(progress(backgrounds, desc="composites")):
            rgb, boxes, labels = composite(bank, bg, rng)
            name = f"composite{first + k:04d}.jpg"
            path = args.out / "images" / "train" / name
            Image.fromarray(rgb).save(path, quality=92)
            rgb = np.asarray(Image.open(path).convert("RGB"))
            truth = EncodedImage(np.array([[0, 0, 320, 320], *boxes], np.float32), ["image", *labels],
                                 np.ones(len(labels) + 1, np.float32), np.zeros((len(labels) + 1, 1), np.float32),
                                 320, 320, [])
            encoded[f"train/{name}"] = encode(rgb)  # what the model sees: the detector's regions, as at test time
            rows.append({"filename": name, "filepath": "train", "split": "train",
                         "origin": "composite of training-photo objects on a training-photo crop",
                         "sentences": describe(truth, rgb, rng)})
    write_karpathy(args.out / "dataset_photos.json", rows, "photos")
    save_cache(args.out / "features.npz", encoded)
    manifest_path = args.out / "manifest.json"
    record = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    record.setdefault("composite_batches", []).append({
        "count": args.composites, "first": first, "seed": args.seed + 17 + first,
        "objects": sorted({label for label, _ in bank}), "object_crops": len(bank)})
    manifest_path.write_text(json.dumps(record, indent=1, default=str))
    print(f"added {args.composites} composites: {len(rows)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
