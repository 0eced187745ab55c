"""The CLI / gallery hooks of the dqn app: train, run (evaluate, record, suite table), demo, predict.

The benchmark is `bench.bench(quick)`; the shipped agents are loaded by `model.load_policy`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import fields
from pathlib import Path

from deepgallery.core.config import Deferred, add_config_args, config_from_args, number
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import add_device_arg

from .atari import display_name, resolve_game
from .config import PRESETS, DQNConfig, whole

# ------------------------------------------------------------------------------------------- helpers
_NOT_FLAGS = ("game", "bf16")  # set by --game/--games and --precision, which take other values


def _count(flag: str):
    """An argparse type for a positive count: a bad value is one UserError line (exit 2)."""
    return number(whole, flag, minimum=1)


def _sticky(flag: str):
    """An argparse type for a sticky-action probability in [0, 1]."""
    return number(float, flag, minimum=0, maximum=1)


def _preset_default(name: str) -> Deferred:
    """A flag's default: the value of the preset picked (shown once where the presets agree)."""
    values = {preset: getattr(cfg, name) for preset, cfg in sorted(PRESETS.items())}
    if len(set(values.values())) == 1:
        return Deferred(f"{next(iter(values.values()))}, every preset")
    return Deferred("the preset's: " + ", ".join(f"{preset} {value}" for preset, value in values.items()))


def _games(names: list[str]) -> list[str]:
    return [resolve_game(n) for n in names]


# --------------------------------------------------------------------------------------------- train
def add_train_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", default="Breakout", help="ALE game, e.g. Breakout, Pong, SpaceInvaders")
    parser.add_argument("--games", nargs="+", metavar="GAME",
                        help="suite: train each game in turn, then write the paper-style table (suite.md/.csv)")
    parser.add_argument("--preset", default="nature", choices=sorted(PRESETS),
                        help="nature: Extended Data Table 1; fast: the quicker recipe of the shipped checkpoints")
    # the hyperparameters: DQNConfig's option fields, each defaulting to the preset's value
    add_config_args(parser, DQNConfig, skip=_NOT_FLAGS, defaults={
        f.name: _preset_default(f.name) for f in fields(DQNConfig) if f.name != "seed"})
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                        help="arithmetic of the learning update: bf16 = bfloat16 autocast (not the paper; loss, "
                             "targets, weights and acting stay fp32); auto = bf16 on CPUs with AVX512-BF16/AMX, "
                             "where it is ~1.3x faster, else fp32 (default: auto)")
    parser.add_argument("--bf16", dest="precision", action="store_const", const="bf16", help="= --precision bf16")
    parser.add_argument("--run-dir", help="output folder (default: runs/dqn/<Game>__<preset>__<seed>); "
                                          "an existing run there is resumed")
    parser.add_argument("--eval-every", type=_count("--eval-every"), default=250_000,
                        help="steps between evaluations")
    parser.add_argument("--eval-episodes", type=_count("--eval-episodes"), default=8,
                        help="episodes per periodic evaluation")
    parser.add_argument("--minutes", type=number(float, "--minutes", minimum=0, allow_zero=False),
                        help="stop (and save) after this many minutes; rerun to resume")
    parser.add_argument("--keep-evaluated", action="store_true",
                        help="keep the policy of every periodic evaluation in <run-dir>/evals/ (3.3 MB each), "
                             "to pick the best with a longer evaluation than the periodic one")
    parser.add_argument("--replay-device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the replay memory lives (auto: with the network)")
    add_device_arg(parser)


def train(args: argparse.Namespace) -> int:
    import torch

    from deepgallery.core.runtime import choose_device

    from .agent import native_bf16
    from .train import RunOptions
    from .train import train as train_loop

    games = _games(args.games) if args.games else [resolve_game(args.game)]
    device = choose_device(args.device)
    replay_device = device if args.replay_device == "auto" else choose_device(args.replay_device)
    base = PRESETS[args.preset]
    bf16 = args.precision == "bf16" or (args.precision == "auto" and native_bf16(device))
    summaries = {}
    for game in games:
        cfg = config_from_args(DQNConfig, args, base=base, game=game, bf16=bf16)
        if cfg.learning_starts >= cfg.total_steps:
            raise UserError(f"--learning-starts ({cfg.learning_starts}) must be below --steps ({cfg.total_steps})")
        root = Path(args.run_dir) if args.run_dir else Path("runs") / "dqn"
        run_dir = root / f"{display_name(game)}__{args.preset}__{args.seed}" if (args.games or not args.run_dir) \
            else root
        print(f"training DQN on {display_name(game)} ({args.preset}: {cfg.total_steps:,} steps, replay "
              f"{cfg.replay_size:,} = {cfg.replay_bytes() / 1e9:.2f} GB on {replay_device}, update in "
              f"{'bf16' if cfg.bf16 else 'fp32'}, sticky actions {cfg.sticky_actions:g}) -> {run_dir}", flush=True)
        opts = RunOptions(run_dir=run_dir, device=device, replay_device=torch.device(replay_device),
                          eval_every=args.eval_every, eval_episodes=args.eval_episodes, max_minutes=args.minutes,
                          keep_evaluated=args.keep_evaluated)
        summaries[game] = train_loop(cfg, opts)
        print(json.dumps(summaries[game]), flush=True)
    if args.games:
        from .suite import write_table

        rows = [(g, s["final"]["score"] if s["final"] else None) for g, s in summaries.items()]
        md = write_table(rows, root / "suite")
        print(md)
    return 0


