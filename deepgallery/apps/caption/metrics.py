"""Caption metrics: BLEU-1..4 and CIDEr-D from the COCO caption evaluation code (PyPI ``pycocoevalcap``, the
maintained package of github.com/salaniz/pycocoevalcap: tylin/coco-caption's scorers), and retrieval recall@K.

Both scorers are pure Python and run offline. The COCO server's "CIDEr" is CIDEr-D (Vedantam et al. 2015, Section
"CIDEr-D": the Gaussian length penalty with σ = 6 and clipped n-gram counts), which is what ``Cider`` computes; its
document frequencies come from the references being scored, as on the server. Not used: METEOR and SPICE (they run
Java programs), and the PTB tokenizer (also Java); instead references and candidates both go
through `data.tokenize` (lower-case words, punctuation dropped) and are joined with spaces.
"""

from __future__ import annotations

import numpy as np

from ...core.errors import UserError


def _scorers():
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
    except ModuleNotFoundError:
        raise UserError("caption metrics need pycocoevalcap: pip install 'deepgallery[caption]'") from None
    return Bleu, Cider


def caption_scores(references: list[list[str]], candidates: list[str]) -> dict[str, float]:
    """Corpus BLEU-1..4 and CIDEr-D of one candidate sentence per image against its reference sentences
    (all as space-joined lower-case words)."""
    if len(references) != len(candidates) or not candidates:
        raise ValueError("one candidate per image, and at least one image")
    from .data import tokenize

    Bleu, Cider = _scorers()
    # both sides through one tokenizer (the PTB tokenizer's job on the server): "close-up" and "close up" match
    gts = {i: [" ".join(tokenize(r)) for r in refs] for i, refs in enumerate(references)}
    res = {i: [" ".join(tokenize(c)) or "<empty>"] for i, c in enumerate(candidates)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {"bleu1": bleu[0], "bleu2": bleu[1], "bleu3": bleu[2], "bleu4": bleu[3], "cider": float(cider)}


def recall_at_k(scores: np.ndarray, truth: np.ndarray, k: int) -> float:
    """scores (Q, N): query q's score for item n; truth (Q,): the right item. Fraction of queries whose right item
    is among the k highest (ties count against us: the right item must beat all but k - 1 others)."""
    right = scores[np.arange(len(truth)), truth]
    rank = (scores > right[:, None]).sum(1) + (scores == right[:, None]).sum(1) - 1  # 0 = first
    return float((rank < k).mean())


def object_nouns(caption: str, extra_nouns: set[str] = frozenset()) -> list[str]:
    """The objects a caption names, as COCO class names ("two dogs next to a dining table" -> dog, dining table),
    plus any word of `extra_nouns` (e.g. ImageNet names such as "daisy"), in order."""
    from ...core.detector import COCO_CLASSES
    from .data import tokenize
    from .pseudo import plural

    forms = {}
    for name in COCO_CLASSES:
        forms[tuple(name.split())] = name
        forms[tuple(plural(name).split())] = name
    words = tokenize(caption)
    found, j = [], 0
    while j < len(words):
        for n in (2, 1):
            key = tuple(words[j:j + n])
            if key == ("orange",) and not _the_fruit(words, j, forms, extra_nouns):
                continue  # "an orange vase", "orange colours": the colour
            if len(key) == n and key in forms:
                found.append(forms[key])
                j += n
                break
        else:
            if words[j] in extra_nouns:
                found.append(words[j])
            j += 1
    return found


def _the_fruit(words: list[str], j: int, forms: dict, extra_nouns: set[str]) -> bool:
    """Whether "orange" at j is COCO's fruit: after an article or a count, and not before a noun or a colour word."""
    from .pseudo import COLOURS

    nxt = words[j + 1] if j + 1 < len(words) else ""
    before_noun = (nxt,) in forms or nxt in extra_nouns or nxt in COLOURS or nxt in ("colours", "picture", "and")
    return j > 0 and words[j - 1] in ("a", "an", "one", "the") and not before_noun


def object_precision(captions: list[str], confirmed: list[set[str]], extra_nouns: set[str] = frozenset()
                     ) -> tuple[float, float, int]:
    """(share of the object nouns of all captions that the image's `confirmed` set holds, share of captions naming
    at least one object whose objects are all confirmed, nouns counted). An image's confirmed set is what the
    caller trusts: here the detector's high-confidence boxes and the words of its references."""
    said = right = all_right = naming = 0
    for text, ok in zip(captions, confirmed, strict=True):
        nouns = object_nouns(text, extra_nouns)
        said += len(nouns)
        hits = sum(n in ok for n in nouns)
        right += hits
        if nouns:
            naming += 1
            all_right += hits == len(nouns)
    return (right / said if said else float("nan")), (all_right / naming if naming else float("nan")), said
