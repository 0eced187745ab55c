"""Replay memory D (Nature, Methods "Training algorithm"): the last N transitions, each frame stored once.

A transition (phi_t, a_t, r_t, phi_{t+1}) is 4+4 stacked frames, but consecutive states share 3 of their 4
frames. So each emulator e has its own ring of *slots*; slot t holds the frame seen after an action
(uint8 84x84), the action a and clipped reward r that led to it, whether that step ended bootstrapping
(game over or lost life), and `hist` = how many earlier slots belong to the same history (0..m-1; 0 at a
game's first frame, where there is no transition into the slot, and after a lost life). The state ending
at slot t is the frames t-min(j, hist_t)... stacked; frames before a history start repeat its first frame,
exactly like the acting `FrameStack`. Memory: 84*84 + 7 bytes per transition (about 7.06 GB for N = 1M).

The storage is a torch tensor on any device: on a GPU, sampling never leaves the card.
"""

from __future__ import annotations

import numpy as np
import torch


class ReplayMemory:
    def __init__(self, capacity: int, num_envs: int = 1, m: int = 4, device: str | torch.device = "cpu",
                 frame_shape: tuple[int, int] = (84, 84)):
        if capacity < num_envs * (m + 2):
            raise ValueError(f"replay capacity {capacity} is too small for {num_envs} emulators")
        self.E, self.C, self.m = num_envs, capacity // num_envs, m  # streams, slots per stream, stack
        self.device = torch.device(device)
        d = self.device
        self.frames = torch.zeros((self.E, self.C, *frame_shape), dtype=torch.uint8, device=d)  # (E, C, H, W)
        self.action = torch.zeros((self.E, self.C), dtype=torch.uint8, device=d)
        self.reward = torch.zeros((self.E, self.C), dtype=torch.float32, device=d)
        self.done = torch.zeros((self.E, self.C), dtype=torch.bool, device=d)  # no bootstrap from this slot
        self.valid = torch.zeros((self.E, self.C), dtype=torch.bool, device=d)  # a transition ends here
        self.hist = torch.zeros((self.E, self.C), dtype=torch.uint8, device=d)  # 0..m-1, see module doc
        self.pos = np.zeros(self.E, np.int64)  # next slot to write, per stream (host copy)
        self.size = np.zeros(self.E, np.int64)  # slots written, per stream (<= C) (host copy)
        self._last_hist = np.zeros(self.E, np.int64)
        # On the CPU the tensors and numpy arrays share memory: writes go through numpy (a dozen small
        # torch indexing ops per step cost more than the emulators), and pos/size need no second copy.
        self._host = self.device.type == "cpu"
        if self._host:
            self._pos, self._size = torch.from_numpy(self.pos), torch.from_numpy(self.size)
            self._np = {k: getattr(self, k).numpy() for k in ("frames", "action", "reward", "done", "valid", "hist")}
        else:  # device copies: sampling needs no host syncs
            self._pos = torch.zeros(self.E, dtype=torch.long, device=d)
            self._size = torch.zeros(self.E, dtype=torch.long, device=d)

    def __len__(self) -> int:
        """Transitions held (approximately: history-start slots are not transitions)."""
        return int(self.size.sum())

    def _to_device(self, array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        t = torch.as_tensor(np.ascontiguousarray(array)).to(dtype)
        if self.device.type == "cuda":  # pinned + non_blocking: the copy does not wait for queued GPU work
            return t.pin_memory().to(self.device, non_blocking=True)
        return t

    def _write(self, envs: np.ndarray, frames: np.ndarray, action, reward, done, valid, hist: np.ndarray) -> None:
        if self._host:
            p, a = self.pos[envs], self._np
            a["frames"][envs, p] = frames
            a["action"][envs, p], a["reward"][envs, p] = action, reward
            a["done"][envs, p], a["valid"][envs, p], a["hist"][envs, p] = done, valid, hist
            self._last_hist[envs] = hist
            self.pos[envs] = (p + 1) % self.C  # also moves self._pos (shared memory)
            self.size[envs] = np.minimum(self.size[envs] + 1, self.C)
            return
        e = self._to_device(envs, torch.long)
        p = self._pos[e]
        self.frames[e, p] = self._to_device(frames, torch.uint8)
        small = self._to_device(np.stack([action, reward, done, valid, hist]).astype(np.float32), torch.float32)
        self.action[e, p] = small[0].to(torch.uint8)
        self.reward[e, p] = small[1]
        self.done[e, p] = small[2] > 0
        self.valid[e, p] = small[3] > 0
        self.hist[e, p] = small[4].to(torch.uint8)
        self._pos[e] = (p + 1) % self.C
        self._size[e] = torch.clamp(self._size[e] + 1, max=self.C)
        self._last_hist[envs] = hist
        self.pos[envs] = (self.pos[envs] + 1) % self.C
        self.size[envs] = np.minimum(self.size[envs] + 1, self.C)

    def start(self, frames: np.ndarray, envs: np.ndarray | None = None) -> None:
        """Begin a new history (a game's first frame) in streams `envs` (all by default). frames: (k, H, W)."""
        envs = np.arange(self.E) if envs is None else np.asarray(envs)
        if len(envs) == 0:
            return
        zeros = np.zeros(len(envs))
        self._write(envs, frames, zeros, zeros, zeros.astype(bool), zeros.astype(bool), zeros.astype(np.int64))

    def add(self, frames: np.ndarray, actions: np.ndarray, rewards: np.ndarray, done: np.ndarray,
            restart_history: np.ndarray | None = None) -> None:
        """One step of every stream: the frame after `actions`, its reward, and whether it ends bootstrapping.

        restart_history: (E,) bool, True where the acting stack restarted at this frame (a lost life).
        """
        envs = np.arange(self.E)
        hist = np.minimum(self._last_hist + 1, self.m - 1)
        if restart_history is not None:
            hist = np.where(restart_history, 0, hist)
        self._write(envs, frames, actions, rewards, done, np.ones(self.E, bool), hist)

    def _stack(self, e: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """(B, m, H, W) uint8: the state ending at slot t of stream e."""
        back = torch.arange(self.m - 1, -1, -1, device=self.device)  # (m,) = m-1 .. 0
        h = self.hist[e, t].long()  # (B,)
        idx = (t[:, None] - torch.minimum(back[None, :], h[:, None])) % self.C  # (B, m)
        # one gather from the flat (E*C, H, W) view: ~10x faster on the CPU than 2-D advanced indexing
        flat = self.frames.view(self.E * self.C, *self.frames.shape[2:])
        return flat.index_select(0, (e[:, None] * self.C + idx).reshape(-1)).view(*idx.shape, *flat.shape[1:])

    def sample(self, batch: int, generator: torch.Generator | None = None):
        """A uniform minibatch of transitions: (s, a, r, done, s') with s, s' of shape (B, m, H, W) uint8."""
        if (self.size < self.m + 2).any():
            raise RuntimeError("replay memory holds too few frames to sample")
        d = self.device
        n = 2 * batch + 16  # oversample, then keep the first `batch` valid ones (no host synchronisation)
        e = torch.randint(0, self.E, (n,), device=d, generator=generator)
        usable = self._size[e] - self.m - 1  # ages 0..size-m-2 keep slots t-m..t written
        age = (torch.rand(n, device=d, generator=generator) * usable).long()
        t = (self._pos[e] - 1 - age) % self.C
        ok = self.valid[e, t]
        keep = torch.argsort((~ok).to(torch.uint8), stable=True)[:batch]
        e, t = e[keep], t[keep]
        s = self._stack(e, (t - 1) % self.C)
        s_next = self._stack(e, t)
        return s, self.action[e, t].long(), self.reward[e, t], self.done[e, t], s_next
