"""Online handwriting this project can make offline: the single-stroke Hershey fonts written by simulated writers.

No online-handwriting corpus exists offline, so the shipped model learns from pen trajectories generated here:

- the glyphs are the Hershey "Roman simplex" (futural, a print hand) and "Script simplex" (scripts, a joined
  hand) fonts, one centre-line stroke per pen-down (PyPI ``Hershey-Fonts``, MIT licence; the 1967 glyph data is
  public domain). `glyph_tables` reads them from the package, or from a JSON copy (`save_glyphs`) where the package
  is not installed (the GPU machine);
- a `Writer` is a style: the hand, slant, letter width, size, letter and word spacing, baseline drift, per-letter
  wobble, pen jitter, pen speed, and (for the joined hand) how far apart two strokes may be and still be written
  without lifting the pen;
- pen timing: every stroke is cut at its cusps (sharp turns, where real pens stop) into submovements, each one a
  minimum-jerk movement (Flash & Hogan 1985: s(τ) = 10τ³ - 15τ⁴ + 6τ⁵, a bell-shaped speed) whose duration grows
  with its length; the trajectory is then sampled at a fixed rate like a tablet (IAM-OnDB's pens report points at
  a fixed rate too), so slow parts of a letter get dense points and fast parts sparse ones.

Writers are numbered: `writer(i)` is the same style for the same i. Writers 0..TRAIN_WRITERS-1 train the model;
the ones above are held out (the bench's ``nll_heldout``). Lines are lists of strokes, each an (n, 3) array of
[x, y, t] with y up, in font units (cap height ≈ 21), t in seconds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HANDS = {"print": "futural", "script": "scripts"}  # Hershey Roman simplex and Script simplex
TRAIN_WRITERS = 400  # writer ids below this train; ids from here up are held out
SAMPLE_RATE = 60.0  # pen points per second (a coarse tablet; IAM-OnDB's pen reports more, see README)

Glyph = tuple[float, float, list[np.ndarray]]  # left edge, right edge, strokes [(n, 2) x, y-down]


def _glyphs_from_package(font: str) -> dict[str, Glyph]:
    from HersheyFonts import HersheyFonts

    f = HersheyFonts()
    f.load_default_font(font)
    table = {}
    for ch, g in f.all_glyphs.items():
        if isinstance(ch, str) and len(ch) == 1:
            table[ch] = (float(g.left_offset), float(g.left_offset + g.char_width),
                         [np.asarray(s, dtype=np.float64) for s in g.strokes if len(s)])
    return table


_GLYPH_FILE: list[Path] = []  # set by use_glyph_file(): where the GPU machine finds the fonts


def use_glyph_file(path: str | Path) -> None:
    """Read the fonts from a JSON file written by `save_glyphs` (for a machine without the Hershey-Fonts package)."""
    _GLYPH_FILE[:] = [Path(path)]
    glyph_tables.cache_clear()


@lru_cache(maxsize=1)
def glyph_tables() -> dict[str, dict[str, Glyph]]:
    """{hand: {character: (left, right, strokes)}} for the two hands."""
    if _GLYPH_FILE:
        raw = json.loads(_GLYPH_FILE[0].read_text(encoding="utf-8"))
        return {hand: {ch: (g[0], g[1], [np.asarray(s, dtype=np.float64) for s in g[2]]) for ch, g in t.items()}
                for hand, t in raw.items()}
    try:
        return {hand: _glyphs_from_package(font) for hand, font in HANDS.items()}
    except ModuleNotFoundError:
        from ...core.errors import UserError

        raise UserError("the handwriting training data needs the Hershey fonts: pip install Hershey-Fonts") from None


def save_glyphs(path: str | Path) -> Path:
    """The two hands' glyphs as JSON (about 100 kB), for `use_glyph_file` on a machine without the package."""
    tables = glyph_tables()
    raw = {hand: {ch: [g[0], g[1], [s.tolist() for s in g[2]]] for ch, g in t.items()} for hand, t in tables.items()}
    Path(path).write_text(json.dumps(raw, separators=(",", ":")), encoding="utf-8")
    return Path(path)


