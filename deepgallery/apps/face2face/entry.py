"""Hooks for the CLI, `deepgallery demo` and the web gallery (see core/app.py); the benchmark is in bench.py.

No `--device` flag: every step runs on the CPU (MediaPipe's Face Mesh, numpy geometry, OpenCV/scipy warping and
blending); there is no PyTorch network to move to a GPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from ...core.app import DemoItem
from ...core.config import number
from ...core.errors import UserError
from . import EXAMPLES

# ---------------------------------------------------------------------------------------------- run


def add_run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", help="the actor: a video or photo whose face drives the target (or --camera)")
    parser.add_argument("--camera", type=int, metavar="INDEX", help="use webcam INDEX (0 is the first) as the source")
    parser.add_argument("--target", help="the person to reenact: a video or photo with one face")
    parser.add_argument("--source-neutral", metavar="PHOTO",
                        help="a photo of the actor with a relaxed face (needed when --source is a photo; "
                             "default: the source's first frames)")
    parser.add_argument("-o", "--out", help="output: .mp4/.gif (a .png/.jpg when both inputs are photos); "
                                            "default face2face.mp4")
    parser.add_argument("--side-by-side", action="store_true", help="write source | target | result panels")
    parser.add_argument("--blend", default="poisson", choices=("poisson", "poisson-exact", "feather"),
                        help="poisson: gradient-domain blending solved at half size (default); poisson-exact: "
                             "the same solved at full size; feather: alpha blending (fastest)")
    parser.add_argument("--mouth", default="retrieve", choices=("retrieve", "warp"),
                        help="retrieve: mouth interior from the best-matching target frame (the paper's); "
                             "warp: stretch the current frame's own mouth")
    parser.add_argument("--strength", type=number(float, "--strength", minimum=0), default=1.0,
                        help="scale of the transferred expression (default 1)")
    parser.add_argument("--smoothing", type=number(float, "--smoothing", minimum=0), default=0.4,
                        help="temporal smoothing of the expression in [0, 1) (0 = none; default 0.4)")
    parser.add_argument("--max-frames", type=number(int, "--max-frames", minimum=1),
                        help="stop after this many frames (camera default: 150)")
    parser.add_argument("--max-side", type=number(int, "--max-side", minimum=64), default=960,
                        help="downscale frames whose longer side exceeds this")
    parser.add_argument("--quiet", action="store_true", help="do not list the frames without a face")
    parser.add_argument("--verbose", action="store_true", help="show the log lines of MediaPipe / TensorFlow Lite")


def _config(blend: str = "poisson", mouth: str = "retrieve", strength: float = 1.0, smoothing: float = 0.4):
    from .pipeline import Face2FaceConfig
    from .transfer import TransferConfig

    if smoothing >= 1:  # the flag's type checks ≥ 0; at 1 the first frame's expression would stay for good
        raise UserError(f"--smoothing must be in [0, 1), got {smoothing}")
    return Face2FaceConfig(blend=blend, mouth=mouth, transfer=TransferConfig(strength=strength, smoothing=smoothing))


def _neutral_landmarks(path: str, max_side: int):
    from ...core.media import read_image, resize_max_side
    from .mesh import FaceTracker

    lms = FaceTracker(video=False)(resize_max_side(read_image(path, min_side=32), max_side))
    if lms is None:
        raise UserError(f"{path}: no face found in the --source-neutral photo")
    return lms


def run(args: argparse.Namespace) -> int:
    from ...core.runtime import quiet_native_logs
    from .pipeline import open_stream, reenact

    if args.source is None and args.camera is None:
        raise UserError("give the actor with --source VIDEO (or --camera 0) and the person with --target, e.g. "
                        "`deepgallery run face2face --source actor.mp4 --target me.jpg -o out.mp4`")
    if args.source is not None and args.camera is not None:
        raise UserError("give either --source or --camera, not both")
    if not args.target:
        raise UserError("give the person to reenact with --target VIDEO_OR_PHOTO")
    config = _config(args.blend, args.mouth, args.strength, args.smoothing)
    target = open_stream(args.target, args.max_side)  # unreadable files fail here, before the camera opens
    source = open_stream(args.camera if args.camera is not None else args.source, args.max_side)
    out = args.out or ("face2face.png" if source.still and target.still else "face2face.mp4")
    max_frames = args.max_frames if args.max_frames is not None else (150 if args.camera is not None else None)
    with quiet_native_logs(args.verbose):  # MediaPipe's TensorFlow Lite prints to stderr when it starts
        neutral = _neutral_landmarks(args.source_neutral, args.max_side) if args.source_neutral else None
        summary = reenact(source, target, out, config, max_frames=max_frames, sbs=args.side_by_side,
                          quiet=args.quiet, source_neutral=neutral)
    fps = summary.frames / summary.seconds if summary.seconds else 0.0
    print(f"{summary.frames} frames, {len(summary.unchanged)} with no face on one side (written unchanged), "
          f"{fps:.1f} frames/s overall")
    print(f"wrote {summary.output}")
    return 0


def predict(source: str | None = None, target: str | None = None, layout: str = "side-by-side",
            blend: str = "poisson") -> dict[str, Any]:
    """The web gallery's call: {"video": MP4 path, "report": {...}}."""
    from .pipeline import open_stream, reenact

    if not source:
        raise UserError("give the actor: a video (or photo) of a face")
    if not target:
        raise UserError("give the person to reenact: a photo (or video) with one face")
    src, tgt = open_stream(source, 640), open_stream(target, 640)
    out_dir = Path(tempfile.mkdtemp(prefix="deepgallery-face2face-"))
    out = out_dir / "face2face.mp4"
    summary = reenact(src, tgt, out, _config(blend), max_frames=300, sbs=layout == "side-by-side", quiet=True)
    report = {"frames": summary.frames, "unchanged_frames": summary.unchanged,
              "frames_per_second": round(summary.frames / max(summary.seconds, 1e-9), 1)}
    return {"video": summary.output, "report": report}


# --------------------------------------------------------------------------------------------- demo


def demo(out_dir: Path) -> list[DemoItem]:
    """Two examples: the actor clip driving a photo, and driving a (synthetic) target video whose head moves."""
    from .pipeline import open_stream, reenact
    from .synthetic import load_photo, make_clip, target_script, write_clip

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    items = []
    start = time.perf_counter()
    actor, photo = EXAMPLES / "actor.mp4", EXAMPLES / "astronaut.jpg"
    s = reenact(open_stream(actor), open_stream(photo), out_dir / "actor_drives_photo.mp4", sbs=True, quiet=True)
    items.append(DemoItem("actor (synthetic, Grace Hopper) drives a photo (Eileen Collins)",
                          {"source": str(actor), "target": str(photo)}, [s.output],
                          text=f"{s.frames} frames, {s.frames / s.seconds:.1f} frames/s",
                          seconds=time.perf_counter() - start))
    start = time.perf_counter()
    frames, _ = make_clip(load_photo("astronaut.jpg"), target_script(48))
    target = write_clip(out_dir / "target_head_motion.mp4", frames, size=(400, 300))
    s = reenact(open_stream(actor), open_stream(target), out_dir / "actor_drives_video.mp4", sbs=True, quiet=True)
    items.append(DemoItem("actor drives a target video whose head rolls and sways (pose removed by Procrustes)",
                          {"source": str(actor), "target": str(target)}, [s.output],
                          text=f"{s.frames} frames, {s.frames / s.seconds:.1f} frames/s",
                          seconds=time.perf_counter() - start))
    return items
