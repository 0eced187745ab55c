"""Hooks for the CLI, `deepgallery demo` and the web gallery (see core/app.py); the benchmark is in bench.py."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.errors import UserError
from ...core.runtime import add_device_arg

EXAMPLES = Path(__file__).parent / "examples"

# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", help="a photo or a video file (or use --camera)")
    parser.add_argument("-o", "--out", help="annotated output: .png/.jpg for a photo, .mp4/.gif for a video or camera "
                                            "(default: pose.png or pose.mp4)")
    parser.add_argument("--json", help="also write the keypoints as COCO JSON here")
    parser.add_argument("--camera", type=int, metavar="INDEX", help="read a webcam (0 is the first) instead of a file")
    parser.add_argument("--frames", type=int, default=100, help="camera: frames to record (default: 100; Ctrl-C ends)")
    parser.add_argument("--every", type=int, default=1, help="video: use every N-th frame (default: 1)")
    parser.add_argument("--max-frames", type=int, help="video: stop after this many processed frames")
    parser.add_argument("--size", help="network input's longer side in px, a multiple of 32, or several sizes to "
                                       "search (default: 256,384 for a photo, 256 for video and camera)")
    parser.add_argument("--model", default="movenet", choices=("movenet", "paf"),
                        help="movenet: the shipped pretrained network; paf: the paper's network (see --checkpoint)")
    parser.add_argument("--checkpoint", help="--model paf: a checkpoint written by `deepgallery train pose` (default: "
                                             "the shipped one, trained on synthetic stick figures only)")
    parser.add_argument("--quiet", action="store_true", help="do not list the frames without people")
    add_device_arg(parser, why="--model paf only: MoveNet always runs in onnxruntime on the CPU")


def _detector(args: argparse.Namespace, stream: bool):
    from .pipeline import PHOTO_SIZES, STREAM_SIZES, movenet_detector, paf_detector

    if args.model == "paf":
        return paf_detector(args.checkpoint, device=args.device)
    return movenet_detector(args.size or (STREAM_SIZES if stream else PHOTO_SIZES))


def run(args: argparse.Namespace) -> int:
    from .pipeline import process, process_camera

    if args.camera is None and not args.input:
        raise UserError("give a photo or video, e.g. `deepgallery run pose group.jpg -o out.png`, or --camera 0")
    if args.camera is not None and args.input:
        raise UserError("give either an input file or --camera, not both")
    if args.frames < 1:
        raise UserError(f"--frames must be ≥ 1, got {args.frames}")
    start = time.perf_counter()
    if args.camera is not None:
        out = args.out or "pose.mp4"
        result = process_camera(args.camera, out, _detector(args, stream=True), args.json, frames=args.frames,
                                quiet=args.quiet)
    else:
        from ...core.media import is_video

        out = args.out or ("pose.mp4" if is_video(args.input) else "pose.png")
        detect = _detector(args, stream=is_video(args.input))
        result = process(args.input, out, detect, args.json, every=args.every, max_frames=args.max_frames,
                         quiet=args.quiet)
    seconds = time.perf_counter() - start
    counts = [len(p) for p in result.people_per_frame]
    if result.frames == 1:
        print(f"{counts[0]} {'person' if counts[0] == 1 else 'people'} found")
    else:
        print(f"{result.frames} frames, {sum(counts)} skeletons (most in one frame: {max(counts)}), "
              f"{len(result.empty_frames)} frames without a person, {result.frames / seconds:.1f} frames/s overall")
    print(f"wrote {result.output}" + (f" and {result.json_path}" if result.json_path else ""))
    return 0


def predict(image: str | None = None, size: str = "256,384") -> dict[str, Any]:
    """The web gallery's call: {"image": annotated PNG path, "keypoints": COCO JSON dict}."""
    import json

    from .pipeline import movenet_detector, process_image

    if not image:
        raise UserError("upload a photo with people in it")
    out_dir = Path(tempfile.mkdtemp(prefix="deepgallery-pose-"))
    result = process_image(image, out_dir / "pose.png", movenet_detector(str(size)), out_dir / "pose.json",
                           quiet=True)
    return {"image": result.output, "keypoints": json.loads(result.json_path.read_text(encoding="utf-8"))}


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .train import add_args

    add_args(parser)


def train(args: argparse.Namespace) -> int:
    from .train import main

    return main(args)


# --------------------------------------------------------------------------------------------- demo


def _demo_paf(out_dir: Path) -> DemoItem:
    """The paper's pipeline with the shipped PAF checkpoint on a synthetic scene it has not seen."""
    import numpy as np

    from ...core.media import save_image
    from .infer import PAFDetector
    from .skeleton import draw
    from .synthetic import random_scene, render

    start = time.perf_counter()
    rng = np.random.default_rng(7)
    people = random_scene(rng, (96, 96), 3)
    image = render(people, (96, 96), rng)
    found = PAFDetector.from_checkpoint().detect(image)
    big = np.kron(image, np.ones((4, 4, 1), np.uint8))  # 4× larger so that the skeletons can be seen
    for p in found:
        p.keypoints = p.keypoints * 4 + 1.5
    path = save_image(Path(out_dir) / "paf_synthetic.png", draw(big, found, min_score=0.05))
    return DemoItem("the paper's PAF network + greedy grouping (trained here on stick figures only)", {},
                    [path], text=f"{len(found)} of 3 stick people found", seconds=time.perf_counter() - start)


def demo(out_dir: Path) -> list[DemoItem]:
    """Three built-in examples: a group photo, a street photo and a short street video (a few seconds in all)."""
    from .pipeline import movenet_detector, process_image, process_video

    out_dir = Path(out_dir)
    photo, video = movenet_detector("256,384"), movenet_detector(384)
    items = []
    for name, det, label in (("group5.jpg", photo, "five people"), ("street_200.jpg", photo, "seven people")):
        start = time.perf_counter()
        stem = Path(name).stem
        r = process_image(EXAMPLES / name, out_dir / f"{stem}.png", det, out_dir / f"{stem}.json", quiet=True)
        n = len(r.people_per_frame[0])
        items.append(DemoItem(f"{label}: {n} found", {"image": str(EXAMPLES / name)}, [r.output, r.json_path],
                              text=f"{n} people found", seconds=time.perf_counter() - start))
    items.append(_demo_paf(out_dir))
    if not (EXAMPLES / "street.mp4").is_file():  # package data without *.mp4
        return items
    start = time.perf_counter()
    r = process_video(EXAMPLES / "street.mp4", out_dir / "street.mp4", video, out_dir / "street.json",
                      max_frames=40, quiet=True)
    counts = [len(p) for p in r.people_per_frame]
    items.append(DemoItem("street video (one pass at 384 px per frame)", {"video": str(EXAMPLES / "street.mp4")},
                          [r.output, r.json_path],
                          text=f"{r.frames} frames, people per frame {min(counts)}–{max(counts)}",
                          seconds=time.perf_counter() - start))
    return items