@dataclass(frozen=True)
class Writer:
    """One simulated person's handwriting style."""

    hand: str  # "print" or "script"
    slant: float  # radians, positive leans right
    width: float  # horizontal scale of every letter
    size: float  # overall scale
    letter_gap: float  # extra space between letters (font units)
    word_gap: float  # space width (font units)
    drift: float  # baseline wander amplitude (font units)
    drift_period: float  # its wavelength (font units)
    tilt: float  # the line's rise per unit of x
    wobble: float  # per-letter random offset and scale (relative)
    jitter: float  # pen noise per point (font units)
    speed: float  # submovement speed factor (> 1: faster, fewer points)
    join: float  # joined hand: pen stays down across gaps up to this (font units); print hand: 0
    seed: int


def writer(i: int) -> Writer:
    """Writer number i (the same style every time): drawn from ranges seen in people's handwriting."""
    rng = np.random.default_rng([i, 1301])
    hand = "script" if i % 2 else "print"
    return Writer(
        hand=hand,
        slant=float(rng.uniform(-0.15, 0.45)),
        width=float(rng.uniform(0.75, 1.3)),
        size=float(rng.uniform(0.8, 1.25)),
        letter_gap=float(rng.uniform(-1.5, 3.0)) if hand == "print" else float(rng.uniform(-1.0, 1.5)),
        word_gap=float(rng.uniform(10, 20)),
        drift=float(rng.uniform(0.0, 3.5)),
        drift_period=float(rng.uniform(150, 500)),
        tilt=float(rng.uniform(-0.03, 0.03)),
        wobble=float(rng.uniform(0.0, 0.08)),
        jitter=float(rng.uniform(0.05, 0.35)),
        speed=float(rng.uniform(0.8, 1.3)),
        join=float(rng.uniform(2.0, 8.0)) if hand == "script" else 0.0,
        seed=i,
    )


def is_heldout(i: int) -> bool:
    return i >= TRAIN_WRITERS


def writable(text: str) -> set[str]:
    """Characters of `text` the fonts have no glyph for."""
    tables = glyph_tables()
    return {c for c in text if any(c not in t for t in tables.values())}


# ------------------------------------------------------------------------------------------- the geometry


def _layout(text: str, w: Writer, rng: np.random.Generator) -> list[np.ndarray]:
    """The letters placed on a line: strokes as (n, 2) arrays, y up, in writing order, before any timing."""
    glyphs = glyph_tables()[w.hand]
    strokes: list[np.ndarray] = []
    x = 0.0
    joinable = False  # the previous stroke may continue into this letter (joined hand, inside a word)
    for ch in text:
        if ch == " ":
            x += w.word_gap * rng.uniform(0.8, 1.2)
            joinable = False
            continue
        left, right, glyph = glyphs[ch]
        scale = 1.0 + w.wobble * rng.standard_normal()
        dy = 1.5 * w.wobble * rng.standard_normal() * 10
        for s in glyph:
            p = np.empty_like(s)
            p[:, 0] = x + (s[:, 0] - left) * w.width * scale
            p[:, 1] = -s[:, 1] * scale + dy  # the fonts' y points down; ours up, baseline at y = -9
            if joinable and strokes and np.hypot(*(p[0] - strokes[-1][-1])) <= w.join:
                strokes[-1] = np.concatenate([strokes[-1], p])  # the pen stays down: a connecting stroke
            else:
                strokes.append(p)
        joinable = w.join > 0 and ch.isalpha()
        x += (right - left) * w.width * scale + w.letter_gap
    out = []
    for p in strokes:
        q = p.copy()
        q[:, 1] += w.drift * np.sin(2 * np.pi * q[:, 0] / w.drift_period + w.seed) + w.tilt * q[:, 0]
        q[:, 0] += w.slant * (q[:, 1] + 9.0)  # shear about the baseline
        out.append(q * w.size)
    return out


def _minimum_jerk(tau: np.ndarray) -> np.ndarray:
    """Fraction of the path covered at normalised time τ ∈ [0, 1] by a minimum-jerk movement."""
    return tau**3 * (10 - 15 * tau + 6 * tau**2)


