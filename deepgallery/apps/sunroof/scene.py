"""Procedural towns: buildings (flat, gable, hip and shed roofs, dormers, chimneys), trees and roads, rendered to a
digital surface model, an orthophoto and the truth (ground / roof / tree, building and roof-plane ids).

They are what the segmentation network trains on (no labelled LiDAR exists offline), the town of the demo and
the web page, and the tiles of the benchmark. Pure numpy/scipy, so the GPU machine can generate them on the fly.
Rows run north to south and columns west to east (a north-up GeoTIFF), heights are metres above sea level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

GROUND, ROOF, TREE = 0, 1, 2
CLASSES = ("ground", "roof", "tree")
ROOF_KINDS = ("flat", "gable", "hip", "shed")
ROOF_COLOURS = {  # RGB of the roofing, before lighting and noise
    "tiles": (150, 62, 45), "slate": (70, 72, 80), "concrete": (150, 150, 145), "brown": (105, 80, 60),
    "green": (80, 110, 90)}


@dataclass
class Building:
    """One building: a rotated rectangle footprint and its roof."""

    cx: float  # centre, metres east of the tile's west edge
    cy: float  # centre, metres south of the tile's north edge
    length: float  # along the ridge (metres)
    width: float  # across the ridge (metres)
    angle: float  # ridge direction, radians counter-clockwise from east
    eave: float  # wall height above ground (metres)
    kind: str  # one of ROOF_KINDS
    pitch: float  # roof pitch in degrees (0 for flat)
    dormers: int = 0
    chimney: bool = False


@dataclass
class Scene:
    """A rendered tile; `labels` is the network's truth and `planes` numbers every roof plane (0: none)."""

    dsm: np.ndarray  # (H, W) float32 metres
    ground: np.ndarray  # (H, W) float32, the bare-earth height (a DTM)
    ortho: np.ndarray  # (H, W, 3) uint8
    labels: np.ndarray  # (H, W) uint8: GROUND, ROOF, TREE
    building_id: np.ndarray  # (H, W) int32, 0 outside buildings
    planes: np.ndarray  # (H, W) int32, one id per roof plane, 0 elsewhere
    cell: float  # metres per cell
    buildings: list[Building] = field(default_factory=list)


def _local(xx: np.ndarray, yy: np.ndarray, b: Building) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres in the building's frame: u along the ridge, v across it (metres; y grows southwards)."""
    dx, dy = xx - b.cx, -(yy - b.cy)  # dy northwards, so `angle` is counter-clockwise on the map
    c, s = math.cos(b.angle), math.sin(b.angle)
    return dx * c + dy * s, -dx * s + dy * c


def roof_surface(u: np.ndarray, v: np.ndarray, b: Building) -> tuple[np.ndarray, np.ndarray]:
    """Height above the eave of each roof plane at (u, v) inside the footprint, and the plane's index (0..3)."""
    t = math.tan(math.radians(b.pitch))
    hl, hw = b.length / 2, b.width / 2
    if b.kind == "flat":
        return np.zeros_like(u), np.zeros(u.shape, np.int32)
    if b.kind == "shed":
        return (v + hw) * t, np.zeros(u.shape, np.int32)
    if b.kind == "gable":
        return (hw - np.abs(v)) * t, (v > 0).astype(np.int32)
    # hip: four planes; the ridge is shortened by the half-width at both ends
    across, along = hw - np.abs(v), hl - np.abs(u)
    face = np.where(across <= along, (v > 0).astype(np.int32), 2 + (u > 0).astype(np.int32))
    return np.minimum(across, along) * t, face


def random_building(rng: np.random.Generator, cx: float, cy: float, max_side: float) -> Building:
    kind = str(rng.choice(ROOF_KINDS, p=[0.25, 0.35, 0.25, 0.15]))
    length = float(rng.uniform(8, max(9.0, max_side)))
    width = float(rng.uniform(6, min(length, 13)))
    pitch = 0.0 if kind == "flat" else float(rng.uniform(15, 45) if kind != "shed" else rng.uniform(8, 25))
    return Building(cx=cx, cy=cy, length=length, width=width, angle=float(rng.choice([0, math.pi / 2]) +
                    rng.normal(0, 0.25)), eave=float(rng.uniform(3, 9 if kind == "flat" else 6.5)), kind=kind,
                    pitch=pitch, dormers=int(rng.integers(0, 3)) if kind in ("gable", "hip") else 0,
                    chimney=bool(rng.random() < 0.5))


def _window(x: float, y: float, radius: float, cell: float, shape: tuple[int, int]):
    """The (rows, cols) slices of the cells within `radius` metres of (x, y), or None off the tile."""
    r0, r1 = max(0, int((y - radius) / cell)), min(shape[0], int((y + radius) / cell) + 2)
    c0, c1 = max(0, int((x - radius) / cell)), min(shape[1], int((x + radius) / cell) + 2)
    if r0 >= r1 or c0 >= c1:
        return None
    return slice(r0, r1), slice(c0, c1)


