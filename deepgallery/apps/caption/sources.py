"""More real photos of COCO objects for the pseudo-captioned training set, from packages installed on the machine.

The photo corpus (`core.photos`) shows a dozen COCO classes; a model trained on it cannot name a horse or a car. These
readers add photographs whose object is known from where they come from, so the sentence can name it even when the
detector misses it (tools/caption_build_data.py ``--photos`` / ``--stamps``):

* **GCompris** (Debian ``gcompris-qt-data``, GPL-3+ with per-file CC-BY-SA / public-domain photos, see its
  ``debian/copyright``): the activities' photographs of farm and world animals, fruit and people, stored in Qt
  resource files (``/usr/share/gcompris-qt/rcc/*.rcc``, read by :func:`read_rcc`); the object is in the file name
  ("horse.webp", "kitten.webp" → cat), mapped by :data:`GCOMPRIS_LABELS` (names not in it are skipped), in the
  activities whose pictures are photographs (the word game's are cartoons).
* **Tux Paint stamps** (Debian ``tuxpaint-stamps-default``, GPL-2+): PNG cut-outs with an alpha channel, many of
  them real photographs (animals, vehicles, fruit, balls, a toilet). :data:`STAMP_LABELS` lists the photographic ones
  (checked by eye on a contact sheet; drawings and cartoons are left out) with their COCO class: pasted on real
  backgrounds they make composites whose sentences are exact.
* **any folder, npm tarball or wheel** of photos whose objects the detector alone names (``@vladmandic/face-api``'s
  demo photos, ``ultralytics``'s bus.jpg / zidane.jpg).

:func:`composite` pastes objects (detected crops or cut-outs) on background crops and returns where it pasted
them, so the sentences written from those boxes are exact; :func:`with_label` makes a known photo's sentences name
its object. Nothing here downloads; a missing package is one UserError line saying what to install.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import UserError

GCOMPRIS_RCC = Path("/usr/share/gcompris-qt/rcc")
TUXPAINT_STAMPS = Path("/usr/share/tuxpaint/stamps")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

# GCompris file stem -> COCO class (only photographs of one COCO object; "kitten" is a cat, a "calf" a cow).
GCOMPRIS_LABELS = {
    # explore_farm_animals, lang/words_sample, erase, explore_world_animals
    "horse": "horse", "horses": "horse", "horses2": "horse", "cow": "cow", "calf": "cow", "bull": "cow",
    "sheep": "sheep", "sheep_irish": "sheep", "dog": "dog", "cat": "cat", "kitten": "cat", "cat1": "cat",
    "cat2": "cat", "bird": "bird", "chicken": "bird", "duck": "bird", "owl": "bird", "turkey": "bird",
    "gosling": "bird", "heron": "bird", "kingfisher": "bird", "northern_harrier": "bird", "penguin": "bird",
    "spoonbills": "bird", "swans": "bird", "toucan": "bird", "scarlet_macaw": "bird", "giraffe": "giraffe",
    "bear": "bear", "polar_bear": "bear", "elephant": "elephant", "zebra": "zebra",
    "apple": "apple", "orange": "orange", "banana": "banana",
    "boy": "person", "girl": "person", "man": "person", "woman": "person", "child": "person",
    "mother": "person", "dad": "person", "sister": "person", "brother": "person", "son": "person",
    "grandmother": "person", "friend": "person", "family": "person",
    # categorization/others and tools
    "chair": "chair", "knife": "knife", "spoons": "spoon", "volleyball": "sports ball", "baseball": "sports ball",
    "scissors2": "scissors", "scissors3": "scissors",
}
# GCompris activities whose pictures are photographs ("lang" draws its words as cartoons, "babyshapes" cuts shapes).
GCOMPRIS_PHOTO_ACTIVITIES = ("explore_farm_animals", "explore_world_animals", "erase", "categorization")
# Tux Paint stamp (path under the stamps folder, without .png) -> COCO class: the photographic ones only.
STAMP_LABELS = {
    **{f"animals/birds/{n}": "bird" for n in (
        "adelaide-rosella", "albino_peahen", "blackbird", "chicken_profile", "crow", "crowned_crane", "cuckoo",
        "drake", "duck", "gander", "guineafowl", "helmeted_guineafowl", "hen", "heron_greatblue",
        "heron_greatblue_flying", "lark", "little-penguin", "magellanic_penguin", "magpie", "nandou", "ostrich",
        "owl", "peacock", "pelican", "penguin", "pigeon", "pink_flamingo", "quetzal", "rainbow-lorikeet", "rooster",
        "seagull", "silver-gull", "tucan", "turkey", "vulture")},
    "animals/mammals/elephant": "elephant", "animals/mammals/giraffe": "giraffe",
    "animals/mammals/bovines/bull": "cow", "animals/mammals/bovines/cow": "cow",
    "animals/mammals/bovines/cow_white": "cow", "animals/mammals/bovines/zebu": "cow",
    "animals/mammals/bovines/sheep": "sheep", "animals/mammals/bovines/sheep_lamb": "sheep",
    "animals/mammals/bovines/ram": "sheep", "animals/mammals/equines/horse": "horse",
    "animals/mammals/equines/zebra": "zebra", "animals/mammals/dogs/dog": "dog",
    "animals/mammals/bears/bear": "bear", "animals/mammals/bears/european-bear": "bear",
    **{f"food/fruit/{n}": "apple" for n in ("apple_fuji", "apple_granny_smith", "apple_green", "apple_red",
                                             "apple_sierra_beauty")},
    "food/fruit/banana": "banana", "food/fruit/orange": "orange",
    "food/fruit/orange_seville": "orange", "food/fruit/mandarine": "orange", "food/fruit/sliced_orange": "orange",
    "food/vegetables/broccoli": "broccoli", "food/vegetables/carrot": "carrot",
    "household/toilet": "toilet", "household/dishes/mug": "cup",
    "vehicles/auto/beetle": "car", "vehicles/auto/sedan": "car", "vehicles/auto/sportscar2": "car",
    "vehicles/emergency/sedan_police": "car", "vehicles/emergency/sedan_police_mirror": "car",
    "vehicles/race/indycar": "car", "vehicles/auto/truck": "truck", "vehicles/garbagetruck": "truck",
    "vehicles/emergency/firetruck": "truck", "vehicles/masstransit/green_korean_bus": "bus",
    "vehicles/flight/planes/747": "airplane",
    **{f"sports/{n}": "sports ball" for n in ("basketball", "football", "soccer", "tennis_ball", "cricketball")},
    "sports/tennis_racket": "tennis racket", "town/roadsigns/stop": "stop sign",
    "people/fireman200b": "person", "people/fireman240a": "person",
}


@dataclass
class Photo:
    """A real photo to train on: its name, pixels, the COCO class it is known to show (None: ask the detector), and
    where it came from."""

    name: str
    rgb: np.ndarray  # (H, W, 3) uint8
    label: str | None
    origin: str


@dataclass
class Cutout:
    """An object cut out of a photograph: RGBA pixels (alpha = the object) and its COCO class."""

    label: str
    rgba: np.ndarray  # (H, W, 4) uint8, cropped to the opaque part
    origin: str


def read_rcc(path: str | Path) -> dict[str, bytes]:
    """The files in a Qt resource file (``rcc`` binary, format versions 1-3): {path inside: bytes}.

    Layout (qtbase src/corelib/io/qresource.cpp): "qres", version, then offsets of the node tree, the data and the
    names (big-endian uint32). A node is name offset (u32), flags (u16: 1 zlib, 2 directory, 4 zstd), then for a
    directory child count + first child index, for a file locale (u32) + data offset; version ≥ 2 adds an 8-byte
    modification time. A name is length (u16), hash (u32), UTF-16BE; a datum is size (u32) + bytes (zlib ones start
    with the uncompressed size)."""
    blob = Path(path).read_bytes()
    if blob[:4] != b"qres" or len(blob) < 20:
        raise UserError(f"{path}: not a Qt resource (.rcc) file")
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node = 22 if version >= 2 else 14
    out: dict[str, bytes] = {}

    def name_at(offset: int) -> str:
        (n,) = struct.unpack(">H", blob[names + offset:names + offset + 2])
        return blob[names + offset + 6:names + offset + 6 + 2 * n].decode("utf-16-be")

    stack = [(0, "")]
    while stack:
        index, prefix = stack.pop()
        at = tree + index * node
        name_offset, flags = struct.unpack(">IH", blob[at:at + 6])
        name = name_at(name_offset) if index else ""
        if flags & 2:
            count, first = struct.unpack(">II", blob[at + 6:at + 14])
            stack += [(c, f"{prefix}{name}/" if name else prefix) for c in range(first, first + count)]
            continue
        (offset,) = struct.unpack(">I", blob[at + 10:at + 14])
        (size,) = struct.unpack(">I", blob[data + offset:data + offset + 4])
        body = blob[data + offset + 4:data + offset + 4 + size]
        if flags & 4:
            continue  # zstd-compressed (not used for images, which rcc stores as they are)
        out[prefix + name] = zlib.decompress(body[4:]) if flags & 1 else body
    return out


def _rgb(data: bytes) -> np.ndarray | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError):
        return None


def gcompris_photos(root: str | Path = GCOMPRIS_RCC, min_side: int = 200) -> list[Photo]:
    """GCompris's photographs of the objects in :data:`GCOMPRIS_LABELS` (each file once, by content)."""
    root = Path(root)
    files = sorted(root.glob("*.rcc"))
    if not files:
        raise UserError(f"{root}: no GCompris resource files (install the Debian package gcompris-qt-data)")
    photos, seen = [], set()
    for rcc in files:
        for inner, data in sorted(read_rcc(rcc).items()):
            stem = Path(inner).stem
            activity = inner.split("/activities/")[-1].split("/")[0]
            if (Path(inner).suffix.lower() not in PHOTO_SUFFIXES or stem not in GCOMPRIS_LABELS or data in seen
                    or activity not in GCOMPRIS_PHOTO_ACTIVITIES):
                continue
            rgb = _rgb(data)
            if rgb is None or min(rgb.shape[:2]) < min_side:
                continue
            seen.add(data)
            photos.append(Photo(f"gcompris_{activity}_{stem}", rgb, GCOMPRIS_LABELS[stem],
                                f"gcompris-qt-data:{rcc.name}:{inner}"))
    return photos


