"""sunroof: the physics against its references (pvlib's plane-of-array irradiance, the isotropic sky-view factor,
an exact hour-by-hour ray trace, the analytic shadow of a box), roof planes recovered from generated roofs, the
panel layout and PVWatts energy, the GeoTIFF checks and bad inputs, polar night, the Inria loader, training
(loss falls, resume, two gloo processes = one) and the whole command end to end. Fixtures are made here."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytest.importorskip("rasterio")
pytest.importorskip("pvlib")

from deepgallery.apps.sunroof import scene, sun  # noqa: E402
from deepgallery.apps.sunroof.geo import Site  # noqa: E402
from deepgallery.apps.sunroof.irradiance import IrradianceConfig, compute  # noqa: E402
from deepgallery.apps.sunroof.shade import Backend, HorizonConfig, Horizons, surface_normals  # noqa: E402

MUNICH = Site(48.137, 11.575, 520.0, "Europe/Berlin")


@pytest.fixture(scope="module")
def munich_sky():
    return sun.clear_sky(MUNICH)


def write_tif(path, array, crs="EPSG:32632", origin=(690000.0, 5336000.0), cell=0.5, nodata=None):
    import rasterio
    from affine import Affine

    arr = array[None] if array.ndim == 2 else array
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                       dtype=arr.dtype, crs=crs, transform=Affine(cell, 0, origin[0], 0, -cell, origin[1]),
                       nodata=nodata) as dst:
        dst.write(arr)
    return path


# ------------------------------------------------------------------------------------------------ physics


@pytest.mark.parametrize("tilt,azimuth", [(0, 180), (35, 180), (40, 90), (25, 315)])
def test_unshaded_plane_matches_pvlib_plane_of_array(munich_sky, tilt, azimuth):
    """A planar DSM's annual flux equals pvlib's isotropic POA irradiance for that tilt and azimuth (≤ 1 %)."""
    import pvlib

    dsm = scene.plane_dsm(tilt, azimuth, size=40, cell=1.0)
    ours = compute(dsm, 1.0, munich_sky, IrradianceConfig(monthly=False)).annual[10:30, 10:30].mean()
    times = sun.year_times()
    loc = pvlib.location.Location(MUNICH.latitude, MUNICH.longitude, altitude=MUNICH.altitude)
    sp, cs = loc.get_solarposition(times), loc.get_clearsky(times, model="ineichen")
    ref = pvlib.irradiance.get_total_irradiance(tilt, azimuth, sp["apparent_zenith"], sp["azimuth"], cs["dni"],
                                                cs["ghi"], cs["dhi"], albedo=0.2, model="isotropic")
    ref = ref["poa_global"].clip(lower=0).sum() / 1000
    assert abs(ours - ref) / ref < 0.01, (ours, ref)


def test_sky_view_factor_of_open_planes_and_of_a_pit():
    """Dozier & Frew on horizons: (1 + cos S) / 2 for an open tilted plane, and much less at a pit's bottom."""
    sky = sun.Sky(np.array([180.0]), np.array([40.0]), np.ones(1), np.ones(1), np.ones(1), np.zeros(1, int), 1.0)
    for tilt in (0, 30, 60):
        svf = compute(scene.plane_dsm(tilt, 200, size=32), 1.0, sky, IrradianceConfig(monthly=False)).svf
        assert svf[16, 16] == pytest.approx((1 + math.cos(math.radians(tilt))) / 2, abs=0.01)
    pit = np.full((41, 41), 10.0, np.float32)
    pit[15:26, 15:26] = 0.0  # an 11 m wide, 10 m deep shaft: the sky is a small disc overhead
    svf = compute(pit, 1.0, sky, IrradianceConfig(monthly=False)).svf
    assert svf[20, 20] < 0.5 and svf[5, 5] > 0.98


