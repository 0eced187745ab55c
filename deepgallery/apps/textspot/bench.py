"""`deepgallery bench textspot`: word recall/precision and speed on generated videos, word accuracy of the
paper's recogniser vs rapidocr on the same synthetic word crops.

Test set: `synth.make_test_video` videos (real photos, slowly panned; words appear, stay 1–4 s, some
slide; several fonts and sizes; ground truth of which word is on screen when). Scoring, per on-screen
occurrence of a word whose rendered height is ≥ 16 px:
- word_recall: share of ground-truth occurrences for which the index holds an occurrence of that word
  (case-insensitive, as a token of the text line) in the same video overlapping its time on screen;
- word_precision: share of indexed word tokens that match such a ground-truth occurrence (tokens that
  match only a word under 16 px are left out of both counts);
- realtime_factor: seconds of video indexed per wall-clock second at default settings (rapidocr,
  0.5 s sampling), on whatever else the machine is running at the time (the load average is recorded);
  realtime_factor_cpu divides by the process's own CPU seconds per core instead, i.e. an unloaded machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from . import synth
from .indexer import SampleConfig, index_paths
from .occurrences import normalise
from .readers import RapidOCRReader, make_reader
from .store import SQLiteStore

MIN_HEIGHT = 16


def score_video(truth: list[synth.GroundTruthWord], occurrences: list[tuple[str, float, float]],
                tol: float = 0.5) -> dict[str, int]:
    """Counts for one video: ground-truth hits/total (≥ 16 px) and predicted-token hits/total."""
    def overlaps(g, s, e):
        return s <= g.end + tol and e >= g.start - tol

    big = [g for g in truth if g.height >= MIN_HEIGHT]
    found = sum(any(g.word.lower() in normalise(text).split() and overlaps(g, s, e) for text, s, e in occurrences)
                for g in big)
    tp = fp = 0
    for text, s, e in occurrences:
        for tok in normalise(text).split():
            matches = [g for g in truth if g.word.lower() == tok and overlaps(g, s, e)]
            if any(g.height >= MIN_HEIGHT for g in matches):
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


def bench(quick: bool = False) -> dict:
    """`deepgallery bench textspot [--quick]`: the metrics above, on the CPU."""
    n_videos, seconds, n_crops = (3, 20.0, 300) if quick else (8, 30.0, 1000)
    spec = synth.VideoSpec(seconds=seconds, words=int(seconds / 2))
    metrics: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="textspot-bench-") as tmp:
        truths = {}
        for i in range(n_videos):
            path = Path(tmp) / f"clip_{i:02d}.mp4"
            truths[str(path.resolve())] = synth.make_test_video(path, seed=1000 + i, spec=spec)
        store = SQLiteStore(Path(tmp) / "index.sqlite")
        reader = make_reader("rapidocr")
        reader.read(np.zeros((64, 64, 3), np.uint8))  # load the ONNX sessions outside the timing
        load = os.getloadavg()[0]
        cpu0, t0 = time.process_time(), time.perf_counter()
        stats = index_paths([tmp], store, reader, SampleConfig(), log=lambda m: None)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        counts = {"gt_found": 0, "gt_total": 0, "pred_correct": 0, "pred_total": 0}
        for path, truth in truths.items():
            occ = store.conn.execute(
                "SELECT o.text, o.start, o.end FROM occurrences o JOIN videos v ON v.id = o.video_id "
                "WHERE v.path = ?", (path,)).fetchall()
            for k, v in score_video(truth, occ).items():
                counts[k] += v
        store.close()
    metrics["word_recall"] = counts["gt_found"] / max(1, counts["gt_total"])
    metrics["word_precision"] = counts["pred_correct"] / max(1, counts["pred_total"])
    metrics["realtime_factor"] = stats.seconds_of_video / wall
    metrics["realtime_factor_cpu"] = stats.seconds_of_video / (cpu / 2)
    metrics.update(recogniser_accuracies(n_crops))
    config = {"videos": n_videos, "seconds_each": seconds, "size": list(spec.size), "fps": spec.fps,
              "gt_words_16px": counts["gt_total"], "indexed_tokens": counts["pred_total"],
              "frames_sampled": stats.frames_sampled, "frames_read": stats.frames_read, "interval_s": 0.5,
              "backend": "rapidocr", "word_crops": n_crops, "load_average_at_start": round(load, 1),
              "cores": 2}
    return {"metrics": metrics, "config": config, "device": "cpu"}