def _submovements(stroke: np.ndarray, cusp_degrees: float = 60.0) -> list[np.ndarray]:
    """Cut a polyline where it turns sharply: each piece is one smooth movement of the pen."""
    keep = np.r_[True, np.hypot(*np.diff(stroke, axis=0).T) > 1e-9]
    stroke = stroke[keep]
    if len(stroke) < 3:
        return [stroke]
    d = np.diff(stroke, axis=0)
    ang = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs((np.diff(ang) + np.pi) % (2 * np.pi) - np.pi)  # at interior vertices 1..n-2
    cuts = [0, *(np.nonzero(turn > math.radians(cusp_degrees))[0] + 1).tolist(), len(stroke) - 1]
    return [stroke[a:b + 1] for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _timed(stroke: np.ndarray, w: Writer, rng: np.random.Generator, t0: float, rate: float) -> np.ndarray:
    """The pen's path along `stroke` sampled every 1/rate s: (n, 3) [x, y, t]."""
    pieces, t = [], t0
    for piece in _submovements(stroke):
        seg = np.hypot(*np.diff(piece, axis=0).T)
        arc = np.r_[0.0, np.cumsum(seg)]
        length = arc[-1]
        if length <= 0:
            continue
        duration = (0.06 + 0.035 * math.sqrt(length)) / w.speed * rng.uniform(0.9, 1.1)  # longer moves are faster
        pieces.append((piece, arc, length, t, duration))
        t += duration
    if not pieces:
        return np.c_[stroke[:1], [t0]]
    times = np.arange(t0, t + 1e-9, 1.0 / rate)
    if times[-1] < t - 1e-6:
        times = np.r_[times, t]  # the pen lifts at the stroke's end
    starts = np.array([p[3] for p in pieces])
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(pieces) - 1)
    out = np.empty((len(times), 3))
    out[:, 2] = times
    for k, (piece, arc, length, start, duration) in enumerate(pieces):
        sel = which == k
        s = _minimum_jerk(np.clip((times[sel] - start) / duration, 0.0, 1.0)) * length
        out[sel, 0] = np.interp(s, arc, piece[:, 0])
        out[sel, 1] = np.interp(s, arc, piece[:, 1])
    return out


def write_line(text: str, w: Writer, seed: int = 0, rate: float = SAMPLE_RATE) -> list[np.ndarray]:
    """`text` in writer w's hand as pen strokes: a list of (n, 3) [x, y (up), t (s)] arrays."""
    rng = np.random.default_rng([w.seed, seed, 77])
    strokes, t = [], 0.0
    for s in _layout(text, w, rng):
        p = _timed(s, w, rng, t, rate)
        p[:, :2] += w.jitter * rng.standard_normal((len(p), 2))
        strokes.append(p)
        t = p[-1, 2] + rng.uniform(0.05, 0.15)  # the pen's flight to the next stroke
    return strokes


def clean_line(text: str, rate: float = SAMPLE_RATE) -> list[np.ndarray]:
    """The plain font (print hand, no slant, drift, wobble or jitter) timed the same way: the bench's `cer_font`."""
    w = Writer("print", 0.0, 1.0, 1.0, 0.0, 14.0, 0.0, 300.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0)
    return write_line(text, w, 0, rate)


def describe(w: Writer) -> dict:
    return asdict(w)


# ----------------------------------------------------------------------------------------------- the text


@lru_cache(maxsize=1)
def corpus_words() -> list[list[str]]:
    """Runs of English words to write: the sentences of Python's own documentation (pydoc_data, in every Python),
    kept where every character is one the fonts and the model's alphabet have."""
    from pydoc_data.topics import topics

    text = " ".join(topics.values())
    runs = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", text):
        words = sentence.split()
        if len(words) >= 3 and all(re.fullmatch(r"[A-Za-z][a-z]*[,.;:!?]?|[0-9]+[,.]?", x) for x in words):
            runs.append(words)
    return runs


def random_text(rng: np.random.Generator, min_chars: int = 8, max_chars: int = 32) -> str:
    """A run of consecutive words from the corpus, between min_chars and max_chars long."""
    runs = corpus_words()
    for _ in range(100):
        words = runs[int(rng.integers(len(runs)))]
        start = int(rng.integers(len(words)))
        out = words[start]
        for word in words[start + 1:]:
            if len(out) + 1 + len(word) > max_chars:
                break
            out += " " + word
        if min_chars <= len(out) <= max_chars:
            return out
    return out[:max_chars]
