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