def test_sector_lookup_equals_an_exact_ray_trace_every_hour(one_torch_thread):
    """The suffix-sum lookup over 64 sectors gives the beam an exact per-hour ray trace gives (one day, a town)."""
    sc = scene.town(size=96, cell=0.5, seed=4)
    sky = sun.clear_sky(MUNICH)
    keep = sky.times.dayofyear == 100
    day = sun.Sky(sky.azimuth[keep], sky.elevation[keep], sky.dni[keep], sky.dhi[keep], sky.ghi[keep],
                  sky.month[keep], 1.0)
    flux = compute(sc.dsm, 0.5, day, IrradianceConfig(monthly=False))
    n = surface_normals(sc.dsm, 0.5)
    hz = Horizons(sc.dsm, 0.5, HorizonConfig(), Backend(None))
    exact = np.zeros(sc.dsm.shape)
    for a, e, dni, s in zip(day.azimuth, day.elevation, day.dni, day.direction(), strict=True):
        exact += dni / 1000 * np.clip(n @ s, 0, None) * (hz.along(a, hz.reach) < e)  # from the same eye height
    assert abs(flux.beam[0].mean() - exact.mean()) / exact.mean() < 0.01
    assert np.median(np.abs(flux.beam[0] - exact)) < 0.02 * exact.mean()
    assert (exact < 0.5 * exact.mean()).mean() > 0.05  # there is shade in the test at all
    # the torch path computes the same numbers
    torch_flux = compute(sc.dsm, 0.5, day, IrradianceConfig(monthly=False), device="cpu")
    np.testing.assert_allclose(torch_flux.annual, flux.annual, rtol=1e-3, atol=1e-3)


def test_shadow_of_a_box_and_a_gable_roof_matches_the_analytic_shadow(munich_sky):
    from deepgallery.apps.sunroof.bench import analytic_shade, fitted_normals

    for kind in ("flat", "gable"):
        sc = scene.box_scene(size=320, cell=0.25, kind=kind, angle=0.3)
        positions = ((135, 30), (225, 20), (200, 55))
        az, el = np.array(positions, float).T
        masks = compute(sc.dsm, sc.cell, munich_sky, IrradianceConfig(monthly=False), normals=fitted_normals(sc),
                        masks_at=(az, el)).masks
        for (az, el), lit in zip(positions, masks, strict=True):
            ours, truth = ~lit, analytic_shade(sc, az, el)
            assert (ours & truth).sum() / (ours | truth).sum() > 0.9, (kind, az, el)


def test_esra_sky_is_r_sun_clear_sky_and_polar_night_is_dark_months():
    """ESRA's horizontal beam + diffuse at noon in June, Linke 3, sea level: the textbook ~900 W/m² range; and at
    78° N the months of polar night have no daylight step at all."""
    sky = sun.esra_sky(Site(48.0, 11.0, 0.0, "UTC"), 3.0, days=[172], step_minutes=60)
    assert 800 < sky.ghi.max() < 1000 and 0.08 < sky.dhi[sky.ghi.argmax()] / sky.ghi.max() < 0.2
    polar = sun.clear_sky(Site(78.2, 15.6, 10.0, "Arctic/Longyearbyen"))
    assert set(polar.dark_months) >= {0, 10, 11} and 5 not in polar.dark_months


# --------------------------------------------------------------------------------------------- roof planes


