"""The detection stage as a resumable batch job: every photo of a folder → its vehicles, in a SQLite database.

The paper ran its detector over 50 million images. Here the stage is a `core.batch.BatchJob`: one function of one
photo (`detect_photo`, run on Dask workers — all local cores by default, or an existing Dask cluster), whose result
the calling process stores, together with the photo's done mark, in one transaction. A run that is killed resumes
where it stopped (photos already stored are not detected again), a photo that is not a readable image is counted
and skipped, and only the caller writes the database.

Tables (besides the job's own ``batch_done``): ``photos(photo, width, height, vehicles)`` and
``detections(photo, idx, label, fine_class, score, x1, y1, x2, y2)``, ``label`` being the body type and
``fine_class`` the make/model/year class when a fine-grained classifier was given (else the body type again).
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import asdict
from pathlib import Path

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES
from .detector import BODY_TYPES, Detection, DetectorConfig

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS photos (photo TEXT PRIMARY KEY, width INTEGER, height INTEGER, vehicles INTEGER)",
    "CREATE TABLE IF NOT EXISTS detections (photo TEXT, idx INTEGER, label TEXT, fine_class TEXT, score REAL, "
    "x1 REAL, y1 REAL, x2 REAL, y2 REAL, PRIMARY KEY (photo, idx))",
    "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT)",
)

# One classifier per worker process, made on its first photo (a Dask worker runs many photos); the detector is
# shared the same way (detector.shared_detector).
_MODELS: dict[tuple, object] = {}


def _classifier(path: str):
    from .model import load_classifier

    key = ("classifier", path)
    if key not in _MODELS:
        _MODELS[key] = load_classifier(path)
    return _MODELS[key]


def list_photos(folder: Path) -> tuple[list[str], list[str]]:
    """(photo names relative to `folder`, other files) — by suffix; content is checked when a photo is read."""
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder (give a folder of street photos)")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    photos = [p.relative_to(folder).as_posix() for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p.relative_to(folder).as_posix() for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    return photos, others


def detect_photo(name: str, folder: str, config: DetectorConfig, draw_dir: str | None = None,
                 classifier: str | None = None) -> dict:
    """One photo → {"width", "height", "detections": [...]} (runs on a worker; picklable via functools.partial).
    Draws the boxes into `draw_dir`/<photo>.png when given. A file that is not a readable image raises UserError,
    which the batch job records as a failed key."""
    from ...core.media import read_image
    from .detector import shared_detector

    rgb = read_image(Path(folder) / name)
    found = shared_detector(config).detect(rgb)
    fine = [d.label for d in found]
    if classifier and found:
        fine = _classifier(classifier).classify_boxes(rgb, found)
    if draw_dir:
        from .plots import draw_detections

        draw_detections(rgb, found, Path(draw_dir) / (name.rsplit(".", 1)[0] + ".png"), fine)
    return {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
            "detections": [{**asdict(d), "fine_class": c} for d, c in zip(found, fine, strict=True)]}


def open_db(job) -> sqlite3.Connection:
    for statement in SCHEMA:
        job.conn.execute(statement)
    return job.conn


def check_settings(conn: sqlite3.Connection, settings: dict[str, str], db: Path) -> None:
    """A database resumed with other detector settings would mix two surveys: refuse, naming the difference."""
    stored = dict(conn.execute("SELECT name, value FROM settings").fetchall())
    if not stored:
        conn.executemany("INSERT INTO settings VALUES (?, ?)", sorted(settings.items()))
        return
    for name, value in settings.items():
        if stored.get(name) != value:
            raise UserError(f"{db} was made with {name}={stored.get(name)}, this run has {value}; give another "
                            f"--out (or the same settings) to resume")


def run_detection(folder: Path, names: list[str], db: Path, config: DetectorConfig, draw_dir: Path | None,
                  workers: int | None, cluster: str | None, classifier: str | None = None,
                  log=print) -> dict:
    """Detect the vehicles of every photo in `names` not yet in `db`; returns the job summary."""
    from ...core.batch import BatchJob

    fn = functools.partial(detect_photo, folder=str(folder), config=config,
                           draw_dir=str(draw_dir) if draw_dir else None, classifier=classifier)
    with BatchJob(db) as job:
        conn = open_db(job)
        check_settings(conn, {"min_score": str(config.min_score), "nms_iou": str(config.nms_iou),
                              "min_side": str(config.min_side), "classifier": str(classifier or "")}, db)
        for outcome in job.run(fn, names, workers=workers, cluster=cluster, desc="detect"):
            with job.transaction() as tx:
                if outcome.ok:
                    value = outcome.value
                    tx.execute("DELETE FROM detections WHERE photo = ?", (outcome.key,))
                    tx.execute("INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?)",
                               (outcome.key, value["width"], value["height"], len(value["detections"])))
                    tx.executemany("INSERT INTO detections VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                        (outcome.key, i, d["label"], d["fine_class"], d["score"], d["x1"], d["y1"], d["x2"], d["y2"])
                        for i, d in enumerate(value["detections"])])
                else:
                    log(f"skipped: {outcome.error.split(': ', 1)[-1]}")
                job.mark(tx, outcome)
        summary = job.summary()
        summary["failed_total"] = conn.execute("SELECT COUNT(*) FROM batch_done WHERE ok = 0").fetchone()[0]
    return summary


def read_detections(db: Path) -> tuple[dict[str, dict[str, int]], dict[str, list[Detection]], dict[str, list[str]]]:
    """From the database: per photo its counts by body type, its detections and their fine classes."""
    conn = sqlite3.connect(db)
    try:
        counts = {p: dict.fromkeys(BODY_TYPES, 0) for (p,) in conn.execute("SELECT photo FROM photos")}
        dets: dict[str, list[Detection]] = {p: [] for p in counts}
        fine: dict[str, list[str]] = {p: [] for p in counts}
        rows = conn.execute("SELECT photo, label, fine_class, score, x1, y1, x2, y2 FROM detections "
                            "ORDER BY photo, idx")
        for photo, label, cls, score, x1, y1, x2, y2 in rows:
            counts[photo][label] += 1
            dets[photo].append(Detection(x1, y1, x2, y2, score, label))
            fine[photo].append(cls)
    finally:
        conn.close()
    return counts, dets, fine
