"""dqn: preprocessing shapes, frame-deduplicated replay, a learning Q-update, CLI errors, evaluation, recording."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytest.importorskip("ale_py")

from deepgallery.apps.dqn.agent import Agent, epsilon, native_bf16  # noqa: E402
from deepgallery.apps.dqn.atari import AtariEnv, FrameStack, VectorAtari, resolve_game  # noqa: E402
from deepgallery.apps.dqn.config import FAST, NATURE  # noqa: E402
from deepgallery.apps.dqn.model import DeepMindRMSprop, NatureQNetwork  # noqa: E402
from deepgallery.apps.dqn.replay import ReplayMemory  # noqa: E402
from deepgallery.apps.dqn.scores import human_normalized  # noqa: E402
from deepgallery.core.errors import UserError  # noqa: E402


def test_preprocessing_shapes_and_lives():
    env = AtariEnv("breakout", seed=0)
    f = env.reset()
    assert f.shape == (84, 84) and f.dtype == np.uint8
    assert env.n_actions == 4 and env.lives == 5
    r = env.step(1)
    assert r.frame.shape == (84, 84) and not r.game_over
    stack = FrameStack(1)
    stack.restart(0, f)
    stack.push(r.frame[None])
    assert stack.obs.shape == (1, 4, 84, 84)
    assert (stack.obs[0, 0] == f).all() and (stack.obs[0, 3] == r.frame).all()
    # max over the last two frames: the observation is at least as bright as the plain last frame
    last = np.empty((210, 160), np.uint8)
    env.ale.getScreenGrayscale(last)
    assert (np.maximum(env._raw[0], env._raw[1]) >= last).all()


def test_vector_env_resets_and_workers_match():
    kw = dict(frame_skip=4, noop_max=0, max_episode_steps=30)
    outs = []
    for workers in (0, 2):
        with VectorAtari("pong", 2, seed=3, workers=workers, **kw) as venv:
            venv.reset()
            frames = [venv.step(np.array([0, 1])) for _ in range(31)]
            outs.append(frames)
    a, b = outs
    assert all((x.frames == y.frames).all() for x, y in zip(a, b, strict=True))  # processes change nothing
    assert a[29].truncated.all() and len(a[29].episode_returns) == 2  # truncated at 30 steps, reset done
    assert a[29].reset_frames.shape == (2, 84, 84)


def _reference_run(n_steps, E, rng):
    """Feed a replay memory with frames that carry their own id; return it and a record of the true stacks."""
    mem = ReplayMemory(capacity=E * 40, num_envs=E, m=4)
    ident = 0
    stacks = np.zeros((E, 4), np.int64)  # ids of the frames in each acting stack

    def frame(i):
        return np.full((84, 84), i % 256, np.uint8), i

    first = []
    for e in range(E):
        ident += 1
        first.append(frame(ident)[0])
        stacks[e] = ident
    mem.start(np.stack(first))
    transitions = {}  # (e, id of next frame) -> (ids of s, ids of s', action, done)
    for _ in range(n_steps):
        actions = rng.integers(0, 4, E)
        nxt = np.zeros((E, 84, 84), np.uint8)
        ids = []
        for e in range(E):
            ident += 1
            nxt[e], i = frame(ident)
            ids.append(i)
        lost = rng.random(E) < 0.05
        over = rng.random(E) < 0.05
        mem.add(nxt, actions, np.ones(E), lost | over, lost & ~over)
        for e in range(E):
            s = stacks[e].copy()
            stacks[e] = np.r_[stacks[e][1:], ids[e]]
            if lost[e] and not over[e]:
                stacks[e] = ids[e]
            transitions[(e, ids[e] % 256)] = (s % 256, stacks[e] % 256, actions[e], lost[e] or over[e])
        ended = np.flatnonzero(over)
        if len(ended):
            starts = []
            for e in ended:
                ident += 1
                starts.append(frame(ident)[0])
                stacks[e] = ident
            mem.start(np.stack(starts), ended)
    return mem, transitions


def test_replay_stores_each_frame_once_and_rebuilds_stacks():
    rng = np.random.default_rng(0)
    mem, transitions = _reference_run(300, 3, rng)  # wraps the 40-slot rings several times
    assert mem.frames.shape == (3, 40, 84, 84)  # one frame per slot: no stacked duplicates
    s, a, r, done, s2 = mem.sample(256)
    assert s.shape == (256, 4, 84, 84) and s.dtype == torch.uint8
    for k in range(256):
        nxt_id = int(s2[k, -1, 0, 0])
        e_candidates = [key for key in transitions if key[1] == nxt_id]
        ok = any((transitions[key][0] == s[k, :, 0, 0].numpy()).all()
                 and (transitions[key][1] == s2[k, :, 0, 0].numpy()).all()
                 and transitions[key][2] == int(a[k]) and transitions[key][3] == bool(done[k])
                 for key in e_candidates)
        assert ok, f"sample {k} does not match any real transition"


def test_q_update_reduces_td_error():
    torch.manual_seed(0)
    cfg = FAST.with_(batch_size=16, optimizer="adam", lr=1e-3)
    agent = Agent(n_actions=3, cfg=cfg, device=torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    s = torch.randint(0, 256, (16, 4, 84, 84), dtype=torch.uint8, generator=g)
    s2 = torch.randint(0, 256, (16, 4, 84, 84), dtype=torch.uint8, generator=g)
    a = torch.randint(0, 3, (16,), generator=g)
    r = torch.randn(16, generator=g).sign()
    done = torch.rand(16, generator=g) < 0.3
    batch = (s, a, r, done, s2)
    with torch.no_grad():
        before = float(agent.td_loss(*batch))
    for _ in range(30):
        agent.update(batch)
    with torch.no_grad():
        after = float(agent.td_loss(*batch))
    assert after < 0.5 * before


def test_deepmind_rmsprop_matches_formula():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = DeepMindRMSprop([p], lr=0.1, decay=0.95, eps=0.01)
    p.grad = torch.tensor([0.5, 1.0])
    opt.step()
    g, n = 0.05 * p.grad, 0.05 * p.grad**2
    expected = torch.tensor([1.0, -2.0]) - 0.1 * p.grad / torch.sqrt(n - g * g + 0.01)
    assert torch.allclose(p.data, expected)


def test_network_shapes_and_config():
    net = NatureQNetwork(6)
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 6)
    assert sum(p.numel() for p in net.parameters()) == 1_687_206
    assert NATURE.replay_bytes() == 1_000_000 * (84 * 84 + 7)
    assert epsilon(NATURE, 0) == 1.0 and epsilon(NATURE, 500_000) == pytest.approx(0.55)
    assert epsilon(NATURE, 10**8) == pytest.approx(0.1)


def test_precision_auto_picks_bf16_only_on_cpus_with_bf16_instructions(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t: fpu sse2 avx2 avx512f avx512bw\n")
    assert not native_bf16(torch.device("cpu"), str(info))  # bf16 would be emulated: slower
    info.write_text("flags\t: fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert native_bf16(torch.device("cpu"), str(info))
    assert not native_bf16(torch.device("cuda"), str(info))  # GPUs keep fp32 under auto
    assert not native_bf16(torch.device("cpu"), str(tmp_path / "absent"))


def test_game_names_and_scores():
    assert resolve_game("Breakout") == "breakout"
    assert resolve_game("SpaceInvaders") == "space_invaders"
    assert resolve_game("ALE/Pong-v5") == "pong"
    with pytest.raises(UserError, match="Did you mean Breakout"):
        resolve_game("Breakoutt")
    assert human_normalized("pong", 9.3) == pytest.approx(100.0)
    assert human_normalized("breakout", 1.7) == pytest.approx(0.0)


def test_cli_bad_inputs_exit_2(run_cli):
    code, _, err = run_cli("train", "dqn", "--game", "Breakot")
    assert code == 2 and "Did you mean Breakout" in err and "Traceback" not in err
    code, _, err = run_cli("run", "dqn", "--game", "Asterix")
    assert code == 2 and "no shipped checkpoint" in err
    code, _, err = run_cli("run", "dqn", "--game", "Pong", "--record", "out.avi.txt")
    assert code == 2 and ".mp4 or .gif" in err


def test_cli_refuses_replay_memory_that_does_not_fit(tmp_path, run_cli):
    run_dir = tmp_path / "run"
    code, _, err = run_cli("train", "dqn", "--game", "Pong", "--replay-size", "900000000", "--run-dir", run_dir,
                           "--device", "cpu")
    assert code == 2 and "--replay-size" in err and "GB" in err
    assert not run_dir.exists()  # nothing written


def test_final_epsilon_out_of_range_is_one_line(tmp_path, run_cli):
    code, _, err = run_cli("train", "dqn", "--game", "Pong", "--final-epsilon", "1.5", "--run-dir", tmp_path / "r",
                           "--device", "cpu")
    assert code == 2 and "--final-epsilon" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv, flag", [
    (("train", "dqn", "--steps", "0"), "--steps"),
    (("train", "dqn", "--steps", "many"), "--steps"),
    (("train", "dqn", "--lr", "0"), "--lr"),
    (("train", "dqn", "--lr", "nan"), "--lr"),
    (("train", "dqn", "--minutes", "-1"), "--minutes"),
    (("train", "dqn", "--workers", "-1"), "--workers"),
    (("train", "dqn", "--num-envs", "0"), "--num-envs"),
    (("run", "dqn", "--eps", "1.5"), "--eps"),
    (("run", "dqn", "--episodes", "0"), "--episodes"),
    (("run", "dqn", "--max-steps", "-3"), "--max-steps"),
    (("train", "dqn", "--sticky-actions", "1.5"), "--sticky-actions"),
    (("run", "dqn", "--sticky-actions", "-0.1"), "--sticky-actions"),
])
def test_bad_numbers_are_one_line(run_cli, argv, flag):
    code, _, err = run_cli(*argv)
    assert code == 2 and len(err.splitlines()) == 1 and flag in err and "Traceback" not in err


def test_train_flags_reach_the_config(tmp_path, monkeypatch, run_cli):
    import deepgallery.apps.dqn.train as train_module

    seen = {}

    def fake_train(cfg, opts):
        seen.update(cfg=cfg, opts=opts)
        return {"step": 0, "final": None}

    monkeypatch.setattr(train_module, "train", fake_train)
    code, _, _ = run_cli("train", "dqn", "--game", "Pong", "--preset", "fast", "--final-epsilon", "0.05",
                         "--keep-evaluated", "--lr", "3e-5", "--run-dir", tmp_path, "--device", "cpu")
    assert code in (0, None)
    assert seen["cfg"].eps_final == 0.05 and seen["cfg"].lr == 3e-5 and seen["opts"].keep_evaluated
    assert seen["opts"].device == torch.device("cpu") and seen["opts"].replay_device == torch.device("cpu")
    # counts may be written as the paper's tables do (2e6), as before the flags moved to core.config.number
    code, _, _ = run_cli("train", "dqn", "--game", "Pong", "--steps", "2e6", "--learning-starts", "5e4",
                         "--run-dir", tmp_path, "--device", "cpu")
    assert code in (0, None) and seen["cfg"].total_steps == 2_000_000 and seen["cfg"].learning_starts == 50_000
    # every flag comes from DQNConfig: unset ones keep the picked preset's values, set ones replace them
    code, _, _ = run_cli("train", "dqn", "--game", "Pong", "--preset", "fast", "--gamma", "0.9", "--target-update",
                         "500", "--run-dir", tmp_path, "--device", "cpu", "--precision", "fp32")
    assert code in (0, None)
    assert seen["cfg"] == FAST.with_(game="pong", gamma=0.9, target_update=500)


def test_run_device_reaches_the_network(monkeypatch, run_cli):
    """`run --device cpu` is the device the shipped network is loaded onto and evaluated on."""
    from deepgallery.apps.dqn import model

    devices = []
    real = model.load_policy

    def spy(game, path, device):
        devices.append(device)
        return real(game, path, device)

    monkeypatch.setattr(model, "load_policy", spy)
    code, out, _ = run_cli("run", "dqn", "--game", "Pong", "--episodes", "1", "--max-steps", "10", "--device", "cpu")
    assert code in (0, None) and "Pong: mean score" in out
    assert devices == [torch.device("cpu")]


def test_train_resumes_and_writes_curve(tmp_path):
    from deepgallery.apps.dqn.train import RunOptions, train

    cfg = FAST.with_(game="pong", total_steps=240, learning_starts=120, replay_size=600, num_envs=2,
                     eval_max_steps=20, target_update=40)
    cpu = torch.device("cpu")
    opts = RunOptions(run_dir=tmp_path, device=cpu, replay_device=cpu, eval_every=200, eval_episodes=1,
                      log_every=100, final_eval=False)
    first = train(cfg, opts)
    assert first["step"] == 240
    assert (tmp_path / "checkpoint.safetensors").is_file() and (tmp_path / "curve.png").is_file()
    assert (tmp_path / "best.safetensors").is_file()  # the evaluation at step 200 saved a policy
    assert not (tmp_path / "evals").exists()
    opts.keep_evaluated, opts.eval_every = True, 50
    again = train(cfg.with_(total_steps=300, lr=5e-5), opts)  # same folder: resumes at 240
    assert again["step"] == 300
    kept = json.loads((tmp_path / "evals" / "step_250.json").read_text())  # evaluations at 250 and 300 kept
    assert kept["meta"]["step"] == 250 and (tmp_path / "evals" / "step_300.safetensors").is_file()
    saved = json.loads((tmp_path / "checkpoint.json").read_text())
    assert saved["optimizer"]["param_groups"][0]["lr"] == 5e-5  # the resumed run's --lr, not the saved one
    lines = (tmp_path / "curve.csv").read_text().splitlines()
    assert lines[0].startswith("step,") and [ln.split(",")[0] for ln in lines[1:]] == ["100", "200", "250", "300"]


def test_shipped_agent_records_and_scores(tmp_path):
    from deepgallery.apps.dqn.evaluate import evaluate
    from deepgallery.apps.dqn.model import load_policy
    from deepgallery.apps.dqn.record import record

    net, cfg, meta = load_policy("pong", None, torch.device("cpu"))
    assert cfg.game == "pong" and meta["step"] > 900_000
    out = tmp_path / "pong.gif"
    score = record(net, cfg, out, max_steps=30, every=2, scale=1, fps=7.5)
    assert out.stat().st_size > 1000 and score <= 0  # nobody scores in the first 30 steps
    scores = evaluate(net, cfg, episodes=2, max_steps=30)
    assert len(scores) == 2


def test_load_policy_reaches_checkpoints_by_name_and_run_folders(tmp_path):
    """The shipped agents are found through APP.checkpoint(name); a run folder gives its best policy, and a
    policy of another game is refused in one line."""
    from deepgallery.apps.dqn import APP
    from deepgallery.apps.dqn.model import load_policy
    from deepgallery.apps.dqn.train import save_policy
    from deepgallery.core import checkpoint

    net, cfg, _ = load_policy("breakout", None, torch.device("cpu"))
    assert cfg.game == "breakout" and net.n_actions == 4 and not net.training
    tensors, _, _ = checkpoint.load(APP.checkpoint("breakout"))
    assert all(v.dtype == torch.float16 for v in tensors.values())  # shipped in float16
    agent = Agent(n_actions=6, cfg=FAST.with_(game="pong"), device=torch.device("cpu"))
    save_policy(tmp_path / "best", agent, agent.cfg, {"step": 7})
    saved, _, meta = checkpoint.load(tmp_path / "best")
    assert meta["step"] == 7 and meta["n_actions"] == 6 and all(v.dtype == torch.float16 for v in saved.values())
    net, cfg, meta = load_policy("pong", tmp_path, torch.device("cpu"))  # the run folder: its best
    assert meta["step"] == 7 and torch.equal(net.head[2].weight, agent.q.head[2].weight.half().float())
    with pytest.raises(UserError, match="is a Pong agent, not Breakout"):
        load_policy("breakout", tmp_path, torch.device("cpu"))


# ------------------------------------------------------------------------------------------ sticky actions
def _repeat_rate(env: AtariEnv, frames: int = 600, seed: int = 0) -> float:
    """How often `env`'s emulator played the previous action instead of the one asked for, frame by frame.

    Before each frame a non-sticky twin, restored to the same state, plays the asked action and the previous
    one; whichever outcome (RAM and screen) the sticky emulator shows is the action it really played. Frames
    where the two outcomes coincide, or where the previous action is itself unknown, are not counted.
    """
    twin = AtariEnv(env.game, seed=seed)
    env.reset()
    rng = np.random.default_rng(seed)
    previous = {0}  # the actions the emulator may have played last (reset ends on no-ops)
    repeated = fresh = 0

    def outcome(ale):
        return ale.getRAM().tobytes() + ale.getScreen().tobytes()

    for _ in range(frames):
        a = int(rng.integers(env.n_actions))
        state = env.ale.cloneState()
        outcomes = {}
        for b in previous | {a}:
            twin.ale.restoreState(state)
            twin.ale.act(env.actions[b])
            outcomes[b] = outcome(twin.ale)
        env.ale.act(env.actions[a])
        seen = outcome(env.ale)
        played = {b for b, o in outcomes.items() if o == seen}
        assert played, "the emulator played neither the asked nor the previous action"
        if len(previous) == 1 and a not in previous and len(played) == 1:
            repeated += played != {a}
            fresh += played == {a}
        previous = played
        assert not env.ale.game_over()
    assert repeated + fresh > 200  # enough informative frames to measure a rate
    return repeated / (repeated + fresh)


def test_sticky_actions_repeat_the_previous_action_with_their_probability():
    """AtariEnv(sticky_actions=p) reaches ALE: each emulator frame keeps the previous action with probability p
    (Machado et al. 2018's p = 0.25), and never does without it."""
    assert _repeat_rate(AtariEnv("pong", seed=0)) == 0.0
    sticky = AtariEnv("pong", seed=0, sticky_actions=0.25)
    assert sticky.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    assert 0.18 < _repeat_rate(sticky) < 0.34  # ~290 informative frames: 0.25 +- 3 standard errors


def test_sticky_actions_reach_training_and_evaluation_emulators(tmp_path, monkeypatch, run_cli):
    """`train --sticky-actions` reaches the config and the training emulators; `run --sticky-actions` the
    evaluation emulators of a shipped agent (trained without)."""
    import deepgallery.apps.dqn.evaluate as evaluate_module
    import deepgallery.apps.dqn.train as train_module

    seen = {}
    monkeypatch.setattr(train_module, "train", lambda cfg, opts: seen.update(cfg=cfg) or {"step": 0, "final": None})
    code, out, _ = run_cli("train", "dqn", "--game", "Pong", "--sticky-actions", "0.25", "--run-dir", tmp_path,
                           "--device", "cpu")
    assert code in (0, None) and seen["cfg"].sticky_actions == 0.25 and "sticky actions 0.25" in out
    run_cli("train", "dqn", "--game", "Pong", "--run-dir", tmp_path, "--device", "cpu")
    assert seen["cfg"].sticky_actions == 0.0  # the default: Nature's emulator

    with VectorAtari("pong", 2, seed=0, sticky_actions=0.25) as v:  # what train.py builds from the config
        assert [e.ale.getFloat("repeat_action_probability") for e in v._shards[0].envs] == [0.25, 0.25]

    probabilities = []

    class Spy(AtariEnv):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            probabilities.append(self.ale.getFloat("repeat_action_probability"))

    monkeypatch.setattr(evaluate_module, "AtariEnv", Spy)
    code, out, _ = run_cli("run", "dqn", "--game", "Pong", "--episodes", "2", "--max-steps", "5",
                           "--sticky-actions", "0.25", "--device", "cpu")
    assert code in (0, None) and "sticky actions 0.25" in out
    assert probabilities == [pytest.approx(0.25)] * 2
    probabilities.clear()
    run_cli("run", "dqn", "--game", "Pong", "--episodes", "1", "--max-steps", "5", "--device", "cpu")
    assert probabilities == [0.0]  # the shipped agent's own setting: Nature's protocol


def test_train_loop_builds_its_emulators_with_the_configs_sticky_actions(tmp_path, monkeypatch):
    import deepgallery.apps.dqn.train as train_module

    class Built(Exception):
        pass

    def spy(game, num_envs, **kw):
        raise Built(kw["sticky_actions"])

    monkeypatch.setattr(train_module, "VectorAtari", spy)
    cfg = FAST.with_(game="pong", total_steps=100, learning_starts=10, replay_size=100, sticky_actions=0.25)
    cpu = torch.device("cpu")
    with pytest.raises(Built, match="0.25"):
        train_module.train(cfg, train_module.RunOptions(run_dir=tmp_path, device=cpu, replay_device=cpu))


@pytest.mark.parametrize("quick, episodes", [(True, 2), (False, 30)])
def test_bench_reports_sticky_scores_beside_natures(monkeypatch, quick, episodes):
    """The bench's two protocols: the same evaluation, the same episode count, sticky actions 0 and 0.25."""
    from deepgallery.apps.dqn import bench as bench_module

    calls = []

    def fake_evaluate(net, cfg, episodes, seed):
        calls.append((cfg.game, cfg.sticky_actions, episodes, seed))
        return [100 * cfg.sticky_actions + (1 if cfg.game == "pong" else 2)] * episodes

    monkeypatch.setattr(bench_module, "evaluate", fake_evaluate)
    monkeypatch.setattr(bench_module, "sps_ours", lambda s, bf16=False: 200.0 if bf16 else 150.0)
    monkeypatch.setattr(bench_module, "sps_sb3", lambda s: 100.0)
    out = bench_module.bench(quick=quick)
    m = out["metrics"]
    assert m["pong_eval_score"] == 1 and m["breakout_eval_score"] == 2
    assert m["pong_eval_score_sticky"] == 26 and m["breakout_eval_score_sticky"] == 27
    assert sorted(calls) == sorted([(g, p, episodes, 0) for g in ("pong", "breakout") for p in (0.0, 0.25)])
    assert out["config"]["eval_episodes"] == episodes and out["config"]["sticky_actions"] == 0.25
    assert bench_module.sticky_scores(quick)["metrics"] == {"pong_eval_score_sticky": 26,
                                                            "breakout_eval_score_sticky": 27}


def test_merge_tool_copies_only_the_named_metrics_with_their_command(tmp_path):
    """tools/dqn_merge_metrics.py: measured numbers are copied from a bench record, never typed, with provenance;
    a record of another budget is refused."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "dqn_merge_metrics.py"
    spec = importlib.util.spec_from_file_location("dqn_merge_metrics", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    measured = {"app": "dqn", "quick": True, "metrics": {"sps": 1.0, "pong_eval_score": 16.5},
                "config": {"eval_episodes": 2}}
    source = {"app": "dqn", "quick": True, "date": "d", "machine": "m", "seconds": 3.0,
              "metrics": {"sps": 9.0, "pong_eval_score_sticky": 4.5, "breakout_eval_score_sticky": 20.0},
              "config": {"eval_episodes": 2, "sticky_actions": 0.25}}
    merged = tool.merge(measured, source, tool.STICKY_METRICS, "deepgallery bench dqn --quick --json x.json")
    assert merged["metrics"] == {"sps": 1.0, "pong_eval_score": 16.5, "pong_eval_score_sticky": 4.5,
                                 "breakout_eval_score_sticky": 20.0}  # sps not taken from the loaded machine
    entry = merged["config"]["merged"][0]
    assert entry["command"] == "deepgallery bench dqn --quick --json x.json" and entry["config"]["eval_episodes"] == 2
    assert entry["not_merged"] == {"sps": 9.0}  # kept beside, for comparison only
    assert measured["metrics"] == {"sps": 1.0, "pong_eval_score": 16.5}  # the input is left alone
    again = tool.merge(merged, source, tool.STICKY_METRICS, "again")
    assert [e["command"] for e in again["config"]["merged"]] == ["again"]  # replaced, not duplicated
    with pytest.raises(UserError, match="same budget"):
        tool.merge(measured, {**source, "quick": False}, tool.STICKY_METRICS, "c")
    with pytest.raises(UserError, match="has no"):
        tool.merge(measured, source, ("nope",), "c")
    (tmp_path / "measured.json").write_text(json.dumps(measured))
    (tmp_path / "src.json").write_text(json.dumps(source))
    assert tool.main(["--from", str(tmp_path / "src.json"), "--app-dir", str(tmp_path)]) == 2  # --command needed
    assert tool.main(["--from", str(tmp_path / "src.json"), "--command", "c", "--app-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "measured.json").read_text())["metrics"]["pong_eval_score_sticky"] == 4.5


def test_readme_numbers_block_is_built_from_measured_json():
    """The README's paper / peer / ours table is what tools/dqn_merge_metrics.py builds from measured.json: no
    "ours" number typed by hand (rebuild with `python tools/dqn_merge_metrics.py --readme`)."""
    import importlib.util
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("dqn_merge_metrics", root / "tools" / "dqn_merge_metrics.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    app = root / "deepgallery" / "apps" / "dqn"
    block = re.search(r"<!-- measured:begin -->\n(.*?)\n<!-- measured:end -->",
                      (app / "README.md").read_text(encoding="utf-8"), re.S).group(1)
    measured = json.loads((app / "measured.json").read_text(encoding="utf-8"))
    assert block == tool.readme_block(measured)
    assert "pong_eval_score_sticky" in measured["metrics"] and "breakout_eval_score_sticky" in measured["metrics"]
