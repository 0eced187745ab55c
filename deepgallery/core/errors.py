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


def check_range(name: str, value: float, minimum: float | None = None, maximum: float | None = None,
                allow_zero: bool = True) -> float:
    """`value` within [minimum, maximum] (and not NaN); `allow_zero=False` makes a minimum of 0 exclusive.
    The one range check: `core.config.number`/`option` flags, the Python API and the apps' own checks use it."""
    if value != value:  # NaN
        raise UserError(f"{name} must be a number, got {value}")
    if minimum is not None and (value < minimum or (value == minimum and not allow_zero)):
        raise UserError(f"{name} must be {'>=' if allow_zero else '>'} {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise UserError(f"{name} must be <= {maximum}, got {value}")
    return value
