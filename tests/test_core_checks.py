"""One range check (core.errors.check_range) behind the flags, the Python API, the web gallery and the apps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepgallery.core import config, errors
from deepgallery.core.config import to_number
from deepgallery.core.errors import UserError, check_range


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (-1, {"minimum": 0}, "x must be >= 0, got -1"),
    (0, {"minimum": 0, "allow_zero": False}, "x must be > 0, got 0"),
    (11, {"minimum": 0, "maximum": 10}, "x must be <= 10, got 11"),
    (math.nan, {}, "x must be a number, got nan"),
])
def test_check_range_refuses_in_one_line(value, kwargs, message):
    with pytest.raises(UserError) as info:
        check_range("x", value, **kwargs)
    assert str(info.value) == message


def test_check_range_passes_values_in_range_through():
    assert check_range("x", 0, minimum=0) == 0 and check_range("x", 10, 0, 10) == 10 and check_range("x", -5.5) == -5.5


def test_config_and_errors_share_the_one_check():
    assert config.check_range is errors.check_range


@pytest.mark.parametrize(("value", "allow_zero", "ok"), [(1, False, True), (0, False, False), (0, True, True),
                                                         (-1, True, False), (math.nan, True, False)])
def test_check_range_from_zero(value, allow_zero, ok):
    if ok:
        assert check_range("--n", value, 0, allow_zero=allow_zero) == value
    else:
        with pytest.raises(UserError, match=r"^--n must be "):
            check_range("--n", value, 0, allow_zero=allow_zero)


@pytest.mark.parametrize(("value", "kind", "text", "expected"), [
    (3, "int", False, 3), (2.6, "int", False, 3), ("2.6", "int", True, 3), ("1e-3", "float", True, 0.001),
    (np.int64(4), "int", False, 4), (np.float32(0.5), "float", False, 0.5),
])
def test_to_number_takes_numbers_and_form_text(value, kind, text, expected):
    out = to_number("n", value, kind, 0, 5, text=text)
    assert out == pytest.approx(expected) and type(out) is (int if kind == "int" else float)


@pytest.mark.parametrize(("value", "text", "message"), [
    ("3", False, "n must be a number, got '3'"),  # the Python API takes numbers, not their text
    ("lots", True, "n must be a number, got 'lots'"), (True, True, "n must be a number, got True"),
    (None, False, "n must be a number, got None"), (math.inf, False, "n must be a finite number, got inf"),
    ("nan", True, "n must be a finite number, got 'nan'"), (6, False, "n must be <= 5, got 6"),
    (-1, True, "n must be >= 0, got -1"),
])
def test_to_number_refuses_in_one_line(value, text, message):
    with pytest.raises(UserError) as info:
        to_number("n", value, "int", 0, 5, text=text)
    assert str(info.value) == message


def test_the_api_and_the_web_gallery_check_numbers_alike(tmp_path):
    from deepgallery import api
    from deepgallery.core.app import Param
    from deepgallery.web import jobs

    p = Param("steps", "int", "", 3, minimum=1, maximum=9)
    assert api._coerce(p, 4.6, tmp_path) == jobs._number(p, "4.6") == jobs._number(p, 4.6) == 5
    assert jobs._number(p, "") == 3  # an empty form field: the default
    for bad in (float("inf"), 10):
        with pytest.raises(UserError) as by_api:
            api._coerce(p, bad, tmp_path)
        with pytest.raises(UserError) as by_web:
            jobs._number(p, bad)
        assert str(by_api.value) == str(by_web.value)
