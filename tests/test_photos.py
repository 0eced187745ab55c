"""The offline photo corpus: a split that never leaks, records that check out, crops that are reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepgallery.core import photos
from deepgallery.core.hashing import sha256_file


def test_split_is_by_source_and_never_leaks():
    train, heldout = photos.corpus("train"), photos.corpus("heldout")
    assert train, "scikit-image and matplotlib photos are always installed with the package's extras"
    assert {r.source for r in train}.isdisjoint({r.source for r in heldout})
    assert {r.sha256 for r in train}.isdisjoint({r.sha256 for r in heldout})  # not even a copy under another name
    assert len(photos.corpus("all")) == len(train) + len(heldout)
    sides = {s.name: s.split for s in photos.SOURCES}
    assert all(sides[r.source] == "train" for r in train) and all(sides[r.source] == "heldout" for r in heldout)
    with pytest.raises(photos.UserError, match="split"):
        photos.corpus("test")


def test_every_listed_file_is_listed_once():
    paths = [f for s in photos.SOURCES for f in s.files]
    assert len(paths) == len(set(paths))


def test_records_are_real_colour_photos_with_a_licence():
    for record in photos.corpus("all"):
        assert record.sha256 == sha256_file(record.path)
        assert record.licence and record.width * record.height >= 200 * 200, record
        rgb = photos.load_rgb(record, max_side=128)
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and max(rgb.shape[:2]) <= 128
        chroma = rgb.astype(int).max(axis=2) - rgb.astype(int).min(axis=2)
        assert chroma.mean() > 4, f"{record.path} looks grayscale"  # a colour photo, not a gray scan


def test_missing_sources_are_skipped_and_named(monkeypatch):
    ghost = photos.Source("no-such-package", "debian", "train", ("/nonexistent/a.jpg",), install="apt-get install x")
    monkeypatch.setattr(photos, "SOURCES", photos.SOURCES + (ghost,))
    photos._all_records.cache_clear()
    try:
        assert "no-such-package (apt-get install x)" in photos.missing_sources()
        assert all(r.source != "no-such-package" for r in photos.corpus("all"))
    finally:
        photos._all_records.cache_clear()


def test_random_crops_are_reproducible_and_vary():
    train = photos.corpus("train")[:3]
    a = photos.random_crops(train, 32, 6, seed=1)
    b = photos.random_crops(train, 32, 6, seed=1)
    c = photos.random_crops(train, 32, 6, seed=2)
    assert a.shape == (6, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len({x.tobytes() for x in a}) == 6
    with pytest.raises(photos.UserError, match="no photos"):
        photos.random_crops([], 32, 1)


def test_debian_licence_reads_the_matching_stanza(tmp_path, monkeypatch):
    doc = tmp_path / "doc" / "pkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: GPL-2+\n\n"
        "Files: 16.04/a_by_b.jpg\n       16.04/c_by_d.jpg\nCopyright: b\nLicense: CC-BY-4.0\n")
    real = Path

    def fake_path(*parts):
        if parts and parts[0] == "/usr/share/doc":
            return real(tmp_path / "doc", *parts[1:])
        return real(*parts)

    monkeypatch.setattr(photos, "Path", fake_path)
    assert photos._debian_licence("pkg", real("/usr/share/backgrounds/c_by_d.jpg")) == "CC-BY-4.0"
    assert photos._debian_licence("pkg", real("/usr/share/backgrounds/other.jpg")) == "GPL-2+"


def test_data_photos_export_writes_files_and_manifest(tmp_path, run_cli, monkeypatch):
    small = [s for s in photos.SOURCES if s.kind == "python"]
    monkeypatch.setattr(photos, "SOURCES", tuple(small))
    photos._all_records.cache_clear()
    try:
        code, out, err = run_cli("data", "photos", "--out", tmp_path / "corpus")
    finally:
        photos._all_records.cache_clear()
    assert code == 0, err
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text())
    assert manifest["photos"] and "train:" in out
    for row in manifest["photos"]:
        copied = tmp_path / "corpus" / row["file"]
        assert sha256_file(copied) == row["sha256"] and copied.stat().st_size == row["bytes"]
        assert row["licence"] and row["source"] in {"scikit-image", "matplotlib"}
