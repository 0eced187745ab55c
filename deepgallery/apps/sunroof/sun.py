"""The sun over a year: positions (pvlib's SPA) and the irradiance of the sky, either clear-sky (Ineichen-Perez with
the Linke turbidity climatology pvlib ships) or a typical-year weather file (TMY3 or EPW, read with pvlib).

Time steps are centred in their interval (an hourly year samples each hour at its half-hour), so summing
W/m² x hours gives Wh/m² without a bias towards the morning or the afternoon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from .geo import Site

YEAR = 2025  # the calendar the clear-sky year is laid on (not a leap year)


@dataclass
class Sky:
    """Every daylight time step of the year with its sun and irradiance (W/m²)."""

    azimuth: np.ndarray  # (T,) degrees clockwise from north
    elevation: np.ndarray  # (T,) degrees above the horizon (> 0)
    dni: np.ndarray  # (T,) direct normal
    dhi: np.ndarray  # (T,) diffuse horizontal
    ghi: np.ndarray  # (T,) global horizontal
    month: np.ndarray  # (T,) 0..11
    hours: float  # length of one step in hours
    times: object = None  # pandas DatetimeIndex (UTC) of the steps
    temp_air: np.ndarray | None = None  # (T,) °C where the weather file has it
    wind_speed: np.ndarray | None = None  # (T,) m/s
    source: str = "clear-sky"
    dark_months: list[int] = field(default_factory=list)  # months without any daylight step (polar night)

    def __len__(self) -> int:
        return len(self.azimuth)

    def direction(self) -> np.ndarray:
        """(T, 3) unit vectors towards the sun in (east, north, up)."""
        az, el = np.radians(self.azimuth), np.radians(self.elevation)
        return np.stack([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], axis=1)


def _finish(times, solpos, dni, dhi, ghi, hours: float, source: str, temp=None, wind=None) -> Sky:
    el = solpos["apparent_elevation"].to_numpy()
    day = (el > 0) & ((dni > 0) | (dhi > 0))
    month = times.month.to_numpy() - 1
    present = set(np.unique(month[day]).tolist())
    sky = Sky(azimuth=solpos["azimuth"].to_numpy()[day], elevation=el[day], dni=np.asarray(dni)[day],
              dhi=np.asarray(dhi)[day], ghi=np.asarray(ghi)[day], month=month[day], hours=hours, times=times[day],
              temp_air=None if temp is None else np.asarray(temp)[day],
              wind_speed=None if wind is None else np.asarray(wind)[day], source=source,
              dark_months=[m for m in range(12) if m not in present])
    if not len(sky):
        raise UserError("the sun never rises above the horizon in this year at this site (or the weather file "
                        "holds no daylight irradiance); nothing to compute")
    return sky


def year_times(step_minutes: int = 60):
    import pandas as pd

    half = pd.Timedelta(minutes=step_minutes / 2)
    return pd.date_range(f"{YEAR}-01-01", f"{YEAR + 1}-01-01", freq=f"{step_minutes}min", tz="UTC",
                         inclusive="left") + half


def clear_sky(site: Site, step_minutes: int = 60, linke: float | None = None) -> Sky:
    """Ineichen-Perez clear sky; Linke turbidity from pvlib's monthly climatology unless `linke` is given."""
    import pvlib

    times = year_times(step_minutes)
    loc = pvlib.location.Location(site.latitude, site.longitude, altitude=site.altitude)
    solpos = loc.get_solarposition(times)
    if linke is None:
        tl = pvlib.clearsky.lookup_linke_turbidity(times, site.latitude, site.longitude)
    else:
        tl = linke
    am = pvlib.atmosphere.get_absolute_airmass(pvlib.atmosphere.get_relative_airmass(solpos["apparent_zenith"]),
                                               pvlib.atmosphere.alt2pres(site.altitude))
    cs = pvlib.clearsky.ineichen(solpos["apparent_zenith"], am, tl, altitude=site.altitude,
                                 dni_extra=pvlib.irradiance.get_extra_radiation(times))
    cs = cs.fillna(0.0)
    return _finish(times, solpos, cs["dni"].to_numpy(), cs["dhi"].to_numpy(), cs["ghi"].to_numpy(),
                   step_minutes / 60, f"clear-sky (Ineichen-Perez, Linke {'climatology' if linke is None else linke})")


