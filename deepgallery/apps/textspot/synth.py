"""Synthetic text: word images for training the recogniser and test videos with ground truth.

Jaderberg et al. train their word recogniser purely on synthetic data (Sec. 4.1 of the 2016 IJCV paper,
"Synthetic data engine", first described in Jaderberg et al. 2014, arXiv 1406.2227). Each sample goes
through the same six stages, which `WordRenderer.render` follows:

1. font rendering — a random font, size and case;
2. border / shadow — an outline or drop shadow of random width;
3. base colouring — foreground, border and background colours;
4. projective distortion — a random perspective warp of the word;
5. natural data blending — the word is blended onto a crop of a real photo;
6. noise — Gaussian blur, additive noise and JPEG compression.

`make_test_video` builds the benchmark's videos: real photos (slowly panned) with words that appear,
stay and disappear or slide across the screen, in several fonts and sizes, with a ground truth of which
word is on screen when and where.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).parent
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation"))
# Fonts that render Latin text plainly; symbol/maths fonts are left out.
FONT_SKIP = ("Math", "Mono-", "ExtraLight", "LastResort", "STIXNonUni", "STIXSiz", "Display")


@lru_cache(maxsize=1)
def font_files() -> tuple[Path, ...]:
    """Fonts to render with: Debian DejaVu/Liberation when present, plus those inside matplotlib's wheel."""
    import matplotlib

    dirs = [*FONT_DIRS, Path(matplotlib.get_data_path()) / "fonts" / "ttf"]
    found: dict[str, Path] = {}
    for d in dirs:
        for f in sorted(d.glob("*.ttf")) if d.is_dir() else []:
            if f.name.startswith(("DejaVu", "Liberation", "STIXGeneral")) and not any(s in f.name for s in FONT_SKIP):
                found.setdefault(f.name, f)  # the same font from two places counts once
    return tuple(found.values())


@lru_cache(maxsize=1)
def background_photos() -> tuple[np.ndarray, ...]:
    """Real photos (RGB uint8) for natural data blending: the small public-domain/CC0 set in
    `backgrounds/` (from scikit-image's sample data, see backgrounds/SOURCES.md) and matplotlib's
    Grace Hopper portrait (public domain, cropped above its name badge)."""
    import matplotlib

    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted((HERE / "backgrounds").glob("*.jpg"))]
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if hopper.is_file():
        im = np.asarray(Image.open(hopper).convert("RGB"))
        photos.append(im[: int(im.shape[0] * 0.72)])  # the lower part shows the text of her name badge
    return tuple(photos)


