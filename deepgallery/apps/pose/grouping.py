"""From confidence maps and part affinity fields to people (Cao et al. 2017, Section 2.4, Eq. 10-14).

1. **Part candidates** D_J: non-maximum suppression on each confidence map S_j (local maxima above a threshold).
2. **Association score** of a candidate limb (d_{j1}, d_{j2}): the line integral of the PAF along the segment
   (Eq. 10), E = ∫₀¹ L_c(p(u)) · (d_{j2} - d_{j1}) / ‖d_{j2} - d_{j1}‖ du with p(u) = (1-u)·d_{j1} + u·d_{j2}
   (Eq. 11), approximated by sampling uniformly spaced u.
3. **Matching**: with the skeleton relaxed to a tree, the K-partite matching splits into one bipartite matching
   per limb (Eq. 13, 14: max Σ E over matchings, no two edges share a node). Each is solved *greedily* —
   accept candidate connections in order of decreasing E while both ends are free — as in the authors'
   released code (the paper mentions the Hungarian algorithm; greedy gives the same result when the scores are
   clear and is what runs in real time).
4. **Assembly**: connections sharing a part candidate are merged into full-body people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import Person


@dataclass(frozen=True)
class GroupingConfig:
    """Thresholds of the grouping (values of the authors' code, scaled to maps in [0, 1])."""

    peak_threshold: float = 0.1  # a part candidate is a local maximum of S_j at least this high
    samples: int = 10  # uniformly spaced u for the integral of Eq. 10
    agree_threshold: float = 0.05  # a sample agrees with the limb direction if L·v is above this
    min_agree: float = 0.8  # …and at least this fraction of the samples must agree
    length_prior: bool = True  # penalise limbs longer than half the image height (authors' code)
    min_parts: int = 3  # drop "people" with fewer parts (spurious fragments)
    min_mean_score: float = 0.2  # …or a lower mean part score
    max_candidates: int = 64  # best peaks kept per part: a flat map (untrained net) would make every pixel one,
    # and limb scoring is O(n_a · n_b · samples) in memory


def find_peaks(heatmaps: np.ndarray, threshold: float, max_candidates: int = 64) -> list[np.ndarray]:
    """Part candidates per map: for S (J, H, W) a list of J arrays (n_j, 3) of (x, y, score), best first.

    A pixel is a peak if it is ≥ its 4 neighbours (non-maximum suppression) and ≥ `threshold`; at most
    `max_candidates` of the highest are kept.
    """
    out = []
    for s in heatmaps:
        pad = np.pad(s, 1, mode="constant", constant_values=-np.inf)
        c = pad[1:-1, 1:-1]
        peak = (c >= pad[:-2, 1:-1]) & (c >= pad[2:, 1:-1]) & (c >= pad[1:-1, :-2]) & (c >= pad[1:-1, 2:])
        peak &= c >= threshold
        ys, xs = np.nonzero(peak)
        scores = s[ys, xs]
        order = np.argsort(-scores, kind="stable")[:max_candidates]
        out.append(np.stack([xs[order], ys[order], scores[order]], axis=1).astype(np.float32).reshape(-1, 3))
    return out


def limb_scores(paf: np.ndarray, cand_a: np.ndarray, cand_b: np.ndarray, cfg: GroupingConfig,
                image_height: float) -> np.ndarray:
    """E of Eq. 10 for every pair (candidate of part a, candidate of part b): (n_a, n_b), -inf if rejected.

    paf: (2, H, W) the x and y field of this limb; cand_*: (n, 3) of (x, y, score) in map pixels.
    """
    na, nb = len(cand_a), len(cand_b)
    if na == 0 or nb == 0:
        return np.full((na, nb), -np.inf, np.float32)
    h, w = paf.shape[1:]
    da = cand_a[:, None, :2]  # (na, 1, 2)
    db = cand_b[None, :, :2]  # (1, nb, 2)
    d = db - da  # (na, nb, 2)
    norm = np.linalg.norm(d, axis=-1)  # (na, nb)
    v = d / np.maximum(norm, 1e-6)[..., None]  # unit vector along the candidate limb
    u = np.linspace(0.0, 1.0, cfg.samples, dtype=np.float32)  # uniformly spaced u
    p = da[:, :, None, :] * (1 - u)[None, None, :, None] + db[:, :, None, :] * u[None, None, :, None]  # Eq. 11
    px = np.clip(np.rint(p[..., 0]).astype(int), 0, w - 1)  # (na, nb, samples)
    py = np.clip(np.rint(p[..., 1]).astype(int), 0, h - 1)
    dots = paf[0][py, px] * v[..., None, 0] + paf[1][py, px] * v[..., None, 1]  # L_c(p(u)) · v
    e = dots.mean(axis=-1)  # Eq. 10 as an average over the samples
    if cfg.length_prior:
        e = e + np.minimum(0.5 * image_height / np.maximum(norm, 1e-6) - 1.0, 0.0)
    ok = ((dots > cfg.agree_threshold).mean(axis=-1) >= cfg.min_agree) & (e > 0) & (norm > 0)
    return np.where(ok, e, -np.inf).astype(np.float32)


def greedy_match(scores: np.ndarray) -> list[tuple[int, int, float]]:
    """Eq. 13-14 per limb: a matching (no shared endpoints) picked greedily by decreasing score."""
    pairs = [(float(scores[i, j]), i, j) for i, j in zip(*np.nonzero(np.isfinite(scores)), strict=True)]
    pairs.sort(key=lambda t: -t[0])
    used_a, used_b, chosen = set(), set(), []
    for s, i, j in pairs:
        if i not in used_a and j not in used_b:
            chosen.append((int(i), int(j), s))
            used_a.add(i)
            used_b.add(j)
    return chosen


def assemble(candidates: list[np.ndarray], connections: list[list[tuple[int, int, float]]],
             limbs: tuple[tuple[int, int], ...], cfg: GroupingConfig) -> list[Person]:
    """Merge limb connections that share a part candidate into people (the authors' "subset" bookkeeping)."""
    J = len(candidates)
    people: list[dict] = []  # {"idx": (J,) candidate index per part or -1, "score": float}
    for (a, b), conns in zip(limbs, connections, strict=True):
        for i, j, s in conns:
            owners = [k for k, p in enumerate(people) if p["idx"][a] == i or p["idx"][b] == j]
            if not owners:
                idx = np.full(J, -1, int)
                idx[a], idx[b] = i, j
                people.append({"idx": idx, "score": s + candidates[a][i, 2] + candidates[b][j, 2]})
            elif len(owners) == 1:
                p = people[owners[0]]
                if p["idx"][a] == i and p["idx"][b] == -1:
                    p["idx"][b] = j
                    p["score"] += s + candidates[b][j, 2]
                elif p["idx"][b] == j and p["idx"][a] == -1:
                    p["idx"][a] = i
                    p["score"] += s + candidates[a][i, 2]
            else:  # both ends already belong to two different people: merge them if they do not overlap
                p, q = people[owners[0]], people[owners[1]]
                if not np.any((p["idx"] >= 0) & (q["idx"] >= 0)):
                    p["idx"] = np.maximum(p["idx"], q["idx"])
                    p["score"] += q["score"] + s
                    del people[owners[1]]
    result = []
    for p in people:
        present = p["idx"] >= 0
        n = int(present.sum())
        if n < cfg.min_parts or p["score"] / n < cfg.min_mean_score:
            continue
        kp = np.zeros((J, 2), np.float32)
        sc = np.zeros(J, np.float32)
        for part in np.nonzero(present)[0]:
            x, y, s = candidates[part][p["idx"][part]]
            kp[part], sc[part] = (x, y), s
        result.append(Person(keypoints=kp, scores=sc, score=float(sc[present].mean())))
    result.sort(key=lambda q: -q.score)
    return result


def group(heatmaps: np.ndarray, pafs: np.ndarray, limbs: tuple[tuple[int, int], ...],
          cfg: GroupingConfig | None = None, scale: float = 1.0) -> list[Person]:
    """People from maps: heatmaps (J or J+1, H, W), pafs (2C, H, W); keypoints are multiplied by `scale`
    (map pixels → image pixels)."""
    cfg = cfg or GroupingConfig()
    J = len({p for limb in limbs for p in limb})
    candidates = find_peaks(heatmaps[:J], cfg.peak_threshold, cfg.max_candidates)
    connections = []
    for c, (a, b) in enumerate(limbs):
        scores = limb_scores(pafs[2 * c: 2 * c + 2], candidates[a], candidates[b], cfg, heatmaps.shape[1])
        connections.append(greedy_match(scores))
    people = assemble(candidates, connections, limbs, cfg)
    for p in people:
        p.keypoints = p.keypoints * scale
    return people
