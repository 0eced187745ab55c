"""Train the hardened neuralcrypto cipher on a GPU within a time box, then attack it and the paper's cipher.

    bash tools/neuralcrypto_gpu.sh MINUTES OUTDIR        # -> OUTDIR/neuralcrypto.tar

Several hardened variants (`VARIANTS`, one process each) train side by side for about half the time
(`hardened.harden` with a wall-clock limit); the best one (Bob below 0.05 bits wrong first, then the weakest
ensemble Eve or fresh probe) is exported as the shipped fp16 checkpoint (`hardened.ship`, with its one-time-pad
test). Then every attacker of the suite (`attacks.py`) runs against it and against the paper's shipped cipher,
one process per (checkpoint, attacker), each Eve at the paper's batch 4096, evaluated on 100,000 held-out examples
every 2,000 steps, stopped by the time left (the authors' 250,000 steps do not fit a few minutes). The tar holds
hardened.safetensors/.json/_otp.png, every variant's training checkpoint (fp32) and log, suite.json and run.log.
Needs only torch, numpy, safetensors, tqdm, matplotlib and the repo on PYTHONPATH; no data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path

VARIANTS: dict[str, dict] = {  # HardenConfig overrides; steps is only a ceiling, the time box stops them
    "stream": {"steps": 1_000_000, "eval_every": 500},
    "stream_seed1": {"steps": 1_000_000, "eval_every": 500, "seed": 1},
    "stream_seed2": {"steps": 1_000_000, "eval_every": 500, "seed": 2},
    "stream_batch2048": {"batch_size": 2048, "steps": 1_000_000, "eval_every": 500},
    "stream_wide_eves": {"mlp_width": 1024, "steps": 1_000_000, "eval_every": 500},
}
ATTACK_ORDER = ("paper", "mlp", "linear", "ind_cpa", "cpa")


def _train(payload: tuple[str, dict, float, str, str]) -> dict:
    name, overrides, seconds, work, device = payload
    os.environ["DEEPGALLERY_QUIET"] = "1"
    import torch

    from deepgallery.apps.neuralcrypto.hardened import HardenConfig, harden

    torch.set_num_threads(1)
    log_path = Path(work) / f"{name}.log"
    with open(log_path, "w") as log:
        try:
            _, history, steps = harden(HardenConfig(**overrides), Path(work) / name, device=device,
                                       log=lambda s: print(s, file=log, flush=True), max_seconds=seconds)
        except Exception:  # one failed variant must not sink the others
            traceback.print_exc(file=log)
            return {"name": name, "failed": True}
    from deepgallery.apps.neuralcrypto.hardened import best_path
    from deepgallery.core import checkpoint

    best = best_path(Path(work) / name)
    if checkpoint.exists(best):  # the best evaluation (Bob < 0.05, strongest weakest Eve) rather than the last
        meta = checkpoint.load(best)[2]
        return {"name": name, "path": str(best), "steps": meta["step"], "bob": meta["history"]["bob"][-1],
                "eves": meta["history"]["eves"][-1], "names": history.names, "last_step": steps}
    return {"name": name, "path": str(Path(work) / name), "steps": steps, "bob": history.bob[-1],
            "eves": history.eves[-1], "names": history.names}


def _attack(payload: tuple[str, str, dict, str]) -> dict:
    checkpoint_path, attacker, protocol, device = payload
    os.environ["DEEPGALLERY_QUIET"] = "1"
    import torch

    from deepgallery.apps.neuralcrypto.attacks import Protocol, attack
    from deepgallery.apps.neuralcrypto.model import load_trained

    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        trio, _ = load_trained(checkpoint_path)
        result = attack(trio, attacker, Protocol(**protocol), device)
    except Exception:
        return {"checkpoint": checkpoint_path, "attacker": attacker, "error": traceback.format_exc()}
    return {"checkpoint": checkpoint_path, "attacker": attacker, "result": asdict(result),
            "seconds": round(time.perf_counter() - start, 1)}


def rank(summary: dict) -> tuple:
    """Best first: Bob below 0.05 bits wrong, then the weakest Eve's bits wrong (higher is better), then Bob."""
    if summary.get("failed"):
        return (2, 0.0, 99.0)
    return (0 if summary["bob"] < 0.05 else 1, -min(summary["eves"]), summary["bob"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--attackers", default=",".join(ATTACK_ORDER), help="comma-separated; empty: none")
    args = parser.parse_args()
    import torch

    from deepgallery.apps.neuralcrypto.hardened import ship
    from deepgallery.core.runtime import choose_device

    start = time.perf_counter()
    device = str(choose_device(args.device))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    budget = args.minutes * 60 - 45  # seconds; margin for start-up, the export and the tar
    names = [n for n in args.variants.split(",") if n]
    print(f"device {device} ({torch.cuda.get_device_name(0) if device.startswith('cuda') else 'cpu'}), "
          f"budget {budget:.0f} s, variants {names}", flush=True)
    context = get_context("spawn")
    train_seconds = max(5.0, 0.5 * budget)
    with context.Pool(len(names)) as pool:
        summaries = pool.map(_train, [(n, VARIANTS[n], train_seconds, str(work), device) for n in names])
    summaries.sort(key=rank)
    for s in summaries:
        print("variant", json.dumps(s), flush=True)
    best = next((s for s in summaries if not s.get("failed")), None)
    record: dict = {"device": device, "minutes": args.minutes, "variants": summaries, "variant_configs": VARIANTS}
    save = lambda: (work / "suite.json").write_text(json.dumps(record, indent=1) + "\n")  # noqa: E731
    save()  # and again after every attack, so a run cut short still brings back what it measured
    if best is not None:
        chosen = best["name"]
        ship(best["path"], work / "hardened", {"gpu_variant": chosen, "variant_config": VARIANTS[chosen],
                                                 "training_command": f"bash tools/neuralcrypto_gpu.sh "
                                                 f"{args.minutes:g} OUTDIR (variant {chosen})"})
        record["chosen"] = chosen
        left = budget - (time.perf_counter() - start)
        # every Eve: batch 4096 as the paper, best of evaluations every 2,000 steps; the 'mlp' attacker trains
        # two Eves (2x512, 3x1024) one after the other, so each Eve gets half the time left
        protocol = {"eves": 1, "max_steps": 250_000, "batch_size": 4096, "eval_every": 2000,
                    "eval_examples": 100_000, "max_seconds": max(3.0, 0.42 * (left - 10))}
        record["attack_protocol"] = protocol
        from deepgallery.apps.neuralcrypto import APP

        jobs = [(str(path), a, protocol, device) for path in (work / "hardened", APP.checkpoint("neuralcrypto"))
                for a in args.attackers.split(",") if a]
        record["attacks"] = []
        with context.Pool(max(1, len(jobs))) as pool:
            for a in pool.imap_unordered(_attack, jobs):
                a["checkpoint"] = "hardened" if Path(a["checkpoint"]).name == "hardened" else "neuralcrypto"
                record["attacks"].append(a)
                save()
                print(a["checkpoint"], a["attacker"], a.get("result", {}).get("bits_wrong"),
                      a.get("result", {}).get("each"), a.get("seconds"), a.get("error", ""), flush=True)
    record["seconds"] = round(time.perf_counter() - start, 1)
    save()
    print(f"done in {record['seconds']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