# ----------------------------------------------------------------------------------------------- run
def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", default="Breakout", help="ALE game (shipped agents: Pong, Breakout)")
    parser.add_argument("--games", nargs="+", metavar="GAME",
                        help="suite: evaluate each game's agent and write the paper-style table (--table)")
    parser.add_argument("--checkpoint", help="a checkpoint (NAME.safetensors) or run folder; default: shipped")
    parser.add_argument("--checkpoint-dir", help="suite: folder of run folders <Game>__* (default: shipped)")
    parser.add_argument("--record", metavar="OUT", help="write one game as .mp4 or .gif, score drawn on the frames")
    parser.add_argument("--episodes", type=_count("--episodes"), default=30, help="evaluation episodes (paper: 30)")
    parser.add_argument("--max-steps", type=_count("--max-steps"), default=4_500,
                        help="agent steps per episode (paper: 4,500 = 5 minutes of emulator time)")
    parser.add_argument("--eps", type=number(float, "--eps", 0, 1), default=0.05,
                        help="evaluation epsilon (paper: 0.05)")
    parser.add_argument("--sticky-actions", type=_sticky("--sticky-actions"), metavar="P",
                        help="ALE repeat_action_probability while playing: 0 = Nature's protocol, 0.25 = Machado et "
                             "al. 2018's (ALE v5); default: the checkpoint's training setting (0 for the shipped)")
    parser.add_argument("--table", default="dqn-suite", help="suite: output prefix for .md and .csv")
    parser.add_argument("--seed", type=number(int, "--seed"), default=0)
    add_device_arg(parser)


def run(args: argparse.Namespace) -> int:
    from deepgallery.core.runtime import choose_device

    from .model import load_policy
    from .scores import human_normalized

    if args.record and Path(args.record).suffix.lower() not in (".mp4", ".gif"):
        raise UserError(f"--record {args.record}: use a .mp4 or .gif file name")
    device = choose_device(args.device)
    if args.games:
        from .suite import evaluate_suite

        print(evaluate_suite(_games(args.games), args.checkpoint_dir, args.episodes, args.max_steps, args.eps,
                             device, Path(args.table), sticky_actions=args.sticky_actions))
        return 0
    game = resolve_game(args.game)
    net, cfg, meta = load_policy(game, args.checkpoint, device)
    cfg = cfg.with_(sticky_actions=args.sticky_actions)  # None keeps the checkpoint's own setting
    if args.record:
        from .record import record

        gif = Path(args.record).suffix.lower() == ".gif"  # GIFs: every 2nd step at 1x, to stay small
        score = record(net, cfg, args.record, max_steps=args.max_steps, eps=args.eps, seed=args.seed,
                       every=2 if gif else 1, scale=1 if gif else 2, fps=7.5 if gif else 15.0)
        print(f"{display_name(game)}: score {score:g} -> {args.record}")
        return 0
    import numpy as np

    from .evaluate import evaluate

    scores = evaluate(net, cfg, episodes=args.episodes, max_steps=args.max_steps, eps=args.eps, seed=args.seed)
    mean = float(np.mean(scores))
    hns = human_normalized(game, mean)
    print(f"{display_name(game)}: mean score {mean:.1f} ± {np.std(scores):.1f} over {len(scores)} episodes "
          f"(eps {args.eps}, up to {args.max_steps} steps, sticky actions {cfg.sticky_actions:g})"
          + (f"; human-normalised {hns:.0f}%" if hns is not None else ""))
    return 0


# ---------------------------------------------------------------------------------- gallery and demo
def predict(game: str = "Pong", episodes: int = 1, format: str = "gif") -> dict:
    """Play `episodes` games with the shipped agent; returns a recording and the scores of whole games."""
    import numpy as np
    import torch

    from .evaluate import evaluate
    from .model import load_policy
    from .record import record
    from .scores import human_normalized

    rom = resolve_game(str(game))
    episodes = int(episodes)
    if not 1 <= episodes <= 10:
        raise UserError(f"episodes must be between 1 and 10, got {episodes}")
    if format not in ("gif", "mp4"):
        raise UserError(f"format must be gif or mp4, got {format!r}")
    net, cfg, _ = load_policy(rom, None, torch.device("cpu"))
    out = Path(tempfile.mkdtemp(prefix="dqn-")) / f"{rom}.{format}"
    # The clip: GIF = the first 1,000 steps (every 2nd, 1x), MP4 = the whole 5-minute evaluation game (2x).
    gif = format == "gif"
    record(net, cfg, out, max_steps=1_000 if gif else 4_500, seed=0, every=2 if gif else 1,
           scale=1 if gif else 2, fps=7.5 if gif else 15.0)
    scores = evaluate(net, cfg, episodes=episodes, seed=0)  # whole games, the paper's protocol
    mean = float(np.mean(scores))
    return {"video": out, "score": mean, "scores": scores, "human_normalized": human_normalized(rom, mean)}


def demo(out_dir: Path) -> list:
    import time

    import torch

    from deepgallery.core.app import DemoItem

    from .model import load_policy
    from .record import record

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    net, cfg, meta = load_policy("pong", None, torch.device("cpu"))
    t = time.perf_counter()
    path = out_dir / "pong.mp4"
    score = record(net, cfg, path, max_steps=600, seed=0)
    return [DemoItem(title="The shipped Pong agent (first 600 steps = 40 s of play)",
                     inputs={"game": "Pong", "checkpoint": f"shipped, {meta.get('step', '?')} steps"},
                     outputs=[path], text=f"score after 600 steps: {score:g}", seconds=time.perf_counter() - t)]

