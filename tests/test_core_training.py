"""core.training.Steps (the step bookkeeping of every training loop) and core.distributed.run_training."""

from __future__ import annotations

import argparse
import os
import signal
from dataclasses import dataclass

import pytest
import torch

from deepgallery.core import checkpoint, distributed, training
from deepgallery.core.config import option
from deepgallery.core.distributed import Dist
from deepgallery.core.errors import UserError
from deepgallery.core.training import Steps


@pytest.fixture
def barriers(monkeypatch):
    """Counts the barriers a loop waits at (a world of 2 without a process group)."""
    calls: list[int] = []
    monkeypatch.setattr(training, "barrier", lambda ctx: calls.append(1))
    return calls


def run(steps: Steps, stop_at: int | None = None, interrupt_at: int | None = None) -> list[int]:
    seen = []
    with steps:
        for step in steps:
            seen.append(step)
            if interrupt_at is not None and step == interrupt_at:
                raise KeyboardInterrupt
            steps.done(float(step))
            if stop_at is not None and steps.step == stop_at:
                steps.stop()
    return seen


def test_a_resumed_loop_continues_at_the_checkpoint_step_and_counts_its_seconds():
    saved = []
    steps = Steps(10, save=lambda s: saved.append((s.step, s.seconds)), meta={"step": 7, "seconds": 100.0},
                  save_every=5)
    assert run(steps) == [7, 8, 9]
    assert steps.step == 10 and steps.losses == [7.0, 8.0, 9.0]
    assert [s for s, _ in saved] == [10] and saved[0][1] >= 100.0  # the resumed seconds are kept


def test_saves_every_n_steps_and_at_the_last_one_on_rank_0_only(barriers):
    main, other = [], []
    run(Steps(10, Dist(rank=0, world=2), lambda s: main.append(s.step), save_every=4))
    assert main == [4, 8, 10]
    n = len(barriers)
    run(Steps(10, Dist(rank=1, world=2), lambda s: other.append(s.step), save_every=4))
    assert other == [] and len(barriers) - n == n == 3  # rank 1 waits at the same barriers, writes nothing


def test_an_interrupt_saves_the_unsaved_steps_once_and_goes_on(barriers):
    saved = []
    with pytest.raises(KeyboardInterrupt):
        run(Steps(10, Dist(rank=0, world=2), lambda s: saved.append(s.step), save_every=3), interrupt_at=5)
    assert saved == [3, 5] and len(barriers) == 1  # no barrier on the way out
    saved.clear()
    with pytest.raises(KeyboardInterrupt):  # just saved: nothing new to keep
        run(Steps(10, Dist(), lambda s: saved.append(s.step), save_every=3), interrupt_at=6)
    assert saved == [3, 6]
    saved.clear()
    with pytest.raises(KeyboardInterrupt):  # another rank never writes
        run(Steps(10, Dist(rank=1, world=2), lambda s: saved.append(s.step), save_every=3), interrupt_at=5)
    assert saved == []


def test_a_shared_loss_is_averaged_over_the_processes_at_regular_saves_only(barriers, monkeypatch):
    monkeypatch.setattr(training, "mean_over_processes", lambda value, ctx: value + 100.0)  # the others' losses
    recorded = []
    with pytest.raises(KeyboardInterrupt):
        run(Steps(10, Dist(rank=0, world=2), lambda s: recorded.append((s.step, s.loss)), save_every=2, window=2,
                  shared_loss=True), interrupt_at=3)
    assert recorded == [(2, 100.5), (3, 1.5)]  # the mean of losses 0, 1 over the processes; then rank 0's own of 1, 2


def test_sigterm_becomes_an_interrupt_that_saves_and_the_handler_is_restored():
    saved = []
    before = signal.getsignal(signal.SIGTERM)
    steps = Steps(10, save=lambda s: saved.append(s.step), save_every=100)
    with pytest.raises(KeyboardInterrupt), steps:
        for step in steps:
            steps.done(1.0)
            if step == 2:
                os.kill(os.getpid(), signal.SIGTERM)
    assert saved == [3] and signal.getsignal(signal.SIGTERM) is before


def test_stopping_early_saves_the_last_steps_once_at_the_end(barriers):
    saved = []
    assert run(Steps(10, save=lambda s: saved.append(s.step), save_every=4), stop_at=6) == [0, 1, 2, 3, 4, 5]
    assert saved == [4, 6]
    saved.clear()
    run(Steps(10, save=lambda s: saved.append(s.step), save_every=4), stop_at=8)
    assert saved == [4, 8]  # step 8 once, not again at the end


