"""Karpathy's split files and the vocabulary.

The paper's data (Flickr8K, Flickr30K, MSCOCO) is distributed by its authors as one JSON per dataset
(``dataset_flickr8k.json``, ``dataset_flickr30k.json``, ``dataset_coco.json``)::

    {"dataset": "coco", "images": [{"filename": "COCO_val2014_000000391895.jpg", "filepath": "val2014",
                                    "split": "train" | "val" | "test" | "restval", "imgid": 0,
                                    "sentences": [{"tokens": ["a", "man", ...], "raw": "A man ...", ...}, ...]}]}

Images are found at IMAGES/filepath/filename (COCO) or IMAGES/filename (Flickr). "restval" is training data, as in
the paper's COCO split. The pseudo-captioned photo set the shipped model learned from is written in the same
format (tools/caption_build_data.py), so training on it and on COCO is the same command.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ...core.errors import UserError

SPLIT_ALIASES = {"train": ("train", "restval"), "val": ("val",), "test": ("test",)}
START, END, UNK = "<start>", "<end>", "<unk>"  # index 0 is both: the paper's special START/END vector


@dataclass
class CaptionedImage:
    path: Path
    split: str
    sentences: list[list[str]]  # tokens of each reference sentence
    key: str = ""  # filepath/filename, stable across machines


@dataclass
class Vocabulary:
    words: list[str] = field(default_factory=list)  # index 0: START/END token, 1: UNK

    def __post_init__(self):
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, sentences: list[list[str]], min_count: int = 5) -> Vocabulary:
        """Words seen at least `min_count` times (the paper's threshold is 5 for COCO, Section 4)."""
        counts = Counter(w for s in sentences for w in s)
        return cls([END, UNK] + sorted(w for w, c in counts.items() if c >= min_count))

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.index.get(w, 1) for w in tokens]

    def decode(self, ids) -> list[str]:
        out = []
        for i in ids:
            if int(i) == 0:
                break
            out.append(self.words[int(i)])
        return out

    def __len__(self) -> int:
        return len(self.words)


def tokenize(text: str) -> list[str]:
    """Lower-case words without punctuation (how Karpathy's files store "tokens")."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower())


def read_karpathy(json_path: str | Path, images_dir: str | Path, splits: tuple[str, ...] = ("train",),
                  check_files: bool = True) -> list[CaptionedImage]:
    """The images of `splits` in a Karpathy split file, with their tokenized sentences. UserError (one line) when
    the file is not such a file or the images are not where it says."""
    json_path, images_dir = Path(json_path), Path(images_dir)
    if not json_path.is_file():
        raise UserError(f"{json_path}: no such dataset file (expected Karpathy's dataset_coco.json or similar)")
    if not images_dir.is_dir():
        raise UserError(f"{images_dir}: not a folder of images")
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{json_path}: not a JSON file ({exc.__class__.__name__})") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list) or not images or not all(isinstance(im, dict) for im in images):
        raise UserError(f"{json_path}: not a Karpathy split file (needs a non-empty 'images' list of "
                        f"{{filename, split, sentences}})")
    wanted = {s for name in splits for s in SPLIT_ALIASES.get(name, (name,))}
    out: list[CaptionedImage] = []
    missing = 0
    for i, im in enumerate(images):
        if "filename" not in im or "split" not in im or not isinstance(im.get("sentences"), list):
            raise UserError(f"{json_path}: image {i} lacks 'filename', 'split' or 'sentences' (not Karpathy's layout)")
        if im["split"] not in wanted:
            continue
        rel = Path(im.get("filepath", "")) / im["filename"]
        sentences = []
        for s in im["sentences"]:
            tokens = s.get("tokens") if isinstance(s, dict) else None
            if tokens is None and isinstance(s, dict) and "raw" in s:
                tokens = tokenize(s["raw"])
            if not isinstance(tokens, list):
                raise UserError(f"{json_path}: a sentence of {rel} has neither 'tokens' nor 'raw'")
            if tokens:
                sentences.append([str(t).lower() for t in tokens])
        path = images_dir / rel
        if check_files and not path.is_file():
            missing += 1
            continue
        if sentences:
            out.append(CaptionedImage(path, im["split"], sentences, str(rel)))
    if check_files and missing and not out:
        raise UserError(f"{images_dir}: none of the {missing} images of {json_path.name} ({'/'.join(sorted(wanted))}) "
                        f"is there (expected IMAGES/filepath/filename)")
    if not out:
        raise UserError(f"{json_path}: no images in split {'/'.join(sorted(wanted))}")
    return out


def write_karpathy(path: str | Path, rows: list[dict], dataset: str) -> Path:
    """Write rows {filename, filepath, split, sentences: [raw, ...]} as a Karpathy split file (atomically)."""
    from ...core.atomic import atomic_path

    images = []
    for i, r in enumerate(rows):
        sents = [{"tokens": tokenize(s), "raw": s, "imgid": i, "sentid": i * 100 + j}
                 for j, s in enumerate(r["sentences"])]
        images.append({"filename": r["filename"], "filepath": r.get("filepath", ""), "split": r["split"],
                       "imgid": i, "sentences": sents, **{k: v for k, v in r.items() if k not in
                                                          ("filename", "filepath", "split", "sentences")}})
    path = Path(path)
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps({"dataset": dataset, "images": images}), encoding="utf-8")
    return path
