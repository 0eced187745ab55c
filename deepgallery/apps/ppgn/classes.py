"""Choosing the class to generate: any of the 1000 ImageNet names, matched forgivingly.

Order of matching: an index ("207"), an exact name ("golden retriever", any case), a word inside names
("cat" → tabby cat, tiger cat, Persian cat, …: the first is used and the others are reported), then
a UserError suggesting the closest names for typos ("volcanoe" → "volcano").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...core.errors import UserError, closest


@dataclass(frozen=True)
class ClassChoice:
    index: int  # logit index in the classifier
    name: str  # canonical ImageNet name
    alternatives: tuple[str, ...] = field(default=())  # other names the query also matched
    how: str = "exact"  # exact | index | word | fuzzy


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def match_class(query: str, names: list[str]) -> ClassChoice:
    """The class named by `query`; UserError with the closest valid names when nothing fits."""
    q = _norm(str(query))
    if not q:
        raise UserError("class name is empty: give an ImageNet class such as 'volcano' or 'goldfish'")
    if q.isdigit():
        idx = int(q)
        if not 0 <= idx < len(names):
            raise UserError(f"class index {idx} out of range: use 0..{len(names) - 1} or a class name")
        return ClassChoice(idx, names[idx], how="index")
    normed = [_norm(n) for n in names]
    if q in normed:
        idx = normed.index(q)
        return ClassChoice(idx, names[idx])
    # whole words (or a word prefix when plural: "cats" -> "cat") inside class names
    words = set(q.split())
    singular = {w[:-1] for w in words if w.endswith("s") and len(w) > 3}
    hits = [i for i, n in enumerate(normed)
            if words <= set(n.split()) or (singular and (singular | (words - {w + "s" for w in singular}))
                                           <= set(n.split()))]
    if hits:
        # names whose head noun (last word) is the query first ("cat" -> "tabby cat", not "cat bear"),
        # then ImageNet order (animals come before objects)
        last = {w for w in words | singular}
        hits.sort(key=lambda i: (normed[i].split()[-1] not in last, i))
        return ClassChoice(hits[0], names[hits[0]], tuple(names[i] for i in hits[1:]), how="word")
    # typos: word by word against the words of every name ("retreiver" -> the retrievers), then whole names
    vocab = sorted({w for n in normed for w in n.split()})
    near_words = [w for word in q.split() for w in closest(word, vocab, n=2)]  # best first
    near = [names[i] for w in near_words for i, n in enumerate(normed) if w in n.split()]
    near = list(dict.fromkeys(near + closest(q, names, n=5)))[:5]
    hint = f" Did you mean {', '.join(repr(c) for c in near)}?" if near else ""
    raise UserError(f"unknown ImageNet class {query!r}.{hint} (1000 classes: `deepgallery run ppgn --list-classes`)")
