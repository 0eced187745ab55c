"""What `run` does with a trained model: caption a photo (beam search), align a sentence's words to its regions
(the paper's Figure 5), and rank a folder of photos by a sentence (the paper's image search, Section 4.1)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError
from .data import tokenize
from .features import EncodedImage, encode, model_features
from .model import AlignmentModel, CaptionModel

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


@dataclass
class Alignment:
    words: list[str]  # the sentence's known words
    best_region: list[int]  # per word, argmax_i v_i·s_t
    scores: list[float]  # per word, that dot product
    total: float  # S_kl = Σ_t max_i v_i·s_t (eq. 8)


MRF_BETA = 1.5  # β of eq. 10-11 for `run`'s figure (the training default too)


def align(model: CaptionModel, enc: EncodedImage, sentence: str | list[str], beta: float | None = None) -> Alignment:
    """Each word's region and the image-sentence score (eq. 8). beta None: each word's best region (the argmax of
    eq. 8); a number: the MRF alignment of Section 3.1.4 (eq. 10-11), neighbouring words sharing a region, so the
    regions carry snippets ("a dog", "two people"). `total` is eq. 8's S either way."""
    tokens = tokenize(sentence) if isinstance(sentence, str) else sentence
    s, words = model.encode_sentence(tokens)  # (T, h)
    if not words:
        return Alignment([], [], [], 0.0)
    v = model.embed_regions(torch.from_numpy(model_features(enc, model.cfg.feature_dim)))  # (R, h)
    dots = v @ s.T  # (R, T)
    best = dots.max(0)
    if beta is None:
        return Alignment(words, best.indices.tolist(), best.values.tolist(), float(best.values.sum()))
    from .model import mrf_alignment

    path = mrf_alignment(dots, beta)
    return Alignment(words, path, [float(dots[r, t]) for t, r in enumerate(path)], float(best.values.sum()))


def check_sentence(model: CaptionModel, sentence: str) -> list[str]:
    """The sentence's words; UserError when none of them is in the model's vocabulary (nothing to align)."""
    tokens = tokenize(sentence)
    if not tokens:
        raise UserError("the search sentence has no words")
    known = [w for w in tokens if w in model.vocab.index]
    if not known:
        raise UserError(f"none of the words of {sentence!r} is in the model's vocabulary of {len(model.vocab)} words "
                        f"(e.g. {', '.join(model.vocab.words[2:12])})")
    return tokens


# Reranking the generator's beam by the alignment model (not in the paper: its m-RNN keeps the beam's most
# probable sentence). "align" orders the beam's finished sentences by log p + RERANK_WEIGHT · S_kl (eq. 8, the
# alignment model's image-sentence score, which sees the detected regions). The weight was chosen on training
# images (bench.choose_rerank_weight), never on the held-out photos; README "Reranking" has the numbers.
RERANK_MODES = ("none", "align")
DEFAULT_RERANK = "align"
RERANK_WEIGHT = 0.3


def rerank(found: list[tuple[str, float]], align_scores, weight: float) -> list[tuple[str, float]]:
    """The candidates (sentence, log p) ordered by log p + weight · S, S their alignment scores, best first. The sort
    is stable, so ties, and weight 0, keep the given (beam search's) order."""
    if len(align_scores) != len(found):
        raise ValueError(f"{len(found)} candidates but {len(align_scores)} alignment scores")
    order = sorted(range(len(found)), key=lambda n: -(found[n][1] + weight * float(align_scores[n])))
    return [found[n] for n in order]


def aligned_beam(model: CaptionModel, enc: EncodedImage, n: int) -> tuple[list[tuple[str, float]], np.ndarray]:
    """The beam's n finished sentences (sentence, log p), most probable first, and their alignment scores S_kl with
    the photo (n,): what "align" reranks."""
    found = model.captions(torch.from_numpy(model_features(enc, model.cfg.feature_dim)), k=n, beam=n)
    if not found:
        return found, np.zeros(0)
    return found, ranking_scores(model, [enc], [text.split() for text, _ in found])[:, 0]


def caption(model: CaptionModel, enc: EncodedImage, k: int = 3, beam: int = 7, rerank_by: str = DEFAULT_RERANK,
            weight: float = RERANK_WEIGHT) -> list[tuple[str, float]]:
    """k captions of the photo (its whole image and regions) with their total log-probabilities: beam search's most
    probable (rerank_by "none", the paper), or (rerank_by "align") the beam's max(beam, k) finished sentences
    reordered by `rerank` with their alignment scores S_kl and `weight`."""
    if rerank_by == "none":
        return model.captions(torch.from_numpy(model_features(enc, model.cfg.feature_dim)), k=k, beam=max(beam, k))
    if rerank_by != "align":
        raise UserError(f"unknown reranking {rerank_by!r}; choose one of {', '.join(RERANK_MODES)}")
    found, S = aligned_beam(model, enc, max(beam, k))
    return rerank(found, S, weight)[:k]


def folder_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{folder}: no images in it (expected {', '.join(sorted(IMAGE_SUFFIXES))} files)")
    return files


def search(model: CaptionModel, sentence: str, files: list[Path], max_regions: int = 9, min_score: float = 0.3,
           progress_desc: str = "search") -> tuple[list[tuple[Path, float, Alignment]], list[tuple[Path, str]]]:
    """Every readable image of `files` scored against the sentence (S_kl), best first, and the skipped files."""
    from ...core.media import read_image
    from ...core.runtime import progress

    tokens = check_sentence(model, sentence)
    ranked, skipped = [], []
    for path in progress(files, desc=progress_desc):
        try:
            rgb = read_image(path)
        except UserError as exc:
            skipped.append((path, str(exc)))
            continue
        a = align(model, encode(rgb, max_regions, min_score), tokens)
        ranked.append((path, a.total, a))
    ranked.sort(key=lambda r: -r[1])
    return ranked, skipped


def ranking_scores(model: CaptionModel, encoded: list[EncodedImage], sentences: list[list[str]]) -> np.ndarray:
    """S (sentences, images) for the retrieval benchmark: every sentence against every image (eq. 8)."""
    R = max(len(e.labels) for e in encoded)
    feats = torch.zeros(len(encoded), R, model.cfg.feature_dim)
    rmask = torch.zeros(len(encoded), R, dtype=torch.bool)
    for n, e in enumerate(encoded):
        feats[n, :len(e.labels)] = torch.from_numpy(model_features(e, model.cfg.feature_dim))
        rmask[n, :len(e.labels)] = True
    T = max(1, max(len(s) for s in sentences))
    words = torch.zeros(len(sentences), T, dtype=torch.long)
    wmask = torch.zeros(len(sentences), T, dtype=torch.bool)
    for n, s in enumerate(sentences):
        ids = model.vocab.encode(s[:T])
        words[n, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        wmask[n, :len(ids)] = True
    with torch.no_grad():
        v = model.align.image(feats)
        s = model.align.sentence(words, wmask)
        S = AlignmentModel.image_sentence_scores(AlignmentModel.region_word_scores(v, s), rmask, wmask)  # (K, L)
    return S.T.numpy()