def render(buildings: list[Building], size: tuple[int, int], cell: float, ground: np.ndarray,
           trees: list[tuple[float, float, float, float]] = (), roads: np.ndarray | None = None,
           rng: np.random.Generator | None = None, dsm_noise: float = 0.05, ortho_noise: float = 6.0,
           sun: tuple[float, float] = (150.0, 45.0)) -> Scene:
    """Draw buildings and trees (x, y, crown radius, height) over `ground`; `roads` marks paved cells."""
    rng = rng or np.random.default_rng(0)
    h, w = size
    yy, xx = (np.mgrid[0:h, 0:w].astype(np.float64) + 0.5) * cell
    dsm = ground.astype(np.float64).copy()
    labels = np.zeros((h, w), np.uint8)
    bid = np.zeros((h, w), np.int32)
    planes = np.zeros((h, w), np.int32)
    colour = np.zeros((h, w, 3), np.float64)
    roads = np.zeros((h, w), bool) if roads is None else roads
    base = np.where(roads[..., None], np.array([118, 116, 112.0]), np.array([96, 118, 70.0]))
    colour[:] = base * (1 + 0.08 * rng.standard_normal((h, w, 1)))
    for i, b in enumerate(buildings, start=1):
        win = _window(b.cx, b.cy, math.hypot(b.length, b.width) / 2 + 1, cell, (h, w))
        if win is None:
            continue
        u, v = _local(xx[win], yy[win], b)
        inside = (np.abs(u) <= b.length / 2) & (np.abs(v) <= b.width / 2)
        if not inside.any():
            continue
        floor = float(np.median(ground[win][inside]))
        rise, face = roof_surface(u, v, b)
        roof = floor + b.eave + rise
        top = np.where(inside, roof, -np.inf)
        # dormers: small boxes with flat tops standing out of the lower half of one face
        t = math.tan(math.radians(b.pitch))
        for k in range(b.dormers):
            du = (k - (b.dormers - 1) / 2) * min(3.5, b.length / (b.dormers + 1))
            sv = 1 if k % 2 == 0 else -1
            box = (np.abs(u - du) <= 0.9) & (np.abs(v - sv * b.width / 4) <= 1.1) & inside
            top = np.where(box, np.maximum(top, floor + b.eave + (b.width / 4 + 1.1) * t), top)
            face = np.where(box, 10 + k, face)
        if b.chimney:
            cu, cv = b.length * 0.25, b.width * 0.15 * (1 if b.kind != "shed" else 0)
            box = (np.abs(u - cu) <= 0.35) & (np.abs(v - cv) <= 0.35) & inside
            chimney_top = floor + b.eave + (b.width / 2 * t if b.kind != "shed" else b.width * t) + 1.2
            top = np.where(box, chimney_top, top)
            face = np.where(box, 20, face)
        higher = inside & (top >= dsm[win])
        dsm[win] = np.where(higher, top, dsm[win])
        labels[win][higher] = ROOF
        bid[win][higher] = i
        planes[win][higher] = i * 32 + face[higher] + 1
        tint = ROOF_COLOURS[list(ROOF_COLOURS)[int(rng.integers(len(ROOF_COLOURS)))] if b.kind != "flat"
                            else str(rng.choice(["concrete", "slate"]))]
        colour[win][higher] = np.array(tint) * (1 + 0.05 * rng.standard_normal((int(higher.sum()), 1)))
    for tx, ty, radius, height in trees:
        win = _window(tx, ty, radius, cell, (h, w))
        if win is None:
            continue
        r2 = ((xx[win] - tx) ** 2 + (yy[win] - ty) ** 2) / radius ** 2
        near = r2 < 1
        crown = ground[win] + height * (0.55 + 0.45 * np.sqrt(np.clip(1 - r2, 0, 1)))
        crown = crown + 0.4 * rng.standard_normal(crown.shape)  # leaves are rough
        over = near & (crown > dsm[win])
        dsm[win] = np.where(over, crown, dsm[win])
        labels[win][over] = TREE
        bid[win][over] = 0
        planes[win][over] = 0
        green = np.array([50, 85, 40.0]) * (1 + 0.25 * rng.standard_normal((int(over.sum()), 1)))
        colour[win][over] = green
    # lighting: a hillshade of the surface from `sun`, and cast shadows darkening the photo
    gy, gx = np.gradient(dsm, cell)
    az, el = math.radians(sun[0]), math.radians(sun[1])
    sx, sy, sz = math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)
    nz = 1 / np.sqrt(1 + gx ** 2 + gy ** 2)
    shade = np.clip((-gx * sx + gy * sy + sz) * nz, 0, 1)  # gy is southwards (rows), so north slope is +gy
    lit = cast_shadow_simple(dsm, cell, sun[0], sun[1])
    light = 0.35 + 0.65 * shade * np.where(lit, 1.0, 0.35)
    photo = colour * light[..., None] / max(0.35 + 0.65 * sz, 1e-6)
    photo += ortho_noise * rng.standard_normal(photo.shape)
    ortho = np.clip(photo, 0, 255).astype(np.uint8)
    noisy = dsm + dsm_noise * rng.standard_normal((h, w))
    return Scene(dsm=noisy.astype(np.float32), ground=ground.astype(np.float32), ortho=ortho, labels=labels,
                 building_id=bid, planes=planes, cell=cell, buildings=list(buildings))


