"""Colorizing a photo, a folder and a video with a trained network.

A photo: its lightness L* (a colour or sepia picture is first reduced to L*: an old print's brown tint is not
information about the scene), optionally smoothed of film grain, goes through the network at a working size
(the longer side `size`, padded to a multiple of 8); the predicted a*b* are upsampled to the full picture and
joined to its own full-resolution L*. So the detail of the output is exactly the input's.

A video: every frame is colorized, and its a*b* blended with the previous frame's result carried along the
optical flow (`core.flow`, Ruder et al.'s consistency mask keeps disoccluded pixels out), which removes the
frame-to-frame flicker a per-frame colorizer shows. `flicker` measures it: the mean a*b* change from one frame
to the next in still regions (where the lightness does not change).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...core import media
from ...core.errors import UserError
from .color import compose, gray_rgb, lightness, normalise_l, unit_to_ab
from .hints import Hint, rasterize

MAX_SIDE = 8192  # a photo's longer side is downscaled to this (with a note); the network itself works at `size`
MIN_SIDE = 16  # smaller pictures hold too little for the network


def read_photo(path: Path) -> tuple[np.ndarray, str]:
    """RGB uint8 of a photo (UserError for unreadable, 1×1-ish or empty files), downscaled above MAX_SIDE with a
    note saying so ('' otherwise)."""
    rgb = media.read_image(path, min_side=MIN_SIDE)
    h, w = rgb.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return rgb, ""
    small = media.resize_max_side(rgb, MAX_SIDE)
    return small, (f"{Path(path).name} is {w}x{h}; downscaled to {small.shape[1]}x{small.shape[0]} "
                   f"(limit {MAX_SIDE} px on the longer side)")


def denoised_lightness(L: np.ndarray) -> np.ndarray:
    """An old scan's defects taken out of L* (H, W): dust specks and thin scratches by a 3×3 median, then film
    grain by a non-local-means filter (which keeps edges)."""
    import cv2

    u8 = cv2.medianBlur(np.clip(L * 2.55, 0, 255).astype(np.uint8), 3)
    return cv2.fastNlMeansDenoising(u8, None, h=10, templateWindowSize=7, searchWindowSize=21).astype(np.float32) / 2.55


def input_lightness(rgb: np.ndarray, denoise: bool = False) -> np.ndarray:
    L = lightness(rgb)
    return denoised_lightness(L) if denoise else L


def gray_input(rgb: np.ndarray, denoise: bool = False) -> np.ndarray:
    """What the colorizer starts from, as RGB: the picture's L* alone (after denoising if asked)."""
    if not denoise:
        return gray_rgb(rgb)
    L = input_lightness(rgb, True)
    return compose(L, np.zeros(L.shape + (2,), np.float32))


def working_size(h: int, w: int, size: int) -> tuple[int, int]:
    """The network's input size: longer side `size` (never upscaled), each side rounded to a multiple of 8."""
    scale = min(1.0, size / max(h, w))
    return max(8, int(round(h * scale / 8)) * 8), max(8, int(round(w * scale / 8)) * 8)


@torch.no_grad()
def predict_ab(net, L: np.ndarray, hints: list[Hint] | None = None, size: int = 512) -> np.ndarray:
    """a*b* (H, W, 2) for lightness L* (H, W), through the network at the working size, upsampled bilinearly."""
    h, w = L.shape
    wh, ww = working_size(h, w, size)
    device = next(net.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32))[None, None].to(device)  # (1, 1, H, W)
    x = F.interpolate(normalise_l(x), size=(wh, ww), mode="bilinear", align_corners=False, antialias=True)
    if net.cfg.hints:
        x = torch.cat([x, rasterize(hints or [], wh, ww, scale=wh / h).to(device)], dim=1)  # (1, 4, h', w')
    elif hints:
        raise UserError("this checkpoint was trained without hints (hints off); leave --hint out or train with hints")
    ab, _ = net.eval()(x)  # (1, 2, h', w') in [0, 1]
    ab = F.interpolate(unit_to_ab(ab), size=(h, w), mode="bilinear", align_corners=False)
    return ab[0].permute(1, 2, 0).cpu().numpy().astype(np.float32)  # (H, W, 2)


