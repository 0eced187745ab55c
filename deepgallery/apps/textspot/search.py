"""Query → ranked hits: prefix and typo-tolerant matching on top of the store's full-text index.

Each query word w becomes an OR of
- the word itself and every indexed word that starts with it (FTS5 prefix query ``w*``), and
- every indexed word within its typo budget (words.py: numbers and words of up to 4 letters only exactly,
  1 edit for 5–8 letters, 2 for longer; a swap of two neighbouring letters is one edit),
  so "lodnon" still finds "london" (OCR and users both make typos) but "2025" never finds "2026" nor "line"
  "link";
the query's words are ANDed; matching occurrences that follow each other on screen become one hit. Hits are
ranked by how exactly they match (exact > prefix > typo), then by the store's relevance (bm25) and the
reading's confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepgallery.core.errors import UserError

from .store import Hit, Store
from .words import edit_distance, has_digit, same_word, tokens, typo_budget

__all__ = ["edit_distance", "search", "tokens"]


@dataclass
class Expansion:
    word: str  # the query word
    exact: bool  # whether the word itself is in the index
    prefixed: list[str]  # indexed words that start with it (informational)
    typos: dict[str, int]  # indexed word → edit distance


def expand(word: str, vocabulary: list[str]) -> Expansion:
    """The indexed words a query word matches: itself, words it is a prefix of (not for numbers: "2025" is
    not "20250"), and words within its typo budget (words.same_word: none for numbers and short words)."""
    budget = typo_budget(word)
    typos = {}
    for term in vocabulary:
        if budget and not term.startswith(word) and same_word(word, term):
            typos[term] = edit_distance(word, term, budget)
    prefixed = [] if has_digit(word) else [t for t in vocabulary if t.startswith(word) and t != word]
    return Expansion(word, word in vocabulary, prefixed, typos)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def build_match(expansions: list[Expansion]) -> str:
    """The FTS5 MATCH expression: AND over query words of (word* OR typo1 OR typo2 …); a number is matched
    as itself only."""
    parts = []
    for e in expansions:
        alts = [_quote(e.word) + ("" if has_digit(e.word) else "*")] + [_quote(t) for t in e.typos]
        parts.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def match_quality(text: str, expansions: list[Expansion]) -> float:
    """1 per query word found exactly in the hit's text, 0.8 as a prefix, 0.6/0.4 with 1/2 typos; averaged."""
    words = set(tokens(text))
    total = 0.0
    for e in expansions:
        if e.word in words:
            total += 1.0
        elif not has_digit(e.word) and any(w.startswith(e.word) for w in words):
            total += 0.8
        else:
            dists = [e.typos[w] for w in words if w in e.typos]
            total += (1.0 - 0.2 * (1 + min(dists))) if dists else 0.0
    return total / max(1, len(expansions))


def matched_words(text: str, expansions: list[Expansion]) -> frozenset[str]:
    """The words of `text` that some query word matches."""
    return frozenset(w for w in tokens(text) for e in expansions
                     if w == e.word or w in e.typos or (not has_digit(e.word) and w.startswith(e.word)))


def merge_adjacent(scored: list[tuple[Hit, float]], expansions: list[Expansion],
                   join_gap: float = 1.0) -> list[tuple[Hit, float]]:
    """One hit per stretch of screen time: occurrences of one video in which the query matches the same words,
    on the same band of the screen and following each other within `join_gap` s (a ticker line whose other
    words changed, a caption read again after a flicker), become one hit from the first start to the last end,
    shown by its best reading."""
    out: list[tuple[Hit, float]] = []
    for hit, q in sorted(scored, key=lambda hq: (hq[0].video, hq[0].start)):
        for k, (prev, pq) in enumerate(out):
            if matched_words(prev.text, expansions) != matched_words(hit.text, expansions):
                continue
            ph, hh = prev.box[3] - prev.box[1], hit.box[3] - hit.box[1]
            same_band = abs((prev.box[1] + prev.box[3]) - (hit.box[1] + hit.box[3])) / 2 <= max(ph, hh, 1.0)
            if prev.video == hit.video and same_band and hit.start - prev.end <= join_gap and hit.end >= prev.start:
                best, bq = (hit, q) if (q, hit.conf) > (pq, prev.conf) else (prev, pq)
                best = Hit(**{**best.__dict__, "start": min(prev.start, hit.start), "end": max(prev.end, hit.end)})
                out[k] = (best, bq)
                break
        else:
            out.append((hit, q))
    return out


def search(store: Store, query: str, limit: int = 20) -> list[tuple[Hit, float]]:
    """Ranked (hit, score) for `query`; UserError for a query without any word."""
    words = tokens(query or "")
    if not words:
        raise UserError("empty query: give a word to search for, e.g. `deepgallery run textspot search london`")
    vocab = store.vocabulary()
    expansions = [expand(w, vocab) for w in words]
    hits = store.search(build_match(expansions), limit=max(limit * 5, 100))
    scored = merge_adjacent([(h, match_quality(h.text, expansions)) for h in hits], expansions)
    # rank: match quality first, then bm25 (smaller = better), then confidence
    scored.sort(key=lambda hs: (-round(hs[1], 3), hs[0].rank, -hs[0].conf))
    return scored[:limit]


def hhmmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
