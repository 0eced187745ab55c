"""The Nature Q-network and the paper's optimiser.

Q(s, .; theta): input 84x84x4 (uint8 frames scaled to [0, 1]); conv 32 filters 8x8 stride 4, conv 64 4x4
stride 2, conv 64 3x3 stride 1, each followed by a rectifier; a fully connected layer of 512 rectifier
units; a linear output with one Q-value per valid action (Nature, Methods "Model architecture").

`load_policy` reads a trained Q-network back: a shipped one (`APP.checkpoint(game)`), a policy file or a run
folder written by `deepgallery train dqn`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from deepgallery.core import checkpoint
from deepgallery.core.errors import UserError

from . import APP
from .atari import display_name
from .config import DQNConfig


class NatureQNetwork(nn.Module):
    def __init__(self, n_actions: int, in_frames: int = 4):
        super().__init__()
        self.n_actions = n_actions
        self.features = nn.Sequential(
            nn.Conv2d(in_frames, 32, 8, stride=4), nn.ReLU(),  # (B, 32, 20, 20)
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # (B, 64, 9, 9)
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),  # (B, 64, 7, 7)
            nn.Flatten(),  # (B, 3136)
        )
        self.head = nn.Sequential(nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, n_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs: (B, 4, 84, 84) uint8 -> (B, n_actions) Q-values."""
        return self.head(self.features(obs.float() / 255.0))


class DeepMindRMSprop(torch.optim.Optimizer):
    """RMSProp as in DeepMind's DQN code (centred; the constant goes *inside* the square root):

        g  <- rho g  + (1 - rho) grad          (gradient momentum 0.95)
        n  <- rho n  + (1 - rho) grad^2        (squared gradient momentum 0.95)
        theta <- theta - lr * grad / sqrt(n - g^2 + eps)     (min squared gradient eps = 0.01)

    torch.optim.RMSprop(centered=True) adds eps *outside* the square root, a different (much larger) step.
    """

    def __init__(self, params, lr: float = 2.5e-4, decay: float = 0.95, eps: float = 0.01):
        super().__init__(params, dict(lr=lr, decay=decay, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            rho, lr, eps = group["decay"], group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["g"] = torch.zeros_like(p)
                    st["n"] = torch.zeros_like(p)
                g, n, grad = st["g"], st["n"], p.grad
                g.mul_(rho).add_(grad, alpha=1 - rho)
                n.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                p.addcdiv_(grad, (n - g * g + eps).sqrt_(), value=-lr)
        return None


def make_optimizer(params, cfg) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        params = list(params)
        try:  # fused: one pass over all weights; on a 2-core CPU 4 ms instead of 30 ms per step (foreach)
            return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.adam_eps, fused=True)
        except (RuntimeError, TypeError):  # a device without a fused kernel
            return torch.optim.Adam(params, lr=cfg.lr, eps=cfg.adam_eps)
    return DeepMindRMSprop(params, lr=cfg.lr, decay=cfg.rms_decay, eps=cfg.rms_eps)


# ------------------------------------------------------------------------------------------- loading
def load_policy(game: str, path: str | Path | None, device) -> tuple[NatureQNetwork, DQNConfig, dict]:
    """(Q-network in eval mode on `device`, its config, its checkpoint meta) for the ROM id `game`.

    `path` is a policy checkpoint (NAME or NAME.safetensors), a run folder (its `best` policy, else `last`, else
    the training `checkpoint`), or None for the shipped agent of `game` (`APP.checkpoints`).
    """
    if path is None:
        if game not in APP.checkpoints:
            raise UserError(f"no shipped checkpoint for {display_name(game)} (shipped: "
                            f"{', '.join(display_name(g) for g in APP.checkpoints)}); train one with "
                            f"`deepgallery train dqn --game {display_name(game)}` and pass --checkpoint")
        path = APP.checkpoint(game)
    p = Path(path)
    if p.is_dir():  # a run folder: its best policy, else its last
        p = next((p / n for n in ("best", "last", "checkpoint") if checkpoint.exists(p / n)), p / "best")
    tensors, cfg_dict, meta = checkpoint.load(p, "pass a checkpoint written by `deepgallery train dqn`")
    cfg = DQNConfig.from_dict(cfg_dict)
    if cfg.game != game:
        raise UserError(f"{p} is a {display_name(cfg.game)} agent, not {display_name(game)}")
    q = {k[2:]: v.float() for k, v in tensors.items() if k.startswith("q.")}  # "q.head.2.weight" -> "head.2.weight"
    n_actions = int(q["head.2.weight"].shape[0])
    net = NatureQNetwork(n_actions, cfg.frame_stack)
    net.load_state_dict(q)
    return net.to(device).eval(), cfg, meta
