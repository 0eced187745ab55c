"""Stage 2: from cars per photo to car statistics per region, and the tables the user gives.

Gebru et al. describe each region (zip code, precinct) by the cars seen in its Street View images: how many per
image, the share of each body type, make and model, and the mean price, age and fuel economy of its cars (from
the Edmunds data of each class). Here a region is described by

* ``photos``, ``vehicles_per_photo`` and, per body type (car, truck, bus, motorcycle), ``<type>_per_photo`` and
  ``<type>_share`` (of the region's vehicles);
* ``log_sedan_pickup`` = log((cars + ½) / (trucks + ½)), the paper's headline variable (sedans : pickups), with ½
  added so a region without trucks stays finite;
* with a class → attributes CSV (``class,price,year,mpg,...``: any numeric columns, classes being fine-grained
  make/model/year names when a classifier was used, or the body types themselves), the mean of every attribute
  over the region's vehicles whose class is in the table, ``mean_<column>``.

Input tables (CSV, header row): regions ``photo,region[,lat,lon]``; statistics ``region,<column>,...``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from .detector import BODY_TYPES


def _read_csv(path: Path, what: str) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise UserError(f"{path}: no such {what} CSV")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: not a readable CSV ({exc})") from None
    return header, rows


def _need(header: list[str], columns: tuple[str, ...], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in header]
    if missing:
        raise UserError(f"{path}: the {what} CSV has no column {', '.join(repr(c) for c in missing)} "
                        f"(its columns: {', '.join(header) or 'none'}; needs {', '.join(columns)})")


def _float(text: str, path: Path, row: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{path}: row {row}, column {column!r} is {text!r}, not a number") from None
    if not math.isfinite(value):
        raise UserError(f"{path}: row {row}, column {column!r} is {text!r}, not a finite number")
    return value


@dataclass
class PhotoPlace:
    region: str
    lat: float | None = None
    lon: float | None = None


def read_regions(path: Path, photos: set[str]) -> dict[str, PhotoPlace]:
    """The regions CSV (``photo,region[,lat,lon]``) → {photo: place}. Every photo it names must be in the folder."""
    header, rows = _read_csv(path, "regions")
    _need(header, ("photo", "region"), path, "regions")
    has_position = "lat" in header and "lon" in header
    if ("lat" in header) != ("lon" in header):
        raise UserError(f"{path}: give both 'lat' and 'lon' columns, or neither")
    places: dict[str, PhotoPlace] = {}
    for i, row in enumerate(rows, start=2):
        photo, region = row["photo"], row["region"]
        if not photo or not region:
            raise UserError(f"{path}: row {i} has an empty photo or region")
        lat = lon = None
        if has_position and (row["lat"] or row["lon"]):
            lat, lon = _float(row["lat"], path, i, "lat"), _float(row["lon"], path, i, "lon")
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise UserError(f"{path}: row {i}: lat {lat}, lon {lon} is not a position on Earth")
        places[photo] = PhotoPlace(region, lat, lon)
    if not places:
        raise UserError(f"{path}: the regions CSV has no rows")
    unknown = sorted(set(places) - photos)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UserError(f"{path}: {len(unknown)} photo(s) not in the photo folder: {shown}")
    return places


def read_stats(path: Path) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The region statistics CSV (``region,<column>,...``) → (its statistic columns, {region: row})."""
    header, rows = _read_csv(path, "statistics")
    _need(header, ("region",), path, "statistics")
    columns = [h for h in header if h and h not in ("region", "lat", "lon")]
    if not columns:
        raise UserError(f"{path}: the statistics CSV has only a 'region' column; add the statistics to predict")
    table = {}
    for i, row in enumerate(rows, start=2):
        if not row["region"]:
            raise UserError(f"{path}: row {i} has an empty region")
        table[row["region"]] = row
    return columns, table


def read_attributes(path: Path) -> tuple[list[str], dict[str, list[float]]]:
    """A class → attributes CSV (``class,price,year,mpg,...``) → (attribute names, {class: values})."""
    header, rows = _read_csv(path, "attributes")
    _need(header, ("class",), path, "attributes")
    names = [h for h in header if h and h != "class"]
    if not names:
        raise UserError(f"{path}: the attributes CSV needs numeric columns besides 'class' (e.g. price,year,mpg)")
    table = {row["class"]: [_float(row[n], path, i, n) for n in names] for i, row in enumerate(rows, start=2)}
    return names, table


# ------------------------------------------------------------------------------------------- region table