def folder_photos(path: str | Path, min_side: int = 200) -> list[Photo]:
    """Every photo in a folder, an npm tarball (.tgz) or a wheel/zip, for the detector to describe (label None)."""
    path = Path(path)
    entries: list[tuple[str, bytes]] = []
    if path.is_dir():
        entries = [(str(p.relative_to(path)), p.read_bytes()) for p in sorted(path.rglob("*"))
                   if p.suffix.lower() in PHOTO_SUFFIXES]
    elif path.suffix in (".tgz", ".gz") and tarfile.is_tarfile(path):
        with tarfile.open(path) as tar:
            entries = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()
                       if m.isfile() and Path(m.name).suffix.lower() in PHOTO_SUFFIXES]
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            entries = [(n, z.read(n)) for n in z.namelist() if Path(n).suffix.lower() in PHOTO_SUFFIXES]
    else:
        raise UserError(f"{path}: not a folder, .tgz or wheel/zip of photos")
    photos = []
    for inner, data in sorted(entries):
        rgb = _rgb(data)
        if rgb is not None and min(rgb.shape[:2]) >= min_side:
            photos.append(Photo(f"{path.name.split('.')[0]}_{Path(inner).stem}", rgb, None, f"{path.name}:{inner}"))
    return photos


def stamp_cutouts(root: str | Path = TUXPAINT_STAMPS, labels: dict[str, str] | None = None,
                  min_side: int = 30) -> list[Cutout]:
    """The photographic Tux Paint stamps of :data:`STAMP_LABELS`, cropped to their opaque part."""
    from PIL import Image

    root, labels = Path(root), STAMP_LABELS if labels is None else labels
    if not root.is_dir():
        raise UserError(f"{root}: no Tux Paint stamps (install the Debian package tuxpaint-stamps-default)")
    out = []
    for stem, label in sorted(labels.items()):
        path = root / f"{stem}.png"
        if not path.is_file():
            continue
        with Image.open(path) as im:
            rgba = np.asarray(im.convert("RGBA"))
        ys, xs = np.nonzero(rgba[..., 3] > 16)
        if len(ys) == 0:
            continue
        rgba = rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        if min(rgba.shape[:2]) >= min_side:
            out.append(Cutout(label, rgba, f"tuxpaint-stamps:{stem}"))
    return out


