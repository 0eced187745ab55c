"""Hooks for `deepgallery run|train|demo streetcars` and the web gallery (see core/app.py). The detector is in
detector.py, the batch stage in survey.py, region tables in aggregate.py, the regressions in regress.py, figures in
plots.py, the fine-grained classifier in model.py / train.py, the benchmark in bench.py."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import number
from ...core.errors import UserError

EXAMPLES = Path(__file__).resolve().parent / "examples"
# street scenes first (the gallery and the browser test open the first), the garage motorcycle last
EXAMPLE_PHOTOS = [EXAMPLES / f"{name}.jpg" for name in ("suv", "red-car", "pickup", "motorcycle")]
WEB_EXAMPLES = [{"image": str(p), "min_score": 0.3} for p in EXAMPLE_PHOTOS]


# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("photos", nargs="?", help="a folder of street photos (subfolders included), or one photo")
    parser.add_argument("--regions", help="CSV photo,region[,lat,lon]: which region each photo was taken in "
                                          "(photo = its path inside the folder); without it only detection runs")
    parser.add_argument("--stats", help="CSV region,<statistic>,...: known statistics of (some) regions to predict "
                                        "from their cars (two-valued columns such as D/R: logistic regression; "
                                        "numeric ones: ridge)")
    parser.add_argument("--target", action="append", help="a statistic column to predict (repeatable; default: all)")
    parser.add_argument("--attributes", help="CSV class,<attribute>,...: numbers per vehicle class (price, year, "
                                             "mpg); the class is the body type (car, truck, bus, motorcycle) or, "
                                             "with --classifier, a make/model/year name; region means become features")
    parser.add_argument("--classifier", help="a fine-grained classifier checkpoint from `deepgallery train "
                                             "streetcars --export NAME` (classifies every detected vehicle)")
    parser.add_argument("--folds", type=number(int, "--folds", minimum=2), default=5,
                        help="k of the k-fold cross-validation (default: 5)")
    parser.add_argument("--min-score", type=number(float, "--min-score", minimum=0.01, maximum=1.0), default=0.3,
                        help="keep detections at least this confident (default: 0.3)")
    parser.add_argument("--workers", type=number(int, "--workers", minimum=1), default=None,
                        help="detection worker processes (default: all cores, a local Dask cluster; 1: in this "
                             "process)")
    parser.add_argument("--cluster", help="address of an existing Dask scheduler (tcp://host:8786) whose workers "
                                          "detect the photos (they must see the photo folder at the same path)")
    parser.add_argument("--no-draw", action="store_true", help="do not write a PNG with boxes per photo")
    parser.add_argument("-o", "--out", help="output folder (default: streetcars-out); one photo: the PNG to write")
    parser.add_argument("--seed", type=number(int, "--seed", minimum=0), default=0, help="cross-validation folds")


def _config(min_score: float):
    from .detector import DetectorConfig

    return DetectorConfig(min_score=float(min_score))


def _one_photo(args: argparse.Namespace, src: Path) -> int:
    from ...core.media import read_image
    from .detector import VehicleDetector, count_by_type
    from .plots import draw_detections

    out = Path(args.out or f"{src.stem}-vehicles.png")
    if out.suffix.lower() != ".png":
        raise UserError(f"{out}: one photo's boxes are written as PNG, give a name ending in .png")
    rgb = read_image(src)
    found = VehicleDetector(_config(args.min_score)).detect(rgb)
    fine = None
    if args.classifier:
        from .model import load_classifier

        fine = load_classifier(args.classifier).classify_boxes(rgb, found) if found else []
    counts = count_by_type(found)
    print(f"{src.name}: {len(found)} vehicle(s): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for i, d in enumerate(found):
        name = f" ({fine[i]})" if fine else ""
        print(f"  {d.label}{name} {d.score:.2f} at x {d.x1:.0f}-{d.x2:.0f}, y {d.y1:.0f}-{d.y2:.0f}")
    print(f"boxes drawn: {draw_detections(rgb, found, out, fine)}")
    return 0


def _write_photo_csv(path: Path, counts: dict, places: dict | None) -> Path:
    from ...core.atomic import write_csv
    from .detector import BODY_TYPES

    rows = [[photo, places[photo].region if places and photo in places else "", *(counts[photo][t] for t in BODY_TYPES)]
            for photo in sorted(counts)]
    return write_csv(path, rows, header=["photo", "region", *BODY_TYPES])


def run(args: argparse.Namespace) -> int:
    if not args.photos:
        raise UserError("give a folder of street photos: deepgallery run streetcars photos/ --regions regions.csv "
                        "[--stats census.csv] (or one photo)")
    src = Path(args.photos).expanduser()
    if not src.exists():
        raise UserError(f"{src}: no such file or folder")
    if src.is_file():
        return _one_photo(args, src)
    from .aggregate import read_attributes, read_regions, read_stats
    from .regress import check_enough
    from .survey import list_photos

    if args.stats and not args.regions:
        raise UserError("--stats needs --regions (which region each photo belongs to)")
    photos, others = list_photos(src)
    if not photos and not others:
        raise UserError(f"{src}: the folder holds no files")
    # every table is read and checked before anything is written
    places = read_regions(Path(args.regions), set(photos) | set(others)) if args.regions else None
    stats_columns, stats = read_stats(Path(args.stats)) if args.stats else ([], {})
    if args.target and not args.stats:
        raise UserError("--target names a column of --stats; give --stats too")
    if stats:
        from .aggregate import _need

        _need(stats_columns, tuple(args.target or ()), Path(args.stats), "statistics")
        regions_with_stats = {p.region for p in places.values()} & set(stats)
        check_enough(len(regions_with_stats), args.folds)
    attributes = read_attributes(Path(args.attributes)) if args.attributes else None
    if args.classifier:
        from .model import load_classifier

        load_classifier(args.classifier)  # a bad checkpoint fails now, not on every worker
    out = Path(args.out or "streetcars-out")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: exists and is not a folder; give --out a folder")
    names = sorted(places) if places else photos
    names += [o for o in others if places is None]  # non-images are tried (and counted as skipped)
    if places:
        unplaced = len(set(photos) - set(places))
        if unplaced:
            print(f"{unplaced} photo(s) of the folder are not in {args.regions}; they are left out")
    return _survey(args, src, out, names, places, stats_columns, stats, attributes)


def _survey(args, src: Path, out: Path, names: list[str], places, stats_columns, stats, attributes) -> int:
    from ...core.atomic import write_csv
    from .aggregate import add_features, fit_regions, region_rows
    from .survey import read_detections, run_detection

    start = time.perf_counter()
    workers = args.workers if args.workers is not None else (1 if len(names) < 2 else (os.cpu_count() or 1))
    summary = run_detection(src, names, out / "detections.sqlite", _config(args.min_score),
                            None if args.no_draw else out / "detections", workers, args.cluster,
                            args.classifier, log=lambda m: print(m, file=sys.stderr))
    counts, _, fine = read_detections(out / "detections.sqlite")
    print(f"detected {summary['done']} photo(s) in {time.perf_counter() - start:.1f} s"
          f"{', ' + str(summary['skipped_already_done']) + ' done in an earlier run' if summary['skipped_already_done'] else ''}"  # noqa: E501
          f"; skipped {summary['failed_total']} unreadable file(s); "
          f"{sum(sum(c.values()) for c in counts.values())} vehicle(s) in {len(counts)} photo(s)")
    print(f"per photo: {_write_photo_csv(out / 'photos.csv', counts, places)}")
    if not places:
        return 0
    rows = [add_features(r) for r in region_rows(counts, places, fine, attributes)]
    if not rows:
        raise UserError("no photo of the regions CSV could be read; nothing to aggregate")
    for r in rows:
        if r["region"] in stats:
            r.update({f"stat_{k}": stats[r["region"]][k] for k in stats_columns})
    print(f"per region ({len(rows)}): {write_csv(out / 'regions.csv', rows)}")
    fits = []
    if stats:
        from ...core.atomic import write_text
        from .plots import scatter

        fits, used = fit_regions(rows, stats_columns, stats, args.target, args.folds, args.seed, Path(args.stats))
        for fit in fits:
            what = "r" if fit.kind == "ridge" else "accuracy"
            base = "" if fit.kind == "ridge" else f" (always the commoner: {fit.baseline:.0%})"
            model = f"{fit.kind} on {', '.join(fit.features) if len(fit.features) == 1 else 'all car features'}"
            value = f"{fit.score:.3f}" if fit.kind == "ridge" else f"{fit.score:.0%}"
            print(f"{fit.target}: {model}: {fit.folds}-fold cross-validated {what} {value}{base}")
        report = {"regions_fitted": len(used), "fits": [f.summary() for f in fits]}
        print(f"regression: {write_text(out / 'regression.json', json.dumps(report, indent=2))}")
        print(f"scatter plot: {scatter(fits, used, out / 'scatter.png')}")
    from .plots import region_map

    mapped = region_map(rows, out / "map.html", fits, stats or None)
    if mapped:
        print(f"map: {mapped}")
    return 0


def predict(image: Any = None, min_score: float = 0.3) -> dict[str, Any]:
    """The web gallery's call: one street photo → {"image": PNG with boxes, "counts": vehicles by body type and
    every detection}."""
    if image is None:
        raise UserError("give a street photo")
    from ...core.media import read_image
    from .detector import count_by_type, shared_detector
    from .plots import draw_detections

    rgb = read_image(Path(image))
    found = shared_detector(_config(min_score)).detect(rgb)
    out = Path(tempfile.mkdtemp(prefix="deepgallery-streetcars-")) / "vehicles.png"
    draw_detections(rgb, found, out)
    return {"image": out, "counts": {"by_body_type": count_by_type(found),
                                     "detections": [d.as_dict() for d in found]}}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from ...core.distributed import add_training_args
    from .train import TrainConfig

    data = ("a folder with one subfolder of car images per class (Stanford Cars, folder-per-class variant: "
            "car_data/train)")
    export = "also write the fp16 checkpoint `run --classifier` loads (NAME -> NAME.safetensors + NAME.json)"
    add_training_args(parser, TrainConfig, out="runs/streetcars", data=data, export=export)


def train(args: argparse.Namespace) -> int:
    from ...core.distributed import run_training
    from .train import TrainConfig, export
    from .train import train as train_loop

    if not args.data:
        raise UserError("give --data FOLDER: one subfolder of car images per class (Stanford Cars' car_data/train); "
                        "no car images exist offline to train on by default")
    return run_training(args, TrainConfig, lambda cfg, ctx: train_loop(args.out, cfg, args.data, ctx),
                        lambda result, path, cfg, command: export(result, path, cfg, args.data, command),
                        app="streetcars", written="classifier")


# ---------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The detector on the built-in street photos, then a generated city of 60 precincts through aggregation,
    cross-validated regression, the scatter plot and the map (its car counts are generated, not detected)."""
    from ...core.atomic import write_text
    from .aggregate import add_features, fit_regions
    from .city import CityConfig, city_tables, generate
    from .plots import region_map, scatter

    out_dir = Path(out_dir)
    items = []
    for path in EXAMPLE_PHOTOS:
        start = time.perf_counter()
        result = predict(path)
        shown = out_dir / f"{path.stem}-vehicles.png"
        shown.parent.mkdir(parents=True, exist_ok=True)
        shown.write_bytes(Path(result["image"]).read_bytes())
        counts = result["counts"]["by_body_type"]
        items.append(DemoItem(title=f"{path.stem}: vehicles found", inputs={"image": str(path)}, outputs=[shown],
                              text=", ".join(f"{k} {v}" for k, v in counts.items()),
                              seconds=time.perf_counter() - start))
    start = time.perf_counter()
    city = generate(CityConfig())
    _, rows, census = city_tables(city)
    rows = [add_features(r) for r in rows]
    stats = {c["region"]: {k: str(v) for k, v in c.items()} for c in census}
    fits, used = fit_regions(rows, ["dem_share", "vote", "median_income"], stats)
    plot = scatter(fits, used, out_dir / "city-scatter.png")
    mapped = region_map(rows, out_dir / "city-map.html", fits, stats)
    report = write_text(out_dir / "city-regression.json", json.dumps([f.summary() for f in fits], indent=2))
    text = "; ".join(f"{f.target} ({'sedans:pickups' if len(f.features) == 1 else 'all features'}): "
                     f"{'r' if f.kind == 'ridge' else 'accuracy'} {f.score:.2f}" for f in fits)
    items.append(DemoItem(title="generated city: 60 precincts, demographics from car mix (cross-validated)",
                          outputs=[plot, mapped, report], text=text, seconds=time.perf_counter() - start))
    return items
