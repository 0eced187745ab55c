"""`deepgallery bench neuralcrypto`: the paper's evaluation over several seeds (Abadi & Andersen 2016, Section 3.1).

Trains `seeds` independent Alice/Bob/Eve trios, retrains fresh Eves from scratch against each frozen Alice/Bob
pair, and reports how many seeds succeed (Bob below 0.05 bits wrong, the best retrained Eve at least 7 of 16
wrong) with medians over the successful ones: Bob's and Eve's bits wrong, seconds and steps to converge.
One process per seed, one torch thread each. `--quick`: 2 seeds, shorter training and evaluation.
"""

from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from multiprocessing import get_context
from typing import Any

from deepgallery.core.runtime import torch_threads

from .evaluate import EvalConfig, evaluate
from .train import TrainConfig
from .train import train as train_loop

BENCH_FULL = {"seeds": 5, "train": {}, "eval": {}}
BENCH_QUICK = {"seeds": 2, "train": {"steps": 10000, "probe_eve_steps": 1500}, "eval": {"eves": 2, "eve_steps": 1500}}


def _one_seed(payload: tuple[dict, dict]) -> dict:
    """Train and evaluate one seed (runs in a worker process, one thread)."""
    os.environ["DEEPGALLERY_QUIET"] = "1"
    train_cfg, eval_cfg = TrainConfig(**payload[0]), EvalConfig(**payload[1])
    with torch_threads(1):
        start = time.perf_counter()
        result = train_loop(train_cfg)
        ev = evaluate(result.trio, eval_cfg)
    return {"seed": train_cfg.seed, "steps": result.step, "converged_step": result.converged_step,
            "seconds_to_converge": result.seconds_to_converge, "bob": ev.bob_bits, "eve": ev.best_eve_bits,
            "eve_each": ev.eve_bits_each, "success": ev.success, "seconds": round(time.perf_counter() - start, 1)}


def summarize(runs: list[dict]) -> dict[str, Any]:
    """The issue's metrics: seeds, successes, and medians over the successful seeds (None if there are none)."""
    ok = [r for r in runs if r["success"]]

    def median(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return round(float(statistics.median(values)), 4) if values else None

    return {
        "seeds": len(runs),
        "seeds_succeeded": len(ok),
        "bob_bits_wrong": median([r["bob"] for r in ok]),
        "eve_bits_wrong": median([r["eve"] for r in ok]),
        "seconds_to_converge": median([r["seconds_to_converge"] for r in ok]),
        "steps_to_converge": median([r["converged_step"] for r in ok]),
    }


def bench(quick: bool = False) -> dict[str, Any]:
    """Train `seeds` independent Alice/Bob/Eve trios, evaluate each with fresh Eves, report as the paper."""
    plan = BENCH_QUICK if quick else BENCH_FULL
    train_cfgs = [asdict(TrainConfig(**{**plan["train"], "seed": s})) for s in range(plan["seeds"])]
    eval_cfg = asdict(EvalConfig(**plan["eval"]))
    # One process per seed (one thread each): 5 equal jobs on 2 cores finish sooner as 5 than in rounds of 2.
    workers = plan["seeds"]
    runs = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_one_seed, (t, eval_cfg)) for t in train_cfgs]):
            r = future.result()
            runs.append(r)
            print(f"seed {r['seed']}: {r['steps']} steps, Bob {r['bob']:.3f}, best Eve {r['eve']:.2f} "
                  f"({', '.join(f'{e:.2f}' for e in r['eve_each'])}) -> {'success' if r['success'] else 'failed'} "
                  f"[{r['seconds']:.0f} s]", flush=True)
    runs.sort(key=lambda r: r["seed"])
    metrics = summarize(runs)
    return {"metrics": metrics, "device": "cpu",
            "config": {"train": {k: v for k, v in train_cfgs[0].items() if k != "seed"}, "eval": eval_cfg,
                       "workers": workers, "runs": runs}}
