"""A classical iris localiser for the gaze metric: Daugman's integro-differential operator on the limbus.

The iris is a dark disc on the bright sclera; its edge (the limbus) is a circle of nearly fixed radius
that the lids hide at the top and bottom. `locate_iris` finds the circle centre (x, y) and radius ρ that
maximise the mean radial brightness step I(c + (ρ+δ)u) − I(c + (ρ−δ)u) over directions u, counting only
directions whose two samples both lie inside the eye opening (the face mesh's lid contour, shrunk by a
pixel), as in Daugman (1993, "High confidence visual recognition of persons by a test of statistical
independence") where the lid-covered sectors are left out. The search is a 0.5 px grid over a window
around a seed, refined on a 0.1 px grid; samples are bilinear on a lightly blurred grey image, so the
centre is sub-pixel. It knows nothing about faces beyond the lid contour, so a warp that moves the iris
under still lids is read at face value — which is what the bench needs (`bench.instrument_check`
measures its error on known shifts).

`shift_iris` is the synthetic ground truth: the iris region moved rigidly by a known (dx, dy) in image
pixels *under the unchanged lids* (only pixels inside the eye opening change), like an eye rotating in
its socket without the foreshortening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CONTRAST = 6.0  # grey levels (0–255): a weaker limbus step means no iris is visible
ANGLES = 64  # directions sampled around a candidate circle


@dataclass
class IrisFit:
    center: np.ndarray  # (2,) image px
    radius: float  # image px
    contrast: float  # mean grey-level step across the limbus (0–255)


def _opening_mask(shape: tuple[int, int], contour: np.ndarray, origin: np.ndarray, erode: float) -> np.ndarray:
    """Float mask (H, W) of the eye opening in ROI pixels, 1 inside the polygon shrunk by `erode` px."""
    import cv2

    mask = np.zeros(shape, np.uint8)
    pts = np.round((contour - origin) * 16).astype(np.int32)  # 4 fractional bits
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_8, shift=4)
    k = max(1, int(round(erode)))
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return mask.astype(np.float32) / 255.0


def _scores(gray: np.ndarray, mask: np.ndarray, centers: np.ndarray, radii: np.ndarray,
            delta: float, min_valid: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean limbus step (N, M) for N centres × M radii, and the fraction of valid directions."""
    import cv2

    th = np.linspace(0, 2 * np.pi, ANGLES, endpoint=False)
    u = np.stack([np.cos(th), np.sin(th)], 1)  # (K, 2)
    n, m = len(centers), len(radii)
    inner = centers[:, None, None, :] + (radii[None, :, None, None] - delta) * u[None, None]  # (N, M, K, 2)
    outer = centers[:, None, None, :] + (radii[None, :, None, None] + delta) * u[None, None]
    pts = np.concatenate([inner, outer], 2).reshape(-1, 2 * ANGLES, 2).astype(np.float32)  # rows < SHRT_MAX
    vals = cv2.remap(gray, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.remap(mask, pts[..., 0], pts[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                       borderValue=0)
    vals, inside = vals.reshape(n, m, 2, ANGLES), inside.reshape(n, m, 2, ANGLES)
    valid = (inside > 0.99).all(2)  # (N, M, K)
    step = vals[:, :, 1] - vals[:, :, 0]
    frac = valid.mean(2)
    score = (step * valid).sum(2) / np.maximum(valid.sum(2), 1)
    score[frac < min_valid] = -np.inf
    return score, frac


def locate_iris(rgb: np.ndarray, contour: np.ndarray, seed, radius: float,
                search: tuple[float, float] | None = None, radius_tol: float = 0.15,
                min_contrast: float = MIN_CONTRAST) -> IrisFit | None:
    """The iris circle inside the eye opening `contour` (polygon, image px), or None if none is visible.

    seed: (x, y) where to search around (e.g. the face mesh's iris centre of the unedited frame);
    radius: the expected iris radius in px, searched within ± `radius_tol` (0: fixed — a rotating eye keeps
    its iris size, so an edited frame is best read with the radius found on the unedited one);
    search: half-extent (x, y) of the window of centres (default 0.9 × radius, 0.6 × radius).
    """
    import cv2

    contour = np.asarray(contour, np.float64)
    seed = np.asarray(seed, np.float64)
    if radius < 2 or cv2.contourArea(contour.astype(np.float32)) < 0.25 * np.pi * radius**2:
        return None  # eye closed or too small: no iris to find
    sx, sy = search if search is not None else (0.9 * radius, 0.6 * radius)
    pad = int(np.ceil(max(sx, sy) + 1.3 * radius + 4))
    h, w = rgb.shape[:2]
    x0, y0 = max(0, int(seed[0]) - pad), max(0, int(seed[1]) - pad)
    x1, y1 = min(w, int(seed[0]) + pad + 1), min(h, int(seed[1]) + pad + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    origin = np.array([x0, y0], np.float64)
    gray = rgb[y0:y1, x0:x1].astype(np.float32)
    gray = gray.mean(2) if gray.ndim == 3 else gray
    gray = cv2.GaussianBlur(gray, (0, 0), max(0.6, radius / 14))
    mask = _opening_mask(gray.shape, contour, origin, erode=max(1.0, radius / 10))
    delta = max(1.0, 0.2 * radius)
    s = seed - origin

    gx = np.arange(-sx, sx + 1e-6, 0.5)
    gy = np.arange(-sy, sy + 1e-6, 0.5)
    centers = np.stack(np.meshgrid(s[0] + gx, s[1] + gy), -1).reshape(-1, 2)
    radii = radius * np.linspace(1 - radius_tol, 1 + radius_tol, 7 if radius_tol > 0 else 1)
    score, _ = _scores(gray, mask, centers, radii, delta, min_valid=0.2)
    i, j = np.unravel_index(np.argmax(score), score.shape)
    if not np.isfinite(score[i, j]):
        return None
    best, rho = centers[i], radii[j]
    fine = np.arange(-0.6, 0.6 + 1e-6, 0.1)
    centers = np.stack(np.meshgrid(best[0] + fine, best[1] + fine), -1).reshape(-1, 2)
    radii = rho + np.array([-1, -0.5, 0.0, 0.5, 1]) * radius * radius_tol / 6
    score, _ = _scores(gray, mask, centers, radii, delta, min_valid=0.2)
    i, j = np.unravel_index(np.argmax(score), score.shape)
    contrast = float(score[i, j])
    if not np.isfinite(contrast) or contrast < min_contrast:
        return None
    return IrisFit(centers[i] + origin, float(radii[j]), contrast)


def locate(rgb: np.ndarray, eye, reference: IrisFit | None = None) -> IrisFit | None:
    """`locate_iris` for a face-mesh `face.Eye` of the unedited frame (its lid contour, iris centre as the
    seed, iris radius). With `reference` (the fit on the unedited frame) the radius is held at its value."""
    if eye.contour is None or eye.iris_radius is None:
        return None
    if reference is not None:
        return locate_iris(rgb, eye.contour, eye.iris, reference.radius, radius_tol=0.0)
    return locate_iris(rgb, eye.contour, eye.iris, eye.iris_radius)


def shift_iris(rgb: np.ndarray, contour: np.ndarray, center, radius: float, dx: float, dy: float) -> np.ndarray:
    """Move the iris (disc of `radius` at `center`, with a margin of sclera) by (dx, dy) px under fixed lids.

    Pixels inside the eye opening whose distance to the moved centre is below 1.35 × radius sample the
    photo at p − (dx, dy) (full shift, so the whole limbus moves rigidly); the shift fades to zero by
    1.8 × radius; pixels outside the opening (lids, lashes, skin) are untouched.
    """
    import cv2

    h, w = rgb.shape[:2]
    c = np.asarray(center, np.float64) + (dx, dy)
    pad = int(np.ceil(1.8 * radius + abs(dx) + abs(dy) + 3))
    x0, y0 = max(0, int(c[0]) - pad), max(0, int(c[1]) - pad)
    x1, y1 = min(w, int(c[0]) + pad + 1), min(h, int(c[1]) + pad + 1)
    origin = np.array([x0, y0], np.float64)
    mask = _opening_mask((y1 - y0, x1 - x0), np.asarray(contour, np.float64), origin, erode=0)
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = np.hypot(gx - c[0], gy - c[1])
    wgt = np.clip((1.8 * radius - d) / (0.45 * radius), 0, 1) * mask
    out = rgb.copy()
    wgt = wgt.astype(np.float32)
    out[y0:y1, x0:x1] = cv2.remap(rgb, gx - np.float32(dx) * wgt, gy - np.float32(dy) * wgt, cv2.INTER_CUBIC,
                                  borderMode=cv2.BORDER_REPLICATE)
    return out


def track_iris(before: np.ndarray, after: np.ndarray, contour: np.ndarray, center, radius: float,
               search: tuple[float, float] | None = None, min_valid: float = 0.4) -> np.ndarray | None:
    """How far the iris moved from `before` to `after` (dx, dy) in px, by sub-pixel template matching.

    The template is the iris disc (`center`, `radius`) of the unedited frame inside the eye opening; the
    displacement d minimises the mean absolute grey difference |after(p + d) − before(p)| over the template
    pixels p whose moved place p + d is still inside the opening (the lids hide what moves under them).
    A 0.5 px grid over the search window, then a 0.1 px grid around the best. None if too little of the
    template stays visible.
    """
    import cv2

    center = np.asarray(center, np.float64)
    contour = np.asarray(contour, np.float64)
    sx, sy = search if search is not None else (0.9 * radius, 0.6 * radius)
    pad = int(np.ceil(max(sx, sy) + radius + 4))
    h, w = before.shape[:2]
    x0, y0 = max(0, int(center[0]) - pad), max(0, int(center[1]) - pad)
    x1, y1 = min(w, int(center[0]) + pad + 1), min(h, int(center[1]) + pad + 1)
    origin = np.array([x0, y0], np.float64)
    sigma = max(0.6, radius / 14)

    def grey(img):
        g = img[y0:y1, x0:x1].astype(np.float32)
        return cv2.GaussianBlur(g.mean(2) if g.ndim == 3 else g, (0, 0), sigma)

    g0, g1 = grey(before), grey(after)
    mask = _opening_mask(g0.shape, contour, origin, erode=1.0)
    ys, xs = np.mgrid[0:g0.shape[0], 0:g0.shape[1]]
    c = center - origin
    sel = (np.hypot(xs - c[0], ys - c[1]) < radius) & (mask > 0.99)
    if sel.sum() < 8:
        return None
    p = np.stack([xs[sel], ys[sel]], 1).astype(np.float32)  # (T, 2)
    t = g0[sel]

    def costs(ds):
        q = (p[None] + ds[:, None].astype(np.float32))  # (N, T, 2)
        v = cv2.remap(g1, q[..., 0], q[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        inside = cv2.remap(mask, q[..., 0], q[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=0) > 0.99
        cost = (np.abs(v - t[None]) * inside).sum(1) / np.maximum(inside.sum(1), 1)
        cost[inside.mean(1) < min_valid] = np.inf
        return cost

    gx, gy = np.arange(-sx, sx + 1e-6, 0.5), np.arange(-sy, sy + 1e-6, 0.5)
    ds = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    cost = costs(ds)
    if not np.isfinite(cost.min()):
        return None
    best = ds[np.argmin(cost)]
    fine = np.arange(-0.6, 0.6 + 1e-6, 0.1)
    ds = np.stack(np.meshgrid(best[0] + fine, best[1] + fine), -1).reshape(-1, 2)
    cost = costs(ds)
    return ds[np.argmin(cost)] if np.isfinite(cost.min()) else None
