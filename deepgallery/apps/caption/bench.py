"""Benchmark: captions and sentence search on held-out photos, beside a nearest-neighbour peer.

Held-out data: the photo corpus's held-out split (darknet's and OpenCV's sample photos: a dog with a bicycle,
horses, a giraffe, people, fruit, street scenes, text signs; never trained on), with five pseudo-captions each
written the same way as the training sentences (pseudo.py) — so these numbers say how well the model learned to
say what the detector and classifier see, on photos it has not seen; they are NOT comparable with the paper's COCO
numbers (human captions). The full run adds 64 random crops of the held-out photos.

* ``bleu4``, ``cider``: the shipped model's best caption against the five references (pycocoevalcap). Captions
  (here and in the object metrics) come from the default decode, ``pipeline.DEFAULT_RERANK`` (config "rerank"):
  "align", the beam's sentences reranked by log p + λ·S_kl, or "none", beam search's most probable (the paper);
  the metrics ending in ``_rerank_none`` / ``_rerank_align`` are the same for the other decode.
* ``recall_at_5``: image search, the paper's Table 1 "Image Search" R@5: each image's first reference sentence
  ranks all held-out images by S_kl (eq. 8); the fraction whose own image is in the top 5.
* ``object_precision``: is the caption true? The objects the best caption names (COCO class names, plural or not,
  and the ImageNet names the model knows, e.g. "daisy"), and the share of them that the photo's own evidence
  confirms: a detection of that class with score ≥ 0.5 (the detector, high-confidence boxes only) or the word in one
  of the photo's five references. ``true_object_captions``: the share of best captions naming at least one object
  whose objects are all confirmed. ``distinct_captions``: distinct best captions / images (a generator that ignores
  the image says the same thing everywhere: language-prior collapse). The same three for the peer. These are
  judged by the offline detector, not by a person: a detector mistake the model repeats counts as right.
* ``ms_per_caption``: one photo → regions → features → beam search (beam 7) and the default reranking, on the CPU,
  median.
* peer: the nearest-neighbour caption (Devlin et al. 2015's baseline, simplified): the first sentence of the
  training photo whose whole-image CNN feature is most similar (cosine); its pool is the 41 training photos
  (+ 200 crops in the full run) with their pseudo-captions. Chance level for R@5 is 5 / images.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import torch


def _encoded_set(records, crops: int, seed: int, rng):
    from ...core.photos import load_rgb, random_crops
    from .features import encode
    from .pseudo import describe

    rgbs = [load_rgb(r, 512) for r in records]
    if crops:
        rgbs += list(random_crops(records, 320, crops, seed=seed))
    encoded, refs, times = [], [], []
    for rgb in rgbs:
        start = time.perf_counter()
        enc = encode(rgb)
        times.append(time.perf_counter() - start)
        encoded.append(enc)
        refs.append(describe(enc, rgb, rng))
    return encoded, refs, times


def imagenet_nouns(model) -> set[str]:
    """The model's words that are ImageNet class names (one-word ones, or the last word: "daisy", "ladybug")."""
    from ...core.backbones import imagenet_class_names

    names = {n.replace("_", " ").lower().split()[-1] for n in imagenet_class_names()}
    return {w for w in model.vocab.words if w in names and len(w) > 2}


