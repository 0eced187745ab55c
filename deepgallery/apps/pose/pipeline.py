"""From a file or a camera to annotated output: images, videos and webcam streams, frame by frame.

Every frame goes through a *detector* (``frame -> list[Person]``): the pretrained MoveNet MultiPose by default,
or the paper's PAF network with a checkpoint trained here (``paf_detector``). A frame with nobody in it is
reported on its own line and written unchanged. Outputs are atomic: a failure leaves no half-written file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.atomic import write_text
from ...core.errors import UserError
from ...core.media import is_video, open_camera, read_image, read_video, save_image, video_info, write_video
from .skeleton import Person, coco_document, draw

Detector = Callable[[np.ndarray], list[Person]]
IMAGE_OUT = {".png", ".jpg", ".jpeg"}
PHOTO_SIZES = "256,384"  # photos: a two-size scale search (finds small people; ~3× the time of 256 alone)
STREAM_SIZES = "256"  # video and webcam: one size, real time
VIDEO_OUT = {".mp4", ".gif"}


@dataclass
class Result:
    """What one run produced: the output files and the people found in each frame."""

    output: Path
    json_path: Path | None
    people_per_frame: list[list[Person]] = field(default_factory=list)
    empty_frames: list[int] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return len(self.people_per_frame)


def parse_sizes(text: str | int | tuple) -> tuple[int, ...]:
    """'256' or '256,384' → (256, 384); each a multiple of 32 in [128, 1024]."""
    if isinstance(text, int):
        text = str(text)
    try:
        sizes = tuple(int(t) for t in (text.split(",") if isinstance(text, str) else text))
    except ValueError:
        raise UserError(f"--size must be numbers like 256 or 256,384, got {text!r}") from None
    if not sizes or any(s % 32 or not 128 <= s <= 1024 for s in sizes):
        raise UserError(f"--size: each size must be a multiple of 32 between 128 and 1024, got {text!r}")
    return sizes


def movenet_detector(sizes: str | int | tuple = PHOTO_SIZES) -> Detector:
    """The pretrained multi-person detector (MoveNet MultiPose in onnxruntime) at these input sizes."""
    from .movenet import MoveNet, MoveNetConfig

    return MoveNet(MoveNetConfig(sizes=parse_sizes(sizes))).detect


def paf_detector(checkpoint: str | Path | None = None, device: str = "cpu") -> Detector:
    """The paper's network (model.py) + greedy PAF grouping (grouping.py) from a checkpoint trained here
    (default: the shipped one, trained on synthetic stick figures only — it does not know real people)."""
    from .infer import PAFDetector

    if checkpoint is None:
        _say("warning: the shipped PAF checkpoint was trained on synthetic stick figures only; for photos train one "
             "on COCO (`deepgallery train pose --coco-json ...`) and pass --checkpoint")
    return PAFDetector.from_checkpoint(checkpoint, device=device).detect


def _say(msg: str) -> None:
    print(msg, file=sys.stderr if msg.startswith("warning") else sys.stdout, flush=True)


def _annotate(frames: Iterable[tuple[int, np.ndarray]], detect: Detector, result: Result,
              quiet: bool = False) -> Iterator[np.ndarray]:
    """Yield each frame with skeletons drawn; record people; say which frames had nobody."""
    for index, frame in frames:
        people = detect(frame)
        result.people_per_frame.append(people)
        if not people:
            result.empty_frames.append(index)
            if not quiet:
                _say(f"frame {index}: no person found (written unchanged)")
            yield frame
        else:
            yield draw(frame, people)


def _check_output(out: Path, video: bool) -> None:
    allowed = VIDEO_OUT if video else IMAGE_OUT
    if out.suffix.lower() not in allowed:
        kind = "a video or camera" if video else "an image"
        raise UserError(f"{out}: for {kind} the output must end in {', '.join(sorted(allowed))}")


def _write_json(json_path: Path | None, result: Result, size: tuple[int, int], source: str) -> None:
    if json_path is not None:
        doc = coco_document(result.people_per_frame, size, source)
        write_text(json_path, json.dumps(doc) + "\n")


def process_image(path: str | Path, out: str | Path, detect: Detector, json_path: str | Path | None = None,
                  quiet: bool = False) -> Result:
    """One photo → annotated image (+ COCO JSON). Nobody in it → the photo is written unchanged, and said."""
    out = Path(out)
    _check_output(out, video=False)
    rgb = read_image(path)
    result = Result(out, Path(json_path) if json_path else None)
    people = detect(rgb)
    result.people_per_frame.append(people)
    if not people:
        result.empty_frames.append(0)
        if not quiet:
            _say(f"{Path(path).name}: no person found (written unchanged)")
    save_image(out, draw(rgb, people) if people else rgb)
    _write_json(result.json_path, result, (rgb.shape[1], rgb.shape[0]), str(path))
    return result


def process_video(path: str | Path, out: str | Path, detect: Detector, json_path: str | Path | None = None,
                  every: int = 1, max_frames: int | None = None, quiet: bool = False) -> Result:
    """A video file → annotated MP4/GIF (+ COCO JSON with one image id per processed frame)."""
    out = Path(out)
    _check_output(out, video=True)
    if every < 1:
        raise UserError(f"--every must be ≥ 1, got {every}")
    info = video_info(path)
    result = Result(out, Path(json_path) if json_path else None)
    size: list[int] = [0, 0]

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        for n, (i, _, frame) in enumerate(read_video(path, every=every)):
            if max_frames is not None and n >= max_frames:
                return
            size[:] = [frame.shape[1], frame.shape[0]]
            yield i, frame

    write_video(out, _annotate(frames(), detect, result, quiet), fps=info["fps"] / every)
    _write_json(result.json_path, result, (size[0], size[1]), str(path))
    return result


def process_camera(index: int, out: str | Path, detect: Detector, json_path: str | Path | None = None,
                   frames: int = 100, fps: float = 15.0, quiet: bool = False) -> Result:
    """`frames` frames from webcam `index` → annotated MP4/GIF (+ JSON). Ctrl-C stops early and keeps what ran."""
    import cv2

    out = Path(out)
    _check_output(out, video=True)
    cap, first = open_camera(index)
    result = Result(out, Path(json_path) if json_path else None)

    def grab() -> Iterator[tuple[int, np.ndarray]]:
        frame = first
        try:
            for i in range(frames):
                if i > 0:
                    ok, frame = cap.read()
                    if not ok:
                        _say(f"warning: camera {index} stopped after {i} frames")
                        return
                yield i, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        except KeyboardInterrupt:
            _say("stopped by Ctrl-C; writing what was captured")
        finally:
            cap.release()

    write_video(out, _annotate(grab(), detect, result, quiet), fps=fps)
    _write_json(result.json_path, result, (first.shape[1], first.shape[0]), f"camera {index}")
    return result


def process(source: str | Path, out: str | Path, detect: Detector, json_path: str | Path | None = None,
            **video_kw) -> Result:
    """Dispatch on the input: a video suffix → `process_video`, anything else → `process_image`."""
    if is_video(source):
        return process_video(source, out, detect, json_path, **video_kw)
    return process_image(source, out, detect, json_path, quiet=video_kw.get("quiet", False))
