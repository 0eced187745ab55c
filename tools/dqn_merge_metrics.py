"""Merge chosen metrics from a measured dqn bench record into measured.json, and rewrite the README's numbers block.

    deepgallery bench dqn --quick --json /tmp/dqn-quick.json
    python tools/dqn_merge_metrics.py --from /tmp/dqn-quick.json \\
        --command "deepgallery bench dqn --quick --json /tmp/dqn-quick.json" --readme
    python tools/dqn_merge_metrics.py --readme        # only rewrite the README block (e.g. after `bench dqn --save`)

For when a whole `deepgallery bench dqn --save` cannot be rerun (its speed runs need an idle machine) but new
metrics must join the saved record: only the metrics named by `--metrics` (default: the sticky-action scores) are
copied, never typed; measured.json's config records, under "merged", where each came from (the command, its date,
machine and budget). A record from another budget (--quick vs full) than measured.json is refused.

The README block (between `<!-- measured:begin -->` and `<!-- measured:end -->`) is the paper / peer / ours table,
built here from measured.json and Nature's scores (`scores.py`), because `bench/update_readmes.py` writes a plain
metric list.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from deepgallery.apps.dqn.scores import NATURE_SCORES, human_normalized
from deepgallery.core.atomic import write_text
from deepgallery.core.errors import UserError

APP_DIR = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "dqn"
STICKY_METRICS = ("pong_eval_score_sticky", "breakout_eval_score_sticky")


def merge(measured: dict, source: dict, metrics: tuple[str, ...], command: str) -> dict:
    """measured.json's record with `metrics` copied from `source` and their provenance in config["merged"]."""
    if source.get("app") != "dqn":
        raise UserError(f"the source record is for {source.get('app')!r}, not dqn")
    missing = [m for m in metrics if m not in source.get("metrics", {})]
    if missing:
        raise UserError(f"the source record has no {', '.join(missing)}")
    if bool(source.get("quick")) != bool(measured.get("quick")):
        budget = {True: "--quick", False: "full"}
        raise UserError(f"the source record is a {budget[bool(source.get('quick'))]} run but measured.json is "
                        f"{budget[bool(measured.get('quick'))]}: measure with the same budget")
    out = json.loads(json.dumps(measured))  # a deep copy
    for m in metrics:
        out["metrics"][m] = source["metrics"][m]
    cfg = source.get("config", {})
    entry = {"metrics": list(metrics), "command": command, "date": source.get("date"),
             "machine": source.get("machine"), "quick": bool(source.get("quick")), "seconds": source.get("seconds"),
             "config": {k: cfg[k] for k in ("eval_episodes", "sticky_actions") if k in cfg},
             # what else that run measured, not merged (e.g. speeds on a loaded machine), for a reader to compare
             "not_merged": {k: v for k, v in source["metrics"].items() if k not in metrics},
             "merged_by": "tools/dqn_merge_metrics.py"}
    kept = [e for e in out["config"].get("merged", []) if not set(e["metrics"]) & set(metrics)]
    out["config"]["merged"] = [*kept, entry]
    return out


# ------------------------------------------------------------------------------------------ README block
def _score(game: str, value: float) -> str:
    hns = human_normalized(game, value)
    return f"{value:g} ({hns:.0f}% human)" if hns is not None else f"{value:g}"


def readme_block(measured: dict) -> str:
    """The numbers table: Nature DQN, SB3 and ours, every "ours" value read from the measured record."""
    m, c = measured["metrics"], measured["config"]
    quick = measured.get("quick")
    budget = "`--quick`" if quick else "full budget"
    lines = [
        f"Measured by `deepgallery bench dqn{' --quick' if quick else ''} --save` on {measured.get('date', '?')} "
        f"({measured.get('machine', '?')},",
        f"torch threads: {c.get('torch_threads', '?')}, {measured.get('seconds', '?')} s); {budget}: the scores are "
        f"from {c['eval_episodes']} games each, the speeds from {c['steps']} agent steps (learning from step "
        f"{c['learning_starts']}).",
        "",
        "| quantity | Nature DQN (paper) | Stable-Baselines3 DQN (peer) | ours |",
        "|---|---:|---:|---:|",
    ]
    for game, name in (("pong", "Pong"), ("breakout", "Breakout")):
        paper = NATURE_SCORES[game][2]
        lines.append(f"| {name} score, Nature protocol (no sticky actions, ε = 0.05, 5 min) | {_score(game, paper)} | "
                     f"not trained here | {_score(game, m[f'{game}_eval_score'])} |")
    for game, name in (("pong", "Pong"), ("breakout", "Breakout")):
        key = f"{game}_eval_score_sticky"
        if key in m:
            lines.append(f"| {name} score, sticky actions 0.25 (otherwise the same protocol) | — (not in the "
                         f"paper) | not trained here | {_score(game, m[key])} |")
    default = c.get("default_precision", "bf16")
    lines += [
        f"| training steps/s, same hyperparameters, this CPU | — | {m['sps_peer']:g} | **{m['sps']:g}** (default "
        f"`--precision auto` = {default} update here); {m['sps_bf16']:g} bf16, {m['sps_fp32']:g} fp32 |",
        f"| ratio to the peer | — | 1 | **{m['sps_ratio']:.2f}×** (default); {m['sps_ratio_bf16']:.2f}× bf16, "
        f"{m['sps_ratio_fp32']:.2f}× fp32 |",
        "",
        f"Each speed is the mean of two runs in ABBA order: {c.get('runs_sps')}.",
    ]
    for entry in c.get("merged", []):
        names = ", ".join(f"`{k}`" for k in entry["metrics"])
        others = {k: v for k, v in entry.get("not_merged", {}).items() if "_eval_score" in k}
        same_run = "; the same run's other scores (not merged): " + ", ".join(
            f"`{k}` {v:g}" for k, v in others.items()) if others else ""
        lines.append(f"{names}: measured by `{entry['command']}` on {entry['date']} ({entry['machine']}, "
                     f"{entry['config'].get('eval_episodes', '?')} games each) and merged into measured.json by "
                     f"`{entry['merged_by']}`{same_run}.")
    return "\n".join(lines)


def rewrite_readme(readme: Path, measured: dict) -> bool:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- measured:begin -->\n).*?(<!-- measured:end -->)", re.S)
    if not pattern.search(text):
        raise UserError(f"{readme} has no <!-- measured:begin --> ... <!-- measured:end --> block")
    new = pattern.sub(lambda g: g.group(1) + readme_block(measured) + "\n" + g.group(2), text)
    if new != text:
        write_text(readme, new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", metavar="JSON", help="a record written by `bench dqn --json` or "
                                                                       "tools/dqn_sticky_scores.py")
    parser.add_argument("--command", help="the command that wrote --from (recorded in measured.json)")
    parser.add_argument("--metrics", nargs="+", default=list(STICKY_METRICS), help="the metrics to copy")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's numbers block from measured.json")
    parser.add_argument("--app-dir", type=Path, default=APP_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        path = args.app_dir / "measured.json"
        measured = json.loads(path.read_text(encoding="utf-8"))
        if args.source:
            if not args.command:
                raise UserError("--command is required with --from: say which command wrote the record")
            source = json.loads(Path(args.source).read_text(encoding="utf-8"))
            measured = merge(measured, source, tuple(args.metrics), args.command)
            write_text(path, json.dumps(measured, indent=2) + "\n")
            print(f"merged {', '.join(args.metrics)} into {path}")
        if args.readme and rewrite_readme(args.app_dir / "README.md", measured):
            print(f"updated {args.app_dir / 'README.md'}")
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
