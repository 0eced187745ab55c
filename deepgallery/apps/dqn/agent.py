"""The learning agent: epsilon-greedy action selection and the Q-learning update (Nature, Algorithm 1).

Loss for a minibatch of transitions (s, a, r, s') drawn uniformly from D (Methods, equation 1):

    y = r                                   if s' ends bootstrapping (game over, or a lost life)
    y = r + gamma * max_a' Q^(s', a'; theta^-)   otherwise
    L(theta) = Huber(y - Q(s, a; theta))      (the paper clips the error term to [-1, 1]: Huber with delta 1)

The target network Q^ is a copy of Q refreshed every C steps.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from deepgallery.core import checkpoint

from .config import DQNConfig
from .model import NatureQNetwork, make_optimizer


def native_bf16(device: torch.device, cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the update should run in bfloat16 under `--precision auto`: on CPUs with bf16 instructions
    (AVX512-BF16 or AMX), where oneDNN's bf16 convolutions are ~1.5x faster than fp32. Elsewhere bf16 is
    emulated (slower), and on GPUs fp32/TF32 is kept, so auto means fp32 there."""
    if device.type != "cpu":
        return False
    try:
        flags = Path(cpuinfo).read_text(errors="ignore")
    except OSError:  # not Linux: no cheap way to know, keep fp32
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def epsilon(cfg: DQNConfig, step: int) -> float:
    """Linear annealing from eps_start to eps_final over eps_decay_steps, then constant."""
    frac = min(1.0, step / max(1, cfg.eps_decay_steps))
    return cfg.eps_start + frac * (cfg.eps_final - cfg.eps_start)


class Agent:
    def __init__(self, n_actions: int, cfg: DQNConfig, device: torch.device):
        self.cfg, self.device, self.n_actions = cfg, device, n_actions
        self.q = NatureQNetwork(n_actions, cfg.frame_stack).to(device)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.opt = make_optimizer(self.q.parameters(), cfg)
        self.rng = np.random.default_rng(cfg.seed)

    @torch.no_grad()
    def act(self, obs: np.ndarray, eps: float) -> np.ndarray:
        """(E, 4, 84, 84) uint8 -> (E,) actions; one batched forward pass for all emulators."""
        n = len(obs)
        explore = self.rng.random(n) < eps
        actions = self.rng.integers(0, self.n_actions, n)
        if not explore.all():
            q = self.q(torch.from_numpy(obs).to(self.device, non_blocking=True))
            greedy = q.argmax(1).cpu().numpy()
            actions = np.where(explore, actions, greedy)
        return actions

    def td_loss(self, s, a, r, done, s_next) -> torch.Tensor:
        with torch.no_grad():
            q_next = self.q_target(s_next).float().max(1).values  # (B,)
            y = r + self.cfg.gamma * (~done).float() * q_next  # (B,)
        q = self.q(s).float().gather(1, a[:, None]).squeeze(1)  # (B,)
        return F.smooth_l1_loss(q, y)

    def update(self, batch) -> torch.Tensor:
        """One SGD step on a minibatch; returns the loss (a device tensor, not synchronised)."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.bf16):
            loss = self.td_loss(*batch)  # convolutions and matrix products in bf16, loss and weights in fp32
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def restore_optimizer(self, meta: dict) -> bool:
        """Optimiser state from a checkpoint, keeping this run's fused kernel choice."""
        fused = [g.get("fused") for g in self.opt.param_groups]
        if not checkpoint.restore_optimizer(self.opt, meta):
            return False
        for group, f in zip(self.opt.param_groups, fused, strict=True):
            if "fused" in group:
                group["fused"] = f
            for p in group["params"]:
                st = self.opt.state.get(p, {})
                if f and "step" in st:  # fused kernels keep the step count beside the weights
                    st["step"] = st["step"].to(p.device, torch.float32)
        return True

    def sync_target(self) -> None:
        self.q_target.load_state_dict(self.q.state_dict())

    # --- checkpoints: tensors for safetensors, no pickling ---
    def tensors(self, with_target: bool = True) -> dict[str, torch.Tensor]:
        out = {f"q.{k}": v for k, v in self.q.state_dict().items()}
        if with_target:
            out.update({f"target.{k}": v for k, v in self.q_target.state_dict().items()})
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        q = {k[2:]: v.float() for k, v in tensors.items() if k.startswith("q.")}
        self.q.load_state_dict(q)
        target = {k[7:]: v.float() for k, v in tensors.items() if k.startswith("target.")}
        self.q_target.load_state_dict(target or q)
