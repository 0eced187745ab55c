"""Online handwriting as the network sees it, and the two sources of it: simulated writers and IAM-OnDB.

A line is pen strokes (a list of (n, 3) [x, y, t] arrays, y up) and its text. The network reads it as Graves
(2013, Section 4.2) did: one vector per pen point, x_t = (Δx, Δy, end-of-stroke), the offset from the previous
point divided by one fixed scale (the standard deviation of the training offsets, kept in the checkpoint) and a
1 on the last point of each stroke, so the next offset is the pen's jump in the air.

IAM-OnDB (Liwicki & Bunke 2005, the paper's data) is read in its own layout:

    DIR/lineStrokes/a01/a01-000/a01-000u-01.xml   <WhiteboardCaptureSession><StrokeSet><Stroke ...>
                                                  <Point x="..." y="..." time="..."/>  (y down, whiteboard pixels)
    DIR/ascii/a01/a01-000/a01-000u.txt            the form's text; the lines after "CSR:" are lines -01, -02, ...

Lines whose text has a character outside the alphabet are skipped and counted.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...core.errors import UserError

ALPHABET = " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"-()"


@dataclass
class Line:
    strokes: list[np.ndarray]  # (n, 3) [x, y (up), t (s)] each
    text: str
    writer: str = ""


@dataclass
class LineSet:
    lines: list[Line] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why each unusable line was left out

    def __len__(self) -> int:
        return len(self.lines)


# ------------------------------------------------------------------------------------ strokes <-> offsets


def to_offsets(strokes: list[np.ndarray]) -> np.ndarray:
    """(N, 3) float32 [Δx, Δy, end of stroke]: the first offset is 0, each stroke's last point carries a 1."""
    pts = np.concatenate([s[:, :2] for s in strokes]).astype(np.float64)
    eos = np.concatenate([np.r_[np.zeros(len(s) - 1), 1.0] for s in strokes])
    d = np.diff(pts, axis=0, prepend=pts[:1])
    return np.c_[d, eos].astype(np.float32)


def from_offsets(offsets: np.ndarray) -> list[np.ndarray]:
    """Back to strokes of (n, 2) absolute points: a new stroke after every point whose end-of-stroke is set."""
    offsets = np.asarray(offsets, dtype=np.float64)
    pts = np.cumsum(offsets[:, :2], axis=0)
    ends = np.nonzero(offsets[:, 2] > 0.5)[0] + 1
    return [s for s in np.split(pts, ends) if len(s)]


def resample(strokes: list[np.ndarray], rate: float) -> list[np.ndarray]:
    """Strokes with their own timestamps (a browser's pointer events, a tablet) at a fixed `rate` points per
    second, as the training data was sampled; strokes without usable times keep their points."""
    out = []
    for s in strokes:
        s = np.asarray(s, dtype=np.float64)
        t = s[:, 2] if s.shape[1] > 2 else np.zeros(len(s))
        if len(s) < 2 or not np.all(np.diff(t) >= 0) or t[-1] - t[0] <= 0:
            out.append(s)
            continue
        keep = np.r_[True, np.diff(t) > 0]
        s, t = s[keep], t[keep]
        times = np.arange(t[0], t[-1], 1.0 / rate)
        times = np.r_[times, t[-1]] if times[-1] < t[-1] else times
        out.append(np.c_[np.interp(times, t, s[:, 0]), np.interp(times, t, s[:, 1]), times])
    return out


def encode(text: str, alphabet: str = ALPHABET) -> list[int]:
    """Character indices; a character outside the alphabet is a UserError naming it."""
    bad = sorted({c for c in text if c not in alphabet})
    if bad:
        raise UserError(f"the model cannot write {', '.join(repr(c) for c in bad)} (it knows letters, digits, "
                        f"space and {''.join(c for c in alphabet if not c.isalnum() and c != ' ')})")
    return [alphabet.index(c) for c in text]


def check_text(text: str, alphabet: str = ALPHABET) -> str:
    text = " ".join((text or "").split())
    if not text:
        raise UserError("give some text to write, e.g. deepgallery run handwriting \"hello world\"")
    encode(text, alphabet)
    return text


