"""Benchmark neuralcrypto as the paper evaluates it, and attack the shipped ciphers.

    python bench/neuralcrypto.py [--quick] [--save] [--json PATH]    # = deepgallery bench neuralcrypto --device auto
    python bench/neuralcrypto.py --device cuda [--quick] [--json PATH]  # the same on a chosen device
    python bench/neuralcrypto.py --suite-only [--quick] --json PATH     # only the attacker suite, both checkpoints
    python bench/neuralcrypto.py --readme PATH                          # README attack table from such a JSON

The full bench trains 5 independent trios, retrains fresh Eves against each with the authors' protocol (5 Eves,
up to 250,000 steps each at batch 4096, evaluated every 10,000), then runs the attacker suite (attacks.py:
paper, MLP, least-squares and chosen-plaintext Eves) against both shipped checkpoints. `--quick` is a much
shorter, labelled protocol. `--readme` rewrites the block between `<!-- attacks:begin -->` and
`<!-- attacks:end -->` in the app's README from a JSON this script (or `deepgallery bench neuralcrypto --json`)
wrote, so the table is never typed by hand.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from deepgallery.core.atomic import write_text

README = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "neuralcrypto" / "README.md"
ROWS = (("bob_bits_wrong", "Bob (has the key)"), ("eve_bits_wrong_paper", "paper's mix & transform Eve"),
        ("eve_bits_wrong_mlp", "MLP Eves (best of 2×512, 3×1024 ReLU)"),
        ("eve_bits_wrong_linear", "least-squares (linear) Eve"),
        ("eve_bits_wrong_ind_cpa", "indistinguishability (IND-CPA) Eve: P0, P1, C under a fresh key"),
        ("eve_bits_wrong_cpa", "chosen-plaintext Eve with a (P′, C′) pair under the same key (no cipher can pass)"))


def attack_table(record: dict) -> str:
    """The README block: one row per attacker, one column per shipped checkpoint."""
    m, cfg = record["metrics"], record["config"]
    shipped = m.get("bob_bits_wrong_shipped", m.get("bob_bits_wrong"))
    hardened_bob = m.get("bob_bits_wrong_hardened")
    how = (f"python bench/neuralcrypto.py {record['how']}" if "how" in record else
           "deepgallery bench neuralcrypto" + (" --quick" if record.get("quick") else ""))
    lines = [f"Attacks measured by `{how}` on {record['date']} ({record['machine']}, {record['seconds']} s); "
             f"protocol: {cfg['protocol']}. "
             "Bits wrong of 16 (L1) on fresh held-out examples (the IND-CPA Eve: 16 × her L1 error on which plaintext "
             "was sent); random guessing gets 8; the goal is ≥ 7.0 (Bob: < 0.05).", "",
             "| attacker | paper's cipher (`neuralcrypto`) | hardened (`hardened`) |", "|---|---|---|"]
    for key, name in ROWS:
        ours = shipped if key == "bob_bits_wrong" else m.get(key)
        hard = hardened_bob if key == "bob_bits_wrong" else m.get(f"{key}_hardened")
        cell = lambda v: "—" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(f"| {name} | {cell(ours)} | {cell(hard)} |")
    if m.get("hardened_otp_agreement") is not None:
        lines += ["", f"One-time-pad test of the hardened Alice (100,000 examples): every ciphertext bit equals a "
                      f"plaintext bit xor a key bit on at least {m['hardened_otp_agreement']:.5f} of them "
                      "(`hardened_otp_agreement`; 1 = a one-time pad)."]
    return "\n".join(lines)


def write_readme(json_path: str) -> None:
    import re

    record = json.loads(Path(json_path).read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- attacks:begin -->\n).*?(<!-- attacks:end -->)", re.S)
    if not pattern.search(text):
        sys.exit(f"{README} has no <!-- attacks:begin --> ... <!-- attacks:end --> block")
    write_text(README, pattern.sub(lambda mt: mt.group(1) + attack_table(record) + "\n" + mt.group(2), text))
    print(f"updated: {README}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="auto (default: the GPU when there is one), cpu, cuda, mps")
    parser.add_argument("--suite-only", action="store_true", help="only the attacker suite on both checkpoints")
    parser.add_argument("--readme", metavar="JSON", help="rewrite the README's attack table from this JSON")
    args, rest = parser.parse_known_args()
    if args.readme:
        write_readme(args.readme)
        return 0
    if args.suite_only:
        from deepgallery.apps.neuralcrypto.attacks import AUTHORS_LABEL, QUICK, QUICK_LABEL, Protocol
        from deepgallery.apps.neuralcrypto.bench import suite_metrics
        from deepgallery.core.runtime import choose_device

        quick = "--quick" in rest
        device = str(choose_device(args.device or "auto"))
        start = time.perf_counter()
        protocol = QUICK if quick else Protocol()
        metrics, details = suite_metrics(protocol, device)
        record = {"app": "neuralcrypto", "metrics": metrics, "how": "--suite-only" + (" --quick" if quick else ""),
                  "config": {"protocol": QUICK_LABEL if quick else AUTHORS_LABEL,
                             "attack_protocol": protocol.__dict__, "attacks": details},
                  "quick": quick, "seconds": round(time.perf_counter() - start, 1),
                  "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
                  "machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, {device}"}
        text = json.dumps(record, indent=2)
        print(text)
        if "--json" in rest:
            write_text(rest[rest.index("--json") + 1], text + "\n")
        return 0
    from deepgallery.cli import main as cli_main

    return cli_main(["bench", "neuralcrypto", *rest, "--device", args.device or "auto"])


if __name__ == "__main__":
    sys.exit(main())
