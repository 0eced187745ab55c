"""A generated city: regions whose demographics are a hidden function of their car mix, to check that stage 3
recovers a known relation (the bench's `cv_r_generated` / `cv_accuracy_generated`) and to show the whole
aggregate → regress → plot → map path in the demo without Street View data.

Each region has a hidden leaning ``h ~ N(0, 1)``. Its streets carry sedans (COCO "car") at a rate that rises with
h and pickup trucks at a rate that falls with it, plus buses and motorcycles that follow population density, not
h. Photos of the region see Poisson counts of each; so the observed car : truck ratio is a *noisy* view of h (few
photos → much noise), as in the paper, where a region's cars are a sample of a few hundred images. The region's
demographics are drawn from h alone: the Democrat vote share ``sigmoid(1.5 h + noise)``, the outcome (``D`` if
that share > 0.5, else ``R``) and the median income (which, as in the paper, follows the cars' price — here the
share of sedans — only loosely). Nothing of h reaches the regression but through the photo counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .detector import BODY_TYPES


@dataclass(frozen=True)
class CityConfig:
    regions: int = 60  # precincts / zip codes
    photos_per_region: int = 30  # street photos taken in each
    sedans_per_photo: float = 1.2  # mean sedans (COCO "car") per photo at h = 0
    pickups_per_photo: float = 0.45  # mean pickup trucks per photo at h = 0
    leaning_effect: float = 0.6  # log-rate change of sedans (+) and pickups (−) per unit of h
    vote_noise: float = 0.5  # std of the noise added to 1.5 h before the sigmoid (what cars cannot tell)
    seed: int = 0


@dataclass
class City:
    """Per-region photo counts, centres (lat, lon) and the 'census' table, as the run command would read them."""

    names: list[str]
    photos: np.ndarray  # (R,) photos per region
    counts: np.ndarray  # (R, 4) vehicles seen per body type (BODY_TYPES order), summed over the region's photos
    lat: np.ndarray
    lon: np.ndarray
    stats: dict[str, list]  # census columns: dem_share (float), vote ("D"/"R"), median_income (float)
    hidden: np.ndarray  # (R,) the leaning h (never shown to the regression)


def generate(cfg: CityConfig = CityConfig()) -> City:
    rng = np.random.default_rng(cfg.seed)
    r = cfg.regions
    h = rng.normal(size=r)
    density = rng.uniform(0.5, 1.5, r)  # buses and motorcycles follow density, not leaning
    photos = np.full(r, cfg.photos_per_region)
    rates = np.stack([
        cfg.sedans_per_photo * np.exp(cfg.leaning_effect * h),  # car
        cfg.pickups_per_photo * np.exp(-cfg.leaning_effect * h),  # truck
        0.08 * density,  # bus
        0.15 * density,  # motorcycle
    ], axis=1)  # (R, 4)
    counts = rng.poisson(rates * photos[:, None])
    dem_share = 1 / (1 + np.exp(-(1.5 * h + rng.normal(0, cfg.vote_noise, r))))
    sedan_share = rates[:, 0] / rates[:, :2].sum(axis=1)
    income = 42_000 + 30_000 * sedan_share + rng.normal(0, 6_000, r)
    # a city of 6 x 10 districts around a made-up centre, each region's photos taken near its middle
    grid = int(np.ceil(np.sqrt(r)))
    lat = 47.60 + 0.012 * (np.arange(r) // grid) + rng.normal(0, 0.001, r)
    lon = -122.33 + 0.016 * (np.arange(r) % grid) + rng.normal(0, 0.001, r)
    names = [f"precinct-{i + 1:02d}" for i in range(r)]
    stats = {"dem_share": np.round(dem_share, 4).tolist(), "vote": ["D" if s > 0.5 else "R" for s in dem_share],
             "median_income": np.round(income, -1).tolist()}
    return City(names, photos, counts, lat, lon, stats, h)


def city_tables(city: City) -> tuple[list[str], list[dict], list[dict]]:
    """The body types, the per-region count rows (region, photos, lat, lon, one column per body type) and the census
    rows (region + statistics), the shapes `aggregate.region_features` and `read_stats` produce from files."""
    rows = [{"region": n, "photos": int(p), "lat": float(la), "lon": float(lo),
             **{t: int(c) for t, c in zip(BODY_TYPES, cnt, strict=True)}}
            for n, p, la, lo, cnt in zip(city.names, city.photos, city.lat, city.lon, city.counts, strict=True)]
    census = [{"region": n, **{k: v[i] for k, v in city.stats.items()}} for i, n in enumerate(city.names)]
    return list(BODY_TYPES), rows, census
