"""Re-rendering the target face from its own pixels (Face2Face §7 "Photo-realistic re-rendering", image-based here).

Face2Face renders its fitted 3-D model with the target's albedo and estimated illumination. We re-render by
warping the target frame's own pixels along the face mesh: each triangle of the mesh at the *tracked* target
landmarks is mapped affinely onto the same triangle at the *intended* landmarks (a piecewise-affine warp).

The mesh is MediaPipe's tesselation plus:
* triangle fans closing its three holes (mouth opening, both eyes) around a virtual centre vertex;
* an outer ring 60 % beyond the face oval whose points do not move, joined to the oval by quads, so the warp
  fades to the identity outside the face — no seam, and a dropping or rising chin moves the neck pixels along.

The warp is backward: for every output pixel, the triangle covering it (rasterised with ``cv2.fillConvexPoly``,
far triangles first) gives an affine map back into the source image; ``cv2.remap`` samples bilinearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .mesh import FACE_OVAL, INNER_LIPS, N_SURFACE, tesselation

RING_SCALE = 1.6  # outer ring radius relative to the face oval, from its centroid (room for the jaw to drop)


@dataclass(frozen=True)
class Mesh:
    """Triangles over the extended vertex list: 468 surface points, one hub per hole, then the outer ring."""

    triangles: np.ndarray  # (T, 3) int32 indices into the extended vertices
    holes: tuple[tuple[int, ...], ...]  # ordered boundary loops of the holes (mouth first)
    n_vertices: int

    @property
    def hub_start(self) -> int:
        return N_SURFACE

    @property
    def ring_start(self) -> int:
        return N_SURFACE + len(self.holes)


def _boundary_loops(triangles: np.ndarray) -> list[list[int]]:
    """Ordered loops of edges used by exactly one triangle (the mesh's outline and its holes)."""
    from collections import Counter

    count = Counter(tuple(sorted(e)) for a, b, c in triangles.tolist() for e in ((a, b), (b, c), (a, c)))
    nxt: dict[int, list[int]] = {}
    for (a, b), n in count.items():
        if n == 1:
            nxt.setdefault(a, []).append(b)
            nxt.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in nxt:
        if start in seen or len(nxt[start]) != 2:
            continue
        loop, prev, cur = [start], None, start
        seen.add(start)
        while True:
            options = [v for v in nxt[cur] if v != prev]
            if not options or options[0] == start or options[0] in seen:
                break
            prev, cur = cur, options[0]
            if len(nxt[cur]) != 2:
                break
            loop.append(cur)
            seen.add(cur)
        loops.append(loop)
    return loops


@lru_cache(maxsize=1)
def face_mesh() -> Mesh:
    """The extended mesh (module docstring) built once from MediaPipe's tesselation."""
    base = tesselation()
    oval = set(FACE_OVAL)
    holes = [loop for loop in _boundary_loops(base) if len(loop) >= 8 and not set(loop) & oval]
    holes.sort(key=lambda loop: -len(set(loop) & set(INNER_LIPS)))  # mouth first
    tris = [base]
    for h, loop in enumerate(holes):
        hub = N_SURFACE + h
        tris.append(np.array([(loop[i], loop[(i + 1) % len(loop)], hub) for i in range(len(loop))], np.int32))
    ring = N_SURFACE + len(holes)
    n = len(FACE_OVAL)
    quads = []
    for i in range(n):
        a, b = FACE_OVAL[i], FACE_OVAL[(i + 1) % n]
        ra, rb = ring + i, ring + (i + 1) % n
        quads += [(a, b, ra), (b, rb, ra)]
    tris.append(np.array(quads, np.int32))
    return Mesh(np.concatenate(tris), tuple(tuple(h) for h in holes), ring + n)


def extend(landmarks: np.ndarray, ring_from: np.ndarray | None = None) -> np.ndarray:
    """(478, 3) landmarks → (V, 3) mesh vertices: surface, hole hubs (loop means), outer ring.

    The ring is computed from ``ring_from`` (default: the landmarks themselves) so that source and destination
    can share it: a ring that is the same on both sides is where the warp becomes the identity.
    """
    mesh = face_mesh()
    ring_from = landmarks if ring_from is None else ring_from
    hubs = np.array([landmarks[list(loop)].mean(0) for loop in mesh.holes])  # (H, 3)
    oval = ring_from[list(FACE_OVAL)]  # (n, 3)
    centre = oval.mean(0)
    ring = centre + RING_SCALE * (oval - centre)
    ring[:, 2] = oval[:, 2].max() + abs(np.ptp(oval[:, 0]))  # behind the face: drawn first
    return np.concatenate([landmarks[:N_SURFACE], hubs, ring])


def _affines(src: np.ndarray, dst: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle affine maps dst → src as (T, 3, 2) for row vectors ``[x, y, 1] @ A``, and a validity mask.

    With ``D`` the (3, 3) rows ``[x, y, 1]`` of a destination triangle and ``S`` its (3, 2) source corners,
    ``A = D⁻¹ S``; ``D⁻¹ = adj(D) / det D`` is written out so all triangles are solved at once.
    """
    d, s = dst[triangles, :2], src[triangles, :2]  # (T, 3, 2) each
    x0, y0, x1, y1, x2, y2 = (d[:, i, j] for i in range(3) for j in range(2))
    det = x0 * (y1 - y2) + x1 * (y2 - y0) + x2 * (y0 - y1)  # twice the signed area
    ok = np.abs(det) > 1e-3
    adj = np.stack([np.stack([y1 - y2, y2 - y0, y0 - y1], -1),
                    np.stack([x2 - x1, x0 - x2, x1 - x0], -1),
                    np.stack([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0], -1)], 1)  # (T, 3, 3)
    adj /= np.where(ok, det, 1.0)[:, None, None]
    return adj @ s, ok


def warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray, triangles: np.ndarray,
         box: tuple[int, int, int, int], depth: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-affine backward warp of ``image`` so that triangle ``src[t]`` lands on ``dst[t]``.

    src, dst: (V, ≥2) vertex positions in pixels of ``image`` / of the output; box: output window
    (x0, y0, x1, y1) in output pixels; depth: (V,) z used to draw far triangles first (occlusion).
    Returns the warped window (h, w, C) and its coverage mask (h, w) uint8 (255 inside the mesh).
    """
    import cv2

    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    affine, ok = _affines(src, dst, triangles)  # (T, 3, 2)
    order = np.arange(len(triangles))
    if depth is not None:
        order = np.argsort(-depth[triangles].mean(1), kind="stable")  # far (large z) first
    ids = np.zeros((h, w), np.uint16)  # 0 = outside, t + 1 = triangle t
    pts = np.round((dst[:, :2] - (x0, y0)) * 16).astype(np.int32)  # 4 fractional bits
    order = order[ok[order]]
    for poly, colour in zip(pts[triangles[order]], (order + 1).tolist(), strict=True):
        cv2.fillConvexPoly(ids, poly, colour, cv2.LINE_8, 4)
    table = np.concatenate([np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]), affine]).astype(np.float32)
    a = table[ids]  # (h, w, 3, 2)
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    map_x = a[..., 0, 0] * gx + a[..., 1, 0] * gy + a[..., 2, 0]
    map_y = a[..., 0, 1] * gx + a[..., 1, 1] * gy + a[..., 2, 1]
    out = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, np.where(ids > 0, 255, 0).astype(np.uint8)


