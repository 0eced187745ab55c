"""The bookkeeping every training loop repeats, written once: `Steps`.

A loop keeps its own batches, losses and schedule; `Steps` counts the steps from where a resumed checkpoint
stopped, draws the progress bar on rank 0, keeps the losses and their running mean, saves every `save_every`
steps and at the last one (rank 0 writes, every process waits at a barrier), saves the steps still unsaved when
the loop ends early (a time box), and, on Ctrl-C or SIGTERM, saves them once on rank 0 before the interrupt goes on
(no barrier there: the other processes are stopping too)::

    meta = checkpoint.resume(state, net, opt, same={...})
    with Steps(total, ctx, lambda s: checkpoint.save(state, ..., meta={"step": s.step, "seconds": s.seconds,
                                                                       "loss": s.mean()}),
               meta=meta, save_every=cfg.save_every, desc="train", log=log) as steps:
        for step in steps:              # or, over a data loader: for epoch, batch in steps.epochs(loader, n):
            loss = ...; opt.step()
            steps.done(loss.item())     # count it, show it, save when it is time
    return Result(net, steps.losses, steps.step, steps.seconds)

`save` is called with the `Steps` itself (``s.step``, ``s.seconds``, ``s.loss``: the running mean at this save,
``s.mean(n)``); it runs on rank 0 only. With ``shared_loss=True`` the regular saves record the running mean averaged
over the processes (a collective every process joins, as they all pass the save); the interrupt save, which has no
collective, records rank 0's own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .distributed import Dist, barrier, set_epoch
from .distributed import mean as mean_over_processes
from .runtime import progress, stop_signals


class Steps:
    """Step counter, progress bar, running loss and checkpoint timing of one training loop (see the module doc).

    total: the step to stop at. ctx: where this process stands (rank 0 saves, logs and draws). save: writes the
    checkpoint from this object (None: nothing is saved). meta: what `checkpoint.resume` returned (None: a fresh
    start), giving the first step and the seconds already spent; or `start` for the first step. save_every: steps
    between checkpoints (0: only at the end). window: the losses the bar's running mean covers; label and fmt: how
    the bar shows it. log: where the `resumed` line ("resuming from step N") and the interrupt line go (rank 0).
    shared_loss: the regular saves record the running mean over all processes (`loss`).
    """

    def __init__(self, total: int, ctx: Dist | None = None, save: Callable[[Steps], Any] | None = None, *,
                 meta: dict | None = None, start: int = 0, save_every: int = 0, desc: str = "", window: int = 50,
                 label: str = "loss", fmt: str = ".3f", log: Callable[[str], Any] | None = None,
                 resumed: str = "resuming from step {step}", shared_loss: bool = False):
        self.total = int(total)
        self.ctx = ctx or Dist()
        self._save = save
        self.step = int(meta["step"]) if meta else int(start)
        self.start = self.step
        self.saved = self.step  # the step the checkpoint on disk holds
        self.seconds_before = float(meta.get("seconds", 0.0)) if meta else 0.0
        self.save_every = int(save_every)
        self.window, self.label, self.fmt = window, label, fmt
        self.log = log if (log is not None and self.ctx.is_main) else (lambda *_: None)
        self.losses: list[float] = []
        self.loss: float | None = None  # the running mean the checkpoint being written records
        self.shared_loss = shared_loss
        self.stopped = False
        self.t0 = time.time()
        if meta:
            self.log(resumed.format(step=self.step))
        self.bar = progress(total=self.total, initial=self.step, desc=desc, enabled=self.ctx.is_main)
        self._signals = contextlib.ExitStack()

    # ------------------------------------------------------------------------------------------ time and losses

    @property
    def elapsed(self) -> float:
        """Seconds this run has trained (since the `Steps` was made)."""
        return time.time() - self.t0

    @property
    def seconds(self) -> float:
        """Seconds of training in all, the resumed checkpoint's included."""
        return self.seconds_before + self.elapsed

    def mean(self, n: int | None = None) -> float | None:
        """The mean of the last `n` losses of this run (default: the window); None before the first."""
        recent = self.losses[-(n or self.window):]
        return sum(recent) / len(recent) if recent else None

    # ------------------------------------------------------------------------------------------ the loop

    def __enter__(self) -> Steps:
        self._signals.enter_context(stop_signals())  # SIGTERM becomes KeyboardInterrupt, as Ctrl-C is
        return self

    def __iter__(self) -> Iterator[int]:
        """The steps still to take (the step about to be taken), until `total` or `stop()`."""
        while self.step < self.total and not self.stopped:
            yield self.step

    def epochs(self, loader: Iterable, per_epoch: int, on_epoch: Callable[[int], Any] | None = None
               ) -> Iterator[tuple[Any, Any]]:
        """The batches still to train on, epoch after epoch: ``(on_epoch(epoch), batch)`` (or ``(epoch, batch)``).

        A step is one batch and an epoch `per_epoch` steps, so a run resumed at step k starts in epoch
        k // per_epoch, past its first k % per_epoch batches (the loader reshuffled for that epoch first, as
        `distributed.set_epoch`), and the data is what the uninterrupted run saw. Ends at `total` or `stop()`.
        """
        while self.step < self.total and not self.stopped:
            epoch, skip = divmod(self.step, per_epoch)
            set_epoch(loader, epoch)
            state = on_epoch(epoch) if on_epoch is not None else epoch
            for i, batch in enumerate(loader):
                if i >= per_epoch or self.step >= self.total or self.stopped:
                    break
                if i < skip:
                    continue
                yield state, batch

    def done(self, loss: float | None = None, postfix: dict[str, str] | None = None) -> None:
        """One step taken: keep its loss, move the bar (with `postfix`, or the running mean of the loss) and save
        when it is time (every process must call it: the save waits at a barrier)."""
        if loss is not None:
            self.losses.append(float(loss))
        self.step += 1
        self.bar.update(1)
        if postfix is None and loss is not None:
            postfix = {self.label: format(self.mean(), self.fmt)}
        if postfix:
            self.bar.set_postfix(postfix)
        if self.should_save:
            self.save()

    @property
    def should_save(self) -> bool:
        """True at every `save_every`-th step and at the last one (unless just saved)."""
        if self.step == self.saved:
            return False
        return self.step >= self.total or bool(self.save_every and self.step % self.save_every == 0)

    def save(self) -> None:
        """Write the checkpoint now on rank 0; every process must call it (it waits for the others)."""
        self.loss = self.mean()
        if self.shared_loss and self.loss is not None:
            self.loss = mean_over_processes(self.loss, self.ctx)
        if self._save is not None and self.ctx.is_main:
            self._save(self)
        self.saved = self.step
        barrier(self.ctx)

    def stop(self) -> None:
        """End the loop early (e.g. a time box): `for step in steps` ends; the steps not yet saved are saved when
        the `with` block ends."""
        self.stopped = True

    def __exit__(self, kind, exc, tb) -> bool:
        try:
            if kind is not None and issubclass(kind, KeyboardInterrupt):
                if self.ctx.is_main and self._save is not None and self.step != self.saved:
                    self.loss = self.mean()  # this process's: no collective on the way out
                    self._save(self)  # no barrier: the other processes are stopping too
                    self.saved = self.step
                    self.log(f"interrupted: saved at step {self.step}")
            elif kind is None and self.step != self.saved:
                self.save()  # ended early: keep the steps since the last checkpoint
        finally:
            self.bar.close()
            self._signals.close()
        return False
