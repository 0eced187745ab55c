"""dqn: deep Q-networks that learn Atari games from pixels (Mnih et al. 2015, Nature)."""

from deepgallery.core.app import App, Headline, Output, Param

APP = App(
    id="dqn",
    title="Deep Q-network plays Atari",
    paper="Mnih et al. 2015, Human-level control through deep reinforcement learning (Nature)",
    paper_url="https://www.nature.com/articles/nature14236",
    summary="An agent that learns Breakout, Pong and the other Atari games from the screen pixels and the score "
            "alone: the Nature DQN (replay memory, target network, 84x84x4 input), over the ALE emulator.",
    status="built",
    extra="rl",
    entry="deepgallery.apps.dqn.entry",
    inputs=(
        Param("game", "choice", "the Atari game (shipped agents)", default="Pong", choices=("Pong", "Breakout")),
        Param("episodes", "int", "games to play (the first is recorded)", default=1, minimum=1, maximum=10, step=1),
        Param("format", "choice", "recording format", default="gif", choices=("gif", "mp4")),
    ),
    outputs=(
        Output("video", "video", "one game played by the agent, score drawn on the frames"),
        Output("score", "text", "mean game score over the episodes (epsilon = 0.05, as in the paper)"),
        Output("scores", "json", "score of each episode"),
        Output("human_normalized", "text", "100 * (agent - random) / (human - random), Nature's numbers"),
    ),
    checkpoints=("pong", "breakout"),
    headline=Headline("pong_eval_score", "Pong score (ε = 0.05)", "18.9", "{:.1f}"),
)