def cast_shadow_simple(dsm: np.ndarray, cell: float, azimuth: float, elevation: float,
                       reach: float = 60.0) -> np.ndarray:
    """True where the sun is visible: march towards the sun one cell at a time (only for the photo's look)."""
    az, t = math.radians(azimuth), math.tan(math.radians(elevation))
    h, w = dsm.shape
    lit = np.ones((h, w), bool)
    for d in range(1, int(reach / cell)):
        dc, dr = int(round(d * math.sin(az))), int(round(-d * math.cos(az)))
        if abs(dr) >= h or abs(dc) >= w:
            break
        shifted = np.full((h, w), -np.inf)
        rs, cs = slice(max(0, -dr), min(h, h - dr)), slice(max(0, -dc), min(w, w - dc))
        shifted[rs, cs] = dsm[max(0, dr):min(h, h + dr), max(0, dc):min(w, w + dc)]
        lit &= shifted - dsm <= d * cell * math.hypot(math.sin(az), math.cos(az)) * t
    return lit


def ground_surface(rng: np.random.Generator, size: tuple[int, int], cell: float) -> np.ndarray:
    """Gently rolling terrain: a plane of random slope (up to 3 %) plus smooth bumps of a metre or two."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w] * cell
    slope = rng.uniform(-0.03, 0.03, 2)
    bumps = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma=40 / cell, mode="wrap")
    bumps *= 1.5 / max(float(np.abs(bumps).max()), 1e-9)
    return (100 + slope[0] * xx + slope[1] * yy + bumps).astype(np.float32)


def town(size: int = 256, cell: float = 0.5, seed: int = 0, density: float = 1.0) -> Scene:
    """A suburban tile: a grid of streets, one building per plot (some plots empty), trees in the gardens."""
    rng = np.random.default_rng(seed)
    shape = (size, size)
    ground = ground_surface(rng, shape, cell)
    extent = size * cell
    plot = float(rng.uniform(20, 28))
    road_w = float(rng.uniform(5, 8))
    offset = rng.uniform(0, plot, 2)
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) * cell
    roads = (((xx - offset[0]) % (2 * plot)) < road_w) | (((yy - offset[1]) % (3 * plot)) < road_w)
    buildings, trees = [], []
    for gx in np.arange(offset[0] - 2 * plot, extent + plot, plot):
        for gy in np.arange(offset[1] - 3 * plot, extent + plot, plot):
            cx, cy = gx + road_w + (plot - road_w) / 2, gy + road_w + (plot - road_w) / 2
            if rng.random() < 0.85 * min(density, 1.0):
                b = random_building(rng, cx + rng.normal(0, 1.5), cy + rng.normal(0, 1.5), plot - road_w - 4)
                b.length = min(b.length, plot - road_w - 3)
                b.width = min(b.width, plot - road_w - 3, b.length)
                buildings.append(b)
            for _ in range(int(rng.integers(0, 3))):
                corner = rng.uniform(-1, 1, 2) * (plot - road_w) / 2
                trees.append((cx + corner[0], cy + corner[1], float(rng.uniform(2, 4.5)), float(rng.uniform(5, 13))))
    sun = (float(rng.uniform(100, 260)), float(rng.uniform(25, 60)))
    return render(buildings, shape, cell, ground, trees, roads, rng, sun=sun)


def box_scene(size: int = 160, cell: float = 0.5, kind: str = "flat", height: float = 8.0, pitch: float = 35.0,
              angle: float = 0.0) -> Scene:
    """One building on flat ground and no noise: the benchmark's shadow test against the analytic shadow."""
    b = Building(cx=size * cell / 2, cy=size * cell / 2, length=16, width=10, angle=angle, eave=height, kind=kind,
                 pitch=pitch if kind != "flat" else 0.0)
    ground = np.full((size, size), 100.0, np.float32)
    return render([b], (size, size), cell, ground, rng=np.random.default_rng(0), dsm_noise=0.0, ortho_noise=0.0)


def plane_dsm(tilt: float, azimuth: float, size: int = 64, cell: float = 1.0) -> np.ndarray:
    """An endless tilted plane facing `azimuth` (degrees clockwise from north) — the POA check's surface."""
    yy, xx = (np.mgrid[0:size, 0:size] + 0.5) * cell
    east, north = xx, -yy
    t = math.tan(math.radians(tilt))
    a = math.radians(azimuth)
    # the surface falls towards `azimuth`: height decreases along (sin a, cos a)
    return (100 - t * (east * math.sin(a) + north * math.cos(a))).astype(np.float32)
