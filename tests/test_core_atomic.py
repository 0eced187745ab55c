"""core.atomic.write_csv and write_figure: the tables and figures apps report with, whole or not at all."""

from __future__ import annotations

import csv

import pytest

from deepgallery.core.atomic import write_csv, write_figure
from deepgallery.core.errors import UserError


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_write_csv_of_dicts_takes_every_column_in_the_order_first_seen(tmp_path):
    rows = [{"region": "a", "photos": 2}, {"region": "b", "lat": 1.5, "photos": 0}, {"région": "ü"}]
    path = write_csv(tmp_path / "t" / "regions.csv", rows)
    assert path == tmp_path / "t" / "regions.csv"
    assert _read(path) == [["region", "photos", "lat", "région"], ["a", "2", "", ""], ["b", "0", "1.5", ""],
                           ["", "", "", "ü"]]
    write_csv(path, rows, header=["photos", "region", "lat", "région"])
    assert _read(path)[:2] == [["photos", "region", "lat", "région"], ["2", "a", "", ""]]


def test_write_csv_of_sequences_under_a_header(tmp_path):
    path = write_csv(tmp_path / "photos.csv", [("x.jpg", "a", 3), ["y.jpg", "", 0]], header=["photo", "region", "car"])
    assert _read(path) == [["photo", "region", "car"], ["x.jpg", "a", "3"], ["y.jpg", "", "0"]]
    assert _read(write_csv(tmp_path / "bare.csv", [[1, 2]])) == [["1", "2"]]
    assert _read(write_csv(tmp_path / "empty.csv", [], header=["a"])) == [["a"]]


def test_write_csv_leaves_nothing_when_a_row_is_wrong(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("old\n")
    with pytest.raises(ValueError):  # a key the header lacks
        write_csv(path, [{"a": 1}, {"b": 2}], header=["a"])
    assert path.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_write_figure_saves_and_closes_even_on_failure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [1, 0])
    path = write_figure(tmp_path / "f.png", fig, dpi=50)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and not plt.fignum_exists(fig.number)
    fig, _ = plt.subplots()
    (tmp_path / "blocked").write_text("a file where a folder is expected")
    with pytest.raises(UserError, match="is a file, not a folder"):
        write_figure(tmp_path / "blocked" / "f.png", fig)
    assert not plt.fignum_exists(fig.number)
    fig, _ = plt.subplots()
    with pytest.raises(ValueError):  # a format matplotlib does not know
        write_figure(tmp_path / "g.png", fig, format="nope")
    assert not plt.fignum_exists(fig.number) and not (tmp_path / "g.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "f.png"]
