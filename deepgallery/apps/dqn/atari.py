"""The Atari environment as the agent sees it (Nature, Methods "Preprocessing"), directly over ALE.

One agent step repeats the chosen action for k = 4 emulator frames and sums the rewards. The observation
is the pixel-wise maximum of the last two of those frames (removing sprite flicker), reduced to its
luminance and resized to 84x84 uint8. The Q-network's input stacks the last m = 4 such frames
(`FrameStack`); the replay memory stores each frame once (see replay.py).

`VectorAtari` steps several emulators at once, in this process or in worker subprocesses, and resets
finished games itself (returning the terminal frame *and* the next game's first frame, so that truncated
episodes can still be bootstrapped correctly).
"""

from __future__ import annotations

import multiprocessing as mp
import re
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from deepgallery.core.errors import UserError, closest

SIZE = 84


# ----------------------------------------------------------------------------------------------- names
@lru_cache(maxsize=1)
def rom_ids() -> tuple[str, ...]:
    """Every game ale-py ships, as ROM ids ("breakout", "space_invaders", ...)."""
    import ale_py.roms

    return tuple(sorted(ale_py.roms.get_all_rom_ids()))


def display_name(rom: str) -> str:
    """'space_invaders' -> 'SpaceInvaders' (the name users type, as in Gym's ids)."""
    return "".join(part.capitalize() for part in rom.split("_"))


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def resolve_game(name: str) -> str:
    """The ROM id for a user's game name ('Breakout', 'SpaceInvaders', 'space-invaders', 'ALE/Pong-v5').

    Unknown names raise UserError listing the closest valid names.
    """
    raw = name.strip()
    raw = re.sub(r"^ALE/", "", raw)
    raw = re.sub(r"(NoFrameskip)?-v\d+$", "", raw)
    by_squash = {_squash(r): r for r in rom_ids()}
    key = _squash(raw)
    if key in by_squash:
        return by_squash[key]
    names = [display_name(r) for r in rom_ids()]
    near = closest(raw, names, n=3) or closest(key, [_squash(n) for n in names], n=3)
    near = [display_name(by_squash[_squash(n)]) for n in near]
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    raise UserError(f"unknown Atari game {name!r}.{hint} ({len(names)} games; e.g. Breakout, Pong, SpaceInvaders)")


# ------------------------------------------------------------------------------------------ one emulator
@dataclass
class StepResult:
    frame: np.ndarray  # (84, 84) uint8, the observation after the step
    reward: float  # raw game reward summed over the k frames
    life_lost: bool
    game_over: bool
    truncated: bool


class AtariEnv:
    """One ALE emulator with the paper's preprocessing. Actions index the game's minimal action set."""

    def __init__(self, game: str, seed: int = 0, frame_skip: int = 4, noop_max: int = 30,
                 max_episode_steps: int = 27_000, sticky_actions: float = 0.0):
        import ale_py
        import ale_py.roms

        self.game = game
        ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)  # static: silences the banner too
        self.ale = ale_py.ALEInterface()
        self.ale.setInt("random_seed", int(seed) % (2**31))
        self.ale.setFloat("repeat_action_probability", float(sticky_actions))
        self.ale.loadROM(ale_py.roms.get_rom_path(game))
        self.actions = list(self.ale.getMinimalActionSet())
        self.frame_skip, self.noop_max, self.max_episode_steps = frame_skip, noop_max, max_episode_steps
        self.rng = np.random.default_rng(seed)
        h, w = self.ale.getScreenDims()
        self._raw = np.zeros((2, h, w), np.uint8)  # the last two grayscale frames
        self.steps = 0
        self.lives = 0

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    def _observe(self) -> np.ndarray:
        """Max over the last two frames, then resize to 84x84 (area interpolation)."""
        frame = np.maximum(self._raw[0], self._raw[1])
        return cv2.resize(frame, (SIZE, SIZE), interpolation=cv2.INTER_AREA)

    def reset(self) -> np.ndarray:
        """New game, then a random number (0..noop_max) of no-op frames, as the paper's 'no-op' starts."""
        self.ale.reset_game()
        for _ in range(int(self.rng.integers(0, self.noop_max + 1))):
            self.ale.act(self.actions[0])
            if self.ale.game_over():
                self.ale.reset_game()
        self.ale.getScreenGrayscale(self._raw[0])
        self._raw[1] = self._raw[0]
        self.steps, self.lives = 0, self.ale.lives()
        return self._observe()

    def step(self, action: int) -> StepResult:
        reward = 0.0
        a = self.actions[action]
        k = self.frame_skip
        for i in range(k):
            reward += self.ale.act(a)
            if i >= k - 2:
                self.ale.getScreenGrayscale(self._raw[i - (k - 2)])
            if self.ale.game_over():
                if i < k - 1:
                    self.ale.getScreenGrayscale(self._raw[0])
                    self._raw[1] = self._raw[0]
                break
        self.steps += 1
        lives = self.ale.lives()
        life_lost = lives < self.lives
        self.lives = lives
        game_over = self.ale.game_over()
        truncated = not game_over and self.steps >= self.max_episode_steps
        return StepResult(self._observe(), reward, life_lost, game_over, truncated)

    def rgb(self) -> np.ndarray:
        """The current screen in colour (210, 160, 3), for recordings."""
        return self.ale.getScreenRGB()


# ------------------------------------------------------------------------------------------ frame stack
class FrameStack:
    """The last m frames of each of E emulators, (E, m, 84, 84) uint8: the Q-network's input phi(s)."""

    def __init__(self, num_envs: int, m: int = 4):
        self.obs = np.zeros((num_envs, m, SIZE, SIZE), np.uint8)

    def restart(self, i: int, frame: np.ndarray) -> None:
        """Start a new history: the first frame fills every slot."""
        self.obs[i] = frame

    def push(self, frames: np.ndarray) -> None:
        self.obs[:, :-1] = self.obs[:, 1:]
        self.obs[:, -1] = frames