def paste(canvas: np.ndarray, rgba: np.ndarray, x: int, y: int) -> None:
    """Alpha-blend `rgba` onto `canvas` (in place) with its top-left corner at (x, y); it must fit."""
    h, w = rgba.shape[:2]
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    region = canvas[y:y + h, x:x + w].astype(np.float32)
    canvas[y:y + h, x:x + w] = (alpha * rgba[..., :3] + (1 - alpha) * region + 0.5).astype(np.uint8)


# COCO classes a detector confuses with each other on a photo of one of them (a calf called a "dog", a pickup a
# "car"): on a photo known to show `label`, detections of its kind are that object.
KINDS = (
    {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "teddy bear"},
    {"banana", "apple", "orange", "broccoli", "carrot", "sandwich", "hot dog", "pizza", "donut", "cake"},
    {"car", "truck", "bus", "train", "motorcycle", "bicycle", "airplane", "boat"},
    {"fork", "knife", "spoon", "scissors", "toothbrush"},
    {"sports ball", "frisbee", "kite", "clock"},
    {"chair", "couch", "bench", "dining table", "bed", "toilet"},
)
MIN_LABEL_SCORE = 0.3  # a detection this confident counts as the known object (named: raised above pseudo's 0.4)


def with_label(enc, label: str):
    """The detections of a photo known to show `label`, for writing its sentences: detections of the label's kind
    (:data:`KINDS`) become `label` (named), other detections stay, and when the detector saw none of them the
    middle 80 % of the picture is the object. Returns a new EncodedImage (the features are untouched: the model
    still sees what the detector saw)."""
    from .features import EncodedImage

    kind = next((k for k in KINDS if label in k), {label})
    labels, scores = list(enc.labels), enc.scores.astype(np.float32).copy()
    boxes = enc.boxes.astype(np.float32).copy()
    hits = [i for i in range(1, len(labels)) if labels[i] in kind and scores[i] >= MIN_LABEL_SCORE]
    for i in hits:
        labels[i], scores[i] = label, max(float(scores[i]), 0.5)
    if not hits:
        w, h = enc.width, enc.height
        boxes = np.concatenate([boxes, np.array([[0.1 * w, 0.1 * h, 0.9 * w, 0.9 * h]], np.float32)])
        labels.append(label)
        scores = np.concatenate([scores, np.ones(1, np.float32)])
    return EncodedImage(boxes, labels, scores, np.zeros((len(labels), 1), np.float32), enc.width, enc.height,
                        enc.imagenet)


