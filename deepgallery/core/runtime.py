"""Seeding, device choice, mixed precision, torch threads and progress bars: what every run and training loop needs."""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterable
from typing import TypeVar

from .errors import UserError

T = TypeVar("T")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) for reproducible runs."""
    import numpy as np  # here, not at the top: the CLI's parser uses this module and `deepgallery list` stays fast
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def choose_device(name: str = "auto"):
    """`auto` picks cuda, then mps, then cpu; an explicit device that is absent is a UserError."""
    import torch

    if name not in DEVICE_CHOICES:
        raise UserError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise UserError("--device cuda asked for, but PyTorch sees no CUDA GPU; use --device cpu")
    if name == "mps" and not mps:
        raise UserError("--device mps asked for, but this PyTorch has no Apple MPS support; use --device cpu")
    return torch.device(name)


def progress(iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "", enabled: bool = True,
             **kw):
    """A tqdm bar on stderr; silent when DEEPGALLERY_QUIET=1 (tests) or `enabled` is False (e.g. every process
    but the first under torchrun: ``enabled=ctx.is_main``)."""
    from tqdm.auto import tqdm

    quiet = os.environ.get("DEEPGALLERY_QUIET") == "1" or not enabled
    return tqdm(iterable, total=total, desc=desc, disable=quiet, file=sys.stderr, dynamic_ncols=True, **kw)


def add_device_arg(parser, default: str = "auto", why: str = "") -> None:
    """The shared `--device auto|cpu|cuda|mps` flag; `why` says what runs there or why the default is not auto."""
    parser.add_argument("--device", default=default, choices=DEVICE_CHOICES,
                        help=f"where to compute: auto picks cuda, then mps, then cpu{'; ' + why if why else ''} "
                             f"(default: {default})")


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run a block with `n` intra-op torch threads (None or 0: leave as is), restoring the previous count after."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


PRECISION_CHOICES = ("auto", "fp32", "bf16")


def autocast(device, precision: str = "auto"):
    """Mixed precision for a forward pass: bfloat16 autocast on a CUDA GPU under `auto` or `bf16`, float32
    elsewhere under `auto` (so CPU numbers never change unless asked). Returns a context manager."""
    import torch

    device = torch.device(device)
    if precision not in PRECISION_CHOICES:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    enabled = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)


# Why apps that optimise an image through a backbone (style's Gatys, deepdream) default to --precision fp32: the
# measurement, cited by both so it is written once (`add_precision_arg(p, "fp32", IMAGE_OPTIMISATION_PRECISION_WHY)`).
IMAGE_OPTIMISATION_PRECISION_WHY = ("on an H200, bf16 made Gatys at 512 px and DeepDream at 1024 px no faster "
                                    "(bench/gpu_smoke.py)")


def add_precision_arg(parser, default: str = "auto", why: str = "") -> None:
    """The shared `--precision auto|fp32|bf16` flag; `why` says why the default is what it is (a measurement)."""
    parser.add_argument("--precision", default=default, choices=PRECISION_CHOICES,
                        help="arithmetic: auto = bfloat16 autocast on a CUDA GPU, float32 elsewhere; fp32; bf16 "
                             f"(default: {default}{'; ' + why if why else ''})")


@contextlib.contextmanager
def stop_signals():
    """Turn SIGTERM (a scheduler's or `kill`'s stop, and what torchrun sends its workers) into KeyboardInterrupt
    for the block, as Ctrl-C (SIGINT) already is, so a training loop can save on the way out:

        with stop_signals():
            try:
                for step in ...: ...
            except KeyboardInterrupt:
                if ctx.is_main:
                    save(step)  # the steps since the last checkpoint are kept
                raise           # the CLI prints "interrupted" and exits 130

    Outside the main thread (where Python cannot install handlers) the block runs unchanged.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextlib.contextmanager
def quiet_native_logs(verbose: bool = False):
    """Silence the log lines native libraries print straight to stderr (MediaPipe's TensorFlow Lite, absl, glog:
    "Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires ...") for the block, unless `verbose`.

    glog/TF read GLOG_minloglevel and TF_CPP_MIN_LOG_LEVEL when first loaded (set here unless the user set them);
    absl's C++ log ignores them, so the process's file descriptor 2 points to /dev/null in the block while
    Python's own stderr (our messages, tqdm bars, warnings we mean) keeps writing to the real one.
    """
    import io
    import warnings

    if verbose:
        yield
        return
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests): only native writes go to fd 2
        real = False
    sys.stderr.flush()
    saved = os.dup(2)
    python_stderr = sys.stderr
    if real:
        sys.stderr = io.TextIOWrapper(os.fdopen(os.dup(saved), "wb", buffering=0), write_through=True,
                                      encoding=python_stderr.encoding, errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="google.protobuf")
            yield
    finally:
        if real:
            sys.stderr.flush()
            sys.stderr.close()
            sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