def test_plane_fitting_recovers_pitch_and_azimuth_of_generated_roofs():
    from deepgallery.apps.sunroof.roofs import PlaneConfig, buildings_from_labels, roof_segments

    buildings = [scene.Building(20, 20, 14, 9, 0.0, 5, "gable", 35), scene.Building(52, 20, 12, 10, 0.0, 5, "hip", 30),
                 scene.Building(20, 52, 12, 8, math.pi / 2, 5, "shed", 15)]
    ground = np.full((144, 144), 50.0, np.float32)
    sc = scene.render(buildings, (144, 144), 0.5, ground, rng=np.random.default_rng(1), dsm_noise=0.03)
    ids = buildings_from_labels(sc.labels, 0.5, PlaneConfig())
    segs = roof_segments(sc.dsm, surface_normals(sc.dsm, 0.5), ids, 0.5)
    by_building = {}
    for s in segs:
        by_building.setdefault(s.building, []).append(s)
    big = sorted(by_building.values(), key=lambda v: -sum(len(s.cells) for s in v))
    pitches = {round(s.pitch) for v in big for s in v if s.area > 8}
    assert any(abs(p - 35) <= 1 for p in pitches) and any(abs(p - 30) <= 1 for p in pitches)
    gable = next(v for v in by_building.values() if any(abs(s.pitch - 35) < 1.5 for s in v))
    azimuths = sorted(round(s.azimuth) % 360 for s in gable if s.area > 8)
    assert len(azimuths) == 2 and all(min(abs(a - t), 360 - abs(a - t)) <= 2 for a, t in zip(azimuths, (0, 180),
                                                                                               strict=True))
    hip = next(v for v in by_building.values() if any(abs(s.pitch - 30) < 1.5 for s in v))
    assert len([s for s in hip if s.area > 4]) == 4
    shed = next(v for v in by_building.values() if any(abs(s.pitch - 15) < 1.5 for s in v))
    # ridge along north-south (angle 90°): v points west, the shed rises towards +v, so it faces east
    assert abs(max(shed, key=lambda s: s.area).azimuth - 90) <= 2


# ------------------------------------------------------------------------------------------ panels, money


def test_panels_lie_on_usable_roof_and_energy_is_ranked_and_consistent(munich_sky):
    from deepgallery.apps.sunroof.panels import FinanceConfig, PanelConfig, energy, finance, layout, usable_roof
    from deepgallery.apps.sunroof.pipeline import unshaded_annual
    from deepgallery.apps.sunroof.roofs import Segment

    sc = scene.render([scene.Building(16, 16, 14, 10, 0.0, 5, "gable", 30)], (64, 64), 0.5,
                      np.zeros((64, 64), np.float32), dsm_noise=0.0)
    rows, cols = np.nonzero((sc.labels == scene.ROOF) & (sc.planes % 32 == 1))  # the south face (v < 0)
    from deepgallery.apps.sunroof.roofs import fit_plane

    x, y = (cols + 0.5) * 0.5, -(rows + 0.5) * 0.5
    seg = Segment(1, 1, np.stack([rows, cols], 1), fit_plane(x, y, sc.dsm[rows, cols].astype(float)), 0.5)
    assert abs(seg.azimuth - 180) < 1 and abs(seg.pitch - 30) < 1
    cfg = PanelConfig()
    usable = usable_roof([seg], sc.dsm, cfg, 0.5)
    flux = compute(sc.dsm, 0.5, munich_sky, IrradianceConfig(monthly=False)).annual
    panels = layout(seg, usable == 1, flux, cfg, 0.5)
    # a 14 x 5.77 m face (on the slope) less 0.3 m set-backs holds 2 rows of 12 portrait panels at most
    assert 10 <= len(panels) <= 24
    for p in panels:  # points just inside each corner stand on usable roof
        inset = np.array(p.center) + 0.85 * (p.corners - np.array(p.center))
        r, c = np.round(inset).astype(int).T
        assert (usable[np.clip(r, 0, 63), np.clip(c, 0, 63)] == 1).all()
    e = energy(panels, {1: seg}, {1: unshaded_annual(munich_sky, seg, 0.2)}, munich_sky, cfg, 0.2)
    assert np.all(np.diff(e.dc_per_panel) <= 1e-9) and np.all(np.diff(e.ac_cumulative) > 0)
    assert np.all(e.ac_cumulative < e.dc_cumulative)  # losses and the inverter take their share
    kwh_per_kwp = e.ac_cumulative[-1] / (len(panels) * 0.4)
    # clear sky every day: ~2090 kWh/m² on the plane, less ~14 % losses, inverter and heat
    assert 1300 < kwh_per_kwp < 1800
    money = finance(10, 4000.0, cfg, FinanceConfig(cost_per_watt=1.0, incentive=0, electricity_price=0.3,
                                                   export_price=0.0, self_consumption=1.0, consumption=1e9,
                                                   price_increase=0, degradation=0, maintenance=0))
    assert money["installationCost"] == 4000 and money["firstYearSavings"] == 1200
    assert money["paybackYears"] == pytest.approx(4000 / 1200, abs=0.05)


