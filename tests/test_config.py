"""core.config: a typed config declares each flag once — type, bounds, choices, help — and comes back whole."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Literal

import pytest

from deepgallery.core.config import (
    Deferred,
    add_config_args,
    check_range,
    config_flags,
    config_from_args,
    number,
    option,
)
from deepgallery.core.errors import UserError


@dataclass
class Toy:
    steps: int = option(100, "optimizer steps", minimum=1)
    lr: float = option(1e-3, "learning rate, decayed to 5 % at the end", minimum=0, allow_zero=False)
    mode: Literal["fast", "paper"] = option("paper", "which recipe")
    amp: bool = option(False, "bfloat16 autocast")
    widths: tuple[int, ...] = option((16, 32), "channels per stage", minimum=1)
    init: str | None = option(None, "start from this checkpoint")
    internal: int = 7  # not a flag


def _parse(*argv, **defaults) -> Toy:
    parser = argparse.ArgumentParser()
    add_config_args(parser, Toy, defaults=defaults or None)
    return config_from_args(Toy, parser.parse_args(list(argv)))


def test_defaults_and_values_come_back_typed():
    assert _parse() == Toy()
    cfg = _parse("--steps", "5", "--lr", "0.5", "--mode", "fast", "--amp", "--widths", "8", "8", "--init", "a/b")
    assert cfg == Toy(steps=5, lr=0.5, mode="fast", amp=True, widths=(8, 8), init="a/b", internal=7)
    assert _parse("--no-amp").amp is False
    assert _parse(steps=3).steps == 3  # a command's own defaults


@pytest.mark.parametrize("cfg", [Toy(), Toy(steps=5, lr=0.5, mode="fast", amp=True, widths=(8, 8), init="a/b")])
def test_recorded_flags_give_the_same_config_back(cfg):
    # a checkpoint records its command with these flags: run again, they must make the same config (a bool
    # written "--amp True" would not parse)
    flags = config_flags(cfg)
    assert _parse(*flags) == cfg
    assert ("--amp" in flags) is cfg.amp and ("--no-amp" in flags) is not cfg.amp
    assert "--internal" not in flags


@pytest.mark.parametrize(("argv", "message"), [
    (("--steps", "0"), "--steps must be >= 1, got 0"),
    (("--steps", "many"), "--steps must be an integer, got 'many'"),
    (("--lr", "0"), "--lr must be > 0, got 0.0"),
    (("--lr", "nan"), "--lr must be a number"),
    (("--widths", "8", "0"), "--widths must be >= 1, got 0"),
])
def test_bad_values_are_one_line_user_errors(argv, message):
    with pytest.raises(UserError, match=message):
        _parse(*argv)


def test_choices_are_enforced_and_fields_without_option_stay_off_the_command_line(capsys):
    with pytest.raises(SystemExit):
        _parse("--mode", "slow")
    assert "invalid choice: 'slow'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse("--internal", "3")


def test_help_renders_percent_signs_and_defaults():
    parser = argparse.ArgumentParser()
    add_config_args(parser, Toy, prefix="train-")
    text = " ".join(parser.format_help().split())  # unwrapped
    assert "--train-steps" in text and "decayed to 5 % at the end (default: 0.001)" in text


def test_number_and_check_range():
    assert number(float, "--x", maximum=2)("1.5") == 1.5
    with pytest.raises(UserError, match="--x must be <= 2"):
        number(float, "--x", maximum=2)("3")
    assert check_range("x", 0, minimum=0) == 0
    with pytest.raises(UserError, match="x must be > 0"):
        check_range("x", 0, minimum=0, allow_zero=False)


def _count(text: str) -> int:
    return int(float(text))


@dataclass(frozen=True)
class Recipe:
    total_steps: int = option(1000, "steps of training", flag="--steps", parse=_count, minimum=1)
    eps_final: float = option(0.1, "final exploration", flag="--final-epsilon", minimum=0, maximum=1, metavar="EPS")
    gamma: float = option(0.99, "discount", minimum=0, maximum=1)


def test_a_field_names_its_flag_and_parser_and_a_deferred_default_keeps_the_base():
    parser = argparse.ArgumentParser()
    add_config_args(parser, Recipe, defaults={"total_steps": Deferred("the preset's"), "gamma": Deferred("preset")})
    fast = Recipe(total_steps=50, eps_final=0.01, gamma=0.9)
    # unset Deferred flags keep the base's values; a flag with a plain default (--final-epsilon) gives that default
    assert config_from_args(Recipe, parser.parse_args([]), base=fast) == Recipe(50, 0.1, 0.9)
    assert config_from_args(Recipe, parser.parse_args(["--steps", "2e3", "--final-epsilon", "0.5"]),
                            base=fast) == Recipe(2000, 0.5, 0.9)
    assert config_from_args(Recipe, parser.parse_args(["--gamma", "0.5"])) == Recipe(gamma=0.5)  # no base: defaults
    with pytest.raises(UserError, match="--steps must be >= 1, got 0"):
        parser.parse_args(["--steps", "0.5"])
    text = " ".join(parser.format_help().split())
    assert "--steps STEPS steps of training (default: the preset's)" in text and "--final-epsilon EPS" in text
    assert "--total-steps" not in text
    assert config_flags(Recipe(7, 0.2, 0.5)) == ["--steps", "7", "--final-epsilon", "0.2", "--gamma", "0.5"]
