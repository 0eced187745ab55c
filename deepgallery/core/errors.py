"""User-facing errors: the CLI prints their message on one line and exits non-zero, no traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A mistake the user can fix (bad input, missing asset, invalid number). Message says what to do."""


def closest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """The valid names closest to `name` (case-insensitive), best first."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    prefix = [c for c in choices if c.lower().startswith(name.lower()) and c.lower() not in hits]
    return [lowered[h] for h in hits] + prefix[: max(0, n - len(hits))]


def unknown_name_error(kind: str, name: str, choices: Iterable[str]) -> UserError:
    """A UserError for an unknown name, suggesting the closest valid ones."""
    choices = list(choices)
    near = closest(name, choices)
    hint = f" Did you mean {', '.join(repr(c) for c in near)}?" if near else ""
    listing = ", ".join(choices) if len(choices) <= 30 else f"{len(choices)} names"
    return UserError(f"unknown {kind} {name!r}.{hint} Valid: {listing}")


def check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    """Reject negative (and optionally zero) numbers with a clear message."""
    if value != value or (value < 0 or (value == 0 and not allow_zero)):  # value != value catches NaN
        bound = ">= 0" if allow_zero else "> 0"
        raise UserError(f"{name} must be {bound}, got {value}")
    return value
