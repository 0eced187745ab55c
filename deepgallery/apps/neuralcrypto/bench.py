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

from deepgallery.core.runtime import choose_device, torch_threads

from .attacks import AUTHORS_LABEL, QUICK, QUICK_LABEL, Protocol, suite
from .evaluate import EvalConfig, evaluate
from .model import load_trained
from .train import TrainConfig
from .train import train as train_loop

# The full bench follows the authors' code: 5 fresh Eves per trained trio, each up to 250,000 steps at batch
# 4096, evaluated every 10,000 (the best counts). `--quick` is a much shorter, labelled variant.
AUTHORS_EVAL = {"eves": 5, "eve_steps": 250_000, "batch_size": 4096, "measure_every": 10_000,
                "measure_examples": 100_000}
BENCH_FULL = {"seeds": 5, "train": {}, "eval": AUTHORS_EVAL, "protocol": Protocol(), "protocol_name": AUTHORS_LABEL}
BENCH_QUICK = {"seeds": 2, "train": {"steps": 10000, "probe_eve_steps": 1500}, "eval": {"eves": 2, "eve_steps": 1500},
               "protocol": QUICK, "protocol_name": QUICK_LABEL}
SUITE_SUFFIX = {"neuralcrypto": "", "hardened": "_hardened"}  # metric names per shipped checkpoint


def _one_seed(payload: tuple[dict, dict, str]) -> dict:
    """Train and evaluate one seed (runs in a worker process, one thread)."""
    os.environ["DEEPGALLERY_QUIET"] = "1"
    train_cfg, eval_cfg, device = TrainConfig(**payload[0]), EvalConfig(**payload[1]), payload[2]
    with torch_threads(1):
        start = time.perf_counter()
        result = train_loop(train_cfg, device=device)
        ev = evaluate(result.trio, eval_cfg, device)
    return {"seed": train_cfg.seed, "steps": result.step, "converged_step": result.converged_step,
            "seconds_to_converge": result.seconds_to_converge, "bob": ev.bob_bits, "eve": ev.best_eve_bits,
            "eve_each": ev.eve_bits_each, "success": ev.success, "seconds": round(time.perf_counter() - start, 1)}


def suite_metrics(protocol: Protocol, device: str = "cpu", checkpoints: tuple[str, ...] | None = None,
                  log=print) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attacker suite (attacks.py) against each shipped checkpoint's frozen Alice: (metrics, details).

    Metrics: `eve_bits_wrong_{paper,mlp,linear,cpa,ind_cpa}` for the paper's checkpoint, the same with a
    `_hardened` suffix for the hardened one, with each one's Bob (`bob_bits_wrong_shipped`,
    `bob_bits_wrong_hardened`) and the hardened cipher's one-time-pad test (`hardened_otp_agreement`: the
    lowest fraction of examples on which a ciphertext bit is plaintext bit xor key bit;
    `hardened_distinct_keystreams`: different keystreams over all 2^16 keys, 65,536 for a bijection)."""
    import torch

    from . import APP
    from .hardened import distinct_keystreams, one_time_pad_map
    from .train import errors

    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for name in checkpoints or tuple(c for c in SUITE_SUFFIX if c in APP.checkpoints):
        suffix = SUITE_SUFFIX[name]
        trio, _ = load_trained(name)
        trio = trio.to(device)
        bob, _ = errors(trio, trio.eve, 100_000, torch.Generator(device=device).manual_seed(protocol.seed))
        metrics[f"bob_bits_wrong{suffix or '_shipped'}"] = round(bob, 4)
        log(f"{name}: Bob {bob:.4f} bits wrong; attackers:")
        results = suite(trio, protocol, device, log=log)
        for attacker, r in results.items():
            metrics[f"eve_bits_wrong_{attacker}{suffix}"] = r.bits_wrong
        details[name] = {a: asdict(r) for a, r in results.items()}
        if name == "hardened":
            otp = one_time_pad_map(trio, examples=100_000)
            metrics["hardened_otp_agreement"] = round(min(otp["agreement"]), 5)
            if trio.config.parties == "stream":  # over all 2^16 keys: 65,536 = a bijection = perfect secrecy
                metrics["hardened_distinct_keystreams"] = distinct_keystreams(trio)
            details[name]["one_time_pad"] = {k: v for k, v in otp.items() if k != "correlation"}
    return metrics, details


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


def bench(quick: bool = False, device: str = "auto") -> dict[str, Any]:
    """Train `seeds` independent Alice/Bob/Eve trios, evaluate each with fresh Eves as the paper (`eve_bits_wrong`),
    then run the attacker suite against both shipped checkpoints. On the GPU when there is one (`device`)."""
    dev = str(choose_device(device))
    plan = BENCH_QUICK if quick else BENCH_FULL
    train_cfgs = [asdict(TrainConfig(**{**plan["train"], "seed": s})) for s in range(plan["seeds"])]
    eval_cfg = asdict(EvalConfig(**plan["eval"]))
    # One process per seed (one thread each): 5 equal jobs on 2 cores finish sooner as 5 than in rounds of 2.
    workers = plan["seeds"]
    runs = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for future in as_completed([pool.submit(_one_seed, (t, eval_cfg, dev)) for t in train_cfgs]):
            r = future.result()
            runs.append(r)
            print(f"seed {r['seed']}: {r['steps']} steps, Bob {r['bob']:.3f}, best Eve {r['eve']:.2f} "
                  f"({', '.join(f'{e:.2f}' for e in r['eve_each'])}) -> {'success' if r['success'] else 'failed'} "
                  f"[{r['seconds']:.0f} s]", flush=True)
    runs.sort(key=lambda r: r["seed"])
    metrics = summarize(runs)
    suite_m, suite_details = suite_metrics(plan["protocol"], dev)  # all threads: the MLP Eves are big enough
    metrics.update(suite_m)
    return {"metrics": metrics, "device": dev,
            "config": {"train": {k: v for k, v in train_cfgs[0].items() if k != "seed"}, "eval": eval_cfg,
                       "workers": workers, "runs": runs, "protocol": plan["protocol_name"],
                       "attack_protocol": asdict(plan["protocol"]), "attacks": suite_details}}
