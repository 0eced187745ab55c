"""Seeding, device choice, mixed precision, torch threads and progress bars: what every run and training loop needs."""

from __future__ import annotations

import contextlib
import os
import random
import sys
from collections.abc import Iterable
from typing import TypeVar

import numpy as np

from .errors import UserError

T = TypeVar("T")
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) for reproducible runs."""
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


def add_precision_arg(parser, default: str = "auto", why: str = "") -> None:
    """The shared `--precision auto|fp32|bf16` flag; `why` says why the default is what it is (a measurement)."""
    parser.add_argument("--precision", default=default, choices=PRECISION_CHOICES,
                        help="arithmetic: auto = bfloat16 autocast on a CUDA GPU, float32 elsewhere; fp32; bf16 "
                             f"(default: {default}{'; ' + why if why else ''})")
