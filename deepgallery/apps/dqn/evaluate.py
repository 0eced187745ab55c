"""Evaluation as in Nature (Methods, "Evaluation procedure"): each episode starts after up to 30 random no-ops,
the agent plays an epsilon-greedy policy with epsilon = 0.05 for up to 5 minutes of emulator time
(18,000 frames = 4,500 agent steps), and the score is the raw game score averaged over the episodes.
All episodes run side by side, so action selection is one batched forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from .atari import AtariEnv, FrameStack
from .config import DQNConfig


@torch.no_grad()
def greedy_actions(q_net: torch.nn.Module, obs: np.ndarray, eps: float, n_actions: int,
                   rng: np.random.Generator) -> np.ndarray:
    device = next(q_net.parameters()).device
    q = q_net(torch.from_numpy(obs).to(device))
    actions = q.argmax(1).cpu().numpy()
    explore = rng.random(len(obs)) < eps
    return np.where(explore, rng.integers(0, n_actions, len(obs)), actions)


def evaluate(q_net: torch.nn.Module, cfg: DQNConfig, episodes: int | None = None, max_steps: int | None = None,
             eps: float | None = None, seed: int = 12345,
             on_frame: Callable[[int, AtariEnv, float], None] | None = None) -> list[float]:
    """Raw scores of `episodes` evaluation games (defaults: the config's paper settings).

    on_frame(i, env, score_so_far) is called after every agent step of episode i (used for recording).
    """
    episodes = cfg.eval_episodes if episodes is None else episodes
    max_steps = cfg.eval_max_steps if max_steps is None else max_steps
    eps = cfg.eval_eps if eps is None else eps
    rng = np.random.default_rng(seed)
    envs = [AtariEnv(cfg.game, seed=seed + i, frame_skip=cfg.frame_skip, noop_max=cfg.noop_max,
                     max_episode_steps=max_steps, sticky_actions=cfg.sticky_actions) for i in range(episodes)]
    stack = FrameStack(episodes, cfg.frame_stack)
    for i, env in enumerate(envs):
        stack.restart(i, env.reset())
    scores = np.zeros(episodes)
    alive = np.ones(episodes, bool)
    was_training = q_net.training
    q_net.eval()
    while alive.any():
        idx = np.flatnonzero(alive)
        actions = greedy_actions(q_net, stack.obs[idx], eps, envs[0].n_actions, rng)
        frames = np.empty((len(idx), *stack.obs.shape[2:]), np.uint8)
        for j, (i, a) in enumerate(zip(idx, actions, strict=True)):
            r = envs[i].step(int(a))
            scores[i] += r.reward
            frames[j] = r.frame
            if on_frame is not None:
                on_frame(int(i), envs[i], float(scores[i]))
            if r.game_over or r.truncated:
                alive[i] = False
            elif r.life_lost and cfg.terminal_on_life_loss:
                stack.obs[i] = r.frame  # the history restarts, as it did in training
                frames[j] = r.frame
        sub = stack.obs[idx]
        sub[:, :-1] = sub[:, 1:]
        sub[:, -1] = frames
        stack.obs[idx] = sub
    q_net.train(was_training)
    return scores.tolist()


@torch.no_grad()
def play(q_net: torch.nn.Module, cfg: DQNConfig, max_steps: int | None = None, eps: float | None = None,
         seed: int = 0) -> Iterator[tuple[AtariEnv, float, bool]]:
    """One evaluation game, step by step: yields (env, score so far, game finished) after every agent step."""
    max_steps = cfg.eval_max_steps if max_steps is None else max_steps
    eps = cfg.eval_eps if eps is None else eps
    rng = np.random.default_rng(seed)
    env = AtariEnv(cfg.game, seed=seed, frame_skip=cfg.frame_skip, noop_max=cfg.noop_max,
                   max_episode_steps=max_steps, sticky_actions=cfg.sticky_actions)
    stack = FrameStack(1, cfg.frame_stack)
    stack.restart(0, env.reset())
    score, done = 0.0, False
    while not done:
        action = greedy_actions(q_net, stack.obs, eps, env.n_actions, rng)[0]
        r = env.step(int(action))
        score += r.reward
        stack.push(r.frame[None])
        if r.life_lost and cfg.terminal_on_life_loss:
            stack.restart(0, r.frame)
        done = r.game_over or r.truncated
        yield env, score, done
