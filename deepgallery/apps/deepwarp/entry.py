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
    parser.add_argument("--angle", default="15,-10", help="redirection 'YAW,PITCH' in degrees, + = towards the "
                                                           "image's right / up, each within ±25 (default: 15,-10)")
    parser.add_argument("-o", "--out", help="output: .png/.jpg for a photo, .mp4/.gif for a video or camera "
                                            "(default: deepwarp.png or deepwarp.mp4)")
    parser.add_argument("--animate", metavar="GIF", help="photo: also write the eyes looking around (.gif or .mp4)")
    parser.add_argument("--camera", type=int, metavar="INDEX", help="read a webcam (0 is the first) instead of a file")
    parser.add_argument("--frames", type=int, default=100, help="camera: frames to record (default: 100)")
    parser.add_argument("--max-frames", type=int, help="video: stop after this many frames")
    parser.add_argument("--checkpoint", help="a checkpoint from `deepgallery train deepwarp` (default: shipped)")
    parser.add_argument("--quiet", action="store_true", help="do not list the frames without a face")
    parser.add_argument("--verbose", action="store_true", help="show the log lines of MediaPipe / TensorFlow Lite")
    add_device_arg(parser, "cpu", "the network only: two 32×48 eye crops a frame cost less on the CPU than a trip "
                                  "to a GPU, and the face mesh runs on the CPU anyway")


def run(args: argparse.Namespace) -> int:
    from ...core.media import read_image, video_info
    from ...core.runtime import choose_device, quiet_native_logs
    from .geometry import parse_angle
    from .model import load
    from .pipeline import is_image

    yaw, pitch = parse_angle(args.angle)
    if args.camera is None and not args.input:
        raise UserError("give a photo or video, e.g. `deepgallery run deepwarp face.jpg --angle 15,-10 -o out.png`, "
                        "or --camera 0")
    if args.camera is not None and args.input:
        raise UserError("give either an input file or --camera, not both")
    if args.frames < 1 or (args.max_frames is not None and args.max_frames < 1):
        raise UserError("--frames and --max-frames must be ≥ 1")
    if args.animate and (args.camera is not None or not is_image(args.input)):
        raise UserError("--animate is for photos; for a camera, -o out.mp4 records the redirected stream"
                        if args.camera is not None else
                        "--animate is for photos; a video is redirected frame by frame into -o")
    if args.input:  # check the input before loading any model (one line for a bad file, no model logs)
        read_image(args.input, min_side=16) if is_image(args.input) else video_info(args.input)
    device = choose_device(args.device)
    model = load(args.checkpoint, device)  # a bad checkpoint fails here, before a camera is opened
    with quiet_native_logs(args.verbose):  # MediaPipe's TensorFlow Lite prints to stderr when it starts
        return _redirect(args, model, device, yaw, pitch)


def _redirect(args: argparse.Namespace, model, device, yaw: float, pitch: float) -> int:
    from .pipeline import Redirector, is_image, process_camera, process_image, process_video

    if args.camera is not None:
        stats = process_camera(args.camera, args.out or "deepwarp.mp4", yaw, pitch, args.frames, args.quiet,
                               Redirector(model, static=False, device=device))
    elif is_image(args.input):
        out = args.out if (args.out or not args.animate) else None
        r = process_image(args.input, out or ("deepwarp.png" if out is None and not args.animate else None),
                          yaw, pitch, args.animate, Redirector(model, device=device), args.quiet)
        print(f"{r['faces']} face{'s' if r['faces'] != 1 else ''} found; redirected by yaw {yaw:g}°, pitch {pitch:g}°")
        for key in ("image", "animation"):
            if key in r:
                print(f"wrote {r[key]}")
        return 0
    else:
        stats = process_video(args.input, args.out or "deepwarp.mp4", yaw, pitch, args.max_frames, args.quiet,
                              Redirector(model, static=False, device=device))
    print(f"{stats['frames']} frames, {stats['without_face']} without a face; wrote {stats['video']}")
    return 0


def predict(image: str | None = None, yaw: float = 15.0, pitch: float = -10.0, animate: bool = True) -> dict[str, Any]:
    """The web gallery's call: redirected PNG, optional looking-around GIF, measured gaze per eye."""
    from .geometry import parse_angle
    from .pipeline import Redirector, process_image

    if not image:
        raise UserError("upload a photo with a face")
    yaw, pitch = parse_angle(f"{float(yaw)},{float(pitch)}")
    out_dir = Path(tempfile.mkdtemp(prefix="deepgallery-deepwarp-"))
    red = Redirector()
    r = process_image(image, out_dir / "deepwarp.png", yaw, pitch, out_dir / "deepwarp.gif" if animate else None,
                      red, quiet=True)
    result: dict[str, Any] = {"image": r["image"]}
    if animate:
        result["animation"] = r["animation"]
    result["gaze"] = _gaze_report(image, r["image"], red)
    return result


def _gaze_report(before: str | Path, after: str | Path, red) -> dict:
    """Per face and eye: the input's gaze, and how far the output turned it (yaw, pitch in degrees).

    `turned_by` uses the validated iris localiser of the bench (`iris.py`, 0.37 deg on known shifts);
    `turned_by_mediapipe` is MediaPipe's iris landmarks, which under-read iris moves (see README).
    """
    from ...core.media import read_image
    from .bench import achieved_redirection, measured_redirection

    def rounded(values) -> list[float] | None:
        return None if values is None else [round(float(v), 1) for v in values]

    report: dict[str, Any] = {"faces": []}
    before_rgb, after_rgb = read_image(before), read_image(after)
    a, b = red.mesh.faces(before_rgb), red.mesh.faces(after_rgb)
    for fa, fb in zip(a, b, strict=False):
        report["faces"].append({eye: {"before": rounded(fa[eye].gaze()),
                                      "turned_by": rounded(measured_redirection(before_rgb, after_rgb, fa[eye])),
                                      "turned_by_mediapipe": rounded(achieved_redirection(fa[eye], fb[eye]))}
                                for eye in fa})
    if not a:
        report["message"] = "no face found; image written unchanged"
    return report


# -------------------------------------------------------------------------------------------- train


def add_train_args(parser: argparse.ArgumentParser) -> None:
    from .train import add_args

    add_args(parser)


def train(args: argparse.Namespace) -> int:
    from .train import main

    return main(args)


# --------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """The astronaut photo redirected down-right, and her eyes looking around (GIF)."""
    from .pipeline import Redirector, process_image

    out_dir = Path(out_dir)
    photo = EXAMPLES / "astronaut.jpg"
    start = time.perf_counter()
    r = process_image(photo, out_dir / "astronaut_15_-10.png", 15.0, -10.0, out_dir / "astronaut_around.gif",
                      Redirector(), quiet=True)
    return [DemoItem("eyes redirected by yaw 15°, pitch −10°, and looking around",
                     {"image": str(photo), "angle": "15,-10"}, [r["image"], r["animation"]],
                     text=f"{r['faces']} face found", seconds=time.perf_counter() - start)]