MIRROR_NOT = {"stop sign", "clock", "book", "tv", "laptop"}  # their writing would read backwards


def composite(bank, background: np.ndarray, rng: np.random.Generator, cutouts=(), cutout_share: float = 0.0):
    """1-3 objects pasted at random places and sizes (later ones in front): (RGB, boxes, labels). Each comes from
    `cutouts` ((label, RGBA) photo cut-outs, pasted through their alpha, at most 3x their own size) with probability
    `cutout_share` (a class drawn uniformly, then one of its cut-outs), else from the bank of detected
    (label, RGB crop)s."""
    from PIL import Image

    canvas = background.copy()
    side = canvas.shape[0]
    boxes, labels = [], []
    for _ in range(int(rng.choice([1, 1, 2, 2, 3]))):
        use_cutout = len(cutouts) and (not bank or rng.random() < cutout_share)
        if use_cutout:  # a class first, then one of its cut-outs: 35 bird stamps do not make every other one a bird
            classes = sorted({lab for lab, _ in cutouts})
            wanted = classes[int(rng.integers(len(classes)))]
            pool = [c for c in cutouts if c[0] == wanted]
        else:
            pool = bank
        label, crop = pool[int(rng.integers(len(pool)))]
        h = int(side * rng.uniform(0.3, 0.75))
        if use_cutout:
            h = min(h, 3 * crop.shape[0], 3 * crop.shape[1] * crop.shape[0] // max(1, crop.shape[1]))
        w = max(8, min(side - 1, int(h * crop.shape[1] / crop.shape[0])))
        h = max(8, min(side - 1, int(w * crop.shape[0] / crop.shape[1])))
        x, y = int(rng.integers(0, side - w + 1)), int(rng.integers(0, side - h + 1))
        if any(_overlap((x, y, x + w, y + h), b) > 0.3 for b in boxes):
            continue  # a hidden object would be named but not seen
        piece = np.asarray(Image.fromarray(crop).resize((w, h), Image.Resampling.BILINEAR))
        piece = piece[:, ::-1] if rng.random() < 0.5 and label not in MIRROR_NOT else piece
        if piece.shape[2] == 4:
            paste(canvas, piece, x, y)
            ys, xs = np.nonzero(piece[..., 3] > 127)  # the object's own box, not the transparent margin
            if len(ys) == 0:
                continue
            boxes.append((x + int(xs.min()), y + int(ys.min()), x + int(xs.max()) + 1, y + int(ys.max()) + 1))
        else:
            canvas[y:y + h, x:x + w] = piece
            boxes.append((x, y, x + w, y + h))
        labels.append(label)
    return canvas, boxes, labels


def _overlap(a, b) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


def photo_views(rgb: np.ndarray, count: int, rng: np.random.Generator, side: int = 512) -> list[np.ndarray]:
    """The photo (at most `side` px), its mirror image, then random crops of 75-95 % of each side: `count` views."""
    views = []
    for k in range(count):
        h, w = rgb.shape[:2]
        if k >= 2:
            ch, cw = int(h * rng.uniform(0.75, 0.95)), int(w * rng.uniform(0.75, 0.95))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            view = rgb[y:y + ch, x:x + cw]
        else:
            view = rgb[:, ::-1] if k == 1 else rgb
        from PIL import Image

        im = Image.fromarray(np.ascontiguousarray(view))
        im.thumbnail((side, side), Image.Resampling.LANCZOS)
        views.append(np.asarray(im))
    return views
