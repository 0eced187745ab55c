"""Procedural eye renders: the training pairs that stand in for the paper's gaze-labelled dataset.

The paper (Ganin et al. 2016, Sec. 4.1) trains on pairs of real eye crops of one person, same head pose,
two known gaze directions. No such data exists offline, so we draw them: an almond eye opening between
two parabolic lids, a shaded sclera, a textured iris (radial fibres, dark limbal ring) with a pupil and a
corneal glint, lashes, and skin with low-frequency blotches — rendered at 2× and box-filtered. The iris
sits where the eyeball model of `geometry.py` puts it for the gaze, foreshortened to an ellipse, and the
lids follow the pitch as real lids do (`lid_margins`). A pair shares every parameter but the gaze.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .geometry import EYEBALL_RATIO, FRAME, IRIS_RATIO, CropFrame

LID_FOLLOW = (1.0, 0.35)  # lid-margin travel / iris travel in vertical gaze (upper, lower), see `lid_margins`


@dataclass
class RenderConfig:
    frame: CropFrame = FRAME
    supersample: int = 2  # render at this factor, then average-pool (antialiasing)
    max_gaze: float = 22.0  # |yaw|, |pitch| of the rendered gazes (degrees)
    max_redirect: float = 25.0  # |target − source| per axis (degrees), clipped to the gaze range
    noise: float = 0.02  # std of per-pixel sensor noise
    lid_follow: tuple[float, float] = LID_FOLLOW  # (upper, lower) lid-margin travel / iris travel in pitch


def lid_margins(params: dict[str, torch.Tensor], pitch: torch.Tensor, ew: torch.Tensor, shape: torch.Tensor,
                follow: tuple[float, float] = LID_FOLLOW) -> tuple[torch.Tensor, torch.Tensor]:
    """Upper and lower lid margins (eye-aligned v, px; negative = up) of B eyes at `pitch` (degrees).

    Real lids move with vertical gaze (lid-globe synchrony): the upper lid margin rides on the cornea and
    travels nearly as far as it, up when looking up and down when looking down; the lower lid follows by
    about a third. Here each margin's apex moves by ``follow`` × the iris centre's vertical travel
    (`geometry`: R·sin p), tapering to zero at the fixed corners (``shape``).
    """
    b = pitch.shape[0]
    rise = EYEBALL_RATIO * ew * torch.sin(torch.deg2rad(pitch)).view(b, 1, 1)  # iris centre's upward travel
    upper_h = (ew * params["upper"].view(b, 1, 1) + follow[0] * rise).clamp(min=0.03 * ew)
    lower_h = (ew * params["lower"].view(b, 1, 1) - follow[1] * rise).clamp(min=0.03 * ew)
    return -upper_h * shape, lower_h * shape


def _lowfreq(b: int, h: int, w: int, cells: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth random field in [-1, 1]: (B, 1, H, W)."""
    coarse = torch.rand(b, 1, cells, cells + 1, generator=gen) * 2 - 1
    return F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True).clamp(-1, 1)