def line_height(strokes: list[np.ndarray]) -> float:
    """A robust size of a line of writing: the 5-95 % range of its y values (what priming scales to match)."""
    y = np.concatenate([s[:, 1] for s in strokes])
    return float(np.percentile(y, 95) - np.percentile(y, 5)) or 1.0


# ---------------------------------------------------------------------------------------------- batches


@dataclass
class Batch:
    x: torch.Tensor  # (B, T, 3) the points to predict
    mask: torch.Tensor  # (B, T) 1 where a point exists
    chars: torch.Tensor  # (B, U) character indices
    char_mask: torch.Tensor  # (B, U)

    def inputs(self) -> torch.Tensor:
        """The network's inputs: the points shifted one step right behind a zero start vector (teacher forcing)."""
        return torch.cat([torch.zeros_like(self.x[:, :1]), self.x[:, :-1]], dim=1)

    def to(self, device) -> Batch:
        return Batch(self.x.to(device), self.mask.to(device), self.chars.to(device), self.char_mask.to(device))


def make_batch(offsets: list[np.ndarray], texts: list[str], scale: float, alphabet: str = ALPHABET) -> Batch:
    """Pad a list of lines (offsets as from `to_offsets`) into one batch, offsets divided by `scale`."""
    b, t, u = len(offsets), max(len(o) for o in offsets), max(len(s) for s in texts)
    x, mask = np.zeros((b, t, 3), np.float32), np.zeros((b, t), np.float32)
    chars, cmask = np.zeros((b, u), np.int64), np.zeros((b, u), np.float32)
    for i, (o, s) in enumerate(zip(offsets, texts, strict=True)):
        x[i, :len(o), :2] = o[:, :2] / scale
        x[i, :len(o), 2] = o[:, 2]
        mask[i, :len(o)] = 1
        chars[i, :len(s)] = encode(s, alphabet)
        cmask[i, :len(s)] = 1
    return Batch(torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(chars), torch.from_numpy(cmask))


# ------------------------------------------------------------------------------------------ simulated data


def _synth_one(args: tuple[int, int, float, int]) -> tuple[np.ndarray, str, int]:
    from . import synth

    writer_id, seed, rate, max_chars = args
    rng = np.random.default_rng([seed, writer_id, 5])
    text = synth.random_text(rng, min_chars=min(8, max_chars), max_chars=max_chars)
    return to_offsets(synth.write_line(text, synth.writer(writer_id), seed, rate)), text, writer_id


def synthetic(count: int, heldout: bool = False, seed: int = 0, rate: float | None = None,
              workers: int = 1, max_chars: int = 32) -> tuple[list[np.ndarray], list[str], list[int]]:
    """`count` lines (offsets, texts, writer ids) from the simulated writers: training writers, or the held-out
    ones (`heldout`). The same arguments give the same lines; `workers` > 1 writes them in parallel processes."""
    from . import synth

    rate = rate or synth.SAMPLE_RATE
    rng = np.random.default_rng([seed, 99, int(heldout)])
    lo, hi = (synth.TRAIN_WRITERS, synth.TRAIN_WRITERS + 100) if heldout else (0, synth.TRAIN_WRITERS)
    jobs = [(int(rng.integers(lo, hi)), seed * 1_000_003 + i, rate, max_chars) for i in range(count)]
    if workers > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_synth_one, jobs, chunksize=64)
    else:
        results = [_synth_one(j) for j in jobs]
    return [r[0] for r in results], [r[1] for r in results], [r[2] for r in results]


# ------------------------------------------------------------------------------------------------ IAM-OnDB


def read_line_strokes(path: str | Path) -> list[np.ndarray]:
    """One IAM-OnDB lineStrokes XML file as strokes of [x, y (up), t (s)]."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"not a readable lineStrokes XML ({exc})") from None
    strokes = []
    for stroke in root.iter("Stroke"):
        pts = [(float(p.get("x")), -float(p.get("y")), float(p.get("time", 0.0))) for p in stroke.iter("Point")]
        if pts:
            strokes.append(np.asarray(pts))
    if not strokes:
        raise ValueError("no <Stroke> with <Point>s in it")
    t0 = strokes[0][0, 2]
    for s in strokes:
        s[:, 2] -= t0
    return strokes


def read_transcription(path: str | Path) -> list[str]:
    """The lines after "CSR:" in an IAM-OnDB ascii file (one per lineStrokes file of the form)."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if "CSR:" not in text:
        raise ValueError("no CSR: section")
    return [ln.strip() for ln in text.split("CSR:", 1)[1].strip().splitlines() if ln.strip()]


