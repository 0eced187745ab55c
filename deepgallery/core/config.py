"""Typed configs that make their own command-line flags, so every flag is declared once.

A config is a dataclass whose fields are made with `option(default, "why", ...)`. `add_config_args` turns
each such field into a flag (``--batch-size``; ints and floats checked against their bounds with a one-line
UserError, booleans as ``--x/--no-x``, ``Literal`` fields as choices) and `config_from_args` builds the
dataclass back from the parsed namespace. Fields made without `option` stay out of the command line.

A field may name its flag (``option(..., flag="--steps")``) and how a number is read (``parse=``, e.g. a count
also written 2e6). A command whose defaults come from elsewhere (a preset the user picks) gives a field the default
`Deferred("why")`: the help says so, and an unset flag leaves the field to the `base` config it is applied to.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import typing
from typing import Any, Literal, TypeVar

from .errors import UserError, check_range  # check_range lives in errors (one range check); importable here too

C = TypeVar("C")


def option(default: Any, help: str, *, minimum: float | None = None, maximum: float | None = None,
           allow_zero: bool = True, flag: str | None = None, parse: typing.Callable[[str], Any] | None = None,
           metavar: str | None = None) -> Any:
    """A config field that is also a flag: its default, one line on what it does, and its bounds if numeric.
    flag: the flag's name where it is not ``--field-name``; parse: reads a number's text where the field's type
    would not (bounds still checked); metavar: the value's name in the help."""
    meta = {"help": help, "minimum": minimum, "maximum": maximum, "allow_zero": allow_zero, "flag": flag,
            "parse": parse, "metavar": metavar}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def number(kind: type, name: str, minimum: float | None = None, maximum: float | None = None,
           allow_zero: bool = True):
    """An argparse type for `kind` (int or float) that turns a bad value into one UserError line (exit 2)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise UserError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        check_range(name, value, minimum, maximum, allow_zero)
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def to_number(name: str, value: Any, kind: str = "float", minimum: float | None = None,
              maximum: float | None = None, text: bool = False) -> int | float:
    """A declared number input (an App `Param` of kind "int" or "float") given as a value, as the Python API and
    the web gallery take it: finite, within [minimum, maximum], an int rounded to the nearest whole number; a bad
    one is one UserError line. `text`: a numeral string is a number too (a web form's field)."""
    x = value
    if text and isinstance(value, str):
        try:
            x = float(value)
        except ValueError:
            pass
    if not isinstance(x, numbers.Real) or isinstance(x, bool):  # NumPy scalars are Real; True is not a number here
        raise UserError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(x):
        raise UserError(f"{name} must be a finite number, got {value!r}")
    check_range(name, x, minimum, maximum)
    return int(round(x)) if kind == "int" else float(x)


class Deferred:
    """A flag's default that is decided after parsing, e.g. by the preset the user picks: the help shows
    ``(default: WHY)`` and `config_from_args` leaves an unset flag's field to its `base`."""

    def __init__(self, why: str):
        self.why = why

    def __repr__(self) -> str:
        return self.why


def _flag(f: dataclasses.Field, prefix: str) -> str:
    if f.metadata.get("flag"):
        return f"--{prefix}{f.metadata['flag'].removeprefix('--')}"
    return f"--{prefix}{f.name.replace('_', '-')}"


def add_config_args(parser: argparse.ArgumentParser, cls: type, prefix: str = "", skip: tuple[str, ...] = (),
                    defaults: dict[str, Any] | None = None) -> None:
    """One flag per `option` field of the dataclass `cls` (``--{prefix}{field-name}``, or the field's own `flag`);
    `defaults` overrides the dataclass defaults for this command (e.g. a shorter quick run, or `Deferred`)."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata or f.name in skip:
            continue
        m = f.metadata
        flag = _flag(f, prefix)
        default = (defaults or {}).get(f.name, f.default if f.default is not dataclasses.MISSING
                                       else f.default_factory())  # type: ignore[misc]
        kind = hints[f.name]
        args = typing.get_args(kind)
        if typing.get_origin(kind) in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            kind = next(a for a in args if a is not type(None))  # `int | None`: the flag takes an int
            args = typing.get_args(kind)
        common = {"dest": f"{prefix.replace('-', '_')}{f.name}", "default": default,
                  "help": f"{m['help']} (default: {default})".replace("%", "%%")}  # argparse %-formats help
        if kind is not bool and typing.get_origin(kind) is not Literal:  # (no value to name / choices shown)
            common["metavar"] = m.get("metavar") or flag.lstrip("-").upper().replace("-", "_")
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **common)
        elif typing.get_origin(kind) is Literal:
            parser.add_argument(flag, choices=args, **common)
        elif kind in (int, float):
            parser.add_argument(flag, type=number(m.get("parse") or kind, flag, m["minimum"], m["maximum"],
                                                  m["allow_zero"]), **common)
        elif typing.get_origin(kind) in (tuple, list):
            item = args[0] if args else str
            parser.add_argument(flag, nargs="+", type=number(m.get("parse") or item, flag, m["minimum"], m["maximum"],
                                                             m["allow_zero"]) if item in (int, float) else item,
                                **common)
        else:
            parser.add_argument(flag, type=kind, **common)


def config_flags(cfg: Any, prefix: str = "", skip: tuple[str, ...] = ()) -> list[str]:
    """The flags that give back `cfg` through `add_config_args` and `config_from_args` (for a checkpoint's record
    of the command that made it): ``--x`` / ``--no-x`` for booleans, several values for a tuple; None is left out."""
    flags: list[str] = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if "help" not in f.metadata or f.name in skip or value is None:
            continue
        flag = _flag(f, prefix)
        if isinstance(value, bool):
            flags.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, (tuple, list)):
            flags += [flag, *map(str, value)]
        else:
            flags += [flag, str(value)]
    return flags


def config_from_args(cls: type[C], args: argparse.Namespace, prefix: str = "", base: C | None = None,
                     **overrides: Any) -> C:
    """The dataclass `cls` from the flags `add_config_args` made. Fields without a flag, and flags left at a
    `Deferred` default, keep their value in `base` (default: the dataclass defaults)."""
    values = {}
    for f in dataclasses.fields(cls):
        dest = f"{prefix.replace('-', '_')}{f.name}"
        if "help" in f.metadata and hasattr(args, dest):
            value = getattr(args, dest)
            if not isinstance(value, Deferred):
                values[f.name] = tuple(value) if isinstance(value, list) else value
    values.update(overrides)
    return dataclasses.replace(base, **values) if base is not None else cls(**values)
