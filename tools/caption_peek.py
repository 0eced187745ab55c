"""Look at a caption model (a training run's OUT/state or an exported checkpoint) on the held-out photos.

    python tools/caption_peek.py runs/caption/state [--cache /tmp/caption/heldout.npz]

Prints each held-out photo's best caption beside what the detector confirms (score >= 0.5) and its most detailed
pseudo-caption, then the object precision, the share of distinct captions and image-search R@1/5/10: a quick check
of a run in progress (the same measures as `deepgallery bench caption --quick`, without re-detecting the photos).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from deepgallery.apps.caption.bench import imagenet_nouns
    from deepgallery.apps.caption.data import tokenize
    from deepgallery.apps.caption.features import encode, load_cache, save_cache
    from deepgallery.apps.caption.metrics import object_nouns, object_precision, recall_at_k
    from deepgallery.apps.caption.model import load
    from deepgallery.apps.caption.pipeline import caption, ranking_scores
    from deepgallery.apps.caption.pseudo import describe
    from deepgallery.core.photos import corpus, load_rgb
    from deepgallery.core.runtime import torch_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/caption/heldout.npz"))
    args = parser.parse_args(argv)
    records = corpus("heldout")
    with torch_threads(1):
        encoded = load_cache(args.cache) if args.cache.is_file() else {}
        rgbs = {r.path.name: load_rgb(r, 512) for r in records}
        if len(encoded) < len(rgbs):
            encoded = {name: encode(rgb) for name, rgb in rgbs.items()}
            save_cache(args.cache, encoded)
        model = load(args.model)
        names = list(rgbs)
        rng = np.random.default_rng(0)
        refs = [describe(encoded[n], rgbs[n], rng) for n in names]
        ours = [caption(model, encoded[n], k=1)[0][0] for n in names]
        S = ranking_scores(model, [encoded[n] for n in names], [tokenize(r[0]) for r in refs])
    extra = imagenet_nouns(model)
    confirmed = [{lab for lab, sc in zip(encoded[n].labels[1:], encoded[n].scores[1:], strict=True) if sc >= 0.5}
                 | {w for r in rs for w in object_nouns(r, extra)} for n, rs in zip(names, refs, strict=True)]
    for n, c, ok, r in zip(names, ours, confirmed, refs, strict=True):
        print(f"{n:28s} {c:45s} | {','.join(sorted(ok)):30s} | {r[0]}")
    p, true, said = object_precision(ours, confirmed, extra)
    truth = np.arange(len(names))
    print(f"object_precision {p:.3f} ({said} nouns), true_object_captions {true:.3f}, distinct "
          f"{len(set(ours)) / len(ours):.2f}, R@1/5/10 {recall_at_k(S, truth, 1):.2f} {recall_at_k(S, truth, 5):.2f} "
          f"{recall_at_k(S, truth, 10):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
