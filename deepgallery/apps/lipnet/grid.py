"""The GRID audio-visual corpus (Cooke et al. 2006) in its own layout, with LipNet's two evaluation splits.

    GRID/s1/bbaf2n.mpg ...            one folder of 3-s, 25-fps videos per speaker (s1 ... s34; s21 has none)
    GRID/align/bbaf2n.align ...       word timings; also accepted: GRID/alignments/s1/, GRID/align/s1/, GRID/s1/align/

An .align file has one "start end word" line per word, times in 1/1000 of a frame, with `sil` (silence) and
`sp` (short pause) between words; the sentence is the words without those. The paper's splits (§4.1):
- unseen speakers: speakers 1, 2, 20 and 22 are held out for evaluation, the others train;
- overlapped speakers: every speaker trains, 255 random sentences per speaker are held out for evaluation.

Mouth crops come from face.track_mouth and are cached once per video as uint8 .npy files (75, 50, 100, 3).
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from .face import track_mouth
from .render import FRAMES

UNSEEN_SPEAKERS = ("s1", "s2", "s20", "s22")
OVERLAPPED_HELD_OUT = 255  # sentences per speaker held out in the overlapped split


def read_align(path: Path) -> str:
    """The sentence of an .align file (sil and sp dropped); UserError for a malformed file."""
    words = []
    for n, line in enumerate(Path(path).read_text(errors="replace").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise UserError(f"{path}:{n}: not an .align line (expected `start end word`): {line.strip()[:40]!r}")
        if parts[2] not in ("sil", "sp"):
            words.append(parts[2].lower())
    if not words:
        raise UserError(f"{path}: no words in this .align file")
    return " ".join(words)


def _align_for(root: Path, speaker: str, stem: str) -> Path | None:
    for folder in (root / speaker / "align", root / "align" / speaker, root / "alignments" / speaker, root / "align"):
        path = folder / f"{stem}.align"
        if path.is_file():
            return path
    return None


def index(root: str | Path) -> list[tuple[str, Path, Path]]:
    """(speaker, video, align) for every video with its alignment; UserError when the folder is not GRID."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{root}: no such folder (give the GRID corpus folder: sN/*.mpg and align/*.align)")
    speakers = sorted((p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)),
                      key=lambda p: int(p.name[1:]))
    items = []
    for sp in speakers:
        for video in sorted(sp.glob("*.mpg")):
            align = _align_for(root, sp.name, video.stem)
            if align is not None:
                items.append((sp.name, video, align))
    if not items:
        raise UserError(f"{root}: not a GRID corpus folder (expected s1/, s2/, ... with .mpg videos and "
                        "align/NAME.align word timings)")
    return items


def held_out_overlapped(speaker: str, stem: str, per_speaker: int) -> bool:
    """A fixed pseudo-random choice of ~255 of a speaker's ~1000 sentences (by name, so any copy agrees)."""
    return zlib.crc32(f"{speaker}/{stem}".encode()) % 1000 < OVERLAPPED_HELD_OUT * 1000 // max(per_speaker, 1)


def split(items: list[tuple[str, Path, Path]], which: str, part: str) -> list[tuple[str, Path, Path]]:
    """The `part` ("train" or "test") of split `which` ("unseen" or "overlapped")."""
    if which == "unseen":
        return [it for it in items if (it[0] in UNSEEN_SPEAKERS) == (part == "test")]
    counts: dict[str, int] = {}
    for sp, _, _ in items:
        counts[sp] = counts.get(sp, 0) + 1
    return [it for it in items if held_out_overlapped(it[0], it[1].stem, counts[it[0]]) == (part == "test")]


def read_frames(video: Path) -> list[np.ndarray]:
    from ...core.media import read_video

    return [frame for _, _, frame in read_video(video)]


def fit_length(clip: np.ndarray, frames: int = FRAMES) -> np.ndarray:
    """Trim or pad (repeating the last frame) to `frames` frames: GRID's videos are 75 frames, a few are not."""
    if len(clip) >= frames:
        return clip[:frames]
    return np.concatenate([clip, clip[-1:].repeat(frames - len(clip), 0)])


class CachedCrops:
    """Lazy clips: item i is the (75, 50, 100, 3) uint8 mouth crops of video i, read from its .npy cache."""

    def __init__(self, paths: list[Path]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> np.ndarray:
        return np.load(self.paths[i])


def grid_clips(root: str | Path, which: str, part: str, cache: str | Path, log=print):
    """(clips, sentences, manifest) of one split part; crops are made once (face mesh) and cached under `cache`.

    A video whose face cannot be found is skipped and counted, not fatal."""
    from ...core.atomic import atomic_path
    from ...core.runtime import progress

    items = split(index(root), which, part)
    if not items:
        raise UserError(f"{root}: the {which} split has no {part} videos here")
    cache = Path(cache)
    paths, sentences, skipped = [], [], []
    for speaker, video, align in progress(items, desc=f"mouth crops ({which}/{part})"):
        out = cache / speaker / f"{video.stem}.npy"
        sentence = read_align(align)
        if not out.is_file():
            try:
                crops, _ = track_mouth(read_frames(video), str(video))
            except UserError as exc:
                skipped.append(f"{video}: {exc}")
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(out) as tmp, open(tmp, "wb") as f:
                np.save(f, fit_length(crops))
        paths.append(out)
        sentences.append(sentence)
    for line in skipped:
        log(f"skipped: {line}")
    if not paths:
        raise UserError(f"{root}: no face found in any {which}/{part} video")
    manifest = {"kind": "grid", "root": str(root), "split": which, "part": part, "videos": len(paths),
                "skipped": len(skipped), "speakers": sorted({sp for sp, _, _ in items})}
    return CachedCrops(paths), sentences, manifest