def colorize(colorizer, rgb: np.ndarray, hints: list[Hint] | None = None, size: int = 512,
             denoise: bool = False, spread: bool = True) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> colorized RGB uint8 (H, W, 3): the input's L* with the predicted a*b*; hints go
    into the network and, with `spread`, are then enforced and spread along similar lightness (propagate.py)."""
    from .propagate import propagate

    L = input_lightness(rgb, denoise)
    ab = predict_ab(colorizer.net, L, hints, size)
    if hints and spread:
        ab = propagate(L, ab, hints)
    return compose(L, ab)


def side_by_side(before: np.ndarray, after: np.ndarray, gap: int = 8) -> np.ndarray:
    """before | after on a white strip (H, 2W + gap, 3)."""
    h = before.shape[0]
    return np.concatenate([before, np.full((h, gap, 3), 255, np.uint8), after], axis=1)


def colorize_folder(colorizer, src: Path, out: Path, size: int = 512, denoise: bool = False,
                    compare: bool = False) -> dict:
    """Every image under `src` -> OUT/<same relative path>.png (and NAME-compare.png, before | after, if
    `compare`); unreadable files are skipped and counted."""
    from ...core.runtime import progress

    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in media.IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{src}: no image files in it")
    if out.exists() and not out.is_dir():
        raise UserError(f"cannot write {out}: it is a file, not a folder")
    start = time.perf_counter()
    done, skipped = 0, []
    for path in progress(files, desc="colorize"):
        try:
            rgb, _ = read_photo(path)
        except UserError as exc:
            skipped.append(str(exc))
            continue
        result = colorize(colorizer, rgb, size=size, denoise=denoise)
        target = (out / path.relative_to(src)).with_suffix(".png")
        media.save_image(target, result)
        if compare:
            media.save_image(target.with_name(target.stem + "-compare.png"),
                             side_by_side(gray_input(rgb, denoise), result))
        done += 1
    return {"done": done, "skipped": len(skipped), "skipped_files": skipped,
            "seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------------------------- video


def check_video(src: Path) -> None:
    """A video that cannot be read, or has no frames, is one UserError line before anything is written."""
    info = media.video_info(src)
    if info["size"] == (0, 0):
        raise UserError(f"{src}: a video without frames")
    first = next(iter(media.read_video(src)), None)
    if first is None:
        raise UserError(f"{src}: video has no frames")


def still_mask(L_prev: np.ndarray, L_now: np.ndarray, threshold: float = 1.5) -> np.ndarray:
    """Pixels whose lightness did not change between two frames: (H, W) bool. Both frames are blurred first
    (Gaussian, σ = 2 px) so film grain does not count as change; then |ΔL*| < threshold."""
    import cv2

    def blur(L):
        return cv2.GaussianBlur(L.astype(np.float32), (0, 0), 2.0)

    return np.abs(blur(L_now) - blur(L_prev)) < threshold


def flicker(ab_frames: list[np.ndarray], L_frames: list[np.ndarray]) -> float:
    """Mean |Δ(a*, b*)| (Euclidean, per pixel) between consecutive frames, over their still pixels."""
    changes = []
    for i in range(1, len(ab_frames)):
        still = still_mask(L_frames[i - 1], L_frames[i])
        if still.any():
            changes.append(float(np.linalg.norm(ab_frames[i] - ab_frames[i - 1], axis=-1)[still].mean()))
    return float(np.mean(changes)) if changes else 0.0


def temporal_ab(net, L_frames, size: int = 512, temporal: float = 0.6):
    """Yield (a*b* of each frame, a*b* of the frame alone): each frame's prediction blended with the previous
    result warped along the optical flow, weight `temporal` where Ruder et al.'s mask trusts the flow."""
    import cv2

    from ...core.flow import warp_previous

    prev_ab = prev_gray = None
    for L in L_frames:
        alone = predict_ab(net, L, None, size)
        # the flow is computed on the lightness with film grain blurred away: grain is not motion
        gray = np.clip(cv2.GaussianBlur(L.astype(np.float32), (0, 0), 1.5) * 2.55, 0, 255).astype(np.uint8)
        gray3 = np.repeat(gray[..., None], 3, axis=-1)
        if prev_ab is None or temporal <= 0:
            ab = alone
        else:
            carried, trust = warp_previous(prev_ab, prev_gray, gray3)  # (H, W, 2), (H, W)
            weight = temporal * trust[..., None]
            ab = (1 - weight) * alone + weight * carried
        prev_ab, prev_gray = ab.astype(np.float32), gray3
        yield ab, alone