def sample_params(b: int, cfg: RenderConfig, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Appearance of B eyes (each value (B,)); the gaze is chosen separately."""
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(b, generator=gen)  # noqa: E731
    skin_tone = u(0, 1)
    skin = torch.stack([0.35 + 0.55 * skin_tone, 0.22 + 0.45 * skin_tone, 0.15 + 0.38 * skin_tone], 1)
    skin = skin * u(0.8, 1.1)[:, None]
    iris_kind = torch.randint(0, 4, (b,), generator=gen)
    palette = torch.tensor([[0.30, 0.18, 0.08], [0.12, 0.08, 0.05], [0.25, 0.40, 0.55], [0.30, 0.38, 0.20]])
    iris = palette[iris_kind] * u(0.7, 1.3)[:, None]
    return {
        "scale": u(0.88, 1.12),  # eye width relative to the frame's
        "shift_x": u(-1.5, 1.5), "shift_y": u(-1.5, 1.5),
        "tilt": u(-0.08, 0.08),  # radians, residual roll after alignment
        "upper": u(0.14, 0.30), "lower": u(0.10, 0.18),  # lid heights / eye width (real: the upper lid covers
        # the top of the iris in most eyes, palpebral fissure ≈ 0.3–0.4 × eye width)
        "lid_skew": u(-0.15, 0.15),  # lid apex offset / half-width
        "iris_r": u(0.9, 1.1) * IRIS_RATIO, "pupil": u(0.30, 0.50),
        "skin": skin, "iris": iris, "sclera": u(0.78, 0.97), "bright": u(0.7, 1.25),
        "fibres": u(6, 14).round(), "phase": u(0, 2 * math.pi),
        "glint_x": u(-0.3, 0.3), "glint_y": u(-0.4, -0.1),
    }


def render(params: dict[str, torch.Tensor], yaw: torch.Tensor, pitch: torch.Tensor, cfg: RenderConfig,
           gen: torch.Generator) -> torch.Tensor:
    """Draw B eyes with gaze (yaw, pitch) in degrees → (B, 3, H, W) in [0, 1]."""
    fr, s = cfg.frame, cfg.supersample
    b, h, w = yaw.shape[0], fr.height * s, fr.width * s
    col = lambda v: v.view(b, 1, 1)  # noqa: E731
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / s
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / s
    yy, xx = ys.view(1, h, 1).expand(b, h, w), xs.view(1, 1, w).expand(b, h, w)
    cx0, cy0 = fr.center
    ew = fr.eye_width * col(params["scale"])
    cx, cy = cx0 + col(params["shift_x"]), cy0 + col(params["shift_y"])
    t = col(params["tilt"])
    u_ = (xx - cx) * torch.cos(t) + (yy - cy) * torch.sin(t)  # eye-aligned coordinates (px)
    v_ = -(xx - cx) * torch.sin(t) + (yy - cy) * torch.cos(t)
    half = ew / 2
    q = (u_ / half - col(params["lid_skew"])).clamp(-1.5, 1.5)
    shape = (1 - q**2).clamp(min=0)
    upper_y, lower_y = lid_margins(params, pitch, ew, shape, cfg.lid_follow)  # lids move with vertical gaze
    opening = ((v_ > upper_y) & (v_ < lower_y)).float()

    # eyeball: iris centre from the gaze (geometry.angles_to_offset), ellipse foreshortened by the rotation
    yr, pr = torch.deg2rad(yaw).view(b, 1, 1), torch.deg2rad(pitch).view(b, 1, 1)
    r_ball = EYEBALL_RATIO * ew
    icx, icy = r_ball * torch.cos(pr) * torch.sin(yr), -r_ball * torch.sin(pr)
    ir = col(params["iris_r"]) * ew
    du, dv = (u_ - icx) / (ir * torch.cos(yr)), (v_ - icy) / (ir * torch.cos(pr))
    rho = torch.sqrt(du**2 + dv**2)
    theta = torch.atan2(dv, du)

    skin_noise = _lowfreq(b, h, w, 4, gen).squeeze(1)
    skin = col(params["skin"][:, 0:1].squeeze(1)), col(params["skin"][:, 1]), col(params["skin"][:, 2])
    crease = torch.exp(-(((v_ - upper_y * 1.6 + 2.0) / 1.2) ** 2)) * (shape > 0).float()
    skin_shade = (1 + 0.08 * skin_noise - 0.25 * crease)
    img_skin = torch.stack([c * skin_shade for c in skin], 1)

    lid_dist = (v_ - upper_y).clamp(min=0)
    sclera_shade = col(params["sclera"]) * (1 - 0.35 * torch.exp(-lid_dist / 2.5)) * (1 - 0.25 * q.abs() ** 3)
    img_sclera = torch.stack([sclera_shade, sclera_shade * 0.93, sclera_shade * 0.90], 1)

    fib = 0.75 + 0.25 * torch.sin(col(params["fibres"]) * theta + col(params["phase"])) * torch.sin(3 * rho)
    limbus = 1 - 0.6 * ((rho - 0.75) / 0.25).clamp(0, 1)
    iris_shade = fib * limbus
    img_iris = params["iris"].view(b, 3, 1, 1) * iris_shade.unsqueeze(1)
    pupil = (rho < col(params["pupil"])).float().unsqueeze(1)
    img_iris = img_iris * (1 - pupil) + 0.03 * pupil
    in_iris = (rho < 1).float().unsqueeze(1)
    glint = torch.exp(-((u_ - icx - col(params["glint_x"]) * ir) ** 2 + (v_ - icy - col(params["glint_y"]) * ir) ** 2)
                      / 0.6).unsqueeze(1)
    ball = img_sclera * (1 - in_iris) + img_iris * in_iris
    ball = ball + glint * 0.8 * in_iris
    lid_shadow = 1 - 0.3 * torch.exp(-lid_dist / 1.5).unsqueeze(1)
    ball = ball * lid_shadow

    o = opening.unsqueeze(1)
    img = img_skin * (1 - o) + ball * o
    lash = torch.exp(-(((v_ - upper_y) / 0.9) ** 2)) * (shape > 0.02).float()
    img = img * (1 - 0.8 * lash.unsqueeze(1))
    img = F.avg_pool2d(img * col(params["bright"]).unsqueeze(1), s)
    return img


GEOMETRY_KEYS = ("scale", "shift_x", "shift_y", "tilt", "upper", "lower", "lid_skew", "iris_r")


def iris_flow(params: dict[str, torch.Tensor], src: torch.Tensor, dst: torch.Tensor,
              frame: CropFrame = FRAME, margin: float = 0.9,
              lid_follow: tuple[float, float] = LID_FOLLOW) -> tuple[torch.Tensor, torch.Tensor]:
    """The true warp of the iris between two gazes of one rendered eye: (flow (B, 2, H, W), weight (B, 1, H, W)).

    The iris is painted on the eyeball, so it moves rigidly with it: the target pixel at normalised iris
    coordinates (du, dv) of the target gaze shows the same iris point as the source pixel at (du, dv) of the
    source gaze (`render` draws the iris as an ellipse in these coordinates, foreshortened by the gaze). The
    flow (source point − target pixel, crop px, the convention of `model.warp`) is exact there; the weight
    is 1 where the iris is visible in both eyes (inside ``margin`` of its radius and inside both lid
    openings), 0 elsewhere. `src`, `dst`: (B, 2) gazes [yaw, pitch] in degrees. Only the geometric keys
    of `params` (``GEOMETRY_KEYS``) are used.
    """
    b, h, w = src.shape[0], frame.height, frame.width
    col = lambda v: v.view(b, 1, 1)  # noqa: E731
    ys = torch.arange(h, dtype=torch.float32) + 0.5  # pixel centres in the renderer's continuous coordinates
    xs = torch.arange(w, dtype=torch.float32) + 0.5
    yy, xx = ys.view(1, h, 1).expand(b, h, w), xs.view(1, 1, w).expand(b, h, w)
    cx0, cy0 = frame.center
    ew = frame.eye_width * col(params["scale"])
    cx, cy, t = cx0 + col(params["shift_x"]), cy0 + col(params["shift_y"]), col(params["tilt"])
    ct, st = torch.cos(t), torch.sin(t)
    u_ = (xx - cx) * ct + (yy - cy) * st
    v_ = -(xx - cx) * st + (yy - cy) * ct
    ir, r_ball = col(params["iris_r"]) * ew, EYEBALL_RATIO * ew

    def iris_frame(gaze):
        yr, pr = torch.deg2rad(gaze[:, 0]).view(b, 1, 1), torch.deg2rad(gaze[:, 1]).view(b, 1, 1)
        return r_ball * torch.cos(pr) * torch.sin(yr), -r_ball * torch.sin(pr), ir * torch.cos(yr), ir * torch.cos(pr)

    def opening(u, v, pitch):
        q = (u / (ew / 2) - col(params["lid_skew"])).clamp(-1.5, 1.5)
        shape = (1 - q**2).clamp(min=0)
        upper_y, lower_y = lid_margins(params, pitch, ew, shape, lid_follow)
        return (v > upper_y) & (v < lower_y)

    icx, icy, ax, ay = iris_frame(dst)
    du, dv = (u_ - icx) / ax, (v_ - icy) / ay
    scx, scy, sax, say = iris_frame(src)
    us, vs = scx + du * sax, scy + dv * say  # the same iris point under the source gaze
    xs_src = cx + us * ct - vs * st
    ys_src = cy + us * st + vs * ct
    flow = torch.stack([xs_src - xx, ys_src - yy], 1)
    visible = (du**2 + dv**2 < margin**2) & opening(u_, v_, dst[:, 1]) & opening(us, vs, src[:, 1])
    return flow, visible.float().unsqueeze(1)


def make_pairs(b: int, cfg: RenderConfig, gen: torch.Generator):
    """B training pairs: (source eye, redirection (B, 2) in degrees [yaw, pitch], target eye)."""
    params = sample_params(b, cfg, gen)
    g = cfg.max_gaze
    src = (torch.rand(b, 2, generator=gen) * 2 - 1) * g
    delta = (torch.rand(b, 2, generator=gen) * 2 - 1) * cfg.max_redirect
    delta[torch.rand(b, generator=gen) < 0.1] = 0.0  # some identity pairs
    dst = (src + delta).clamp(-g, g)
    delta = dst - src
    x = render(params, src[:, 0], src[:, 1], cfg, gen)
    y = render(params, dst[:, 0], dst[:, 1], cfg, gen)
    noise = lambda t: (t + cfg.noise * torch.randn(t.shape, generator=gen)).clamp(0, 1)  # noqa: E731
    return noise(x), delta, noise(y)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (B, C, H, W)."""
    r = max(1, int(2 * sigma + 0.5))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma**2))
    k = (k / k.sum()).view(1, 1, 1, -1).repeat(x.shape[1], 1, 1, 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k, groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.transpose(2, 3), groups=x.shape[1])