# ------------------------------------------------------------------------------------- many emulators
@dataclass
class VecStep:
    frames: np.ndarray  # (E, 84, 84) uint8 frame after the action (the terminal frame if the game ended)
    rewards: np.ndarray  # (E,) float32 raw rewards
    life_lost: np.ndarray  # (E,) bool
    game_over: np.ndarray  # (E,) bool
    truncated: np.ndarray  # (E,) bool
    reset_frames: np.ndarray  # (E, 84, 84) first frame of the next game where game_over | truncated
    episode_returns: list[float]  # raw scores of the games that ended in this step
    episode_lengths: list[int]


def _make(game: str, seed: int, kw: dict) -> AtariEnv:
    return AtariEnv(game, seed=seed, **kw)


class _Shard:
    """A slice of the emulators, stepped in one process; writes its results into shared arrays."""

    def __init__(self, game, seeds, kw, lo, arrays):
        self.envs = [_make(game, s, kw) for s in seeds]
        self.lo = lo
        self.frames, self.reset_frames, self.scal = arrays
        self.returns = np.zeros(len(seeds))

    def reset(self):
        for j, env in enumerate(self.envs):
            self.frames[self.lo + j] = env.reset()
            self.returns[j] = 0.0

    def step(self, actions):
        done_info = []
        for j, env in enumerate(self.envs):
            r = env.step(int(actions[j]))
            i = self.lo + j
            self.frames[i] = r.frame
            self.scal[i] = (r.reward, r.life_lost, r.game_over, r.truncated)
            self.returns[j] += r.reward
            if r.game_over or r.truncated:
                done_info.append((float(self.returns[j]), env.steps))
                self.returns[j] = 0.0
                self.reset_frames[i] = env.reset()
        return done_info


def _worker(conn, game, seeds, kw, lo, shared):
    cv2.setNumThreads(1)
    arrays = tuple(np.frombuffer(buf, dtype).reshape(shape) for buf, dtype, shape in shared)
    shard = _Shard(game, seeds, kw, lo, arrays)
    while True:
        cmd, payload = conn.recv()
        if cmd == "step":
            conn.send(shard.step(payload))
        elif cmd == "reset":
            shard.reset()
            conn.send(None)
        else:
            conn.close()
            return


class VectorAtari:
    """E emulators stepped together; `workers` > 0 spreads them over that many subprocesses."""

    def __init__(self, game: str, num_envs: int, seed: int = 0, workers: int = 0, **kw):
        self.num_envs = num_envs
        seeds = [seed * 1000 + i for i in range(num_envs)]
        shapes = [((num_envs, SIZE, SIZE), np.uint8), ((num_envs, SIZE, SIZE), np.uint8), ((num_envs, 4), np.float32)]
        self.workers = min(workers, num_envs)
        self._procs, self._conns = [], []
        if self.workers <= 0:
            arrays = tuple(np.zeros(s, d) for s, d in shapes)
            self._shards = [_Shard(game, seeds, kw, 0, arrays)]
            self.n_actions = self._shards[0].envs[0].n_actions
        else:
            # spawn, not fork: a forked child inherits OpenCV/OpenMP thread pools mid-use and can deadlock
            ctx = mp.get_context("spawn")
            bufs = [ctx.RawArray("b", int(np.prod(s)) * np.dtype(d).itemsize) for s, d in shapes]
            shared = [(b, d, s) for b, (s, d) in zip(bufs, shapes, strict=True)]
            arrays = tuple(np.frombuffer(b, d).reshape(s) for b, d, s in shared)
            bounds = np.linspace(0, num_envs, self.workers + 1).astype(int)
            for w in range(self.workers):
                lo, hi = int(bounds[w]), int(bounds[w + 1])
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_worker, args=(child, game, seeds[lo:hi], kw, lo, shared), daemon=True)
                p.start()
                self._procs.append(p)
                self._conns.append(parent)
            self._shards = []
            self.n_actions = _make(game, 0, kw).n_actions
        self.frames, self.reset_frames, self._scal = arrays

    def reset(self) -> np.ndarray:
        """(E, 84, 84): the first frame of a fresh game in every emulator."""
        for s in self._shards:
            s.reset()
        for c in self._conns:
            c.send(("reset", None))
        for c in self._conns:
            c.recv()
        return self.frames.copy()

    def step_async(self, actions: np.ndarray) -> None:
        """Send the actions to the worker processes (they step while the caller does other work)."""
        self._actions = np.asarray(actions)
        bounds = np.linspace(0, self.num_envs, self.workers + 1).astype(int)
        for w, c in enumerate(self._conns):
            c.send(("step", self._actions[bounds[w]:bounds[w + 1]]))

    def step_wait(self) -> VecStep:
        infos = []
        for s in self._shards:
            infos += s.step(self._actions)
        for c in self._conns:
            infos += c.recv()
        scal = self._scal
        return VecStep(self.frames.copy(), scal[:, 0].copy(), scal[:, 1] > 0, scal[:, 2] > 0, scal[:, 3] > 0,
                       self.reset_frames.copy(), [i[0] for i in infos], [i[1] for i in infos])

    def step(self, actions: np.ndarray) -> VecStep:
        self.step_async(actions)
        return self.step_wait()

    def close(self) -> None:
        for c in self._conns:
            try:
                c.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for p in self._procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
        self._conns, self._procs = [], []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
