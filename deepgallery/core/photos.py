"""The offline photo corpus: real photographs that installed packages carry, for the apps that train on photos.

No photo dataset can be downloaded here, but several packages ship real photographs: desktop wallpapers
(Debian's plasma-workspace-wallpapers, mate-backgrounds, lomiri-wallpapers-*), the sample pictures of Darknet
and of OpenCV's documentation (Debian darknet, opencv-doc), and the bundled data of scikit-image and matplotlib.
Most of what these packages carry is not a photograph (abstract art, renders, logos, screenshots, charts), so
the corpus is an explicit list (`SOURCES`): every file on it was looked at on contact sheets (2026-12-04) and
kept only if it is a real colour photograph; black-and-white photographs (ColdRipple, Grey), grayscale
pictures, near-duplicate views of the same scene (aloeR, leuvenB, basketball2), paintings and composites were
dropped.

The train / held-out split is fixed by source package, so no held-out photo or a second view of it is ever
trained on: darknet and opencv-doc are held out (36 varied small pictures of objects, animals, people, streets
and signs: what an ImageNet classifier knows, so the semantic tests have something to agree on); the
wallpapers (large, many crops each), scikit-image and matplotlib train.

Every source is optional: a package that is not installed is skipped (`missing_sources()` says which, and
how to install it). `deepgallery data photos --out DIR` copies the corpus with a manifest (source, file,
licence as the package states it, SHA-256, size).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import UserError
from .hashing import sha256_file

SPLITS = ("train", "heldout", "all")


@dataclass(frozen=True)
class Source:
    name: str  # the package that carries the files
    kind: str  # "debian" (files under /usr/share, licence in /usr/share/doc/NAME/copyright) or "python"
    split: str  # "train" or "heldout": the whole source goes to one side
    files: tuple[str, ...]  # absolute paths (debian) or paths inside the Python package (python)
    licence: str = ""  # stated licence where the package has no machine-readable copyright file
    install: str = ""  # how a user gets it


@dataclass(frozen=True)
class PhotoRecord:
    path: Path
    source: str
    licence: str
    sha256: str
    width: int
    height: int

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6


_PLASMA = "/usr/share/wallpapers/{}/contents/images/2560x1600.jpg"
_MATE = "/usr/share/backgrounds/mate/nature/{}.jpg"
_LOMIRI = "/usr/share/backgrounds/{}.jpg"
_OPENCV = "/usr/share/doc/opencv-doc/examples/{}"

SOURCES: tuple[Source, ...] = (
    Source("plasma-workspace-wallpapers", "debian", "train", tuple(_PLASMA.format(n) for n in (
        "BytheWater", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
        "OneStandsOut", "Path", "summer_1am")), install="apt-get install plasma-workspace-wallpapers"),
    Source("mate-backgrounds", "debian", "train", tuple(_MATE.format(n) for n in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower")), install="apt-get install mate-backgrounds"),
    Source("lomiri-wallpapers-20.04", "debian", "train", (_LOMIRI.format("Kleiber_by_Lukas_Baubkus"),),
           install="apt-get install lomiri-wallpapers-20.04"),
    Source("opencv-doc", "debian", "heldout", tuple(_OPENCV.format(n) for n in (
        "alphamat/input_images/plant.jpg", "data/aero1.jpg", "data/aero3.jpg", "data/aloeL.jpg", "data/apple.jpg",
        "data/baboon.jpg", "data/board.jpg", "data/building.jpg", "data/butterfly.jpg", "data/chicky_512.png",
        "data/ela_original.jpg", "data/fruits.jpg", "data/graf1.png", "data/leuvenA.jpg",
        "data/licenseplate_motion.jpg", "data/messi5.jpg", "data/orange.jpg", "data/rubberwhale1.png",
        "data/squirrel_cls.jpg", "dnn_superres/butterfly.png", "hfs/data/000.jpg", "reg/home.png",
        "text/scenetext01.jpg", "text/scenetext02.jpg", "text/scenetext03.jpg", "text/scenetext04.jpg",
        "text/scenetext05.jpg", "text/scenetext06.jpg", "text/scenetext_segmented_word01.jpg",
        "text/scenetext_segmented_word02.jpg")), install="apt-get install opencv-doc"),
    Source("scikit-image", "python", "train", tuple(f"data/{n}" for n in (
        "astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg")),
           licence="BSD-3-Clause (scikit-image data/README.txt: public domain or CC0 photographs, one CC-BY)",
           install="pip install scikit-image"),
    Source("matplotlib", "python", "train", ("mpl-data/sample_data/grace_hopper.jpg",),
           licence="public domain (US Navy photograph, matplotlib sample_data)", install="pip install matplotlib"),
    Source("lomiri-wallpapers-16.04", "debian", "train", tuple(_LOMIRI.format(n) for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
        "sunset_by_Aitzol_Berasategi")), install="apt-get install lomiri-wallpapers-16.04"),
    Source("darknet", "debian", "heldout", tuple(f"/usr/share/darknet/data/{n}.jpg" for n in (
        "dog", "eagle", "giraffe", "horses", "kite", "person")), install="apt-get install darknet"),
)

# What the surveyed packages hold besides the list above, and why it is not on it (for the manifest and README).
SURVEYED_NOT_USED = {
    "gnome-backgrounds": "abstract art and renders only",
    "desktop-base": "Debian theme artwork, logos and screenshots",
    "ukui-wallpapers": "renders",
    "sway-backgrounds": "logo artwork",
    "lomiri-wallpapers": "renders",
    "visp-images-data": "grayscale tracking targets and calibration patterns (224 MB)",
}


def _python_root(name: str) -> Path | None:
    try:
        if name == "scikit-image":
            import skimage

            return Path(skimage.__file__).parent
        if name == "matplotlib":
            import matplotlib

            return Path(matplotlib.__file__).parent
    except ImportError:
        return None
    raise ValueError(name)


def _files(source: Source) -> list[Path]:
    if source.kind == "python":
        root = _python_root(source.name)
        return [] if root is None else [root / f for f in source.files if (root / f).is_file()]
    return [Path(f) for f in source.files if Path(f).is_file()]


def missing_sources() -> list[str]:
    """'package (how to install)' for each source with none of its files on this machine."""
    return [f"{s.name} ({s.install})" for s in SOURCES if not _files(s)]


def _debian_licence(package: str, path: Path) -> str:
    """The License line of the debian/copyright stanza whose Files pattern matches this file's name (DEP-5
    patterns are source-tree paths, so the basename is compared), else the `Files: *` stanza's."""
    copyright_file = Path("/usr/share/doc") / package / "copyright"
    if not copyright_file.is_file():
        return "see the package's copyright file"
    default = best = ""
    patterns: list[str] = []
    for stanza in copyright_file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        patterns, licence, in_files = [], "", False
        for line in stanza.splitlines():
            if line.startswith("Files:"):
                patterns, in_files = line[6:].split(), True
            elif in_files and line.startswith((" ", "\t")):
                patterns += line.split()
            else:
                in_files = False
                if line.startswith("License:") and not licence:
                    licence = line[8:].strip()
        if not licence:
            continue
        if patterns == ["*"]:
            default = licence
        elif any(fnmatch.fnmatch(path.name, Path(p).name) or fnmatch.fnmatch(str(path), "*/" + p) for p in patterns):
            best = licence
    return best or default or "see the package's copyright file"


