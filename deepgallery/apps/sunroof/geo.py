"""GeoTIFF in and out (rasterio), the site's latitude, longitude and time zone from the CRS (pyproj,
timezonefinder), no-data filling, the orthophoto resampled onto the DSM's grid, footprints from GeoJSON.

Every mistake a user can make with the inputs is one UserError line here, saying how to fix it.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from ...core.atomic import atomic_path
from ...core.errors import UserError

REPROJECT = ("reproject it to a metric CRS first, e.g. `gdalwarp -t_srs EPSG:32633 -tr 0.5 0.5 in.tif out.tif` "
             "(pick the UTM zone of the site)")


@dataclass
class Site:
    """Where the raster lies: centre latitude/longitude, height above sea, IANA time zone (or a fixed UTC offset)."""

    latitude: float
    longitude: float
    altitude: float
    timezone: str
    timezone_note: str = ""


@dataclass
class Surface:
    """A digital surface model on a north-up grid of square cells, with its georeferencing."""

    dsm: np.ndarray  # (H, W) float32 metres
    cell: float  # metres per cell
    transform: Any = None  # affine.Affine (rasterio), None for generated scenes
    crs: Any = None  # rasterio CRS
    filled: int = 0  # no-data cells filled from their neighbours
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return self.dsm.shape  # type: ignore[return-value]


def _rasterio():
    import rasterio

    return rasterio


@contextlib.contextmanager
def _open_geotiff(path: Path, what: str):
    """`rasterio.open(path)` to read; a missing or unreadable file is one UserError line ending in `what` to give."""
    rasterio = _rasterio()
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with rasterio.open(path) as src:
            yield src
    except rasterio.errors.RasterioIOError:
        raise UserError(f"{path}: not a readable GeoTIFF ({what})") from None


def read_dsm(path: str | Path) -> Surface:
    """A single-band GeoTIFF of heights in a projected CRS with square, north-up cells in metres."""
    path = Path(path)
    with _open_geotiff(path, "give a DSM as a GeoTIFF") as src:
        if src.count < 1:
            raise UserError(f"{path}: the raster has no band")
        band = src.read(1, masked=True).astype(np.float32)
        transform, crs = src.transform, src.crs
    if crs is None:
        raise UserError(f"{path}: the GeoTIFF has no CRS, so the site's location is unknown; assign one, e.g. "
                        f"`gdal_edit.py -a_srs EPSG:25832 {path.name}` (the CRS the survey was made in)")
    if crs.is_geographic:
        raise UserError(f"{path}: the CRS ({crs.to_string()}) is in geographic degrees, but cell sizes and heights "
                        f"must be in metres; {REPROJECT}")
    if transform.b != 0 or transform.d != 0 or transform.e >= 0:
        raise UserError(f"{path}: the grid is rotated or not north-up; {REPROJECT}")
    if not math.isclose(abs(transform.a), abs(transform.e), rel_tol=1e-3):
        raise UserError(f"{path}: cells are {abs(transform.a):g} x {abs(transform.e):g}, not square; resample with "
                        "`gdalwarp -tr 0.5 0.5 in.tif out.tif`")
    unit = (crs.linear_units or "metre").lower()
    factor = 1.0 if unit in ("metre", "meter", "m", "metres", "meters", "unknown") else (
        0.3048 if "foot" in unit or "feet" in unit else None)
    if factor is None:
        raise UserError(f"{path}: the CRS's unit is {unit!r}; {REPROJECT}")
    if min(band.shape) < 16:
        raise UserError(f"{path}: the DSM is only {band.shape[1]}x{band.shape[0]} cells; give at least 16x16")
    dsm, filled = fill_nodata(band)
    if factor != 1.0:
        dsm = dsm * factor
    surface = Surface(dsm=dsm, cell=abs(transform.a) * factor, transform=transform, crs=crs, filled=filled)
    if filled:
        surface.notes.append(f"filled {filled} no-data cells ({100 * filled / dsm.size:.1f} %) from their neighbours")
    return surface


def fill_nodata(band: np.ma.MaskedArray) -> tuple[np.ndarray, int]:
    """No-data (masked or non-finite) cells take the height of the nearest valid cell; returns (dsm, count)."""
    data = np.ma.getdata(band).astype(np.float32)
    bad = np.ma.getmaskarray(band) | ~np.isfinite(data)
    count = int(bad.sum())
    if count == bad.size:
        raise UserError("the DSM holds no valid height at all (every cell is no-data)")
    if count:
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        data = data[tuple(idx)]
    return data, count


def site_of(surface: Surface, latitude: float | None = None, longitude: float | None = None) -> Site:
    """The centre of the raster in degrees, and its time zone (timezonefinder's offline map; else the nearest
    whole-hour offset from the longitude, flagged in the note)."""
    if latitude is None or longitude is None:
        if surface.crs is None:
            raise UserError("no CRS and no --latitude/--longitude: the site's location is unknown")
        from pyproj import Transformer

        h, w = surface.shape
        x, y = surface.transform * (w / 2, h / 2)
        to_wgs84 = Transformer.from_crs(surface.crs.to_wkt(), "EPSG:4326", always_xy=True)
        longitude, latitude = to_wgs84.transform(x, y)
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or not math.isfinite(latitude + longitude):
        raise UserError(f"the site ({latitude}, {longitude}) is not on Earth; check the GeoTIFF's CRS")
    tz, note = None, ""
    try:
        from timezonefinder import TimezoneFinder

        tz = TimezoneFinder().timezone_at(lng=longitude, lat=latitude)
    except ImportError:
        note = "timezonefinder is not installed"
    if tz is None:
        offset = int(round(longitude / 15))
        tz = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # the Etc zones' signs are inverted (POSIX)
        note = note or "no time zone at this place (sea?)"
        note += f"; used UTC{offset:+d} from the longitude"
    return Site(float(latitude), float(longitude), float(np.median(surface.dsm)), tz, note)


def read_ortho(path: str | Path, surface: Surface) -> np.ndarray:
    """An RGB orthophoto GeoTIFF resampled (bilinear) onto the DSM's grid: (H, W, 3) uint8."""
    path = Path(path)
    with _open_geotiff(path, "give the orthophoto as an RGB GeoTIFF") as src:
        if src.count < 3:
            raise UserError(f"{path}: the orthophoto has {src.count} band(s); give an RGB GeoTIFF")
        crs, transform = src.crs or surface.crs, src.transform
        if src.crs is None and surface.crs is not None:
            raise UserError(f"{path}: the orthophoto has no CRS; give it the DSM's, e.g. "
                            f"`gdal_edit.py -a_srs {surface.crs.to_string()} {path.name}`")
        rgb = src.read([1, 2, 3])
        bounds = src.bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    h, w = surface.shape
    left, top = surface.transform * (0, 0)
    right, bottom = surface.transform * (w, h)
    ob = transform_bounds(crs, surface.crs, *bounds) if crs != surface.crs else tuple(bounds)
    overlap_w = min(right, ob[2]) - max(left, ob[0])
    overlap_h = min(top, ob[3]) - max(bottom, ob[1])
    if overlap_w <= 0 or overlap_h <= 0:
        raise UserError(f"{path}: the orthophoto does not overlap the DSM (its bounds {tuple(round(v) for v in ob)}, "
                        f"the DSM's {(round(left), round(bottom), round(right), round(top))}); give the photo of the "
                        "same area")
    out = np.zeros((3, h, w), np.float32)
    rgb = rgb.astype(np.float32)
    if rgb.max() > 255:  # 16-bit imagery: stretch to 8 bits
        rgb = rgb * (255.0 / float(np.percentile(rgb, 99.5)))
    for b in range(3):
        reproject(rgb[b], out[b], src_transform=transform, src_crs=crs, dst_transform=surface.transform,
                  dst_crs=surface.crs, resampling=Resampling.bilinear)
    return np.clip(out.transpose(1, 2, 0), 0, 255).astype(np.uint8)