# ----------------------------------------------------------------------------------- the command and data


def test_run_on_a_dsm_geotiff_writes_every_output(tmp_path, run_cli):
    sc = scene.town(size=96, cell=0.5, seed=21)
    dsm = sc.dsm.copy()
    dsm[40:43, 10:14] = -9999  # a no-data hole: filled and counted
    write_tif(tmp_path / "dsm.tif", dsm, nodata=-9999)
    write_tif(tmp_path / "ortho.tif", sc.ortho.transpose(2, 0, 1).copy())
    code, out, err = run_cli("run", "sunroof", tmp_path / "dsm.tif", "--ortho", tmp_path / "ortho.tif", "-o",
                             tmp_path / "out", "--sectors", 32)
    assert code == 0, err
    assert "filled 12 no-data cells" in out
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"flux.tif", "flux.png", "monthly_flux.tif", "hourly_shade.tif", "panels.png", "report.html",
            "building_insights.json", "segments.tif", "labels.tif"} <= names
    info = json.loads((tmp_path / "out" / "building_insights.json").read_text())
    assert info["site"]["timezone"] == "Europe/Berlin" and abs(info["site"]["latitude"] - 48.1) < 0.2
    assert info["buildings"], "no building found in a town"
    sp = info["buildings"][0]["solarPotential"]
    for key in ("maxArrayPanelsCount", "roofSegmentStats", "solarPanelConfigs", "wholeRoofStats",
                "panelCapacityWatts", "financialAnalyses"):
        assert key in sp
    assert len(sp["solarPanelConfigs"]) == sp["maxArrayPanelsCount"]
    import rasterio

    with rasterio.open(tmp_path / "out" / "flux.tif") as src:
        assert src.crs.to_epsg() == 32632 and src.shape == (96, 96)
        flux = src.read(1)
    assert 800 < np.median(flux) < 1800
    with rasterio.open(tmp_path / "out" / "hourly_shade.tif") as src:
        june = src.read(6)
    assert ((june >> 12) & 1).mean() > 0.5 and ((june >> 1) & 1).sum() == 0  # sun at noon, none at 1 a.m.


def test_polar_night_site_runs_and_says_so(tmp_path, run_cli):
    dsm = 10 + scene.plane_dsm(10, 180, size=48, cell=1.0) - 100
    write_tif(tmp_path / "svalbard.tif", dsm, crs="EPSG:32633", origin=(513000.0, 8680000.0), cell=1.0)
    code, out, err = run_cli("run", "sunroof", tmp_path / "svalbard.tif", "-o", tmp_path / "o", "--sectors", 16)
    assert code == 0, err
    assert "polar night" in out and "Nov" in out
    info = json.loads((tmp_path / "o" / "building_insights.json").read_text())
    monthly = info["site"]["monthlyMeanFluxKwhPerM2"]
    assert monthly[11] == 0 and monthly[5] > 50