def test_the_running_mean_covers_the_last_window_of_losses():
    steps = Steps(10, window=3)
    assert steps.mean() is None
    for loss in (1.0, 2.0, 3.0, 4.0, 5.0):
        steps.done(loss)
    assert steps.mean() == pytest.approx(4.0) and steps.mean(5) == pytest.approx(3.0)
    assert steps.mean(100) == pytest.approx(3.0)
    steps.bar.close()


class _Loader(list):
    """A loader whose order depends on its epoch, as a DistributedSampler's does."""

    def set_epoch(self, epoch: int) -> None:
        self[:] = sorted(self, key=lambda b: (b * 7 + epoch * 3) % 5)

    @property
    def sampler(self):
        return self


def test_epochs_resume_in_the_middle_of_an_epoch_with_the_batches_an_uninterrupted_run_had():
    def batches(start: int, stop_at: int | None = None) -> list[tuple[int, int]]:
        seen = []
        with Steps(11, start=start) as steps:
            for epoch, batch in steps.epochs(_Loader(range(5)), 4, on_epoch=lambda e: e * 10):
                seen.append((epoch, batch))
                steps.done(0.0)
                if steps.step == stop_at:
                    break
        return seen

    whole = batches(0)
    assert len(whole) == 11 and [e for e, _ in whole] == [0] * 4 + [10] * 4 + [20] * 3  # 4 of the 5 per epoch
    assert [b for _, b in whole[:4]] != [b for _, b in whole[4:8]]  # reshuffled each epoch
    assert batches(0, stop_at=6) + batches(6) == whole


def _fit(path, total: int, interrupt_at: int | None = None) -> torch.nn.Linear:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    meta = checkpoint.resume(path, net, opt)
    x = torch.linspace(-1, 1, 24).view(8, 3)

    def save(s: Steps) -> None:
        checkpoint.save(path, net.state_dict(), {}, meta={"step": s.step, "loss": s.mean()}, optimizer=opt)

    with Steps(total, save=save, meta=meta, save_every=4) as steps:
        for step in steps:
            if step == interrupt_at:
                raise KeyboardInterrupt
            loss = ((net(x * (step + 1)) - 1) ** 2).mean()  # depends on the step: resuming at the wrong one shows
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps.done(loss.item())
    return net


def test_an_interrupted_and_resumed_fit_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    whole = _fit(tmp_path / "whole", 10)
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "split", 10, interrupt_at=6)
    assert checkpoint.load(tmp_path / "split")[2]["step"] == 6
    resumed = _fit(tmp_path / "split", 10)
    assert torch.equal(resumed.weight, whole.weight) and torch.equal(resumed.bias, whole.bias)


@dataclass
class _Config:
    steps: int = option(3, "steps", minimum=1)


def test_run_training_builds_the_config_exports_on_rank_0_and_always_finishes(monkeypatch, capsys):
    finished = []
    monkeypatch.setattr(distributed, "finish", lambda ctx: finished.append(ctx))
    monkeypatch.setattr("sys.argv", ["deepgallery", "train", "toy", "--steps", "5", "--export", "m"])
    parser = argparse.ArgumentParser()
    distributed.add_training_args(parser, _Config, out="runs/toy", data="photos")
    args = parser.parse_args(["--steps", "5", "--export", "m", "--device", "cpu"])
    assert (args.out, args.data, args.steps) == ("runs/toy", None, 5)
    exported = []

    def export(result, path, cfg, command):
        exported.append((result, cfg.steps, path, command))
        return f"{path}.safetensors"

    code = distributed.run_training(args, _Config, lambda cfg, ctx: cfg.steps * 2, export, app="toy",
                                    report=lambda r: print(f"result {r}"))
    assert code == 0 and exported == [(10, 5, "m", "deepgallery train toy --steps 5 --export m")]
    assert capsys.readouterr().out.splitlines() == ["result 10", "model written to m.safetensors"]

    def fails(cfg, ctx):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        distributed.run_training(args, _Config, fails, export, app="toy")
    assert len(finished) == 2 and len(exported) == 1


def test_split_batch_gives_each_process_its_share_or_names_the_flag():
    assert distributed.split_batch(12, Dist(rank=1, world=4), "--batch") == 3
    with pytest.raises(UserError, match=r"^--batch 10 cannot be split evenly over 4 processes; use a multiple of 4$"):
        distributed.split_batch(10, Dist(world=4), "--batch")