@lru_cache(maxsize=1)
def lexicon() -> tuple[str, ...]:
    """The recogniser's dictionary (lower case), one word per line in lexicon.txt."""
    lines = (HERE / "lexicon.txt").read_text(encoding="utf-8").splitlines()
    return tuple(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def random_case(word: str, rng: random.Random) -> str:
    """lower, Title or UPPER case: the DICT model is case-insensitive (paper Sec. 4.2)."""
    r = rng.random()
    return word.upper() if r < 0.3 else word.capitalize() if r < 0.6 else word


def _contrasting(rng: random.Random, against: np.ndarray) -> tuple[int, int, int]:
    """A colour whose luminance differs clearly from `against` (mean RGB of the background)."""
    lum_bg = float(np.dot(against, [0.299, 0.587, 0.114]))
    for _ in range(20):
        c = np.array([rng.randrange(256) for _ in range(3)])
        if abs(float(np.dot(c, [0.299, 0.587, 0.114])) - lum_bg) > 90:
            return tuple(int(v) for v in c)
    return (0, 0, 0) if lum_bg > 127 else (255, 255, 255)


def _photo_crop(rng: random.Random, w: int, h: int) -> np.ndarray:
    """A random crop of a random real photo, resized to (h, w, 3)."""
    photo = rng.choice(background_photos())
    ph, pw = photo.shape[:2]
    scale = rng.uniform(0.2, 1.0)
    cw, ch = max(8, int(pw * scale)), max(8, int(pw * scale * h / w))
    ch = min(ch, ph)
    x0, y0 = rng.randrange(0, pw - cw + 1), rng.randrange(0, ph - ch + 1)
    return np.asarray(Image.fromarray(photo[y0:y0 + ch, x0:x0 + cw]).resize((w, h), Image.Resampling.BILINEAR))


@dataclass
class RenderConfig:
    """Ranges of the synthetic data engine's random choices (paper Sec. 4.1)."""

    font_px: tuple[int, int] = (28, 56)  # rendered font size before warping and resizing
    border_prob: float = 0.3  # stage 2: outline the glyphs
    shadow_prob: float = 0.2  # stage 2: drop shadow
    plain_bg_prob: float = 0.25  # stage 3/5: a plain colour instead of a photo crop
    warp: float = 0.08  # stage 4: corner jitter as a fraction of the word's width/height
    blur_max: float = 1.2  # stage 6: Gaussian blur sigma upper bound (pixels at 32 px height)
    noise_max: float = 12.0  # stage 6: additive Gaussian noise sigma upper bound (grey levels)
    jpeg_prob: float = 0.5  # stage 6: JPEG re-compression
    pad: tuple[float, float] = (0.02, 0.15)  # crop margin around the word, fraction of its height


class WordRenderer:
    """Renders a word as an RGB crop the way scene text looks (stages 1–6 of the module docstring)."""

    def __init__(self, cfg: RenderConfig | None = None, seed: int = 0):
        self.cfg = cfg or RenderConfig()
        self.rng = random.Random(seed)
        self.fonts = font_files()
        if not self.fonts:
            raise RuntimeError("no TrueType fonts found (install fonts-dejavu-core or matplotlib)")

    def render(self, word: str) -> np.ndarray:
        """One RGB uint8 crop (h, w, 3) of `word` with a small random margin."""
        cfg, rng = self.cfg, self.rng
        # 1. font rendering
        font = ImageFont.truetype(str(rng.choice(self.fonts)), rng.randint(*cfg.font_px))
        x0, y0, x1, y1 = font.getbbox(word)
        tw, th = x1 - x0, y1 - y0
        margin = int(0.5 * th) + 4
        mx = margin + int(cfg.warp * tw) + 2  # room for the perspective warp to move the corners
        w, h = tw + 2 * mx, th + 2 * margin
        # 3. base colouring, 5. natural data blending (photo crop or plain colour)
        if rng.random() < cfg.plain_bg_prob:
            bg = np.full((h, w, 3), [rng.randrange(256) for _ in range(3)], np.uint8)
        else:
            bg = _photo_crop(rng, w, h)
        fg = _contrasting(rng, bg.reshape(-1, 3).mean(0))
        layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        origin = (mx - x0, margin - y0)
        # 2. border / shadow
        if rng.random() < cfg.shadow_prob:
            d = max(1, th // 12)
            draw.text((origin[0] + d, origin[1] + d), word, font=font, fill=(0, 0, 0, 200))
        stroke = max(1, th // 15) if rng.random() < cfg.border_prob else 0
        stroke_fill = tuple(255 - c for c in fg) if stroke else None
        draw.text(origin, word, font=font, fill=(*fg, 255), stroke_width=stroke, stroke_fill=stroke_fill)
        # 4. projective distortion of the text layer
        layer, box = self._warp(np.asarray(layer), (mx, margin, mx + tw, margin + th))
        alpha = layer[..., 3:4].astype(np.float32) / 255.0
        img = (alpha * layer[..., :3] + (1 - alpha) * bg).astype(np.uint8)
        # crop around the word with a random margin
        bx0, by0, bx1, by1 = box
        p = int(rng.uniform(*cfg.pad) * th) + 1
        img = img[max(0, by0 - p):by1 + p, max(0, bx0 - p):bx1 + p]
        # 6. noise: blur, additive noise, JPEG
        pil = Image.fromarray(img)
        sigma = rng.uniform(0, cfg.blur_max) * pil.height / 32.0
        if sigma > 0.3:
            pil = pil.filter(ImageFilter.GaussianBlur(sigma))
        arr = np.asarray(pil).astype(np.float32)
        arr += np.random.default_rng(rng.randrange(2**31)).normal(0, rng.uniform(0, cfg.noise_max), arr.shape)
        pil = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        if rng.random() < cfg.jpeg_prob:
            buf = io.BytesIO()
            pil.save(buf, format="JPEG", quality=rng.randint(30, 90))
            pil = Image.open(buf).convert("RGB")
        return np.asarray(pil)

    def _warp(self, rgba: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """Stage 4: move the four corners of the word box at random; returns the warped layer and its new box."""
        import cv2

        x0, y0, x1, y1 = box
        bw, bh = x1 - x0, y1 - y0
        j = self.cfg.warp
        src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        dst = src + np.float32([[self.rng.uniform(-j, j) * bw, self.rng.uniform(-j, j) * bh * 2] for _ in range(4)])
        m = cv2.getPerspectiveTransform(src, dst)
        h, w = rgba.shape[:2]
        out = cv2.warpPerspective(rgba, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
        ys, xs = np.nonzero(out[..., 3] > 16)
        if len(xs) == 0:
            return rgba, box
        return out, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def to_model_input(crop: np.ndarray, height: int = 32, width: int = 100) -> np.ndarray:
    """A word crop → the paper's input: grey, resized to 32×100 ignoring aspect, zero mean, unit variance
    (Sec. 4.2 of the paper: "the input image is resized to 32×100 ... with no regard to aspect ratio")."""
    grey = Image.fromarray(crop).convert("L").resize((width, height), Image.Resampling.BILINEAR)
    x = np.asarray(grey, np.float32)
    return (x - x.mean()) / (x.std() + 1e-3)  # (32, 100)


def make_word_dataset(words: list[str] | tuple[str, ...], per_word: int, seed: int,
                      cfg: RenderConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`per_word` rendered samples of each word → (N, 32, 100) float16 inputs and (N,) int64 labels."""
    renderer = WordRenderer(cfg, seed)
    xs, ys = [], []
    for label, word in enumerate(words):
        for _ in range(per_word):
            xs.append(to_model_input(renderer.render(random_case(word, renderer.rng))))
            ys.append(label)
    return np.stack(xs).astype(np.float16), np.array(ys, np.int64)


# ----------------------------------------------------------------------------------------------------------
# Test videos with ground truth
# ----------------------------------------------------------------------------------------------------------


@dataclass
class VideoSpec:
    """What one generated test video looks like."""

    seconds: float = 20.0
    fps: float = 25.0
    size: tuple[int, int] = (640, 360)  # (W, H)
    words: int = 10  # words shown over the video
    min_on: float = 1.0  # each word stays on screen at least this long (the sampling guarantee)
    max_on: float = 4.0
    heights: tuple[int, int] = (16, 48)  # glyph cap height range in pixels for the main words
    small_prob: float = 0.15  # some words are smaller than 16 px: shown but not counted in recall
    moving_prob: float = 0.4  # share of words that slide across the screen
    ticker: bool = False  # a news ticker: a band at the bottom with word pairs scrolling right to left
    ticker_speed: float = 0.1  # … in frame widths per second (0.1: a word crosses the screen in 10 s)
    cuts: int = 0  # scene cuts: the video is that many + 1 shots, each of another photo and pan


def spec_at(size: tuple[int, int], **kw) -> VideoSpec:
    """A VideoSpec for a frame of `size` (W, H) showing what the 640×360 spec shows, rendered sharper: glyph
    heights grow with the frame (the largest like the frame, the smallest counted ones by its square root, so
    1080p still has small text: 28–144 px), the smallest uncounted words stay under 16 px."""
    s = size[1] / 360
    base = VideoSpec()
    lo, hi = base.heights
    return VideoSpec(size=size, heights=(round(lo * s ** 0.5), round(hi * s)), **kw)


@dataclass
class GroundTruthWord:
    word: str
    start: float  # seconds, first frame on screen
    end: float  # seconds, last frame on screen
    height: int  # pixels (cap height of the rendered text box)
    box: list[int] = field(default_factory=list)  # x0, y0, x1, y1 at its first frame
    moving: bool = False
    counted: bool = True  # False: on screen whole for less than VideoSpec.min_on (a ticker word at the very start
    # or end): reading it is no false hit, missing it no miss


def _placements(spec: VideoSpec, rng: random.Random, vocab: tuple[str, ...], first: tuple[str, ...] = ()) -> list[dict]:
    """Random words with timing, position, motion, font and colour; no two overlap on screen at once.
    The words in `first` are placed before the random ones (the demo's "London")."""
    fonts = font_files()
    items: list[dict] = []
    for _ in range(spec.words * 4):
        if len(items) == spec.words:
            break
        pending = [w for w in first if w not in {it["word"].lower() for it in items}]
        small = not pending and rng.random() < spec.small_prob
        px = rng.randint(9, 13) if small else rng.randint(*spec.heights)
        font = ImageFont.truetype(str(rng.choice(fonts)), int(px * 1.35))
        word = pending[0].capitalize() if pending else random_case(rng.choice(vocab), rng)
        x0, y0, x1, y1 = font.getbbox(word)
        tw, th = x1 - x0, y1 - y0
        if tw > spec.size[0] * 0.8:
            continue
        on = rng.uniform(spec.min_on, spec.max_on)
        start = rng.uniform(0, spec.seconds - on)
        moving = (not small) and rng.random() < spec.moving_prob
        x = rng.uniform(10, spec.size[0] - tw - 10)
        y = rng.uniform(10, spec.size[1] - th - 10)
        vx = rng.choice([-1, 1]) * rng.uniform(15, 40) if moving else 0.0  # px/s, stays on screen
        x = min(max(x, 10 - min(0, vx * on)), spec.size[0] - tw - 10 - max(0, vx * on))
        item = dict(word=word, font=font, off=(x0, y0), size=(tw, th), start=start, end=start + on,
                    x=x, y=y, vx=vx, small=small, moving=moving, fg=None)
        if any(_clash(item, other) for other in items):
            continue
        items.append(item)
    return items


def _clash(a: dict, b: dict) -> bool:
    """True when the two words are on screen at the same time and their swept boxes come close."""
    if a["end"] < b["start"] - 0.5 or b["end"] < a["start"] - 0.5:
        return False

    def span(it):  # swept box over the whole time on screen, with a margin
        xs = (it["x"], it["x"] + it["vx"] * (it["end"] - it["start"]))
        return (min(xs) - 12, it["y"] - 12, max(xs) + it["size"][0] + 12, it["y"] + it["size"][1] + 12)

    ax0, ay0, ax1, ay1 = span(a)
    bx0, by0, bx1, by1 = span(b)
    return not (ax1 < bx0 or bx1 < ax0 or ay1 < by0 or by1 < ay0)


def _shot(rng: random.Random, W: int, H: int) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """A real photo 25% larger than the frame and its pan (start x, y → end x, y): a Ken Burns move."""
    photo = rng.choice(background_photos())
    big = np.asarray(Image.fromarray(photo).resize((int(W * 1.25), int(H * 1.25)), Image.Resampling.BILINEAR))
    return big, (rng.uniform(0, W * 0.25), rng.uniform(0, H * 0.25), rng.uniform(0, W * 0.25),
                 rng.uniform(0, H * 0.25))


def _ticker(spec: VideoSpec, rng: random.Random, vocab: tuple[str, ...]) -> dict:
    """A news ticker: white word pairs on a dark band at the bottom, scrolling right to left without end;
    words inside a pair are a space apart, pairs a wide gap."""
    W, H = spec.size
    height = max(16, round(H * 0.035))  # cap height: 38 px at 1080p, 25 px at 720p
    font = ImageFont.truetype(str(rng.choice(font_files())), int(height * 1.35))
    speed = spec.ticker_speed * W
    band = (H - round(height * 2.2), H - round(height * 0.4))
    y = band[0] + round(height * 0.5)
    space, gap = font.getlength(" "), 2.5 * height
    words, x = [], float(W)  # the first word enters at t = 0
    while x < W + speed * spec.seconds:
        for k in range(2):
            word = random_case(rng.choice(vocab), rng)
            x0, y0, x1, y1 = font.getbbox(word)
            words.append(dict(word=word, x0=x, width=x1 - x0, off=(x0, y0)))
            x += (x1 - x0) + (space if k == 0 else gap)
    return dict(words=words, font=font, speed=speed, band=band, y=y, height=height)


def json_truth(path: str | Path) -> list[GroundTruthWord]:
    """The ground truth written beside a test video by `make_test_video`."""
    return [GroundTruthWord(**d) for d in json.loads(Path(path).read_text(encoding="utf-8"))]


def make_test_video(path: str | Path, seed: int, spec: VideoSpec | None = None,
                    vocab: tuple[str, ...] | None = None, first: tuple[str, ...] = ()) -> list[GroundTruthWord]:
    """Write an MP4 of a slowly panned real photo with words appearing/moving on it; return the ground truth.

    The ground truth is also written beside the video as ``<name>.json``.
    """
    from deepgallery.core.atomic import write_text
    from deepgallery.core.media import write_video

    spec = spec or VideoSpec()
    rng = random.Random(seed)
    vocab = vocab or lexicon()
    W, H = spec.size
    shots = [_shot(rng, W, H)]
    items = _placements(spec, rng, vocab, first)
    # scene cuts (another photo, another pan) at random times; none unless asked for, so the videos of a spec
    # without them stay what they were
    cut_times = sorted(rng.uniform(1.0, spec.seconds - 1.0) for _ in range(spec.cuts))
    shots += [_shot(rng, W, H) for _ in cut_times]
    for it in items:  # a colour that stands out from the photo region under the word, sometimes outlined
        big = shots[sum(it["start"] >= c for c in cut_times)][0]
        x, y = int(it["x"]), int(it["y"])
        region = big[y:y + it["size"][1] + 1, x:x + it["size"][0] + 1].reshape(-1, 3)
        it["fg"] = _contrasting(rng, region.mean(0) if len(region) else np.array([128, 128, 128]))
        it["stroke"] = 1 if rng.random() < 0.3 else 0
    tick = _ticker(spec, rng, vocab) if spec.ticker else None
    n_frames = int(round(spec.seconds * spec.fps))

    def frames():
        for i in range(n_frames):
            t = i / spec.fps
            shot = sum(t >= c for c in cut_times)
            big, pan = shots[shot]
            t0 = ([0.0, *cut_times])[shot]
            t1 = ([*cut_times, spec.seconds])[shot]
            a = (t - t0) / max(1e-6, t1 - t0)
            px = int(pan[0] + (pan[2] - pan[0]) * a)
            py = int(pan[1] + (pan[3] - pan[1]) * a)
            im = Image.fromarray(big[py:py + H, px:px + W].copy())
            draw = ImageDraw.Draw(im)
            for it in items:
                if it["start"] <= t <= it["end"]:
                    x = it["x"] + it["vx"] * (t - it["start"])
                    draw.text((x - it["off"][0], it["y"] - it["off"][1]), it["word"], font=it["font"],
                              fill=it["fg"], stroke_width=it["stroke"],
                              stroke_fill=tuple(255 - c for c in it["fg"]))
            if tick is not None:
                draw.rectangle((0, tick["band"][0], W, tick["band"][1]), fill=(20, 30, 70))
                for w in tick["words"]:
                    x = w["x0"] - tick["speed"] * t
                    if -w["width"] - 10 < x < W + 10:
                        draw.text((x - w["off"][0], tick["y"] - w["off"][1]), w["word"], font=tick["font"],
                                  fill=(255, 255, 255))
            yield np.asarray(im)

    write_video(path, frames(), fps=spec.fps)
    truth = []
    for it in items:
        # snap to frames: a word is on screen on frames ceil(start*fps) .. floor(end*fps)
        f0, f1 = int(np.ceil(it["start"] * spec.fps)), int(np.floor(it["end"] * spec.fps))
        tw, th = it["size"]
        truth.append(GroundTruthWord(
            word=it["word"], start=f0 / spec.fps, end=f1 / spec.fps, height=th,
            box=[int(it["x"]), int(it["y"]), int(it["x"] + tw), int(it["y"] + th)], moving=it["moving"]))
    for w in tick["words"] if tick is not None else []:
        # on screen (whole) from when its right end passes the right edge until its left end passes the left one
        a, b = (w["x0"] + w["width"] - W) / tick["speed"], w["x0"] / tick["speed"]
        f0, f1 = max(0, int(np.ceil(a * spec.fps))), min(n_frames - 1, int(np.floor(b * spec.fps)))
        if f1 >= f0:
            x = int(w["x0"] - tick["speed"] * f0 / spec.fps)
            truth.append(GroundTruthWord(word=w["word"], start=f0 / spec.fps, end=f1 / spec.fps,
                                         height=tick["height"], box=[x, tick["y"], x + w["width"],
                                                                     tick["y"] + tick["height"]], moving=True,
                                         counted=f1 - f0 >= spec.fps * spec.min_on))
    write_text(Path(path).with_suffix(".json"), json.dumps([asdict(g) for g in truth], indent=1))
    return truth