def test_bad_inputs(tmp_path, bad_input):
    import rasterio  # noqa: F401

    plain = np.full((32, 32), 5.0, np.float32)
    write_tif(tmp_path / "nocrs.tif", plain, crs=None)
    write_tif(tmp_path / "degrees.tif", plain, crs="EPSG:4326", origin=(11.5, 48.1), cell=0.00001)
    write_tif(tmp_path / "dsm.tif", plain)
    write_tif(tmp_path / "far.tif", np.zeros((3, 32, 32), np.uint8), origin=(700000.0, 5336000.0))
    bad_input("sunroof", [tmp_path / "nocrs.tif", "-o", "{out}"], "has no CRS")
    bad_input("sunroof", [tmp_path / "degrees.tif", "-o", "{out}"], "gdalwarp -t_srs")
    bad_input("sunroof", [tmp_path / "dsm.tif", "--ortho", tmp_path / "far.tif", "-o", "{out}"], "does not overlap")
    bad_input("sunroof", ["{bad}", "-o", "{out}"], "not a readable GeoTIFF (give a DSM as a GeoTIFF)")
    bad_input("sunroof", [tmp_path / "missing.tif", "-o", "{out}"], "missing.tif: no such file")
    bad_input("sunroof", [tmp_path / "dsm.tif", "--ortho", "{bad}", "-o", "{out}"],
              "not a readable GeoTIFF (give the orthophoto as an RGB GeoTIFF)")
    bad_input("sunroof", [tmp_path / "dsm.tif", "--ortho", tmp_path / "none.tif", "-o", "{out}"], "none.tif: no such")
    bad_input("sunroof", [tmp_path / "dsm.tif", "--weather", "{bad}", "-o", "{out}"], "weather file")
    bad_input("sunroof", ["-o", "{out}"], "give a DSM GeoTIFF")


def test_inria_layout_loader_and_training_on_it(tmp_path, one_torch_thread):
    from deepgallery.apps.sunroof.data import inria_sample, inria_tiles, read_inria
    from deepgallery.apps.sunroof.train import TrainConfig, train

    root = tmp_path / "inria"
    (root / "images").mkdir(parents=True)
    (root / "gt").mkdir()
    for i in range(2):
        sc = scene.town(size=64, cell=0.5, seed=30 + i)
        write_tif(root / "images" / f"austin{i + 1}.tif", sc.ortho.transpose(2, 0, 1).copy())
        write_tif(root / "gt" / f"austin{i + 1}.tif", ((sc.labels == scene.ROOF) * 255).astype(np.uint8))
    (root / "images" / "nomask.tif").write_bytes(b"")  # an image without its mask is not a tile
    tiles = inria_tiles(root)
    assert [p.name for p in tiles] == ["austin1.tif", "austin2.tif"]
    s = inria_sample(read_inria(tiles[0]))
    assert s.x.shape == (8, 64, 64) and s.x[3].min() == 1 and s.y.max() == 1 and s.x[4:].std() == 0
    result = train(tmp_path / "run", TrainConfig(steps=3, batch=2, crop=32, width=4, depth=2, save_every=3),
                   data=str(root), log=lambda *_: None)
    assert result.step == 3 and all(np.isfinite(result.losses))


def test_training_learns_and_resumes(tmp_path, one_torch_thread):
    """The held-out loss of a fixed batch of towns falls from the initial network to 10 steps to 30 (resumed)."""
    from torch.nn import functional as F

    from deepgallery.apps.sunroof.data import generated_batch
    from deepgallery.apps.sunroof.model import NetConfig, UNet
    from deepgallery.apps.sunroof.train import TrainConfig, train

    cfg = TrainConfig(steps=30, batch=4, crop=32, width=8, depth=2, lr=5e-3, save_every=10)
    x, y = (torch.from_numpy(a) for a in generated_batch(list(range(10 ** 8, 10 ** 8 + 8)), crop=32))

    def held_out(net):
        with torch.no_grad():
            return F.cross_entropy(net.eval()(x), y).item()

    torch.manual_seed(0)
    initial = held_out(UNet(NetConfig(width=8, depth=2)))
    first = train(tmp_path / "run", TrainConfig(**{**cfg.__dict__, "steps": 10}), log=lambda *_: None)
    resumed = train(tmp_path / "run", cfg, log=lambda *_: None)
    assert first.step == 10 and resumed.step == 30 and len(resumed.losses) == 20
    assert held_out(resumed.net) < held_out(first.net) < initial


