"""Using a trained generator: what its input x is made of, and translating one image, a folder or a video.

The input of a shipped (edges) model is a drawing: strokes are thinned to their skeleton and redrawn 2 px wide
(`pairs.as_edge_map`), so a thick pen and a fine one give the edge maps it learned from. With `from_photo`, the
model's own task input is computed from a photo first (Canny edges, grayscale or superpixels). Images are
scaled so the longer side is `size` (256, the training size, by default) and padded to the U-Net's multiple.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from ...core.media import IMAGE_SUFFIXES, read_image, resize_max_side
from .model import Translator, translate
from .pairs import as_edge_map, make_input

MIN_SIDE = 8  # smaller inputs carry nothing to translate
MAX_SIDE = 2048  # larger ones are scaled down (with a note): the U-Net's memory grows with the area


def read_drawing(path: str | os.PathLike) -> np.ndarray:
    """An image file as (H, W, 3) uint8, transparent pixels on white (a drawing pad's PNG keeps its alpha)."""
    from PIL import Image

    rgb = read_image(path, min_side=MIN_SIDE)
    with Image.open(path) as im:
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            rgba = np.asarray(im.convert("RGBA")).astype(np.float32)
            alpha = rgba[..., 3:] / 255.0
            rgb = (rgba[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return rgb


def as_array(image) -> np.ndarray:
    """A path, PIL image or array (the API's and the gallery's inputs) as (H, W, 3) uint8."""
    if isinstance(image, (str, os.PathLike)):
        return read_drawing(image)
    if hasattr(image, "convert"):  # PIL
        from PIL import Image

        if image.mode in ("RGBA", "LA"):
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image.convert("RGBA"))
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or min(arr.shape[:2]) < MIN_SIDE:
        raise UserError(f"expected an image of at least {MIN_SIDE}x{MIN_SIDE} pixels, got an array of shape "
                        f"{arr.shape}")
    return np.ascontiguousarray(arr[..., :3].astype(np.uint8))


def fit(image: np.ndarray, size: int, name: str = "input", note=None) -> np.ndarray:
    """Scale so the longer side is `size` (0: keep it, but at most MAX_SIDE, with a note when scaled down)."""
    from PIL import Image

    h, w = image.shape[:2]
    if size:
        if max(h, w) == size:
            return image
        scale = size / max(h, w)
        new = (max(1, round(w * scale)), max(1, round(h * scale)))
        return np.asarray(Image.fromarray(image).resize(new, Image.Resampling.LANCZOS if scale < 1 else
                                                        Image.Resampling.BICUBIC))
    if max(h, w) > MAX_SIDE:
        (note or (lambda m: print(m, file=sys.stderr)))(
            f"{name}: {w}x{h} is over {MAX_SIDE} px per side; scaled down to {MAX_SIDE} px")
        return resize_max_side(image, MAX_SIDE)
    return image


def model_input(image: np.ndarray, model: Translator, from_photo: bool) -> np.ndarray:
    """The x the generator sees: the task's input computed from a photo, a drawing thinned to the trained edge
    style (edges models), or the image as it is (a user's own model on its own kind of input)."""
    if from_photo:
        if model.task == "custom":
            raise UserError(f"{model.name} was trained on your own pairs; it does not know how to make its input "
                            "from a photo (leave out --photo and give its kind of input)")
        return make_input(image, model.task)
    if model.task == "edges":
        return as_edge_map(image)
    return image


def translate_image(image: np.ndarray, model: Translator, from_photo: bool = False, size: int = 256,
                    seed: int | None = 0, noise: bool = True, name: str = "input") -> tuple[np.ndarray, np.ndarray]:
    """(x, G(x)) for one image, both at the working size."""
    x = model_input(fit(image, size, name), model, from_photo)
    return x, translate(model, x, noise=noise, seed=seed)


def folder_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def translate_folder(folder: Path, out: Path, model: Translator, from_photo: bool, size: int, seed: int | None,
                     noise: bool, side_by_side: bool, log=print) -> tuple[int, list[str]]:
    """Every image of `folder` into OUT/NAME.png; unreadable files are skipped and counted. Returns (done, bad)."""
    from ...core.media import save_image
    from ...core.runtime import progress

    files = folder_images(folder)
    if not files:
        raise UserError(f"{folder}: no images (PNG, JPEG, BMP, GIF, WebP or TIFF) in it")
    done, bad = 0, []
    for path in progress(files, desc="pix2pix"):
        try:
            image = read_drawing(path)
        except UserError as exc:
            bad.append(str(exc))
            log(f"skipped: {exc}")
            continue
        x, y = translate_image(image, model, from_photo, size, seed, noise, path.name)
        save_image(out / f"{path.stem}.png", np.concatenate([x, y], axis=1) if side_by_side else y)
        done += 1
    if not done:
        raise UserError(f"{folder}: none of its {len(files)} image files could be read")
    return done, bad


def translate_video(path: Path, out: Path, model: Translator, from_photo: bool, size: int, seed: int | None,
                    noise: bool, side_by_side: bool) -> int:
    """A video frame by frame into an MP4 (or GIF) at the source's frame rate, the same noise z for every frame
    (the same seed: less flicker). Returns the number of frames."""
    from ...core.media import read_video, video_info, write_video
    from ...core.runtime import progress

    info = video_info(path)
    count = [0]

    def frames():
        for _, _, frame in progress(read_video(path), total=info["frames"] or None, desc="pix2pix video"):
            x, y = translate_image(frame, model, from_photo, size, seed, noise, path.name)
            count[0] += 1
            yield np.concatenate([x, y], axis=1) if side_by_side else y

    write_video(out, frames(), fps=info["fps"])
    return count[0]
