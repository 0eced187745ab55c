"""Build the caption app's offline training set: real photos with pseudo-captions, in Karpathy's split-file format.

    python tools/caption_build_data.py --out /tmp/caption/data [--crops 700] [--heldout-crops 64]

Writes OUT/images/{train,test}/*.jpg (the photo corpus's training photos, downscaled to at most 512 px, plus random
square crops of them; the held-out photos and crops of them as the test split), OUT/dataset_photos.json (five
pseudo-captions per image, written by deepgallery/apps/caption/pseudo.py from the COCO detector and the ImageNet
classifier), and OUT/features.npz (the regions and CNN features of every image, the same as `train` would compute,
so training does not detect twice). More real photos and object cut-outs from installed packages (see
deepgallery/apps/caption/sources.py) go on top of a set made before:

    python tools/caption_build_data.py --out OUT --append --photos gcompris --photos face-api.tgz \
        --stamps /usr/share/tuxpaint/stamps --composites 2000 --require-detected 0.3

Then:

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
                        help="add only the --photos and the composites to an OUT made before (keeps its images, "
                             "sentences, features)")
    parser.add_argument("--photos", action="append", default=[], metavar="SOURCE",
                        help="with --append: more training photos: 'gcompris' (Debian gcompris-qt-data: animals, "
                             "fruit, things, named by file) or a folder / npm .tgz / wheel of photos (the detector "
                             "names their objects); repeatable")
    parser.add_argument("--photo-views", type=int, default=5,
                        help="views of each --photos photo: itself, its mirror image, then random crops (75-95 %%)")
    parser.add_argument("--stamps", type=Path, default=None,
                        help="with --append: a Tux Paint stamps folder (Debian tuxpaint-stamps-default): its "
                             "photographic cut-outs are pasted into the composites too")
    parser.add_argument("--cutout-share", type=float, default=0.7,
                        help="probability that a pasted object is a stamp cut-out rather than a detected object")
    parser.add_argument("--require-detected", type=float, default=0.0, metavar="SCORE",
                        help="with --append: drop every composite (new and old) whose captions name an object the "
                             "detector does not find in it at this score; 0 keeps all (see drop_undetected)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.append:
        return append(args)
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


def object_bank(encoded: dict, images_dir: Path, min_score: float = 0.45, min_side: int = 40,
                known: dict[str, str] | None = None):
    """(label, RGB crop) of every confident detection in the training images (full photos and crops); `known`
    ({key: COCO class}) names the object of photos known to show one (sources.with_label)."""
    from deepgallery.apps.caption.sources import with_label

    bank = []
    for key, enc in sorted(encoded.items()):
        if not key.startswith("train/") or key.split("/")[-1].startswith("composite"):
            continue
        if known and known.get(key):
            enc = with_label(enc, known[key])
        rgb = None
        for label, score, (x1, y1, x2, y2) in zip(enc.labels[1:], enc.scores[1:], enc.boxes[1:], strict=True):
            if score < min_score or min(x2 - x1, y2 - y1) < min_side:
                continue
            if rgb is None:
                rgb = np.asarray(Image.open(images_dir / key).convert("RGB"))
            bank.append((label, rgb[int(y1):int(y2), int(x1):int(x2)].copy()))
    return bank


def drop_undetected(rows: list[dict], encoded: dict, min_score: float) -> list[str]:
    """The composites whose captions name an object the detector does not find in them at `min_score`.

    A composite's captions are exact (written from where its objects were pasted), but the model is fed the
    detector's regions. Where the detector misses a pasted object (a Tux Paint stamp it does not know), the model
    can only learn that object's name from the raw CNN feature of a few stamps, and it then names that object in
    unseen photos that merely look alike: in the 4 231-image set, 41 % of the composites' named objects were such
    misses, and the model trained on it named the detected object of a held-out photo in 11 of 26 cases.
    """
    from deepgallery.apps.caption.metrics import object_nouns

    dropped = []
    for row in rows:
        if not row["filename"].startswith("composite"):
            continue
        enc = encoded[f"{row['filepath']}/{row['filename']}"]
        named = {noun for sentence in row["sentences"] for noun in object_nouns(sentence)}
        seen = {label for label, score in zip(enc.labels[1:], enc.scores[1:], strict=True) if score >= min_score}
        if not named <= seen:
            dropped.append(row["filename"])
    return dropped


def extra_photos(sources: list[str]):
    """The Photo records of every --photos source."""
    from deepgallery.apps.caption.sources import folder_photos, gcompris_photos

    photos = []
    for source in sources:
        photos += gcompris_photos() if source == "gcompris" else folder_photos(source)
    return photos


def append(args) -> int:
    """Add to a set made before: the --photos (each in --photo-views views; a photo known to show an object is
    said to show it, see sources.with_label) and --composites scenes captioned from where their objects were
    pasted (exact), all to the training split."""
    from deepgallery.apps.caption.features import EncodedImage, load_cache
    from deepgallery.apps.caption.sources import composite, photo_views, stamp_cutouts, with_label

    data = json.loads((args.out / "dataset_photos.json").read_text())
    first = sum(im["filename"].startswith("composite") for im in data["images"])  # a second --append adds more
    rng = np.random.default_rng(args.seed + 17 + first)
    encoded = load_cache(args.out / "features.npz")
    rows = [{k: v for k, v in im.items() if k not in ("sentences", "imgid")} |
            {"sentences": [s["raw"] for s in im["sentences"]]} for im in data["images"]]
    known = {r["filename"] for r in rows}
    photos = extra_photos(args.photos)
    added_photos = []
    with torch_threads(1):
        for photo in progress(photos, desc="photos"):
            for k, view in enumerate(photo_views(photo.rgb, args.photo_views, rng)):
                name = f"extra_{photo.name}_v{k}.jpg"
                if name in known:
                    continue
                path = args.out / "images" / "train" / name
                Image.fromarray(view).save(path, quality=92)
                rgb = np.asarray(Image.open(path).convert("RGB"))
                enc = encode(rgb)
                encoded[f"train/{name}"] = enc
                rows.append({"filename": name, "filepath": "train", "split": "train", "origin": photo.origin,
                             "label": photo.label, "sentences": describe(
                                 with_label(enc, photo.label) if photo.label else enc, rgb, rng)})
            added_photos.append({"name": photo.name, "origin": photo.origin, "label": photo.label})
    bank, stamps, cutouts, backgrounds = [], [], [], []
    if args.composites:
        bank = object_bank(encoded, args.out / "images",
                           known={f"train/{r['filename']}": r["label"] for r in rows if r.get("label")})
        stamps = stamp_cutouts(args.stamps) if args.stamps else []
        cutouts = [(c.label, c.rgba) for c in stamps]
        print(f"object bank: {len(bank)} crops of {sorted({lab for lab, _ in bank})}; "
              f"{len(cutouts)} cut-outs of {sorted({lab for lab, _ in cutouts})}")
        backgrounds = random_crops(corpus("train"), 320, args.composites, seed=args.seed + 5 + first)
    with torch_threads(1):
        for k, bg in enumerate(progress(backgrounds, desc="composites")):
            rgb, boxes, labels = composite(bank, bg, rng, cutouts, args.cutout_share)
            name = f"composite{first + k:04d}.jpg"
            path = args.out / "images" / "train" / name
            Image.fromarray(rgb).save(path, quality=92)
            rgb = np.asarray(Image.open(path).convert("RGB"))
            truth = EncodedImage(np.array([[0, 0, 320, 320], *boxes], np.float32).reshape(-1, 4),
                                 ["image", *labels], np.ones(len(labels) + 1, np.float32),
                                 np.zeros((len(labels) + 1, 1), np.float32), 320, 320, [])
            encoded[f"train/{name}"] = encode(rgb)  # what the model sees: the detector's regions, as at test time
            rows.append({"filename": name, "filepath": "train", "split": "train",
                         "origin": "composite of objects (detected in training photos"
                                   + (", photo stamps" if cutouts else "") + ") on a training-photo crop",
                         "sentences": describe(truth, rgb, rng)})
    dropped = drop_undetected(rows, encoded, args.require_detected) if args.require_detected else []
    gone = set(dropped)
    rows = [r for r in rows if r["filename"] not in gone]
    write_karpathy(args.out / "dataset_photos.json", rows, "photos")
    save_cache(args.out / "features.npz", encoded)
    manifest_path = args.out / "manifest.json"
    record = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    if added_photos:
        record.setdefault("photo_batches", []).append({"sources": args.photos, "views": args.photo_views,
                                                       "photos": added_photos})
    if args.composites:
        record.setdefault("composite_batches", []).append({
            "count": args.composites, "first": first, "seed": args.seed + 17 + first,
            "objects": sorted({label for label, _ in bank}), "object_crops": len(bank),
            "cutouts": sorted(c.origin for c in stamps), "cutout_share": args.cutout_share})
    if dropped:
        record.setdefault("dropped_undetected", []).append({"min_score": args.require_detected,
                                                            "count": len(dropped), "images": dropped})
    manifest_path.write_text(json.dumps(record, indent=1, default=str))
    print(f"added {len(added_photos)} photos and {args.composites} composites, dropped {len(dropped)} composites "
          f"with undetected objects: {len(rows)} images")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