def colorize_video(colorizer, src: Path, out: Path, size: int = 512, denoise: bool = False,
                   temporal: float = 0.6) -> dict:
    """Colorize every frame of `src` into `out` (MP4/GIF by suffix); returns frames, seconds and flicker of the
    result and of per-frame colorization (the same network, frames alone)."""
    from ...core.runtime import progress

    info = media.video_info(src)
    start = time.perf_counter()
    Ls, abs_t, abs_alone, frames = [], [], [], []

    def lightness_frames():
        for _, _, frame in progress(media.read_video(src), total=info["frames"] or None, desc="colorize video"):
            L = input_lightness(frame, denoise)
            Ls.append(L)
            yield L

    for ab, alone in temporal_ab(colorizer.net, lightness_frames(), size, temporal):
        frames.append(compose(Ls[len(frames)], ab))
        abs_t.append(ab)
        abs_alone.append(alone)
    if not frames:
        raise UserError(f"{src}: video has no frames")
    media.write_video(out, frames, fps=info["fps"])
    return {"frames": len(frames), "seconds": time.perf_counter() - start,
            "flicker": flicker(abs_t, Ls), "flicker_per_frame": flicker(abs_alone, Ls)}


# ---------------------------------------------------------------------------------------------- demo


def demo_items(colorizer, out_dir: Path, examples: Path):
    """The built-in examples: each grayscale example colorized (before | after), the old scan with denoising,
    and the example with a hint file (NAME.hints: x,y,#RRGGBB lines) with and without its hints."""
    from ...core.app import DemoItem
    from .hints import parse

    items = []
    for path in sorted(examples.glob("*.jpg")) + sorted(examples.glob("*.png")):
        start = time.perf_counter()
        rgb, _ = read_photo(path)
        old = "scan" in path.stem
        hint_file = path.with_suffix(".hints")
        hints = parse(hint_file.read_text(encoding="utf-8")) if hint_file.is_file() else []
        result = colorize(colorizer, rgb, hints=hints, denoise=old)
        target = media.save_image(out_dir / f"{path.stem}-compare.png", side_by_side(gray_input(rgb, old), result))
        inputs = {"image": str(path), "denoise": str(old).lower()}
        if hints:
            inputs["hints"] = "; ".join(map(str, hints))
        title = f"{path.stem}: " + ("old sepia scan, denoised" if old else
                                    f"with {len(hints)} colour hint(s)" if hints else "grayscale -> colour")
        items.append(DemoItem(title=title, inputs=inputs, outputs=[target], seconds=time.perf_counter() - start))
    pan = sorted(examples.glob("giraffe.jpg"))
    if pan:  # a black-and-white "film": a slow pan over the example with film grain, colorized frame by frame
        start = time.perf_counter()
        film = media.write_video(out_dir / "pan-bw.mp4", pan_frames(read_photo(pan[0])[0]), fps=8)
        report = colorize_video(colorizer, film, out_dir / "pan-color.mp4", size=256)
        items.append(DemoItem(title="video: a pan over a grainy black-and-white photo", inputs={"video": str(film)},
                              outputs=[out_dir / "pan-color.mp4"], seconds=time.perf_counter() - start,
                              text=f"flicker {report['flicker']:.2f} with the flow-guided blending, "
                                   f"{report['flicker_per_frame']:.2f} frame by frame"))
    return items


def pan_frames(rgb: np.ndarray, frames: int = 16, side: int = 192, seed: int = 0) -> list[np.ndarray]:
    """A slow diagonal pan (2 px per frame) over a grayscale photo, with film grain: a test film."""
    rng = np.random.default_rng(seed)
    gray = gray_rgb(rgb)[..., 0].astype(np.float32)
    h, w = gray.shape
    out = []
    for i in range(frames):
        y, x = min(h - side, 2 * i), min(w - side, 2 * i)
        frame = gray[y:y + side, x:x + side] + rng.normal(0, 4, (side, side))
        out.append(np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[..., None], 3, axis=-1))
    return out
