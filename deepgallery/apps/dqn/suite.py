"""The paper-style table for a list of games: our raw score, Nature DQN's, and both human-normalised."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepgallery.core.atomic import write_text

from .atari import display_name
from .scores import NATURE_SCORES, human_normalized


def _fmt(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def write_table(rows: list[tuple[str, float | None]], prefix: Path, note: str = "") -> str:
    """rows: (rom id, our mean score or None) -> writes PREFIX.md and PREFIX.csv; returns the markdown.

    note: a line above the markdown table (e.g. the evaluation protocol of the "ours" column).
    """
    md = [note, ""] if note else []
    md += ["| game | random | human | Nature DQN | ours | Nature DQN (% human) | ours (% human) |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    csv = ["game,random,human,nature_dqn,ours,nature_dqn_hns,ours_hns"]
    for game, ours in rows:
        rnd, human, nature = NATURE_SCORES.get(game, (None, None, None))
        hn_n = human_normalized(game, nature) if nature is not None else None
        hn_o = human_normalized(game, ours) if ours is not None else None
        md.append(f"| {display_name(game)} | {_fmt(rnd)} | {_fmt(human)} | {_fmt(nature)} | {_fmt(ours)} | "
                  f"{_fmt(hn_n, 0)}% | {_fmt(hn_o, 0)}% |")
        csv.append(",".join("" if v is None else str(v) for v in (game, rnd, human, nature, ours, hn_n, hn_o)))
    text = "\n".join(md) + "\n"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    write_text(prefix.with_suffix(".md"), text)
    write_text(prefix.with_suffix(".csv"), "\n".join(csv) + "\n")
    return text


def evaluate_suite(games: list[str], checkpoint_dir: str | None, episodes: int, max_steps: int, eps: float,
                   device, prefix: Path, sticky_actions: float | None = None) -> str:
    """Evaluate each game's agent (from checkpoint_dir/<Game>__*/ or the shipped ones) and write the table.

    sticky_actions: the ALE repeat_action_probability to play with; None keeps each agent's training setting.
    """
    from deepgallery.core.errors import UserError

    from .evaluate import evaluate
    from .model import load_policy

    rows = []
    for game in games:
        path = None
        if checkpoint_dir:
            found = sorted(Path(checkpoint_dir).glob(f"{display_name(game)}__*"))
            if not found:
                raise UserError(f"no run folder {display_name(game)}__* in {checkpoint_dir}")
            path = str(found[-1])
        net, cfg, _ = load_policy(game, path, device)
        cfg = cfg.with_(sticky_actions=sticky_actions)
        scores = evaluate(net, cfg, episodes=episodes, max_steps=max_steps, eps=eps)
        rows.append((game, float(np.mean(scores))))
        print(f"{display_name(game)}: {np.mean(scores):.1f}", flush=True)
    sticky = "per agent's training setting" if sticky_actions is None else f"{sticky_actions:g}"
    note = (f"ours: {episodes} games per agent, ε = {eps:g}, up to 30 no-ops, at most {max_steps:,} agent steps, "
            f"sticky actions {sticky} (Nature DQN: the paper's protocol, no sticky actions)")
    return write_table(rows, prefix, note)