@pytest.mark.slow
def test_two_gloo_processes_train_the_same_network_as_one(tmp_path, run_cli, torchrun_cli, one_torch_thread):
    """Examples come from (seed, step, index) and GroupNorm keeps no batch statistics: 2 x half batch = 1 x batch
    (and a different split would not be: see the last assertion)."""
    from deepgallery.core import checkpoint

    common = ("train", "sunroof", "--steps", 2, "--batch", 4, "--crop", 32, "--width", 4, "--depth", 2)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 2
    # Adam's first steps divide a gradient by its own size, so a weight whose gradient is ~0 can move by a visible
    # fraction of lr on summation order alone; a wrong split of the batch would move nearly all of them
    diff = torch.cat([(two[k].float() - one[k].float()).abs().ravel() for k in one])
    assert (diff < 1e-5).float().mean() > 0.97 and diff.max() < 2e-3 / 2


def test_shipped_network_finds_roofs_with_and_without_the_photo(one_torch_thread):
    from deepgallery.apps.sunroof.data import features
    from deepgallery.apps.sunroof.model import load_shipped

    net = load_shipped()
    sc = scene.town(size=128, cell=0.5, seed=777_777)
    truth = sc.labels == scene.ROOF
    for photo in (sc.ortho, None):
        pred = net.predict(features(sc.dsm, 0.5, photo)) == scene.ROOF
        assert (pred & truth).sum() / (pred | truth).sum() > 0.75


def write_epw(path, site: Site, scale: float = 0.7):
    """A typical-year EPW file whose irradiance is `scale` x pvlib's clear sky (hour-ending stamps, UTC+1)."""
    import pandas as pd
    import pvlib

    times = pd.date_range("2025-01-01 01:00", periods=8760, freq="h", tz="Etc/GMT-1")
    cs = pvlib.location.Location(site.latitude, site.longitude, altitude=site.altitude).get_clearsky(
        times - pd.Timedelta(minutes=30))
    head = [f"LOCATION,Munich,BY,DEU,test,108650,{site.latitude},{site.longitude},1.0,{site.altitude}",
            "DESIGN CONDITIONS,0", "TYPICAL/EXTREME PERIODS,0", "GROUND TEMPERATURES,0",
            "HOLIDAYS/DAYLIGHT SAVINGS,No,0,0,0", "COMMENTS 1,made by the test", "COMMENTS 2,",
            "DATA PERIODS,1,1,Data,Sunday, 1/ 1,12/31"]
    rows = []
    for t, g, b, d in zip(times, cs["ghi"] * scale, cs["dni"] * scale, cs["dhi"] * scale, strict=True):
        day = t if t.hour else t - pd.Timedelta(hours=1)
        rows.append(",".join(map(str, [2025, day.month, day.day, t.hour or 24, 60, "?", 12.0, 5.0, 60, 96000, 0,
                                       1367, 300, round(g), round(b), round(d), 0, 0, 0, 0, 180, 2.0, 5, 5, 20.0,
                                       77777, 9, "999999999", 0, 0.1, 0, 88, 0.2, 0, 1.0])))
    path.write_text("\n".join(head + rows) + "\n")
    return path


def test_weather_file_gives_its_irradiance_and_temperature(tmp_path, munich_sky):
    sky = sun.weather_file(write_epw(tmp_path / "munich.epw", MUNICH), MUNICH)
    assert sky.ghi.sum() / munich_sky.ghi.sum() == pytest.approx(0.7, abs=0.01)  # hour-ending stamps handled
    assert sky.temp_air is not None and np.all(sky.temp_air == 12.0) and "munich.epw" in sky.source