def region_rows(counts: dict[str, dict[str, int]], places: dict[str, PhotoPlace],
                fine: dict[str, list[str]] | None = None,
                attributes: tuple[list[str], dict[str, list[float]]] | None = None) -> list[dict]:
    """One row per region: photos, vehicles per body type, mean position, attribute means. Only photos that were
    detected (in `counts`) and placed (in `places`) count."""
    rows: dict[str, dict] = {}
    positions: dict[str, list[tuple[float, float]]] = {}
    attr_values: dict[str, list[list[float]]] = {}
    for photo, place in places.items():
        if photo not in counts:
            continue
        row = rows.setdefault(place.region, {"region": place.region, "photos": 0, **dict.fromkeys(BODY_TYPES, 0)})
        row["photos"] += 1
        for t in BODY_TYPES:
            row[t] += counts[photo][t]
        if place.lat is not None:
            positions.setdefault(place.region, []).append((place.lat, place.lon))
        if attributes and fine:
            for cls in fine.get(photo, []):
                if cls in attributes[1]:
                    attr_values.setdefault(place.region, []).append(attributes[1][cls])
    for region, row in rows.items():
        if region in positions:
            row["lat"], row["lon"] = np.mean(positions[region], axis=0).round(6).tolist()
        if attributes:
            values = attr_values.get(region)
            for j, name in enumerate(attributes[0]):
                row[f"mean_{name}"] = round(float(np.mean([v[j] for v in values])), 4) if values else None
    return sorted(rows.values(), key=lambda r: r["region"])


def add_features(row: dict) -> dict:
    """The row with its derived car features (see the module docstring)."""
    vehicles = sum(row[t] for t in BODY_TYPES)
    out = dict(row)
    out["vehicles"] = vehicles
    out["vehicles_per_photo"] = round(vehicles / row["photos"], 4)
    for t in BODY_TYPES:
        out[f"{t}_per_photo"] = round(row[t] / row["photos"], 4)
        out[f"{t}_share"] = round(row[t] / vehicles, 4) if vehicles else 0.0
    out["log_sedan_pickup"] = round(math.log((row["car"] + 0.5) / (row["truck"] + 0.5)), 4)
    return out


FEATURES = ("vehicles_per_photo", *(f"{t}_per_photo" for t in BODY_TYPES), "car_share", "truck_share",
            "log_sedan_pickup")
HEADLINE_FEATURE = "log_sedan_pickup"


def feature_matrix(rows: list[dict]) -> tuple[list[str], np.ndarray, list[int]]:
    """(feature names, (n, d) matrix, indices of the rows used): the body-type features, plus the attribute means
    (rows lacking one — no classified vehicle with attributes — are left out)."""
    names = list(FEATURES) + sorted(k for k in rows[0] if k.startswith("mean_")) if rows else list(FEATURES)
    keep = [i for i, r in enumerate(rows) if all(r.get(n) is not None for n in names)]
    x = np.array([[float(rows[i][n]) for n in names] for i in keep], dtype=float).reshape(len(keep), len(names))
    return names, x, keep


# ------------------------------------------------------------------------------------------------- the fits


def fit_regions(rows: list[dict], stats_columns: list[str], stats: dict[str, dict[str, str]],
                targets: list[str] | None = None, folds: int = 5, seed: int = 0, stats_path: Path | None = None):
    """Fit every statistic column (or `targets`) from the regions' car features: a column with exactly two values
    (D/R, 0/1) by logistic regression — on all features, and on ``log_sedan_pickup`` alone (the paper's headline)
    — any other by ridge regression. Returns (list of `regress.Fit`, the regions used)."""
    from .regress import as_binary, check_enough, fit_logistic, fit_ridge

    where = f"{stats_path}: " if stats_path else ""
    chosen = targets or stats_columns
    unknown = [t for t in chosen if t not in stats_columns]
    if unknown:
        raise UserError(f"{where}no statistic column {', '.join(repr(t) for t in unknown)} "
                        f"(columns: {', '.join(stats_columns)})")
    with_stats = [r for r in rows if r["region"] in stats]
    names, x_all, keep = feature_matrix(with_stats)
    used = [with_stats[i] for i in keep]
    check_enough(len(used), folds)
    fits = []
    for target in chosen:
        values = [stats[r["region"]][target] for r in used]
        present = [i for i, v in enumerate(values) if v != ""]
        x, vals = x_all[present], [values[i] for i in present]
        binary = as_binary(vals)
        if binary is not None:
            y, classes = binary
            fits.append(fit_logistic(x, y, names, target, classes, folds, seed))
            col = names.index(HEADLINE_FEATURE)
            fits.append(fit_logistic(x[:, [col]], y, [HEADLINE_FEATURE], target, classes, folds, seed))
            continue
        try:
            y = np.array([float(v) for v in vals])
        except ValueError:
            raise UserError(f"{where}column {target!r} is neither numeric nor two-valued "
                            f"(e.g. {sorted(set(vals))[:3]})") from None
        fits.append(fit_ridge(x, y, names, target, folds, seed))
    return fits, used
