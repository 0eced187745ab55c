"""The agent's hyperparameters as one typed dataclass: the paper's (Nature, Extended Data Table 1) and a faster preset.

Counts are in *agent steps* (one step = one action repeated for `frame_skip` = 4 emulator frames), as in
DeepMind's released code, where "frames" in Table 1 are agent steps. Nature trains for 50M such steps.

The fields made with `option` are also `train dqn`'s flags, their defaults those of the preset picked (entry.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from deepgallery.core.config import option

FRAME_BYTES = 84 * 84  # one preprocessed uint8 frame


def whole(text: str) -> int:
    """A count, also written as 2e6 or 2000000.0 (read as float, then truncated to a whole number)."""
    try:
        return int(float(text))
    except OverflowError:  # "inf"
        raise ValueError(text) from None


@dataclass(frozen=True)
class DQNConfig:
    # --- environment and preprocessing (Methods, "Preprocessing" and "Training details") ---
    game: str = "breakout"  # ALE ROM id, e.g. "breakout", "pong", "space_invaders"
    frame_skip: int = 4  # k: the agent sees and acts on every 4th frame; its action repeats in between
    frame_stack: int = 4  # m: the Q-network input is the last 4 preprocessed frames
    noop_max: int = 30  # episodes start after a random 0..30 "do nothing" actions
    terminal_on_life_loss: bool = True  # a lost life ends the transition's bootstrapping (learning only)
    clip_rewards: bool = True  # rewards clipped to {-1, 0, +1} for learning
    max_episode_steps: int = 27_000  # 108k frames (30 min) cap on a training episode; not in the paper
    sticky_actions: float = option(
        0.0, "ALE repeat_action_probability: every emulator frame keeps the previous action with probability P, in "
             "training and its evaluations (Nature: 0; Machado et al. 2018 and ALE v5: 0.25)",
        minimum=0, maximum=1, metavar="P")
    # --- learning (Extended Data Table 1) ---
    total_steps: int = option(50_000_000, "agent steps of training (x4 frames)", flag="--steps", parse=whole,
                              minimum=1)
    batch_size: int = option(32, "minibatch size of each SGD update", parse=whole, minimum=1)
    replay_size: int = option(1_000_000, "replay memory N, in transitions (7.06 kB each)", parse=whole, minimum=1)
    learning_starts: int = option(50_000, "replay start size: uniform-random policy steps before learning",
                                  parse=whole, minimum=1)
    train_every: int = option(4, "update frequency: agent steps between SGD updates", parse=whole, minimum=1)
    target_update: int = option(10_000, "agent steps between copies of Q into the target network Q^", parse=whole,
                                minimum=1)
    gamma: float = option(0.99, "discount factor", minimum=0, maximum=1)
    optimizer: Literal["rmsprop", "adam"] = option("rmsprop", "the optimiser (the paper: RMSProp)")
    lr: float = option(0.00025, "learning rate", minimum=0, allow_zero=False)
    rms_decay: float = 0.95  # RMSProp gradient and squared-gradient momentum
    rms_eps: float = 0.01  # RMSProp min squared gradient (added inside the square root)
    adam_eps: float = 1.5e-4  # Adam epsilon (only for optimizer="adam")
    eps_start: float = 1.0  # initial exploration
    eps_final: float = option(0.1, "exploration epsilon at the end of its linear decay (the paper: 0.1)",
                              flag="--final-epsilon", minimum=0, maximum=1, metavar="EPS")
    eps_decay_steps: int = option(1_000_000, "agent steps over which epsilon falls linearly", parse=whole,
                                  minimum=1)
    # --- evaluation (Methods, "Evaluation procedure") ---
    eval_eps: float = 0.05  # epsilon of the evaluation policy
    eval_episodes: int = 30  # episodes per evaluation (the paper: 30)
    eval_max_steps: int = 4_500  # 5 minutes of emulator time = 18,000 frames = 4,500 agent steps
    # --- our machinery, no effect on the algorithm's definition ---
    num_envs: int = option(1, "emulators stepped together (batched action selection; transitions are "
                               "interleaved)", parse=whole, minimum=1)
    workers: int = option(0, "subprocesses stepping the emulators (0: this process)", minimum=0)
    seed: int = option(1, "weights, exploration and emulators", minimum=0)
    bf16: bool = False  # bfloat16 autocast in the learning update (CPU: ~1.3x faster with AVX512-BF16); not the paper;
    # the CLI's `--precision auto` turns it on where the CPU has bf16 instructions (agent.native_bf16)

    def replay_bytes(self) -> int:
        """Host (or GPU) memory the replay memory needs: one uint8 frame + 7 bytes per transition."""
        return self.replay_size * (FRAME_BYTES + 7)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DQNConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def with_(self, **changes: Any) -> DQNConfig:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


NATURE = DQNConfig()

# A faster recipe (well known for Pong, e.g. Lapan's "Deep RL Hands-On" and SB3's rl-zoo): Adam 1e-4,
# 100k replay, learning from 20k steps, target copy every 1k steps, epsilon to 0.01 over 250k steps,
# 8 emulators. Every change from NATURE is listed in the README's deviations table.
FAST = replace(
    NATURE,
    total_steps=2_000_000,
    replay_size=100_000,
    learning_starts=20_000,
    target_update=1_000,
    optimizer="adam",
    lr=1e-4,
    eps_final=0.01,
    eps_decay_steps=250_000,
    num_envs=8,
)

PRESETS: dict[str, DQNConfig] = {"nature": NATURE, "fast": FAST}
