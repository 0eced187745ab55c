"""`deepgallery bench dqn`: training throughput against Stable-Baselines3's DQN, and the shipped agents' scores.

Throughput = agent (environment) steps per second *including learning*, both agents with the same
hyperparameters (Adam 1e-4, batch 32, one update every 4 agent steps, target copy every 1,000 steps, the same
replay size and learning start, epsilon at its final 0.01 from the learning start), on Pong, one after the other
in this process and with the same torch thread count. SB3 runs its documented Atari setup (one emulator,
AtariWrapper + VecFrameStack); ours steps 4 emulators with batched action selection (updates per agent step
unchanged). `sps` is ours at the default `--precision auto` (bfloat16 autocast in the update on CPUs with
bf16 instructions, as this one; else float32), `sps_bf16` and `sps_fp32` ours at either precision.
Each contender runs twice in ABBA order and its two rates are averaged.
Scores: the shipped checkpoints under the paper's evaluation protocol (epsilon 0.05, up to 30
no-ops, 5 minutes; `pong_eval_score`, `breakout_eval_score`) and under the same protocol with sticky actions
(ALE repeat_action_probability 0.25, Machado et al. 2018; `*_eval_score_sticky`); --quick plays 2 games each
instead of 30. `sticky_scores(quick)` measures the sticky-action scores alone (no speed runs).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from .agent import native_bf16
from .config import FAST
from .evaluate import evaluate
from .model import load_policy


def _settings(quick: bool) -> dict:
    return dict(steps=1_500 if quick else 20_000, learning_starts=500 if quick else 5_000,
                replay=10_000 if quick else 100_000, num_envs=4, game="pong")


def sps_ours(s: dict, bf16: bool = False) -> float:
    from .train import RunOptions, train

    cfg = FAST.with_(game=s["game"], total_steps=s["steps"], learning_starts=s["learning_starts"],
                     replay_size=s["replay"], eps_decay_steps=1, num_envs=s["num_envs"], workers=0, seed=0, bf16=bf16)
    with tempfile.TemporaryDirectory() as tmp:
        cpu = torch.device("cpu")
        out = train(cfg, RunOptions(run_dir=Path(tmp), device=cpu, replay_device=cpu, eval_every=10**12,
                                    log_every=10**12, final_eval=False))
    return float(out["sps"])


def sps_sb3(s: dict) -> float:
    import ale_py
    import gymnasium as gym
    from stable_baselines3 import DQN
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    from .atari import display_name

    gym.register_envs(ale_py)
    env = VecFrameStack(make_atari_env(f"{display_name(s['game'])}NoFrameskip-v4", n_envs=1, seed=0), n_stack=4)
    model = DQN("CnnPolicy", env, learning_rate=FAST.lr, buffer_size=s["replay"],
                learning_starts=s["learning_starts"], batch_size=FAST.batch_size, gamma=FAST.gamma,
                train_freq=FAST.train_every, gradient_steps=1, target_update_interval=FAST.target_update,
                exploration_fraction=s["learning_starts"] / s["steps"], exploration_initial_eps=1.0,
                exploration_final_eps=FAST.eps_final, optimize_memory_usage=False,
                policy_kwargs=dict(optimizer_kwargs=dict(eps=FAST.adam_eps)), device="cpu", seed=0, verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=s["steps"])
    elapsed = time.perf_counter() - start
    env.close()
    return s["steps"] / elapsed


STICKY = 0.25  # Machado et al. 2018's recommended repeat_action_probability (ALE v5's default)


def eval_episodes(quick: bool) -> int:
    return 2 if quick else 30


def shipped_score(game: str, episodes: int, sticky_actions: float = 0.0) -> float:
    """Mean raw score of the shipped agent over `episodes` evaluation games (seed 0), with the given sticky actions."""
    net, cfg, _ = load_policy(game, None, torch.device("cpu"))
    cfg = cfg.with_(sticky_actions=sticky_actions)
    return float(np.mean(evaluate(net, cfg, episodes=episodes, seed=0)))


def sticky_scores(quick: bool = False) -> dict:
    """The shipped agents' scores with sticky actions alone: {"metrics": {...}, "config": {...}, "device": "cpu"}."""
    episodes = eval_episodes(quick)
    metrics = {f"{game}_eval_score_sticky": shipped_score(game, episodes, STICKY) for game in ("pong", "breakout")}
    return {"metrics": metrics, "config": {"eval_episodes": episodes, "sticky_actions": STICKY}, "device": "cpu"}


def bench(quick: bool = False) -> dict:
    """Throughput of ours (bf16 and fp32) and of SB3 in ABBA order, and the shipped agents' scores (Nature's
    protocol and the same with sticky actions)."""
    s = _settings(quick)
    # ABBA order over the three contenders, each measured twice, so that a load change on a shared machine
    # weighs on all of them alike.
    runs: dict[str, list[float]] = {"bf16": [], "peer": [], "fp32": []}
    for name in ("bf16", "peer", "fp32", "fp32", "peer", "bf16"):
        runs[name].append(sps_sb3(s) if name == "peer" else sps_ours(s, bf16=name == "bf16"))
    bf16, peer, fp32 = (float(np.mean(runs[k])) for k in ("bf16", "peer", "fp32"))
    default = "bf16" if native_bf16(torch.device("cpu")) else "fp32"
    ours = bf16 if default == "bf16" else fp32
    episodes = eval_episodes(quick)
    metrics = {"sps": round(ours, 1), "sps_peer": round(peer, 1), "sps_ratio": round(ours / peer, 3),
               "sps_bf16": round(bf16, 1), "sps_ratio_bf16": round(bf16 / peer, 3),
               "sps_fp32": round(fp32, 1), "sps_ratio_fp32": round(fp32 / peer, 3),
               "pong_eval_score": shipped_score("pong", episodes),
               "breakout_eval_score": shipped_score("breakout", episodes),
               **sticky_scores(quick)["metrics"]}
    config = {**s, "eval_episodes": episodes, "sticky_actions": STICKY, "default_precision": default,
              "runs_sps": {k: [round(x, 1) for x in v] for k, v in runs.items()},
              "torch_threads": torch.get_num_threads(),  # the same count for both contenders
              "peer": "stable-baselines3 DQN (CnnPolicy, make_atari_env, VecFrameStack 4)"}
    return {"metrics": metrics, "config": config, "device": "cpu"}