def read_footprints(path: str | Path, surface: Surface) -> np.ndarray:
    """Building footprints (GeoJSON polygons in the DSM's CRS) burnt into an (H, W) int32 id raster."""
    from rasterio.features import rasterize

    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{path}: not a readable GeoJSON file") from None
    feats = data.get("features", [data]) if isinstance(data, dict) else []
    shapes = [(f.get("geometry", f), i) for i, f in enumerate(feats, start=1)
              if isinstance(f, dict) and f.get("geometry", f).get("type") in ("Polygon", "MultiPolygon")]
    if not shapes:
        raise UserError(f"{path}: no Polygon footprints in the GeoJSON")
    ids = rasterize(shapes, out_shape=surface.shape, transform=surface.transform, fill=0, dtype="int32")
    if not ids.any():
        raise UserError(f"{path}: no footprint lies on the DSM (they must be in the DSM's CRS)")
    return ids


def write_geotiff(path: str | Path, bands: np.ndarray, surface: Surface, nodata: float | None = None,
                  descriptions: list[str] | None = None) -> Path:
    """(H, W) or (B, H, W) written atomically as a GeoTIFF with the DSM's georeferencing (deflate)."""
    rasterio = _rasterio()
    arr = bands[None] if bands.ndim == 2 else bands
    transform = surface.transform
    if transform is None:
        from affine import Affine

        transform = Affine(surface.cell, 0, 0, 0, -surface.cell, 0)
    with atomic_path(path) as tmp:
        with rasterio.open(tmp, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                           dtype=arr.dtype, crs=surface.crs, transform=transform, nodata=nodata,
                           compress="deflate") as dst:
            dst.write(arr)
            for i, text in enumerate(descriptions or [], start=1):
                dst.set_band_description(i, text)
    return Path(path)


def lonlat(surface: Surface, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of cell centres (row, col); generated scenes without a CRS give (nan, nan)."""
    if surface.crs is None or surface.transform is None:
        return np.full(np.shape(rows), np.nan), np.full(np.shape(rows), np.nan)
    from pyproj import Transformer

    x, y = surface.transform * (np.asarray(cols) + 0.5, np.asarray(rows) + 0.5)
    lon, lat = Transformer.from_crs(surface.crs.to_wkt(), "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)