def weather_file(path: str | Path, site: Site) -> Sky:
    """A TMY3 (.csv) or EPW (.epw) typical year; sun positions at the middle of each hour the file labels by its
    end, at the DSM's site (a file from another place is allowed but noted)."""
    import pvlib

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".epw":
            data, meta = pvlib.iotools.read_epw(path, coerce_year=YEAR)
        else:
            data, meta = pvlib.iotools.read_tmy3(path, coerce_year=YEAR, map_variables=True)
    except Exception as exc:  # pvlib raises many kinds on a malformed file
        raise UserError(f"{path}: not a readable TMY3/EPW weather file ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:80] if str(exc) else ''})") from None
    for col in ("dni", "dhi", "ghi"):
        if col not in data:
            raise UserError(f"{path}: the weather file has no {col} column")
    data = data.sort_index()
    times = (data.index - np.timedelta64(30, "m")).tz_convert("UTC")
    loc = pvlib.location.Location(site.latitude, site.longitude, altitude=site.altitude)
    solpos = loc.get_solarposition(times)
    lat = float(meta.get("latitude", site.latitude))
    lon = float(meta.get("longitude", site.longitude))
    source = f"weather file {path.name}"
    if abs(lat - site.latitude) + abs(lon - site.longitude) > 1.0:
        source += f" (recorded at {lat:.2f}, {lon:.2f}, away from the site)"
    values = {c: data[c].clip(lower=0).fillna(0).to_numpy() for c in ("dni", "dhi", "ghi")}
    return _finish(times, solpos, values["dni"], values["dhi"], values["ghi"], 1.0, source,
                   data["temp_air"].to_numpy() if "temp_air" in data else None,
                   data["wind_speed"].to_numpy() if "wind_speed" in data else None)


def representative_days(site: Site):
    """The 15th of every month, hour by hour in local time: the times of the hourly shade masks (Solar API's
    hourlyShade layers), as (12, 24) sun azimuth and elevation in degrees."""
    import pandas as pd
    import pvlib

    times = pd.DatetimeIndex([pd.Timestamp(YEAR, m + 1, 15, h, 30, tz=site.timezone)
                              for m in range(12) for h in range(24)])
    sp = pvlib.solarposition.get_solarposition(times, site.latitude, site.longitude, altitude=site.altitude)
    return sp["azimuth"].to_numpy().reshape(12, 24), sp["apparent_elevation"].to_numpy().reshape(12, 24)


def esra_sky(site: Site, linke: float = 3.0, days: list[int] | None = None, step_minutes: int = 30) -> Sky:
    """The European Solar Radiation Atlas clear sky (Rigollier et al. 2000) exactly as GRASS r.sun evaluates it:
    the sky of the r.sun comparison, so both models see the same sun. `days` (1..365) limits the year to those
    days (the comparison samples days, as r.sun runs one day per call); weights are left to the caller."""
    import pandas as pd
    import pvlib

    times = year_times(step_minutes)
    if days is not None:
        times = times[np.isin(times.dayofyear, days)]
    sp = pvlib.solarposition.get_solarposition(times, site.latitude, site.longitude, altitude=site.altitude)
    h0 = np.radians(sp["elevation"].to_numpy())  # the true elevation, as r.sun uses it
    j = times.dayofyear.to_numpy()
    g0 = 1367.0 * (1 + 0.03344 * np.cos(2 * np.pi * j / 365.25 - 0.048869))  # extraterrestrial normal irradiance
    dh0 = 0.061359 * (0.1594 + 1.123 * h0 + 0.065656 * h0 ** 2) / (1 + 28.9344 * h0 + 277.3971 * h0 ** 2)
    h0ref = h0 + dh0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.exp(-site.altitude / 8434.5) / (np.sin(h0ref) + 0.50572 * (np.degrees(h0ref) + 6.07995) ** -1.6364)
        rayleigh = np.where(m <= 20, 1 / (6.6296 + 1.7513 * m - 0.1202 * m ** 2 + 0.0065 * m ** 3 - 0.00013 * m ** 4),
                            1 / (10.4 + 0.718 * m))
        dni = g0 * np.exp(-0.8662 * linke * m * rayleigh)
    tn = -0.015843 + 0.030543 * linke + 0.0003797 * linke ** 2
    a1 = 0.26463 - 0.061581 * linke + 0.0031408 * linke ** 2
    a1 = 0.0022 / tn if a1 * tn < 0.0022 else a1
    a2 = 2.04020 + 0.018945 * linke - 0.011161 * linke ** 2
    a3 = -1.3025 + 0.039231 * linke + 0.0085079 * linke ** 2
    s = np.sin(h0)
    dhi = g0 * tn * (a1 + a2 * s + a3 * s ** 2)
    day = h0 > 0
    dni, dhi = np.where(day, np.nan_to_num(dni), 0.0), np.where(day, np.clip(dhi, 0, None), 0.0)
    ghi = dni * np.clip(s, 0, None) + dhi
    solpos = pd.DataFrame({"apparent_elevation": sp["elevation"].to_numpy(), "azimuth": sp["azimuth"].to_numpy()},
                          index=times)
    return _finish(times, solpos, dni, dhi, ghi, step_minutes / 60, f"ESRA clear sky (Linke {linke})")
