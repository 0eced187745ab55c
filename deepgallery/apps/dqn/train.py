"""Deep Q-learning with experience replay (Nature, Algorithm 1), one plain loop.

Every step: choose actions epsilon-greedily for all E emulators in one forward pass, step the emulators,
store the transitions in the replay memory D; every `train_every` agent steps, one SGD update on a
minibatch from D; every `target_update` steps, copy Q into the target network. Periodic evaluation
(paper protocol, fewer episodes), a learning-curve CSV + PNG, and a checkpoint that resumes after a kill.
The replay memory is not checkpointed (7 GB at the paper's size): after a resume it is refilled with
`learning_starts` steps of the current policy before learning continues.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from deepgallery.core import checkpoint
from deepgallery.core.atomic import atomic_path, write_text
from deepgallery.core.errors import UserError
from deepgallery.core.runtime import progress, seed_everything

from .agent import Agent, epsilon
from .atari import FrameStack, VectorAtari, display_name
from .config import DQNConfig
from .evaluate import evaluate
from .replay import ReplayMemory
from .scores import human_normalized

CURVE_FIELDS = ["step", "frames", "minutes", "sps", "epsilon", "episodes", "return_mean100", "loss",
                "eval_score", "eval_hns"]


@dataclass
class RunOptions:
    run_dir: Path
    device: torch.device
    replay_device: torch.device
    eval_every: int = 250_000  # agent steps between evaluations
    eval_episodes: int = 8  # episodes per periodic evaluation (the final one uses cfg.eval_episodes)
    log_every: int = 10_000  # agent steps between CSV rows
    checkpoint_minutes: float = 10.0  # wall-clock minutes between checkpoints
    max_minutes: float | None = None  # stop (and save) after this long; resume later
    final_eval: bool = True
    keep_evaluated: bool = False  # keep every periodically evaluated policy as evals/step_<N> (float16 Q, 3.3 MB)
    extra_meta: dict = field(default_factory=dict)


def check_memory(cfg: DQNConfig, device: torch.device) -> None:
    """Refuse a replay memory that cannot fit, with the fix in one line."""
    need = cfg.replay_bytes()
    if device.type == "cuda":
        free = torch.cuda.mem_get_info(device)[0]
    else:
        try:
            text = Path("/proc/meminfo").read_text()
            free = int(next(ln.split()[1] for ln in text.splitlines() if ln.startswith("MemAvailable"))) * 1024
        except (OSError, StopIteration, ValueError):
            return
    if need > 0.9 * free:
        fits = int(0.9 * free / (need / cfg.replay_size))
        raise UserError(f"a replay memory of {cfg.replay_size:,} transitions needs {need / 1e9:.1f} GB but only "
                        f"{free / 1e9:.1f} GB is free on {device.type}; "
                        f"use --replay-size {fits // 1000 * 1000} or less")


def _plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in rows if r["return_mean100"] != ""]
    ax.plot(steps, [r["return_mean100"] for r in rows if r["return_mean100"] != ""], label="training (mean of 100)")
    ev = [(r["step"], r["eval_score"]) for r in rows if r["eval_score"] != ""]
    if ev:
        ax.plot(*zip(*ev, strict=True), "o-", label="evaluation (eps = 0.05)")
    ax.set_xlabel("agent steps (x4 frames)")
    ax.set_ylabel("game score")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def _write_curve(run_dir: Path, rows: list[dict], title: str) -> None:
    with atomic_path(run_dir / "curve.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, CURVE_FIELDS)
        w.writeheader()
        w.writerows(rows)
    _plot(rows, run_dir / "curve.png", title)


def _read_curve(run_dir: Path) -> list[dict]:
    path = run_dir / "curve.csv"
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str | None) -> float | int | str:
    if text in ("", None):
        return ""
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


def save_policy(path: Path, agent: Agent, cfg: DQNConfig, meta: dict) -> Path:
    """The Q-network alone in float16 (about 3.3 MB): what `run` and the shipped checkpoints use."""
    return checkpoint.export_half(path, agent.tensors(with_target=False), config=cfg.to_dict(),
                                  meta={**meta, "n_actions": agent.n_actions})


def train(cfg: DQNConfig, opts: RunOptions) -> dict:
    """Train (or resume) in opts.run_dir; returns a summary dict. Stops cleanly on SIGTERM / Ctrl-C."""
    run_dir = opts.run_dir
    check_memory(cfg, opts.replay_device)  # before anything is written
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / "checkpoint"
    seed_everything(cfg.seed)
    venv = VectorAtari(cfg.game, cfg.num_envs, seed=cfg.seed, workers=cfg.workers, frame_skip=cfg.frame_skip,
                       noop_max=cfg.noop_max, max_episode_steps=cfg.max_episode_steps,
                       sticky_actions=cfg.sticky_actions)
    agent = Agent(venv.n_actions, cfg, opts.device)
    state = {"step": 0, "updates": 0, "episodes": 0, "best_eval": -math.inf, "minutes": 0.0}
    rows = _read_curve(run_dir)
    if checkpoint.exists(ckpt):
        tensors, saved_cfg, meta = checkpoint.load(ckpt, "delete the run folder to start afresh")
        if saved_cfg.get("game") != cfg.game:
            raise UserError(f"{run_dir} holds a {saved_cfg.get('game')} run; choose another --run-dir")
        agent.load_tensors(tensors)
        agent.restore_optimizer(meta)
        for group in agent.opt.param_groups:  # this run's --lr wins over the saved one (e.g. a lower lr to fine-tune)
            group["lr"] = cfg.lr
        state.update({k: meta[k] for k in state if k in meta})
        print(f"resumed {run_dir} at step {state['step']:,}", flush=True)
    else:
        write_text(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2))
    rows = [r for r in rows if r["step"] <= state["step"]]

    replay = ReplayMemory(cfg.replay_size, cfg.num_envs, cfg.frame_stack, opts.replay_device)
    stack = FrameStack(cfg.num_envs, cfg.frame_stack)
    frames = venv.reset()
    stack.obs[:] = frames[:, None]
    replay.start(frames)

    stop = {"flag": False}

    def _on_signal(signum, frame):  # noqa: ARG001
        stop["flag"] = True

    old_handlers = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            old_handlers[sig] = signal.signal(sig, _on_signal)
        except ValueError:  # not the main thread (e.g. the web gallery): no clean-stop on signals
            pass
    returns: list[float] = []
    losses: list[torch.Tensor] = []
    start_step, t0 = state["step"], time.perf_counter()
    minutes0, last_ckpt = state["minutes"], time.perf_counter()
    since_update = 0
    next_log = (state["step"] // opts.log_every + 1) * opts.log_every
    next_eval = (state["step"] // opts.eval_every + 1) * opts.eval_every
    last_sync = state["step"] // cfg.target_update
    title = f"DQN on {display_name(cfg.game)}"
    bar = progress(total=cfg.total_steps, desc=f"dqn {display_name(cfg.game)}", initial=state["step"])

    def save() -> None:
        state["minutes"] = minutes0 + (time.perf_counter() - t0) / 60
        checkpoint.save(ckpt, agent.tensors(), cfg.to_dict(), meta={**state, **opts.extra_meta}, optimizer=agent.opt)
        _write_curve(run_dir, rows, title)

    def run_eval(episodes: int) -> tuple[float, float | None]:
        scores = evaluate(agent.q, cfg, episodes=episodes, seed=cfg.seed * 7919 + state["step"])
        score = float(np.mean(scores))
        meta = {"step": state["step"], "eval_score": score, "eval_episodes": episodes}
        if opts.keep_evaluated:
            (run_dir / "evals").mkdir(exist_ok=True)
            save_policy(run_dir / "evals" / f"step_{state['step']}", agent, cfg, meta)
        if score > state["best_eval"]:
            state["best_eval"] = score
            save_policy(run_dir / "best", agent, cfg, meta)
        return score, human_normalized(cfg.game, score)

    try:
        while state["step"] < cfg.total_steps and not stop["flag"]:
            step = state["step"]
            learning = len(replay) >= cfg.learning_starts
            # uniform random play until the first learning start; after a resume, the current policy refills D
            eps = epsilon(cfg, step - cfg.learning_starts) if step >= cfg.learning_starts else 1.0
            actions = agent.act(stack.obs, eps)
            venv.step_async(actions)  # emulators in worker processes step while the GPU learns
            if learning:
                since_update += cfg.num_envs
                while since_update >= cfg.train_every:
                    since_update -= cfg.train_every
                    losses.append(agent.update(replay.sample(cfg.batch_size)))
                    state["updates"] += 1
            out = venv.step_wait()
            rewards = np.sign(out.rewards) if cfg.clip_rewards else out.rewards
            lost = out.life_lost & cfg.terminal_on_life_loss
            ended = out.game_over | out.truncated
            restart = lost & ~ended
            replay.add(out.frames, actions, rewards, out.game_over | lost, restart)
            stack.push(out.frames)
            for i in np.flatnonzero(restart):
                stack.restart(i, out.frames[i])
            if ended.any():
                idx = np.flatnonzero(ended)
                for i in idx:
                    stack.restart(i, out.reset_frames[i])
                replay.start(out.reset_frames[idx], idx)
                returns += out.episode_returns
                state["episodes"] += len(idx)
            state["step"] = step = step + cfg.num_envs
            bar.update(cfg.num_envs)

            if step // cfg.target_update != last_sync:
                last_sync = step // cfg.target_update
                agent.sync_target()

            if step >= next_log or step >= next_eval:
                next_log = (step // opts.log_every + 1) * opts.log_every
                elapsed = time.perf_counter() - t0
                row = {"step": step, "frames": step * cfg.frame_skip,
                       "minutes": round(minutes0 + elapsed / 60, 2),
                       "sps": round((step - start_step) / max(elapsed, 1e-9), 1), "epsilon": round(eps, 4),
                       "episodes": state["episodes"],
                       "return_mean100": round(float(np.mean(returns[-100:])), 2) if returns else "",
                       "loss": round(float(torch.stack(losses).mean()), 5) if losses else "",
                       "eval_score": "", "eval_hns": ""}
                losses = []
                if step >= next_eval:
                    next_eval = (step // opts.eval_every + 1) * opts.eval_every
                    score, hns = run_eval(opts.eval_episodes)
                    row["eval_score"] = round(score, 2)
                    row["eval_hns"] = round(hns, 1) if hns is not None else ""
                rows.append(row)
                bar.set_postfix(ret=row["return_mean100"], eval=row["eval_score"], sps=row["sps"])
                print(json.dumps(row), flush=True)
            now = time.perf_counter()
            if now - last_ckpt > opts.checkpoint_minutes * 60:
                save()
                last_ckpt = now
            if opts.max_minutes is not None and now - t0 > opts.max_minutes * 60:
                print(f"time budget of {opts.max_minutes} min reached at step {step:,}; saving", flush=True)
                break
        save()
        final = None
        if opts.final_eval and state["step"] >= cfg.total_steps:
            scores = evaluate(agent.q, cfg)
            final = {"score": float(np.mean(scores)), "std": float(np.std(scores)), "episodes": len(scores),
                     "hns": human_normalized(cfg.game, float(np.mean(scores)))}
            write_text(run_dir / "final_eval.json", json.dumps(final, indent=2))
        save_policy(run_dir / "last", agent, cfg, {"step": state["step"]})
    finally:
        bar.close()
        venv.close()
        for s, h in old_handlers.items():
            signal.signal(s, h)
    elapsed = time.perf_counter() - t0
    return {"step": state["step"], "sps": (state["step"] - start_step) / max(elapsed, 1e-9),
            "best_eval": state["best_eval"], "final": final, "run_dir": str(run_dir)}
