"""When are two words the same word? One rule for the whole app: the tracker (two readings of a line on
screen) and the search (a query word and an indexed word) both use it.

- Numbers match only exactly: "2025" is not "2026", "Slide 4" is not "Slide 5", and two words with digits
  match only if their digits do ("A380" is not "A381"); a digit read inside a word ("L0NDON") is a typo.
- Otherwise the typos tolerated scale with the length: none up to 4 letters ("line" is not "link"), 1 edit for
  5–8 letters ("lodnon" finds "london"), 2 for 9 or more; an edit is an insertion, a deletion, a substitution
  or a swap of two neighbours (Damerau–Levenshtein, optimal string alignment).
"""

from __future__ import annotations

import re


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric words, as FTS5's unicode61 tokenizer splits them."""
    return re.findall(r"\w+", text.lower())


def has_digit(word: str) -> bool:
    return any(c.isdigit() for c in word)


def digits(word: str) -> str:
    return "".join(c for c in word if c.isdigit())


def typo_budget(word: str) -> int:
    """Edits tolerated for a word: none for a number or up to 4 characters, 1 for 5–8, 2 for longer."""
    if word.isdigit() or len(word) <= 4:
        return 0
    return 1 if len(word) <= 8 else 2


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


def same_word(a: str, b: str) -> bool:
    """Two readings of one word (lower case): equal, or within the typo budget of the shorter one; a word and
    a strict prefix of it are not the same (a word half scrolled in, "consort" of "consorted", is not it)."""
    if a == b:
        return True
    if a.startswith(b) or b.startswith(a):
        return False
    if a.isdigit() or b.isdigit() or (has_digit(a) and has_digit(b) and digits(a) != digits(b)):
        return False
    budget = typo_budget(min(a, b, key=len))
    return budget > 0 and edit_distance(a, b, budget) <= budget


def same_text(a: str, b: str) -> bool:
    """Two readings of one text line: the same number of words, each pair the same word."""
    ta, tb = tokens(a), tokens(b)
    return len(ta) == len(tb) and all(same_word(x, y) for x, y in zip(ta, tb, strict=True))