def _licence(source: Source, path: Path) -> str:
    return source.licence or _debian_licence(source.name, path)


@lru_cache(maxsize=1)
def _all_records() -> tuple[PhotoRecord, ...]:
    from PIL import Image

    records = []
    for source in SOURCES:
        for path in _files(source):
            with Image.open(path) as im:
                width, height = im.size
            records.append(PhotoRecord(path, source.name, _licence(source, path), sha256_file(path), width, height))
    return tuple(records)


def corpus(split: str = "train") -> list[PhotoRecord]:
    """The photos of one split ("train", "heldout" or "all") that are installed here, in a fixed order."""
    if split not in SPLITS:
        raise UserError(f"photo split must be one of {', '.join(SPLITS)}, not {split!r}")
    sides = {s.name: s.split for s in SOURCES}
    return [r for r in _all_records() if split == "all" or sides[r.source] == split]


def load_rgb(record: PhotoRecord | Path, max_side: int | None = None) -> np.ndarray:
    """(H, W, 3) uint8 RGB, optionally downscaled so the longer side is at most `max_side`."""
    from PIL import Image

    path = record.path if isinstance(record, PhotoRecord) else Path(record)
    with Image.open(path) as im:
        if max_side:
            im.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale (a 20 MP wallpaper in ~0.1 s)
        im = im.convert("RGB")
        if max_side and max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return np.asarray(im)