def read_iam_ondb(root: str | Path, alphabet: str = ALPHABET, limit: int = 0) -> LineSet:
    """Every line of an IAM-OnDB folder (lineStrokes/ and ascii/) whose text the alphabet can spell."""
    root = Path(root).expanduser()
    strokes_dir, ascii_dir = root / "lineStrokes", root / "ascii"
    if not strokes_dir.is_dir() or not ascii_dir.is_dir():
        raise UserError(f"{root}: not an IAM-OnDB folder (needs lineStrokes/ and ascii/ inside, as in the "
                        f"lineStrokes-all.tar.gz and ascii-all.tar.gz archives)")
    out = LineSet()
    for txt in sorted(ascii_dir.rglob("*.txt")):
        form = txt.stem  # a01-000u
        try:
            texts = read_transcription(txt)
        except (ValueError, OSError) as exc:
            out.skipped.append(f"{txt}: {exc}")
            continue
        folder = strokes_dir / txt.relative_to(ascii_dir).parent
        for i, text in enumerate(texts, start=1):
            xml = folder / f"{form}-{i:02d}.xml"
            if not xml.is_file():
                out.skipped.append(f"{xml}: missing")
                continue
            text = " ".join(text.split())
            bad = sorted({c for c in text if c not in alphabet})
            if bad:
                out.skipped.append(f"{xml}: characters outside the alphabet {''.join(bad)!r}")
                continue
            try:
                strokes = read_line_strokes(xml)
            except ValueError as exc:
                out.skipped.append(f"{xml}: {exc}")
                continue
            out.lines.append(Line(strokes, text, writer=form[:7]))
            if limit and len(out.lines) >= limit:
                return out
    if not out.lines:
        raise UserError(f"{root}: no usable line in lineStrokes/ with its text in ascii/ "
                        f"({len(out.skipped)} skipped{', e.g. ' + out.skipped[0] if out.skipped else ''})")
    return out


def split_heldout(lines: LineSet, fraction: float = 0.05) -> tuple[list[int], list[int]]:
    """Train and held-out line indices, split by writer (form prefix), so held-out writers are never trained on."""
    writers = sorted({ln.writer for ln in lines.lines})
    held = set(writers[::max(1, round(1 / fraction))]) if len(writers) > 1 else set()
    train = [i for i, ln in enumerate(lines.lines) if ln.writer not in held]
    test = [i for i, ln in enumerate(lines.lines) if ln.writer in held]
    return train, test


# ------------------------------------------------------------------------------------------- user strokes


def read_strokes_json(source: str | Path | list) -> tuple[list[np.ndarray], str | None]:
    """A person's strokes: JSON [[[x, y, t], ...], ...] (y down as on a screen, t in seconds), or an object
    {"strokes": [...], "text": "what it says"}. Returns strokes with y up, and the text if the file has one."""
    where = "the strokes"
    if isinstance(source, (str, Path)) and not str(source).lstrip().startswith(("[", "{")):
        path = Path(source).expanduser()
        where = str(path)
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        source = path.read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(source) if isinstance(source, (str, Path)) else source
    except json.JSONDecodeError:
        raise UserError(f"{where}: not JSON (expected [[[x, y, t], ...], ...] per stroke)") from None
    text = None
    if isinstance(raw, dict):
        text = raw.get("text")
        raw = raw.get("strokes")
    strokes = []
    try:
        for s in raw or []:
            a = np.asarray(s, dtype=np.float64)
            if a.ndim != 2 or a.shape[1] not in (2, 3) or not np.isfinite(a).all():
                raise ValueError
            if len(a):
                a = np.c_[a, np.zeros(len(a))] if a.shape[1] == 2 else a
                a[:, 1] = -a[:, 1]
                strokes.append(a)
    except (TypeError, ValueError):
        raise UserError(f"{where}: not a list of strokes of [x, y, t] points") from None
    if sum(len(s) for s in strokes) < 10:
        raise UserError(f"{where}: too little handwriting to copy a style from (write a few words)")
    return strokes, (" ".join(text.split()) if isinstance(text, str) else None)


def tidy_text(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
