"""streetcars: the regressions against their closed forms, recovery of a known relation on a generated city (and
nothing on a shuffled one), the detector on real photos, the resumable batch stage (in-process and on a local
two-worker Dask cluster), the run command's tables/plots/map and its bad inputs, and the fine-grained classifier's
training (resume, export, use in `run`, two gloo processes = one). Fixtures are made here: a folder-per-class set
of drawn "cars" in the Stanford Cars layout, and folders of the shipped example photos."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from deepgallery.apps.streetcars import APP
from deepgallery.apps.streetcars.aggregate import add_features, fit_regions, read_regions
from deepgallery.apps.streetcars.city import CityConfig, city_tables, generate
from deepgallery.apps.streetcars.detector import Detection, non_max_suppression
from deepgallery.apps.streetcars.regress import (
    fit_logistic,
    fit_ridge,
    kfold,
    logistic_fit,
    ridge_fit,
    ridge_loo_error,
    sigmoid,
)
from deepgallery.core.errors import UserError

EXAMPLES = sorted((APP.folder / "examples").glob("*.jpg"))


# ------------------------------------------------------------------------------------------- regressions


def test_ridge_is_its_closed_form_and_leave_one_out_is_exact():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 3 + rng.normal(0, 0.1, 30)
    w, b = ridge_fit(x, y, 0.0)
    design = np.hstack([x, np.ones((30, 1))])
    np.testing.assert_allclose(np.r_[w, b], np.linalg.lstsq(design, y, rcond=None)[0], atol=1e-8)
    alpha = 2.0
    errors = []
    for i in range(30):  # leave-one-out by 30 refits
        keep = np.arange(30) != i
        wi, bi = ridge_fit(x[keep], y[keep], alpha)
        errors.append((y[i] - x[i] @ wi - bi) ** 2)
    assert ridge_loo_error(x, y, alpha) == pytest.approx(np.mean(errors), rel=1e-6)
    assert np.linalg.norm(ridge_fit(x, y, 1e4)[0]) < 0.1 * np.linalg.norm(w)  # the penalty shrinks


def test_logistic_fit_is_a_stationary_point_and_separates():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 2))
    y = (rng.random(80) < sigmoid(2 * x[:, 0] - x[:, 1])).astype(float)
    w, b = logistic_fit(x, y, lam=1.0)
    p = sigmoid(x @ w + b)
    np.testing.assert_allclose(x.T @ (p - y) + 1.0 * w, 0, atol=1e-6)  # the penalised score is zero
    assert abs(np.sum(p - y)) < 1e-6  # the free intercept matches the mean
    assert w[0] > 1 and w[1] < 0


def test_folds_cover_everything_once_and_stratify():
    y = np.array([0] * 12 + [1] * 6)
    folds = kfold(18, 3, seed=0, strata=y)
    assert sorted(np.concatenate(folds).tolist()) == list(range(18))
    assert all(y[f].sum() == 2 for f in folds)


def test_cross_validation_finds_a_real_relation_and_not_a_fake_one():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 4))
    y = x[:, 0] - 0.5 * x[:, 2] + rng.normal(0, 0.5, 60)
    assert fit_ridge(x, y, ["a", "b", "c", "d"], "y").score > 0.8
    assert abs(fit_ridge(x, rng.permutation(y), ["a", "b", "c", "d"], "y").score) < 0.35
    labels = (y > 0).astype(float)
    fit = fit_logistic(x, labels, ["a", "b", "c", "d"], "vote", ("R", "D"))
    assert fit.score > 0.8 and fit.baseline < 0.7


def test_too_few_regions_for_cross_validation_is_one_clear_error():
    x, y = np.zeros((3, 2)), np.arange(3.0)
    with pytest.raises(UserError, match="too few regions"):
        fit_ridge(x, y, ["a", "b"], "y", folds=5)


# -------------------------------------------------------------------------------------- generated city


def _city_fits(seed: int, shuffle: bool = False):
    city = generate(CityConfig(seed=seed))
    _, rows, census = city_tables(city)
    rows = [add_features(r) for r in rows]
    if shuffle:  # the same demographics dealt to other regions: the cars no longer tell them
        order = np.random.default_rng(seed).permutation(len(census))
        census = [{**census[j], "region": census[i]["region"]} for i, j in enumerate(order)]
    stats = {c["region"]: {k: str(v) for k, v in c.items()} for c in census}
    fits, _ = fit_regions(rows, ["dem_share", "vote", "median_income"], stats)
    return {(f.target, len(f.features) == 1): f for f in fits}


def test_the_regression_recovers_the_hidden_relation_of_a_generated_city():
    fits = _city_fits(0)
    assert fits[("dem_share", False)].score > 0.7
    headline = fits[("vote", True)]
    assert headline.features == ["log_sedan_pickup"] and headline.score > 0.75
    assert headline.classes == ("D", "R") and headline.weights["log_sedan_pickup"] < 0  # more sedans: less R
    shuffled = _city_fits(0, shuffle=True)
    assert abs(shuffled[("dem_share", False)].score) < 0.4 and shuffled[("vote", True)].score < 0.75


# ------------------------------------------------------------------------------------------------ detector


def test_nms_keeps_one_body_type_per_vehicle():
    found = [Detection(0, 0, 100, 50, 0.55, "car"), Detection(2, 1, 101, 52, 0.32, "truck"),
             Detection(200, 0, 300, 50, 0.4, "car")]
    kept = non_max_suppression(found, 0.5)
    assert [(d.label, d.score) for d in kept] == [("car", 0.55), ("car", 0.4)]


def test_the_shipped_detector_finds_the_vehicles_of_the_example_photos():
    from deepgallery.apps.streetcars.entry import predict

    seen = {}
    for path in EXAMPLES:
        result = predict(path, min_score=0.3)
        seen[path.stem] = result["counts"]["by_body_type"]
        assert Image.open(result["image"]).size == Image.open(path).size
    assert seen["red-car"]["car"] == 1 and seen["suv"]["car"] == 1 and seen["motorcycle"]["motorcycle"] == 1
    assert sum(seen["pickup"].values()) >= 1  # the pickup (named "car" by COCO's detector; see README)
    assert all(sum(c.values()) <= 2 for c in seen.values())  # no spurious boxes on these


# ------------------------------------------------------------------------------------------- run (survey)


@pytest.fixture
def street_folder(tmp_path):
    """8 photos (the examples, twice) in 4 regions with positions, a non-image, and census tables."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rows = []
    for i in range(8):
        src = EXAMPLES[i % len(EXAMPLES)]
        name = f"{i}-{src.name}"
        shutil.copy(src, folder / name)
        rows.append((name, f"r{i % 4}", 47.6 + 0.01 * (i % 4), -122.3 - 0.01 * (i % 4)))
    (folder / "notes.jpg").write_text("not a photo")
    rows.append(("notes.jpg", "r0", 47.6, -122.3))
    with open(tmp_path / "regions.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["photo", "region", "lat", "lon"])
        w.writerows(rows)
    with open(tmp_path / "census.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["region", "vote", "income"])
        w.writerows([("r0", "D", 60000), ("r1", "R", 52000), ("r2", "D", 71000), ("r3", "R", 48000)])
    return tmp_path


def test_run_writes_detections_tables_regression_plot_and_map_and_resumes(street_folder, run_cli):
    out = street_folder / "out"
    argv = ("run", "streetcars", street_folder / "photos", "--regions", street_folder / "regions.csv", "--stats",
            street_folder / "census.csv", "--folds", 2, "--workers", 1, "-o", out)
    code, text, err = run_cli(*argv)
    assert code == 0, err
    assert "skipped 1 unreadable" in text and "notes.jpg" in err
    assert len(list((out / "detections").glob("*.png"))) == 8
    regions = list(csv.DictReader((out / "regions.csv").open()))
    assert [r["region"] for r in regions] == ["r0", "r1", "r2", "r3"] and all(r["photos"] == "2" for r in regions)
    assert sum(int(r["car"]) for r in regions) >= 4 and "log_sedan_pickup" in regions[0]
    report = json.loads((out / "regression.json").read_text())
    assert {f["target"] for f in report["fits"]} == {"vote", "income"} and report["regions_fitted"] == 4
    assert "cv_accuracy" in report["fits"][0] and "vote: logistic on log_sedan_pickup" in text
    assert (out / "scatter.png").stat().st_size > 1000
    html = (out / "map.html").read_text()
    assert "leaflet" in html.lower() and "r3" in html
    code, text, err = run_cli(*argv)  # again: nothing is detected twice
    assert code == 0 and "detected 0 photo(s)" in text and "9 done in an earlier run" in text


def test_an_interrupted_survey_resumes_with_the_photos_it_had_not_stored(street_folder):
    from deepgallery.apps.streetcars.detector import DetectorConfig
    from deepgallery.apps.streetcars.survey import read_detections, run_detection

    folder = street_folder / "photos"
    names = sorted(p.name for p in folder.iterdir())
    db = street_folder / "survey.sqlite"
    first = run_detection(folder, names[:3], db, DetectorConfig(), None, 1, None, log=lambda *_: None)
    second = run_detection(folder, names, db, DetectorConfig(), None, 1, None, log=lambda *_: None)
    assert first["done"] == 3 and second["done"] + second["failed"] == len(names) - 3
    assert second["skipped_already_done"] == 3 and len(read_detections(db)[0]) == 8
    with pytest.raises(UserError, match="min_score=0.3, this run has 0.5"):
        run_detection(folder, names, db, DetectorConfig(min_score=0.5), None, 1, None)


def test_a_dask_cluster_of_two_workers_gives_the_same_survey(street_folder, run_cli):
    """`--cluster ADDRESS` (an existing scheduler, here a local one with two worker processes) stores the same
    detections as the in-process run, and the bad file is skipped there too."""
    from dask.distributed import LocalCluster

    from deepgallery.apps.streetcars.survey import read_detections

    folder = street_folder / "tiny"
    folder.mkdir()
    for src in EXAMPLES[:3]:
        Image.open(src).resize((320, 240)).save(folder / src.name)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    code, text, err = run_cli("run", "streetcars", folder, "--workers", 1, "-o", street_folder / "one")
    assert code == 0, err
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code, text, err = run_cli("run", "streetcars", folder, "--cluster", cluster.scheduler_address, "-o",
                                  street_folder / "two")
    assert code == 0, err
    assert "detected 3 photo(s)" in text and "skipped 1 unreadable" in text
    one, two = (read_detections(street_folder / d / "detections.sqlite")[0] for d in ("one", "two"))
    assert one == two and len(one) == 3


def test_one_photo_draws_its_boxes(tmp_path, run_cli):
    code, text, err = run_cli("run", "streetcars", EXAMPLES[0], "-o", tmp_path / "boxes.png")
    assert code == 0, err
    assert "vehicle(s)" in text and (tmp_path / "boxes.png").is_file()


def test_regions_csv_errors_name_what_is_wrong(tmp_path):
    bad = tmp_path / "r.csv"
    bad.write_text("image,place\na.jpg,x\n")
    with pytest.raises(UserError, match="no column 'photo', 'region'"):
        read_regions(bad, {"a.jpg"})
    bad.write_text("photo,region\na.jpg,x\nghost.jpg,y\n")
    with pytest.raises(UserError, match="1 photo\\(s\\) not in the photo folder: ghost.jpg"):
        read_regions(bad, {"a.jpg"})


@pytest.mark.parametrize("case, needle", [
    ("no-region-column", "no column 'region'"),
    ("unknown-photo", "not in the photo folder: ghost.jpg"),
    ("too-few", "too few regions"),
    ("stats-without-regions", "--stats needs --regions"),
    ("stats-no-region", "statistics CSV has no column 'region'"),
])
def test_bad_tables_exit_2_with_one_line_and_write_nothing(case, needle, bad_input):
    d = bad_input.dir
    (d / "photos").mkdir()
    shutil.copy(EXAMPLES[0], d / "photos" / "a.jpg")
    (d / "regions.csv").write_text({"no-region-column": "photo,place\na.jpg,x\n",
                                    "unknown-photo": "photo,region\na.jpg,x\nghost.jpg,y\n"}.get(
        case, "photo,region\na.jpg,x\n"))
    (d / "census.csv").write_text("area,vote\nx,D\n" if case == "stats-no-region" else "region,vote\nx,D\n")
    argv = [str(d / "photos"), "-o", "{out}"]
    if case != "stats-without-regions":
        argv += ["--regions", str(d / "regions.csv")]
    if case in ("too-few", "stats-without-regions", "stats-no-region"):
        argv += ["--stats", str(d / "census.csv")]
    bad_input("streetcars", argv, needle)


def test_bad_single_photo_exits_2(bad_input):
    bad_input("streetcars", ["{bad}", "-o", "{out}.png"], "not a readable image")
    bad_input("streetcars", ["{ok}", "-o", "{out}.jpg"], "written as PNG")


# ----------------------------------------------------------------------------- the fine-grained classifier


def draw_car(kind: str, rng: np.random.Generator) -> Image.Image:
    """A side view of a toy vehicle: a 'sedan' (low cabin in the middle) or a 'pickup' (cabin front, open bed)."""
    im = Image.new("RGB", (64, 40), tuple(int(v) for v in rng.integers(150, 255, 3)))
    d = ImageDraw.Draw(im)
    colour = tuple(int(v) for v in rng.integers(0, 120, 3))
    dx = int(rng.integers(-3, 4))
    d.rectangle([6 + dx, 18, 58 + dx, 30], fill=colour)
    if kind == "sedan":
        d.polygon([(18 + dx, 18), (24 + dx, 8), (42 + dx, 8), (48 + dx, 18)], fill=colour)
    else:
        d.rectangle([38 + dx, 6, 56 + dx, 18], fill=colour)
    for cx in (16 + dx, 48 + dx):
        d.ellipse([cx - 5, 26, cx + 5, 36], fill=(20, 20, 20))
    return im


@pytest.fixture(scope="module")
def cars_dir(tmp_path_factory):
    """Stanford Cars, folder-per-class variant: car_data/train/<class>/*.jpg (two toy classes)."""
    root = tmp_path_factory.mktemp("stanford") / "car_data" / "train"
    rng = np.random.default_rng(0)
    for kind, n in (("Toy Sedan 2012", 24), ("Toy Pickup 2012", 24)):
        (root / kind).mkdir(parents=True)
        for i in range(n):
            draw_car("sedan" if "Sedan" in kind else "pickup", rng).save(root / kind / f"{i:05d}.jpg", quality=95)
    (root / "Toy Sedan 2012" / "thumbs.db").write_bytes(b"\x00\x01 not an image")
    return root


TINY = ("--size", 48, "--width", 0.25, "--batch", 8, "--lr", 0.02, "--dropout", 0, "--val-fraction", 0.25)


def test_classifier_learns_resumes_exports_and_classifies_in_run(cars_dir, tmp_path, run_cli, one_torch_thread):
    from deepgallery.apps.streetcars.model import load_classifier
    from deepgallery.apps.streetcars.train import TrainConfig, train

    cfg = TrainConfig(epochs=10, batch=8, lr=0.02, size=48, width=0.25, dropout=0.0, val_fraction=0.25)
    result = train(tmp_path / "run", cfg, str(cars_dir), log=lambda *_: None)
    assert np.mean(result.losses[-4:]) < 0.6 * np.mean(result.losses[:4])
    assert result.val_accuracy >= 0.75
    again = train(tmp_path / "run", TrainConfig(**{**cfg.__dict__, "epochs": 11}), str(cars_dir), log=lambda *_: None)
    assert again.step == result.step + result.step // 10 and len(again.losses) == result.step // 10
    code, text, err = run_cli("train", "streetcars", "--data", cars_dir, "--epochs", 2, *TINY, "--device", "cpu",
                              "--out", tmp_path / "cli", "--export", tmp_path / "toy")
    assert code == 0, err
    assert "skipped 1 unreadable" in text
    clf = load_classifier(tmp_path / "toy")
    assert clf.classes == ["Toy Pickup 2012", "Toy Sedan 2012"]
    (tmp_path / "attrs.csv").write_text("class,price,mpg\nToy Pickup 2012,30000,18\nToy Sedan 2012,22000,32\n"
                                        "car,25000,28\n")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, src in enumerate(EXAMPLES * 2):
        shutil.copy(src, folder / f"{i}.jpg")
    (tmp_path / "regions.csv").write_text("photo,region\n" + "".join(f"{i}.jpg,r{i % 4}\n" for i in range(8)))
    code, text, err = run_cli("run", "streetcars", folder, "--regions", tmp_path / "regions.csv", "--classifier",
                              tmp_path / "toy", "--attributes", tmp_path / "attrs.csv", "--workers", 1, "--no-draw",
                              "-o", tmp_path / "out")
    assert code == 0, err
    rows = list(csv.DictReader((tmp_path / "out" / "regions.csv").open()))
    assert all(float(r["mean_price"]) in (22000.0, 30000.0) or 22000 < float(r["mean_price"]) < 30000 for r in rows
               if r["mean_price"])


def test_interrupted_training_keeps_its_steps(cars_dir, tmp_path, monkeypatch, one_torch_thread):
    """Ctrl-C (or SIGTERM, which stop_signals turns into the same) in step 3 saves the two steps done before."""
    from deepgallery.apps.streetcars import train as train_module
    from deepgallery.core import checkpoint

    calls = {"n": 0}
    real = train_module.normalise

    def stop_at_third(x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(x)

    monkeypatch.setattr(train_module, "normalise", stop_at_third)
    cfg = train_module.TrainConfig(epochs=3, batch=8, size=48, width=0.25, val_fraction=0.25)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(tmp_path / "run", cfg, str(cars_dir), log=lambda *_: None)
    _, _, meta = checkpoint.load(tmp_path / "run" / "state")
    assert meta["step"] == 2


def test_bad_training_data_exits_2(tmp_path, run_cli):
    (tmp_path / "only").mkdir()
    code, _, err = run_cli("train", "streetcars", "--data", tmp_path, "--out", tmp_path / "run")
    assert code == 2 and "two class subfolders" in err and len(err.splitlines()) == 1
    code, _, err = run_cli("train", "streetcars", "--out", tmp_path / "run")
    assert code == 2 and "--data" in err


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_classifier_as_one(cars_dir, tmp_path, run_cli, torchrun_cli,
                                                             one_torch_thread):
    """Flips come from (seed, epoch, index) and GroupNorm has no batch statistics: two processes with half the
    batch each take the step one process takes with all of it."""
    from deepgallery.core import checkpoint

    common = ("train", "streetcars", "--data", cars_dir, "--epochs", 1, *TINY, "--val-fraction", 0)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 6
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5)