def random_crops(records: list[PhotoRecord], size: int, count: int, seed: int = 0,
                 min_scale: float = 0.25, max_side: int = 1024) -> np.ndarray:
    """(count, size, size, 3) uint8 crops: a photo chosen at random (weighted by its megapixels, so a big wallpaper
    gives more crops than a small sample picture), a square of a random side between `min_scale` and 1 of the
    shorter side at a random place, resized to `size`, mirrored half of the time."""
    from PIL import Image

    if not records:
        raise UserError("no photos found: install at least one source (`deepgallery data photos` lists them)")
    rng = np.random.default_rng(seed)
    weights = np.array([r.megapixels for r in records])
    picks = rng.choice(len(records), size=count, p=weights / weights.sum())
    out = np.empty((count, size, size, 3), np.uint8)
    cache: dict[int, np.ndarray] = {}
    for i, k in enumerate(picks):
        if k not in cache:
            cache[k] = load_rgb(records[k], max_side)
        photo = cache[k]
        h, w = photo.shape[:2]
        side = int(min(h, w) * rng.uniform(min_scale, 1.0))
        side = max(side, min(h, w, size // 2))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = Image.fromarray(photo[y:y + side, x:x + side]).resize((size, size), Image.Resampling.BILINEAR)
        arr = np.asarray(crop)
        out[i] = arr[:, ::-1] if rng.random() < 0.5 else arr
    return out


def manifest(records: list[PhotoRecord]) -> list[dict]:
    sides = {s.name: s.split for s in SOURCES}
    return [{**asdict(r), "path": str(r.path), "split": sides[r.source], "bytes": r.path.stat().st_size}
            for r in records]


def export(out_dir: str | Path) -> dict:
    """Copy every installed photo to OUT/{train,heldout}/SOURCE/FILE and write OUT/manifest.json."""
    out_dir = Path(out_dir)
    records = corpus("all")
    rows = manifest(records)
    for row, record in zip(rows, records, strict=True):
        dest = out_dir / row["split"] / record.source / record.path.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(record.path, dest)
        row["file"] = str(dest.relative_to(out_dir))
    summary = summarize(records)
    text = json.dumps({"summary": summary, "photos": rows, "missing_sources": missing_sources(),
                       "surveyed_not_used": SURVEYED_NOT_USED}, indent=1)
    from .atomic import write_text

    write_text(out_dir / "manifest.json", text)
    return summary


def summarize(records: list[PhotoRecord]) -> dict:
    sides = {s.name: s.split for s in SOURCES}
    out: dict = {}
    for split in ("train", "heldout"):
        part = [r for r in records if sides[r.source] == split]
        out[split] = {"photos": len(part), "megapixels": round(sum(r.megapixels for r in part), 1),
                      "sources": sorted({r.source for r in part})}
    return out