def bounding_box(points: np.ndarray, shape: tuple[int, ...], margin: int = 2) -> tuple[int, int, int, int]:
    """Integer (x0, y0, x1, y1) around points, clipped to an image of ``shape``."""
    h, w = shape[:2]
    x0, y0 = np.floor(points[:, :2].min(0)).astype(int) - margin
    x1, y1 = np.ceil(points[:, :2].max(0)).astype(int) + margin
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def blend(frame: np.ndarray, patch: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int],
          method: str = "poisson", poisson_scale: float = 0.5) -> np.ndarray:
    """Paste ``patch`` (the warped window at ``box``) into ``frame`` inside ``mask``.

    * ``poisson-exact``: gradient-domain blending (Pérez et al. 2003) solved at full size (``poisson_solve``, the
      equation ``cv2.seamlessClone`` solves; OpenCV's own implementation differs by ~1.6 grey levels on average);
    * ``poisson``: the same solution computed as ``patch + membrane``: the Poisson result minus the patch is a
      harmonic function fixed by the boundary mismatch (Farbman et al. 2009, "Coordinates for instant image
      cloning"), smooth, so it is solved at ``poisson_scale`` resolution (``poisson_solve``, DST) and upsampled;
    * ``feather``: alpha blending with a blurred mask (fastest, no colour adaptation).
    """
    import cv2

    x0, y0, x1, y1 = box
    out = frame.copy()
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8))
    region = out[y0:y1, x0:x1]
    if method.startswith("poisson") and inner.any():
        if method == "poisson-exact":
            pad = 2
            src = cv2.copyMakeBorder(np.ascontiguousarray(patch), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            dst = cv2.copyMakeBorder(region, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            m = cv2.copyMakeBorder(inner, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0) > 0
            patch = np.clip(poisson_solve(src, dst, m)[pad:-pad, pad:-pad], 0, 255)
        else:
            patch = patch.astype(np.float32) + _membrane(patch, region, inner, poisson_scale)
            patch = np.clip(patch, 0, 255)
    alpha = cv2.GaussianBlur(inner, (0, 0), 1.0 if method.startswith("poisson") else 2.0)
    alpha = alpha.astype(np.float32)[..., None] / 255.0
    out[y0:y1, x0:x1] = (alpha * patch + (1 - alpha) * region.astype(np.float32) + 0.5).astype(np.uint8)
    return out


def poisson_solve(src: np.ndarray, dst: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Gradient-domain cloning on a rectangle (Pérez et al. 2003), as ``cv2.seamlessClone(NORMAL_CLONE)`` does.

    Solves ``Δf = div v`` inside the rectangle with ``f = dst`` on its border, where the guidance ``v`` is ``∇src``
    on every pixel edge touching the mask and ``∇dst`` elsewhere. The Dirichlet Laplacian is diagonal in the
    type-I discrete sine basis, so one forward and one inverse DST per channel solve it exactly.
    src, dst: (h, w, C) float; mask: (h, w) bool. Returns f (h, w, C) float32.
    """
    from scipy.fft import dstn, idstn

    src, dst = src.astype(np.float32), dst.astype(np.float32)
    ex = (mask[:, 1:] | mask[:, :-1])[..., None]  # (h, w-1, 1) horizontal edges touching the mask
    ey = (mask[1:] | mask[:-1])[..., None]  # (h-1, w, 1)
    gx = np.where(ex, src[:, 1:] - src[:, :-1], dst[:, 1:] - dst[:, :-1])
    gy = np.where(ey, src[1:] - src[:-1], dst[1:] - dst[:-1])
    div = np.zeros_like(src)  # Σ over the 4 neighbours q of v(p → q)
    div[:, :-1] += gx
    div[:, 1:] -= gx
    div[:-1] += gy
    div[1:] -= gy
    rhs = div[1:-1, 1:-1].copy()  # unknowns: the interior; the border is dst
    rhs[0] -= dst[0, 1:-1]
    rhs[-1] -= dst[-1, 1:-1]
    rhs[:, 0] -= dst[1:-1, 0]
    rhs[:, -1] -= dst[1:-1, -1]
    h, w = rhs.shape[:2]
    lam = (2 * np.cos(np.pi * np.arange(1, h + 1) / (h + 1)) - 2)[:, None] + \
          (2 * np.cos(np.pi * np.arange(1, w + 1) / (w + 1)) - 2)[None, :]
    coeffs = dstn(rhs, type=1, axes=(0, 1)) / lam[..., None].astype(np.float32)
    out = dst.copy()
    out[1:-1, 1:-1] = idstn(coeffs, type=1, axes=(0, 1))
    return out


def _membrane(patch: np.ndarray, region: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """Poisson result − patch, solved at ``scale`` resolution (``poisson_solve``): (h, w, 3) float32."""
    import cv2

    h, w = mask.shape
    pad = max(2, int(round(2 / scale)))
    size = (max(8, round((w + 2 * pad) * scale)), max(8, round((h + 2 * pad) * scale)))
    small = [cv2.resize(cv2.copyMakeBorder(np.ascontiguousarray(a), pad, pad, pad, pad, cv2.BORDER_REPLICATE), size,
                        interpolation=cv2.INTER_AREA).astype(np.float32) for a in (patch, region)]
    m = cv2.resize(cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0), size,
                   interpolation=cv2.INTER_NEAREST) > 0
    m[:1], m[-1:], m[:, :1], m[:, -1:] = False, False, False, False
    if not m.any():
        return np.zeros((h, w, 3), np.float32)
    corr = poisson_solve(small[0], small[1], m) - small[0]
    corr = cv2.resize(corr, (w + 2 * pad, h + 2 * pad), interpolation=cv2.INTER_LINEAR)
    return corr[pad:pad + h, pad:pad + w]


def reshape_face(image: np.ndarray, current: np.ndarray, intended: np.ndarray,
                 box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Warp the face in ``image`` from its tracked landmarks ``current`` to ``intended`` (both (478, 3)).

    Returns (warped window, mask, box). ``intended == current`` gives back the image's own pixels (identity).
    """
    mesh = face_mesh()
    src = extend(current)
    dst = extend(intended, ring_from=current)
    dst[mesh.ring_start:] = src[mesh.ring_start:]  # the ring does not move: identity at the border
    if box is None:
        box = bounding_box(np.concatenate([src, dst]), image.shape)
    patch, mask = warp(image, src, dst, mesh.triangles, box, depth=src[:, 2])
    return patch, mask, box
