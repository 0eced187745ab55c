"""`deepgallery bench textspot`: word recall/precision and speed on generated videos, word accuracy of the
paper's recogniser vs rapidocr on the same synthetic word crops.

Test sets: `synth.make_test_video` videos (real photos, slowly panned; words appear, stay 1–4 s, some
slide; several fonts and sizes; ground truth of which word is on screen when): 640×360 as before, and
1280×720 and 1920×1080 news clips (`synth.spec_at`: glyphs scaled with the frame, 28–144 px at 1080p)
with a scrolling ticker and two scene cuts each. Scoring, per on-screen occurrence of a word whose
rendered height is ≥ 16 px (a ticker word: whole on screen for ≥ 1 s):
- word_recall: share of ground-truth occurrences for which the index holds an occurrence of that word
  (case-insensitive, as a token of the text line) in the same video overlapping its time on screen;
- word_precision: share of indexed word tokens that match such a ground-truth occurrence (tokens that
  match only a word under 16 px are left out of both counts);
- realtime_factor[_720p|_1080p]: seconds of video indexed per wall-clock second at default settings
  (rapidocr, 0.5 s sampling, one video at a time in one process), on whatever else the machine is running
  at the time (the load average is recorded); realtime_factor_cpu divides by the CPU seconds of the
  process and its ffmpeg decoders per core instead, i.e. about what an idle 2-core machine would give;
- first_hit_in_interval: share of found words whose first hit starts at most one sampling interval (+ one
  frame) after the word came on screen;
- speedup_1080p_vs_old_settings: wall time of the settings before issue 20 (`--legacy`) over today's on
  the same 1080p video in the same run (cpu_speedup: the same in CPU time): a ratio the machine's load
  does not move much, unlike the realtime factors.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import synth
from .indexer import IndexStats, SampleConfig, index_paths
from .occurrences import normalise
from .readers import DET_SIDE, RapidOCRReader, make_reader
from .store import SQLiteStore

MIN_HEIGHT = 16


def score_video(truth: list[synth.GroundTruthWord], occurrences: list[tuple[str, float, float]],
                tol: float = 0.5) -> dict[str, int]:
    """Counts for one video: ground-truth hits/total (≥ 16 px) and predicted-token hits/total."""
    def overlaps(g, s, e):
        return s <= g.end + tol and e >= g.start - tol

    big = [g for g in truth if g.height >= MIN_HEIGHT and g.counted]
    found = sum(any(g.word.lower() in normalise(text).split() and overlaps(g, s, e) for text, s, e in occurrences)
                for g in big)
    tp = fp = 0
    for text, s, e in occurrences:
        for tok in normalise(text).split():
            matches = [g for g in truth if g.word.lower() == tok and overlaps(g, s, e)]
            if any(g.height >= MIN_HEIGHT and g.counted for g in matches):
                tp += 1
            elif not matches:
                fp += 1
    return {"gt_found": found, "gt_total": len(big), "pred_correct": tp, "pred_total": tp + fp}


def word_accuracy_crops(n: int, dictionary: tuple[str, ...], seed: int = 4242) -> tuple[list[np.ndarray], list[str]]:
    """The shared test set of the two recognisers: `n` rendered crops of the DICT model's dictionary words,
    from a render seed that training never uses."""
    renderer = synth.WordRenderer(seed=seed)
    words = [renderer.rng.choice(dictionary) for _ in range(n)]
    return [renderer.render(synth.random_case(w, renderer.rng)) for w in words], words


def recogniser_accuracies(n: int) -> dict[str, float]:
    """Case-insensitive exact-word accuracy of rapidocr and of our DICT CNN on the same crops."""
    from deepgallery.core import checkpoint

    from . import APP
    from .readers import JaderbergReader
    from .train import TrainConfig

    shipped = APP.checkpoint("jaderberg_dict200")
    jr = JaderbergReader(checkpoint_path=shipped) if checkpoint.exists(shipped) else None  # the shipped model
    crops, words = word_accuracy_crops(n, jr.words if jr else synth.lexicon()[: TrainConfig().words])
    rapid = RapidOCRReader(min_confidence=0.0)
    rapid_ok = sum(normalise(rapid.recognise(c)[0]).replace(" ", "") == w for c, w in zip(crops, words, strict=True))
    out = {"rapidocr_word_accuracy": rapid_ok / n}
    if jr is not None:
        preds = [p for i in range(0, n, 64) for p, _ in jr.classify(crops[i:i + 64])]
        out["jaderberg_word_accuracy"] = sum(p == w for p, w in zip(preds, words, strict=True)) / n
    return out


@dataclass
class SetResult:
    """One resolution's videos indexed with one setting."""

    counts: dict[str, int]
    stats: IndexStats
    wall: float  # s
    cpu: float  # s of this process and its children (ffmpeg), all cores together
    delays: list[float]  # per found ground-truth word: its first hit's start minus its first frame on screen
    reader_seconds: dict[str, float]
    load: float


