"""Characters, the GRID grammar, CTC decoding (greedy and beam, optionally held to the grammar) and WER/CER.

LipNet predicts, per frame, a distribution over 28 symbols: the 26 letters, the space and CTC's blank (§3.2).
GRID sentences follow one fixed grammar (Cooke et al. 2006): command, colour, preposition, letter, digit,
adverb, e.g. "bin blue at f two now" (the letter slot has every letter but w).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

BLANK = 0
ALPHABET = "abcdefghijklmnopqrstuvwxyz "  # symbol i + 1; symbol 0 is the CTC blank
SYMBOLS = len(ALPHABET) + 1  # 28

GRAMMAR: tuple[tuple[str, ...], ...] = (
    ("bin", "lay", "place", "set"),
    ("blue", "green", "red", "white"),
    ("at", "by", "in", "with"),
    tuple(c for c in "abcdefghijklmnopqrstuvxyz"),  # no w
    ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    ("again", "now", "please", "soon"),
)
SLOTS = ("command", "colour", "preposition", "letter", "digit", "adverb")


def encode(text: str) -> list[int]:
    """Text → symbol indices (1..27); anything outside the alphabet is an error the caller reports."""
    return [ALPHABET.index(c) + 1 for c in text]


def decode_symbols(ids) -> str:
    return "".join(ALPHABET[i - 1] for i in ids if i != BLANK)


def unknown_characters(text: str) -> str:
    return "".join(sorted({c for c in text if c not in ALPHABET}))


def in_grammar(words: list[str]) -> bool:
    return len(words) == len(GRAMMAR) and all(w in slot for w, slot in zip(words, GRAMMAR, strict=True))


def random_sentence(rng: np.random.Generator) -> str:
    return " ".join(slot[rng.integers(len(slot))] for slot in GRAMMAR)


@lru_cache(maxsize=200_000)
def grammar_prefix(prefix: str) -> bool:
    """True if `prefix` (characters) can still grow into a GRID sentence."""
    words = prefix.split(" ")
    if len(words) > len(GRAMMAR) or (prefix and prefix[0] == " "):
        return False
    *done, last = words
    if not all(w in slot for w, slot in zip(done, GRAMMAR, strict=False)):
        return False
    return any(w.startswith(last) for w in GRAMMAR[len(done)])


# ------------------------------------------------------------------------------------------------ decoding


def greedy(log_probs: np.ndarray) -> tuple[str, list[float]]:
    """Best path (§3.2): the most likely symbol per frame, repeats merged, blanks dropped.

    log_probs: (T, 28). Returns the text and, per character, its confidence: the highest probability of that
    character over the frames that emitted it."""
    best = log_probs.argmax(1)
    text, conf = [], []
    prev = BLANK
    for t, s in enumerate(best):
        p = float(np.exp(log_probs[t, s]))
        if s != BLANK and s != prev:
            text.append(ALPHABET[s - 1])
            conf.append(p)
        elif s != BLANK and s == prev:
            conf[-1] = max(conf[-1], p)
        prev = s
    return "".join(text), conf


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def beam_search(log_probs: np.ndarray, beam: int = 16, grammar: bool = False, prune: float = -12.0) -> str:
    """CTC prefix beam search (Graves 2006; the paper decodes with a beam of 100 in TensorFlow's decoder).

    Each prefix keeps two scores: ending in a blank and ending in its last character. With `grammar`, a
    prefix that cannot grow into a GRID sentence is dropped, and complete sentences win over incomplete ones."""
    T, S = log_probs.shape
    beams: dict[str, tuple[float, float]] = {"": (0.0, -math.inf)}  # prefix -> (log p ending blank, ending char)
    for t in range(T):
        lp = log_probs[t]
        candidates = [s for s in range(1, S) if lp[s] > prune] or [int(lp[1:].argmax()) + 1]
        nxt: dict[str, tuple[float, float]] = {}

        def add(prefix: str, pb: float, pnb: float, nxt: dict = nxt) -> None:
            ob, onb = nxt.get(prefix, (-math.inf, -math.inf))
            nxt[prefix] = (_logsumexp(ob, pb), _logsumexp(onb, pnb))

        for prefix, (pb, pnb) in beams.items():
            total = _logsumexp(pb, pnb)
            add(prefix, total + float(lp[BLANK]), -math.inf)  # a blank keeps the prefix
            last = prefix[-1] if prefix else None
            for s in candidates:
                c = ALPHABET[s - 1]
                ext = prefix + c
                if c == last:  # the same character again merges into the last one...
                    add(prefix, -math.inf, pnb + float(lp[s]))
                if grammar and not grammar_prefix(ext):
                    continue
                if c == last:
                    add(ext, -math.inf, pb + float(lp[s]))  # ...or, after a blank, repeats it
                else:
                    add(ext, -math.inf, total + float(lp[s]))
        beams = dict(sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:beam])
    ranked = sorted(beams.items(), key=lambda kv: -_logsumexp(*kv[1]))
    if grammar:
        complete = [p for p, _ in ranked if in_grammar(p.split(" "))]
        if complete:
            return complete[0]
    return ranked[0][0].strip()


# ------------------------------------------------------------------------------------------------- metrics


def edit_distance(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def wer(hyps: list[str], refs: list[str]) -> float:
    """Word error rate: word edits / reference words, over the whole set (the paper's definition)."""
    return sum(edit_distance(h.split(), r.split()) for h, r in zip(hyps, refs, strict=True)) / max(
        1, sum(len(r.split()) for r in refs))


def cer(hyps: list[str], refs: list[str]) -> float:
    """Character error rate: character edits / reference characters (spaces included)."""
    return sum(edit_distance(h, r) for h, r in zip(hyps, refs, strict=True)) / max(1, sum(len(r) for r in refs))
