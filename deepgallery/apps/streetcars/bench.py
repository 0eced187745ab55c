"""Benchmark: the detector on hand-counted real photos, the regression's recovery of a known relation on generated
cities, and the detection stage's throughput on one worker and on a local two-worker Dask cluster.

* ``car_recall`` / ``car_precision``: `counted.json` lists 13 real photos that installed packages ship (darknet,
  opencv-doc, scikit-image) with 9 vehicles counted and boxed by hand (7 photos with vehicles, 6 without). A
  detection (score ≥ 0.3) matches an unmatched counted vehicle at IoU ≥ 0.5, any body type;
  ``body_type_accuracy`` is the share of matches whose body type is the counted one.
* ``cv_r_generated`` (ridge, Democrat vote share, all car features) and ``cv_accuracy_generated`` (logistic, the
  D/R outcome from log(sedans / pickups) alone — the paper's headline) on generated cities of 60 precincts (city.py),
  5-fold cross-validated, averaged over cities (quick: 3, full: 10); ``cv_r_oracle`` is the r the hidden leaning
  itself would reach (the ceiling the noise leaves).
* ``images_per_s_1worker`` / ``images_per_s_2workers``: `survey.run_detection` over copies of the example photos
  (≤ 640 px) into a fresh database, in this process vs. a local Dask cluster of two single-threaded worker
  processes: steady state, from the first photo stored to the last (``..._with_startup``: the whole call, the
  cluster's start and the model loads included); the shared 2-core machine's load average is reported beside.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MIN_SCORE = 0.3


def _photo_path(name: str) -> Path:
    if name.startswith("skimage:"):
        import skimage

        return Path(skimage.__file__).parent / name.split(":", 1)[1]
    return Path(name)


def detection_quality(min_score: float = MIN_SCORE) -> dict:
    from ...core.media import read_image
    from .detector import Detection, DetectorConfig, VehicleDetector, box_iou

    table = json.loads((HERE / "counted.json").read_text(encoding="utf-8"))["photos"]
    detector = VehicleDetector(DetectorConfig(min_score=min_score))
    counted = found = matched = same_type = 0
    used, missing, per_photo = [], [], {}
    for name, entry in table.items():
        path = _photo_path(name)
        if not path.is_file():
            missing.append(name)
            continue
        used.append(name)
        truth = [Detection(*v["box"], 1.0, v["type"]) for v in entry["vehicles"]]
        dets = detector.detect(read_image(path))
        taken: set[int] = set()
        hits = 0
        for det in dets:  # best first
            best = max(((box_iou(det, t), j) for j, t in enumerate(truth) if j not in taken), default=(0.0, -1))
            if best[0] >= 0.5:
                taken.add(best[1])
                hits += 1
                same_type += det.label == truth[best[1]].label
        counted += len(truth)
        found += len(dets)
        matched += hits
        per_photo[path.name] = {"counted": len(truth), "detected": len(dets), "matched": hits}
    return {"car_recall": matched / counted if counted else float("nan"),
            "car_precision": matched / found if found else float("nan"),
            "body_type_accuracy": same_type / matched if matched else float("nan"),
            "photos": len(used), "vehicles_counted": counted, "detections": found, "missing_photos": missing,
            "per_photo": per_photo}


def regression_recovery(cities: int) -> dict:
    from .aggregate import add_features, fit_regions
    from .city import CityConfig, city_tables, generate
    from .regress import pearson_r

    r_share, acc_ratio, acc_all, r_income, r_oracle, base = [], [], [], [], [], []
    for seed in range(cities):
        city = generate(CityConfig(seed=seed))
        _, rows, census = city_tables(city)
        rows = [add_features(r) for r in rows]
        stats = {c["region"]: {k: str(v) for k, v in c.items()} for c in census}
        fits, _ = fit_regions(rows, ["dem_share", "vote", "median_income"], stats, seed=seed)
        by = {(f.target, len(f.features) == 1): f for f in fits}
        r_share.append(by[("dem_share", False)].score)
        acc_all.append(by[("vote", False)].score)
        acc_ratio.append(by[("vote", True)].score)
        base.append(by[("vote", True)].baseline)
        r_income.append(by[("median_income", False)].score)
        r_oracle.append(pearson_r(city.hidden, np.array(city.stats["dem_share"])))
    return {"cv_r_generated": float(np.mean(r_share)), "cv_accuracy_generated": float(np.mean(acc_ratio)),
            "cv_accuracy_generated_all_features": float(np.mean(acc_all)),
            "cv_accuracy_generated_baseline": float(np.mean(base)),
            "cv_r_generated_income": float(np.mean(r_income)), "cv_r_oracle": float(np.mean(r_oracle))}


def throughput(copies: int) -> dict:
    from .detector import DetectorConfig
    from .survey import run_detection

    examples = sorted((HERE / "examples").glob("*.jpg"))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        names = []
        for i in range(copies):
            src = examples[i % len(examples)]
            shutil.copy(src, folder / f"{i:03d}-{src.name}")
            names.append(f"{i:03d}-{src.name}")
        for label, workers in (("1worker", 1), ("2workers", 2)):
            db = Path(tmp) / f"{label}.sqlite"
            start = time.perf_counter()
            summary = run_detection(folder, names, db, DetectorConfig(min_score=MIN_SCORE), None, workers, None,
                                    log=lambda *_: None)
            seconds = time.perf_counter() - start
            out[f"images_per_s_{label}_with_startup"] = summary["done"] / seconds
            # steady state: from the first photo stored to the last (the cluster's start and each worker's model
            # load excluded), from the job's own done marks
            conn = sqlite3.connect(db)
            first, last, n = conn.execute("SELECT MIN(finished), MAX(finished), COUNT(*) FROM batch_done").fetchone()
            conn.close()
            out[f"images_per_s_{label}"] = (n - 1) / (last - first) if n > 1 and last > first else float("nan")
    out["speedup_2workers"] = out["images_per_s_2workers"] / out["images_per_s_1worker"]
    out["load_average_after"] = os.getloadavg()[0]
    return out


def bench(quick: bool = False) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    quality = detection_quality()
    per_photo = quality.pop("per_photo")
    missing = quality.pop("missing_photos")
    recovery = regression_recovery(3 if quick else 10)
    speed = throughput(16 if quick else 40)
    load_after = speed.pop("load_average_after")
    metrics = {**{k: v for k, v in quality.items() if isinstance(v, float)}, **recovery, **speed}
    return {
        "metrics": metrics,
        "config": {"quick": quick, "min_score": MIN_SCORE, "photos": quality["photos"],
                   "vehicles_counted": quality["vehicles_counted"], "detections": quality["detections"],
                   "missing_photos": missing, "per_photo": per_photo, "cities": 3 if quick else 10,
                   "regions_per_city": 60, "photos_per_region": 30, "folds": 5,
                   "throughput_images": 16 if quick else 40, "load_average_at_start": round(load, 2),
                   "load_average_after_throughput": round(load_after, 2),
                   "seconds": round(time.perf_counter() - start, 1)},
        "device": "cpu (onnxruntime, 1 thread per worker)",
    }