def make_set(folder: Path, size: tuple[int, int], n: int, seconds: float, seed: int, news: bool) -> dict:
    """`n` generated videos of `size`; with `news`, a ticker and two scene cuts in each. Returns path → truth."""
    folder.mkdir(parents=True, exist_ok=True)
    kw = {"ticker": True, "cuts": 2} if news else {}
    spec = synth.spec_at(size, seconds=seconds, words=int(seconds / 2), **kw) if size != (640, 360) else \
        synth.VideoSpec(seconds=seconds, words=int(seconds / 2), **kw)
    truths = {}
    for i in range(n):
        path = folder / f"clip_{i:02d}.mp4"
        truths[str(path.resolve())] = synth.make_test_video(path, seed=seed + i, spec=spec)
    return truths


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the ffmpeg decoders, once they have exited
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def index_set(truths: dict, db: Path, legacy: bool = False, interval: float = 0.5) -> SetResult:
    """Index the videos of `truths` in this process, at default settings or the old ones (`legacy`)."""
    db.unlink(missing_ok=True)
    store = SQLiteStore(db)
    reader = make_reader("rapidocr", det_side=0, reuse=False) if legacy else make_reader("rapidocr")
    cfg = SampleConfig.legacy(interval=interval) if legacy else SampleConfig(interval=interval)
    reader.read(np.zeros((64, 64, 3), np.uint8))  # load the ONNX sessions outside the timing
    reader.seconds = {"detect": 0.0, "recognise": 0.0}
    load = os.getloadavg()[0]
    cpu0, t0 = _cpu(), time.perf_counter()
    stats = index_paths(list(truths), store, reader, cfg, log=lambda m: None)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    counts = {"gt_found": 0, "gt_total": 0, "pred_correct": 0, "pred_total": 0}
    delays: list[float] = []
    for path, truth in truths.items():
        occ = store.conn.execute(
            "SELECT o.text, o.start, o.end FROM occurrences o JOIN videos v ON v.id = o.video_id "
            "WHERE v.path = ?", (path,)).fetchall()
        for k, v in score_video(truth, occ).items():
            counts[k] += v
        delays += first_hit_delays(truth, occ)
    store.close()
    return SetResult(counts, stats, wall, cpu, delays, dict(reader.seconds), load)


def first_hit_delays(truth: list[synth.GroundTruthWord], occurrences: list[tuple[str, float, float]],
                     tol: float = 0.5) -> list[float]:
    """For each found ground-truth word (≥ 16 px): its earliest matching occurrence's start − its first frame."""
    out = []
    for g in truth:
        if g.height < MIN_HEIGHT or not g.counted:
            continue
        starts = [s for text, s, e in occurrences
                  if g.word.lower() in normalise(text).split() and s <= g.end + tol and e >= g.start - tol]
        if starts:
            out.append(min(starts) - g.start)
    return out


def bench(quick: bool = False) -> dict:
    """`deepgallery bench textspot [--quick]`: the metrics above, on the CPU."""
    n360, n_hd, seconds, n_crops = (3, 1, 20.0, 300) if quick else (8, 2, 30.0, 1000)
    metrics: dict[str, float] = {}
    config: dict = {"load_average_at_start": round(os.getloadavg()[0], 1), "cores": os.cpu_count(),
                    "interval_s": 0.5, "backend": "rapidocr", "det_side": DET_SIDE}
    with tempfile.TemporaryDirectory(prefix="textspot-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        sets = {"360p": make_set(tmp / "360p", (640, 360), n360, seconds, 1000, news=False),
                "720p": make_set(tmp / "720p", (1280, 720), n_hd, seconds, 3000, news=True),
                "1080p": make_set(tmp / "1080p", (1920, 1080), n_hd, seconds, 5000, news=True)}
        config["videos"] = {k: len(v) for k, v in sets.items()}
        config["seconds_each"] = seconds
        for name, truths in sets.items():
            r = index_set(truths, tmp / f"{name}.sqlite")
            suffix = "" if name == "360p" else f"_{name}"
            metrics[f"word_recall{suffix}"] = r.counts["gt_found"] / max(1, r.counts["gt_total"])
            metrics[f"word_precision{suffix}"] = r.counts["pred_correct"] / max(1, r.counts["pred_total"])
            metrics[f"realtime_factor{suffix}"] = r.stats.seconds_of_video / r.wall
            metrics[f"realtime_factor_cpu{suffix}"] = r.stats.seconds_of_video / (r.cpu / 2)
            metrics[f"first_hit_in_interval{suffix}"] = _timely(r.delays)
            config[name] = _details(r)
        # the old settings on the first 1080p video, in the same run: the ratio does not depend on the load
        first = dict(list(sets["1080p"].items())[:1])
        new = index_set(first, tmp / "new.sqlite")
        old = index_set(first, tmp / "old.sqlite", legacy=True)
        metrics["speedup_1080p_vs_old_settings"] = old.wall / new.wall
        metrics["cpu_speedup_1080p_vs_old_settings"] = old.cpu / new.cpu
        metrics["word_recall_1080p_old_settings"] = old.counts["gt_found"] / max(1, old.counts["gt_total"])
        metrics["first_hit_in_interval_1080p_old_settings"] = _timely(old.delays)
        config["1080p_first_video_new"], config["1080p_first_video_old"] = _details(new), _details(old)
    metrics.update(recogniser_accuracies(n_crops))
    config["word_crops"] = n_crops
    return {"metrics": metrics, "config": config, "device": "cpu"}


def _timely(delays: list[float], interval: float = 0.5, frame: float = 1 / 25) -> float:
    """Share of found words whose first hit starts at most one sampling interval (+ one frame) after they appear."""
    return sum(d <= interval + frame + 1e-6 for d in delays) / max(1, len(delays))


def _details(r: SetResult) -> dict:
    return {"gt_words_16px": r.counts["gt_total"], "indexed_tokens": r.counts["pred_total"],
            "frames_sampled": r.stats.frames_sampled, "frames_read": r.stats.frames_read,
            "video_s": round(r.stats.seconds_of_video, 1), "wall_s": round(r.wall, 1), "cpu_s": round(r.cpu, 1),
            "decode_wait_s": round(r.stats.decode_seconds, 1),
            **{f"{k}_s": round(v, 1) for k, v in r.reader_seconds.items()},
            "first_hit_delay_max_s": round(max(r.delays), 2) if r.delays else None,
            "load_average_at_start": round(r.load, 1)}