class PairBank:
    """A pre-rendered bank: `sets` eyes, each drawn at `views` random gazes; pairs are sampled from it.

    Rendering is the slow part on a CPU, so training draws (source view, target view) of one eye from
    the bank — sets × views × (views − 1) ordered pairs — instead of rendering every batch afresh.
    """

    def __init__(self, sets: int, views: int, cfg: RenderConfig | None = None, seed: int = 0, chunk: int = 64):
        self.cfg = cfg = cfg or RenderConfig()
        gen = torch.Generator().manual_seed(seed)
        g = cfg.max_gaze
        self.gaze = (torch.rand(sets, views, 2, generator=gen) * 2 - 1) * g  # (S, V, 2) degrees
        imgs, geo = [], []
        for i in range(0, sets, chunk):
            n = min(chunk, sets - i)
            params = sample_params(n, cfg, gen)
            geo.append(torch.stack([params[k] for k in GEOMETRY_KEYS], 1))
            imgs.append(torch.stack([render(params, self.gaze[i:i + n, v, 0], self.gaze[i:i + n, v, 1], cfg, gen)
                                     for v in range(views)], 1))
        self.images = (torch.cat(imgs).clamp(0, 1) * 255 + 0.5).to(torch.uint8)  # (S, V, 3, H, W); clamp: bright
        # scleras exceed 1 and would wrap around in uint8
        self.geometry = torch.cat(geo)  # (S, len(GEOMETRY_KEYS)): what `iris_flow` needs

    @classmethod
    def cached(cls, sets: int, views: int, seed: int = 0, cache: str | None = None) -> PairBank:
        """Load the bank from `cache` (safetensors) if it matches, else render it and store it there."""
        from pathlib import Path

        from safetensors.torch import load_file, save_file

        if cache and Path(cache).is_file():
            t = load_file(cache)
            if tuple(t["images"].shape[:2]) == (sets, views) and "geometry" in t:
                bank = cls.__new__(cls)
                bank.cfg, bank.images, bank.gaze, bank.geometry = RenderConfig(), t["images"], t["gaze"], t["geometry"]
                return bank
        bank = cls(sets, views, seed=seed)
        if cache:
            save_file({"images": bank.images, "gaze": bank.gaze, "geometry": bank.geometry}, cache)
        return bank

    def sample(self, b: int, gen: torch.Generator, iris: bool = False):
        """(source, redirection (B, 2), target) with sensor noise, like `make_pairs`; with ``iris=True`` also
        the true iris flow and its weight (`iris_flow`), mirrored with the pair."""
        s, v = self.images.shape[:2]
        i = torch.randint(0, s, (8 * b,), generator=gen)
        a = torch.randint(0, v, (8 * b,), generator=gen)
        c = torch.randint(0, v, (8 * b,), generator=gen)
        keep = ((self.gaze[i, c] - self.gaze[i, a]).abs() <= self.cfg.max_redirect).all(1).nonzero()[:b, 0]
        i, a, c = i[keep], a[keep], c[keep]  # redirections within the trained range
        x, y = self.images[i, a].float() / 255, self.images[i, c].float() / 255
        delta = self.gaze[i, c] - self.gaze[i, a]
        if iris:
            geo = {k: self.geometry[i, j] for j, k in enumerate(GEOMETRY_KEYS)}
            flow, weight = iris_flow(geo, self.gaze[i, a], self.gaze[i, c], self.cfg.frame,
                                     lid_follow=self.cfg.lid_follow)
        sigma = float(torch.rand(1, generator=gen)) * 1.2  # real crops are often upsampled, hence soft
        if sigma > 0.3:
            x, y = _blur(x, sigma), _blur(y, sigma)
        flip = torch.rand(b, generator=gen) < 0.5  # mirror: the other eye, yaw negated
        x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
        delta[flip, 0] = -delta[flip, 0]
        noise = lambda t: (t + self.cfg.noise * torch.randn(t.shape, generator=gen)).clamp(0, 1)  # noqa: E731
        if not iris:
            return noise(x), delta, noise(y)
        flow[flip], weight[flip] = flow[flip].flip(-1), weight[flip].flip(-1)
        flow[flip, 0] = -flow[flip, 0]
        return noise(x), delta, noise(y), flow, weight
