"""Query → ranked hits: prefix and typo-tolerant matching on top of the store's full-text index.

Each query word w becomes an OR of
- the word itself and every indexed word that starts with it (FTS5 prefix query ``w*``), and
- every indexed word within a small edit distance of w (≤ 1 edit for 4–6 letters, ≤ 2 for longer; a swap
  of two neighbouring letters is one edit),
  so "lodnon" still finds "london" (OCR and users both make typos);
the query's words are ANDed. Hits are ranked by how exactly they match (exact > prefix > typo), then by
the store's relevance (bm25) and the reading's confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deepgallery.core.errors import UserError

from .store import Hit, Store


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric words, as FTS5's unicode61 tokenizer splits them."""
    return re.findall(r"\w+", text.lower())


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance (optimal string alignment: insert, delete, substitute, swap two
    neighbours) of a and b, or limit + 1 as soon as it must exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            d = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if before is not None and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                d = min(d, before[j - 2] + 1)  # transposition "od" ↔ "do"
            cur.append(d)
        if min(cur) > limit:
            return limit + 1
        before, prev = prev, cur
    return prev[-1]


def typo_budget(word: str) -> int:
    """Edits tolerated for a query word: none for 1–3 letters, 1 for 4–6, 2 for longer."""
    return 0 if len(word) <= 3 else 1 if len(word) <= 6 else 2


@dataclass
class Expansion:
    word: str  # the query word
    exact: bool  # whether the word itself is in the index
    prefixed: list[str]  # indexed words that start with it (informational)
    typos: dict[str, int]  # indexed word → edit distance


def expand(word: str, vocabulary: list[str]) -> Expansion:
    budget = typo_budget(word)
    typos = {}
    for term in vocabulary:
        if term != word and not term.startswith(word) and budget:
            d = edit_distance(word, term, budget)
            if d <= budget:
                typos[term] = d
    return Expansion(word, word in vocabulary, [t for t in vocabulary if t.startswith(word) and t != word], typos)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def build_match(expansions: list[Expansion]) -> str:
    """The FTS5 MATCH expression: AND over query words of (word* OR typo1 OR typo2 …)."""
    parts = []
    for e in expansions:
        alts = [_quote(e.word) + "*"] + [_quote(t) for t in e.typos]
        parts.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def match_quality(text: str, expansions: list[Expansion]) -> float:
    """1 per query word found exactly in the hit's text, 0.8 as a prefix, 0.6/0.4 with 1/2 typos; averaged."""
    words = set(tokens(text))
    total = 0.0
    for e in expansions:
        if e.word in words:
            total += 1.0
        elif any(w.startswith(e.word) for w in words):
            total += 0.8
        else:
            dists = [e.typos[w] for w in words if w in e.typos]
            total += (1.0 - 0.2 * (1 + min(dists))) if dists else 0.0
    return total / max(1, len(expansions))


def search(store: Store, query: str, limit: int = 20) -> list[tuple[Hit, float]]:
    """Ranked (hit, score) for `query`; UserError for a query without any word."""
    words = tokens(query or "")
    if not words:
        raise UserError("empty query: give a word to search for, e.g. `deepgallery run textspot search london`")
    vocab = store.vocabulary()
    expansions = [expand(w, vocab) for w in words]
    hits = store.search(build_match(expansions), limit=max(limit * 5, 100))
    scored = [(h, match_quality(h.text, expansions)) for h in hits]
    # rank: match quality first, then bm25 (smaller = better), then confidence
    scored.sort(key=lambda hs: (-round(hs[1], 3), hs[0].rank, -hs[0].conf))
    return scored[:limit]


def hhmmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
