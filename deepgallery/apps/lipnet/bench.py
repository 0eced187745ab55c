"""`deepgallery bench lipnet`: the shipped networks on rendered clips they never saw.

- `wer_unseen`, `cer_unseen`: LipNet on the unseen-speaker split (a real face no training clip used, under six
  looks), decoded by beam search held to the GRID grammar; `wer_unseen_greedy`: the same, best path, no grammar.
- `wer_overlapped`: LipNet on the training speakers saying sentences held out of training (the overlapped split).
- `wer_unseen_2d`, `wer_overlapped_2d`: the paper's Baseline-2D ablation (per-frame 2-D convolutions), trained
  the same way.
- `wer_unseen_chance`: a random GRID sentence per clip: what the grammar alone gives, the floor to beat.
- `ms_per_clip`: LipNet's forward pass on one 75-frame clip, one torch thread (and `ms_per_clip_2d`).
The test clips are drawn from a fixed seed (2016), the training clips from seeds 0 ... N; `--quick` reads fewer.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import torch

from ...core.runtime import torch_threads
from .model import as_input, load_shipped, parameter_count
from .render import test_set
from .text import beam_search, cer, greedy, random_sentence, wer

BENCH_FULL = {"unseen": 60, "overlapped": 60, "speed_runs": 5}
BENCH_QUICK = {"unseen": 18, "overlapped": 18, "speed_runs": 3}


def read_all(reader, clips: np.ndarray, decoder: str = "grammar", batch: int = 6) -> list[str]:
    out = []
    for i in range(0, len(clips), batch):
        for lp in reader.log_probs(clips[i:i + batch]):
            out.append(greedy(lp)[0] if decoder == "greedy" else beam_search(lp, beam=16, grammar=True))
    return out


def ms_per_clip(reader, clip: np.ndarray, runs: int) -> float:
    x = as_input(clip[None])
    net = reader.net.eval()
    with torch.no_grad():
        net(x)  # warm-up
        start = time.perf_counter()
        for _ in range(runs):
            net(x)
    return (time.perf_counter() - start) / runs * 1000


def bench(quick: bool = False) -> dict[str, Any]:
    plan = BENCH_QUICK if quick else BENCH_FULL
    load = os.getloadavg()[0]
    lipnet, base2d = load_shipped("lipnet"), load_shipped("baseline2d")
    unseen, unseen_refs, _ = test_set("unseen", plan["unseen"])
    overlapped, overlapped_refs, _ = test_set("overlapped", plan["overlapped"])
    with torch_threads(1):
        speed = ms_per_clip(lipnet, unseen[0], plan["speed_runs"])
        speed_2d = ms_per_clip(base2d, unseen[0], plan["speed_runs"])
    with torch_threads(2):
        hyp_unseen = read_all(lipnet, unseen)
        hyp_unseen_greedy = read_all(lipnet, unseen, "greedy")
        hyp_overlapped = read_all(lipnet, overlapped)
        hyp_2d = read_all(base2d, unseen)
        hyp_overlapped_2d = read_all(base2d, overlapped)
    rng = np.random.default_rng(0)
    chance = [random_sentence(rng) for _ in unseen_refs]
    metrics = {
        "wer_unseen": round(wer(hyp_unseen, unseen_refs), 4),
        "cer_unseen": round(cer(hyp_unseen, unseen_refs), 4),
        "wer_overlapped": round(wer(hyp_overlapped, overlapped_refs), 4),
        "wer_unseen_2d": round(wer(hyp_2d, unseen_refs), 4),
        "wer_overlapped_2d": round(wer(hyp_overlapped_2d, overlapped_refs), 4),
        "wer_unseen_greedy": round(wer(hyp_unseen_greedy, unseen_refs), 4),
        "cer_unseen_greedy": round(cer(hyp_unseen_greedy, unseen_refs), 4),
        "wer_unseen_chance": round(wer(chance, unseen_refs), 4),
        "ms_per_clip": round(speed, 1),
        "ms_per_clip_2d": round(speed_2d, 1),
    }
    print(", ".join(f"{k} {v}" for k, v in metrics.items()))
    examples = [{"said": r, "read": h} for r, h in zip(unseen_refs[:6], hyp_unseen[:6], strict=True)]
    return {"metrics": metrics, "device": "cpu",
            "config": {"test": f"rendered clips, seed 2016: {plan['unseen']} unseen-speaker (face 'hopper', 6 looks), "
                               f"{plan['overlapped']} overlapped (training faces, held-out sentences)",
                       "decoder": "CTC prefix beam search, beam 16, held to the GRID grammar (greedy: best path)",
                       "speed": "forward pass of one 75-frame clip, batch 1, one torch thread, float32",
                       "load_average_at_start": round(load, 2),
                       "parameters": parameter_count(lipnet.net), "parameters_2d": parameter_count(base2d.net),
                       "trained": {"lipnet": lipnet.meta, "baseline2d": base2d.meta}, "examples": examples}}
