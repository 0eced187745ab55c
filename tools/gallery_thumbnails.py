"""Make the web gallery's card pictures from `deepgallery demo` outputs (a maintainer script, run once).

    deepgallery demo --out /tmp/dg-demo
    python tools/gallery_thumbnails.py /tmp/dg-demo          # -> deepgallery/web/thumbnails/ID.jpg

Each card shows one real output of the app on its built-in example: the file named in PICKS (a still image,
or the middle frame of a video / GIF), cropped to 16:10 around its centre, 320 px wide, JPEG
(package data ships *.jpg). Each file is
kept under 40 kB (the quality steps down until it fits), so the tracked tree stays lean.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

OUT = Path(__file__).resolve().parents[1] / "deepgallery" / "web" / "thumbnails"
WIDTH, HEIGHT, MAX_BYTES = 320, 200, 40_000
# app id -> its demo output that shows best what it does (relative to the demo folder)
PICKS = {
    "caption": "caption/robin-alignment.png",
    "colorize": "colorize/person-compare.png",
    "deepdream": "deepdream/astronaut.png",
    "deepwarp": "deepwarp/astronaut_15_-10.png",
    "dqn": "dqn/pong.mp4",
    "face2face": "face2face/actor_drives_photo.mp4",
    "handwriting": "handwriting/page.png",
    "lipnet": "lipnet/1-bin_blue_at_f_two_now.mp4",
    "neuralcrypto": "neuralcrypto/training.png",
    "pix2pix": "pix2pix/3-drawn-house-pair.png",
    "plankton": "plankton/*.png",  # small examples: a row of them
    "pose": "pose/group5.png",
    "ppgn": "ppgn/ppgn-goldfish.png",
    "streetcars": "streetcars/pickup-vehicles.png",
    "style": "style/fast_mosaic.png",
    "sunroof": "sunroof/town/panels.png",
    "superres": "superres/superres-ankle-boot-t10k00000.png",
    "textspot": "textspot/thumbs/hit_001.png",
    "viscoelastic": "viscoelastic/viscoelastic-0.png",
}


def frame(path: Path) -> Image.Image:
    """A still image, or the middle frame of a video or GIF, as RGB."""
    if path.suffix.lower() in (".mp4", ".mkv", ".webm", ".mov", ".avi"):
        import imageio.v2 as iio

        reader = iio.get_reader(str(path), format="FFMPEG")
        frames = [f for f in reader]  # (H, W, 3) each; demo clips are short
        reader.close()
        return Image.fromarray(np.asarray(frames[len(frames) // 2]))
    with Image.open(path) as im:
        frames = [f.convert("RGB") for f in ImageSequence.Iterator(im)]
    return frames[len(frames) // 2]


def row(paths: list[Path]) -> Image.Image:
    """Small images (e.g. 32 px classifier inputs) side by side on white, each scaled up to a tile."""
    tile = HEIGHT - 40
    canvas = Image.new("RGB", (tile * len(paths) + 8 * (len(paths) - 1), tile), (255, 255, 255))
    for i, path in enumerate(paths):
        canvas.paste(frame(path).resize((tile, tile), Image.Resampling.NEAREST), (i * (tile + 8), 0))
    return canvas


def card(image: Image.Image) -> Image.Image:
    """Cropped to WIDTH:HEIGHT around the centre (letterboxed on white when the picture is very tall/wide)."""
    w, h = image.size
    target = WIDTH / HEIGHT
    if 0.5 * target <= w / h <= 2 * target:
        if w / h > target:
            cw = round(h * target)
            image = image.crop(((w - cw) // 2, 0, (w - cw) // 2 + cw, h))
        else:
            ch = round(w / target)
            image = image.crop((0, (h - ch) // 2, w, (h - ch) // 2 + ch))
        return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    image.thumbnail((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    canvas.paste(image, ((WIDTH - image.width) // 2, (HEIGHT - image.height) // 2))
    return canvas


def save_small(image: Image.Image, out: Path) -> int:
    for quality in (85, 75, 65, 55, 45, 35):
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
        if out.stat().st_size <= MAX_BYTES:
            return out.stat().st_size
    raise SystemExit(f"{out}: still over {MAX_BYTES} bytes at quality 30")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo_dir", type=Path, help="the folder `deepgallery demo --out` wrote")
    parser.add_argument("--apps", nargs="*", help="only these app ids")
    parser.add_argument("--pick", action="append", default=[], metavar="ID=PATH",
                        help="a pick not (yet) in PICKS, relative to demo_dir (glob allowed); repeatable")
    args = parser.parse_args(argv)
    picks = dict(PICKS)
    for item in args.pick:
        app_id, _, rel = item.partition("=")
        picks[app_id] = rel
    OUT.mkdir(parents=True, exist_ok=True)
    missing = []
    for app_id, rel in picks.items():
        if args.apps and app_id not in args.apps:
            continue
        sources = sorted(args.demo_dir.glob(rel)) if "*" in rel else [args.demo_dir / rel]
        if not sources or not all(p.is_file() for p in sources):
            missing.append(f"{app_id} ({args.demo_dir / rel})")
            continue
        source = sources[0] if len(sources) == 1 else args.demo_dir / rel
        picture = frame(sources[0]) if len(sources) == 1 else row(sources[:4])
        size = save_small(card(picture), OUT / f"{app_id}.jpg")
        print(f"{app_id}: {source} -> {OUT / (app_id + '.jpg')} ({size / 1000:.1f} kB)")
    if missing:
        print("missing demo outputs: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