def bench(quick: bool = False) -> dict:
    from ...core.photos import corpus
    from ...core.runtime import torch_threads
    from .data import tokenize
    from .metrics import caption_scores, object_nouns, object_precision, recall_at_k
    from .model import load_shipped
    from .pipeline import DEFAULT_RERANK, RERANK_WEIGHT, caption, ranking_scores

    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    model = load_shipped()
    with torch_threads(1):
        test, refs, encode_s = _encoded_set(corpus("heldout"), 0 if quick else 64, 1, rng)
        pool, pool_refs, _ = _encoded_set(corpus("train"), 0 if quick else 200, 0, rng)
        ours, beam_s, other, other_s = [], [], [], []
        alternative = "align" if DEFAULT_RERANK == "none" else "none"
        for enc in test:
            start = time.perf_counter()
            ours.append(caption(model, enc, k=1, beam=7, rerank_by=DEFAULT_RERANK)[0][0])
            beam_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            other.append(caption(model, enc, k=1, beam=7, rerank_by=alternative)[0][0])
            other_s.append(time.perf_counter() - start)
        # the peer: nearest training photo by whole-image feature, its first sentence
        start = time.perf_counter()
        a = np.stack([e.features[0] for e in test])
        b = np.stack([e.features[0] for e in pool])
        a /= np.linalg.norm(a, axis=1, keepdims=True)
        b /= np.linalg.norm(b, axis=1, keepdims=True)
        nearest = (a @ b.T).argmax(1)
        peer = [pool_refs[j][0] for j in nearest]
        peer_s = (time.perf_counter() - start) / len(test)
        S = ranking_scores(model, test, [tokenize(r[0]) for r in refs])  # (sentences, images)
    truth = np.arange(len(test))
    extra = imagenet_nouns(model)
    confirmed = [{lab for lab, sc in zip(e.labels[1:], e.scores[1:], strict=True) if sc >= 0.5}
                 | {w for r in rs for w in object_nouns(r, extra)} for e, rs in zip(test, refs, strict=True)]
    precision, all_true, nouns = object_precision(ours, confirmed, extra)
    peer_precision, peer_all_true, peer_nouns = object_precision(peer, confirmed, extra)
    scores = caption_scores(refs, ours)
    peer_scores = caption_scores(refs, peer)
    other_precision, other_all_true, other_nouns = object_precision(other, confirmed, extra)
    other_scores = caption_scores(refs, other)
    tag = f"rerank_{alternative}"
    per_caption = [e + s for e, s in zip(encode_s, beam_s, strict=True)]
    examples = [{"caption": c, f"caption_{tag}": o, "nearest_neighbour": p, "references": r[:2],
                 "confirmed": sorted(ok)}
                for c, o, p, r, ok in list(zip(ours, other, peer, refs, confirmed, strict=True))[:36]]
    return {
        "metrics": {
            "bleu4": scores["bleu4"], "cider": scores["cider"],
            "recall_at_5": recall_at_k(S, truth, 5),
            "ms_per_caption": 1000 * statistics.median(per_caption),
            "bleu1": scores["bleu1"], "bleu2": scores["bleu2"], "bleu3": scores["bleu3"],
            "object_precision": precision, "true_object_captions": all_true,
            "distinct_captions": len(set(ours)) / len(ours),
            "peer_nn_object_precision": peer_precision, "peer_nn_true_object_captions": peer_all_true,
            "peer_nn_distinct_captions": len(set(peer)) / len(peer),
            "object_nouns_said": nouns, "peer_nn_object_nouns_said": peer_nouns,
            "recall_at_1": recall_at_k(S, truth, 1), "recall_at_10": recall_at_k(S, truth, 10),
            "recall_at_5_chance": min(1.0, 5 / len(test)),
            "peer_nn_bleu4": peer_scores["bleu4"], "peer_nn_cider": peer_scores["cider"],
            "peer_nn_bleu1": peer_scores["bleu1"],
            "ms_beam_search_only": 1000 * statistics.median(beam_s),
            "ms_regions_and_features": 1000 * statistics.median(encode_s),
            "peer_nn_ms_lookup": 1000 * peer_s,
            "images": len(test), "peer_pool_images": len(pool),
            f"bleu4_{tag}": other_scores["bleu4"], f"cider_{tag}": other_scores["cider"],
            f"object_precision_{tag}": other_precision, f"true_object_captions_{tag}": other_all_true,
            f"distinct_captions_{tag}": len(set(other)) / len(other), f"object_nouns_said_{tag}": other_nouns,
            f"ms_beam_search_only_{tag}": 1000 * statistics.median(other_s),
        },
        "config": {"quick": quick, "beam": 7, "rerank": DEFAULT_RERANK, "rerank_weight": RERANK_WEIGHT,
                   "metrics_without_suffix": f"the default decode, --rerank {DEFAULT_RERANK}; *_{tag}: --rerank "
                                             f"{alternative}",
                   "threads": 1, "load_average_at_start": round(load_before, 2),
                   "heldout": "photo corpus held-out split (darknet, opencv-doc)" + ("" if quick else
                                                                                      " + 64 random crops of it"),
                   "references": "5 pseudo-captions per image (pseudo.py), not human captions",
                   "examples": examples},
        "device": f"cpu (torch {torch.__version__}, 1 thread)",
    }


def choose_rerank_weight(data_json, images_dir, features_cache, images: int = 1000, seed: int = 0,
                         weights=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0), checkpoint: str | None = None,
                         log=print) -> dict:
    """How pipeline.RERANK_WEIGHT was chosen: on `images` random TRAINING images of the shipped model's data (never
    the held-out photos), each weight λ's reranked best captions scored like the bench (object precision, true-object
    captions, distinct captions; references and high-confidence detections confirm). The weight kept is the one with
    the highest object precision + true-object captions whose distinct captions stay ≥ 0.9 × those of λ = 0."""
    from .data import read_karpathy
    from .features import load_cache
    from .metrics import object_nouns, object_precision
    from .model import load, load_shipped
    from .pipeline import aligned_beam, rerank

    model = load(checkpoint) if checkpoint else load_shipped()
    cache = load_cache(features_cache)
    pool = [im for im in read_karpathy(data_json, images_dir, ("train",), check_files=False) if im.key in cache]
    pick = np.random.default_rng(seed).permutation(len(pool))[:images]
    extra = imagenet_nouns(model)
    beams, confirmed = [], []
    for j in pick:
        im, enc = pool[j], cache[pool[j].key]
        beams.append(aligned_beam(model, enc, 7))
        confirmed.append({lab for lab, sc in zip(enc.labels[1:], enc.scores[1:], strict=True) if sc >= 0.5}
                         | {w for s in im.sentences for w in object_nouns(" ".join(s), extra)})
    table = {}
    for lam in weights:
        best = [rerank(found, S, lam)[0][0] for found, S in beams]
        precision, all_true, nouns = object_precision(best, confirmed, extra)
        table[lam] = {"object_precision": precision, "true_object_captions": all_true,
                      "distinct_captions": len(set(best)) / len(best), "object_nouns_said": nouns}
        log(f"λ = {lam:<5} " + "  ".join(f"{k} {v:.3f}" for k, v in table[lam].items()))
    floor = 0.9 * table[weights[0]]["distinct_captions"]
    ok = [lam for lam in weights if table[lam]["distinct_captions"] >= floor]
    chosen = max(ok, key=lambda lam: table[lam]["object_precision"] + table[lam]["true_object_captions"])
    log(f"chosen λ = {chosen} ({len(pick)} training images, seed {seed})")
    return {"chosen": chosen, "images": len(pick), "table": table}


if __name__ == "__main__":  # python -m deepgallery.apps.caption.bench DATASET_JSON IMAGES FEATURES_NPZ
    import sys

    with_threads = __import__("deepgallery.core.runtime", fromlist=["torch_threads"]).torch_threads
    with with_threads(1):
        choose_rerank_weight(*sys.argv[1:4])
