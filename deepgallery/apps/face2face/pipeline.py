"""The reenactment loop (Face2Face Fig. 2): track both faces, transfer the expression, re-render, blend.

Per frame: landmarks of source and target (``mesh.FaceTracker``) → intended target landmarks
(``transfer.ExpressionTransfer``: pose removed, the source's expression change since its neutral frame moved onto
the target's neutral face, re-posed on the current target) → the target's own pixels warped along the mesh to them
(``render.reshape_face``) → the mouth interior retrieved from the target's frames (``mouth.MouthDatabase``) →
Poisson blending into the target frame (``render.blend``).

The *neutral* face of each stream is the mean of its first ``neutral_frames`` faces, each moved into the first one's
pose (the actor should start with a relaxed face; the mean removes the tracker's frame-to-frame jitter).
Streams are photos (repeated), video files or a webcam; the driving stream sets the length (the source, unless it
is a photo) and a shorter target video is played back and forth. A frame where either face is missing is said on
its own line and the target frame is written unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...core.errors import UserError
from ...core.media import (
    is_video,
    open_camera,
    read_image,
    read_video,
    resize_max_side,
    save_image,
    video_info,
    write_video,
)
from .mesh import FaceTracker
from .mouth import MouthConfig, MouthDatabase
from .render import blend, reshape_face
from .transfer import ExpressionTransfer, TransferConfig, remove_pose

BLENDS = ("poisson", "poisson-exact", "feather")
MOUTHS = ("retrieve", "warp")
IMAGE_OUT = (".png", ".jpg", ".jpeg")
VIDEO_OUT = (".mp4", ".gif")


@dataclass
class Face2FaceConfig:
    blend: str = "poisson"  # poisson: gradient-domain, membrane at half size; poisson-exact: full size; feather
    mouth: str = "retrieve"  # retrieve: the best-matching mouth of the target's frames (§7.1); warp: stretch own
    transfer: TransferConfig = field(default_factory=TransferConfig)
    mouth_db: MouthConfig = field(default_factory=MouthConfig)
    neutral_frames: int = 5  # the neutral face is the mean of this many first faces of each stream

    def __post_init__(self):
        if self.blend not in BLENDS:
            raise UserError(f"--blend must be one of {', '.join(BLENDS)}, got {self.blend!r}")
        if self.mouth not in MOUTHS:
            raise UserError(f"--mouth must be one of {', '.join(MOUTHS)}, got {self.mouth!r}")


@dataclass
class FrameResult:
    image: np.ndarray  # (H, W, 3) the reenacted target frame (or the target frame unchanged)
    message: str = ""  # why the frame is unchanged ("" when reenacted)
    intended: np.ndarray | None = None  # (478, 3) the target landmarks the frame was rendered to
    source: np.ndarray | None = None  # (478, 3) tracked source landmarks
    target: np.ndarray | None = None  # (478, 3) tracked target landmarks


class Reenactor:
    """Stateful per-frame reenactment of one target by one source (neutral frames, smoothing, mouth database)."""

    def __init__(self, config: Face2FaceConfig | None = None, video: bool = True,
                 tracker: Callable[[bool], Callable] = FaceTracker):
        self.config = config or Face2FaceConfig()
        self.track_source = tracker(video)
        self.track_target = tracker(video)
        self.source_neutral: np.ndarray | None = None
        self.target_neutral: np.ndarray | None = None
        self._seen = [0, 0]  # faces averaged into the source / target neutral so far
        self.transfer: ExpressionTransfer | None = None
        self.mouths: MouthDatabase | None = None
        self._still: tuple[int, np.ndarray | None] | None = None  # (id of a still target frame, its landmarks)

    def _target_landmarks(self, target: np.ndarray, still: bool) -> np.ndarray | None:
        if still and self._still is not None and self._still[0] == id(target):
            return self._still[1]
        lms = self.track_target(target)
        if still:
            self._still = (id(target), lms)
        return lms

    def set_source_neutral(self, landmarks: np.ndarray) -> None:
        """Fix the source's neutral face (e.g. from a separate photo of the actor) instead of its first frames."""
        self.source_neutral = np.asarray(landmarks, dtype=np.float64)
        self._seen[0] = max(1, self.config.neutral_frames)
        self.transfer = None

    def _update_neutral(self, side: int, lms: np.ndarray) -> bool:
        """Fold one more face into the running mean neutral of a stream (first ``neutral_frames`` faces only)."""
        n = self._seen[side]
        if n >= self.config.neutral_frames and n > 0:
            return False
        current = self.source_neutral if side == 0 else self.target_neutral
        mean = lms if current is None else current + (remove_pose(current, lms) - current) / (n + 1)
        if side == 0:
            self.source_neutral = mean
        else:
            self.target_neutral = mean
        self._seen[side] = n + 1
        return True

    def step(self, source: np.ndarray, target: np.ndarray, target_index: int = 0,
             target_still: bool = False) -> FrameResult:
        """Reenact one target frame with one source frame (both RGB uint8)."""
        s = self.track_source(source)
        t = self._target_landmarks(target, target_still)
        if s is None or t is None:
            which = "source" if s is None else "target"
            return FrameResult(target, f"no face in the {which} frame", source=s, target=t)
        changed = self._update_neutral(0, s) | self._update_neutral(1, t)
        if self.mouths is None:
            self.mouths = MouthDatabase(t, self.config.mouth_db)
        if self.transfer is None or changed:
            self.transfer = ExpressionTransfer(self.source_neutral, self.target_neutral, self.config.transfer)
        if self.config.mouth == "retrieve":
            self.mouths.add(target, t, target_index)
        intended, canonical = self.transfer(s, t)
        patch, mask, box = reshape_face(target, t, intended)
        if self.config.mouth == "retrieve":
            patch = self.mouths.composite(patch, box, intended, canonical, current_frame=target_index)
        out = blend(target, patch, mask, box, self.config.blend)
        return FrameResult(out, "", intended, s, t)


# --------------------------------------------------------------------------------------------- streams


@dataclass
class Stream:
    """Frames of one input: a photo (still, one frame), a video file, or a webcam."""

    name: str
    frames: Iterator[np.ndarray]
    fps: float = 25.0
    still: bool = False
    length: int | None = None  # frames, when known


def _say(msg: str) -> None:
    print(msg, file=sys.stderr if msg.startswith("warning") else sys.stdout, flush=True)




def open_stream(spec: str | Path | int, max_side: int = 960) -> Stream:
    """A photo, a video file, or (an int) a camera index. Unreadable input raises one UserError, before any work."""
    if isinstance(spec, int):
        import cv2

        cap, first = open_camera(spec)

        def grab() -> Iterator[np.ndarray]:
            frame = first
            try:
                while True:
                    yield resize_max_side(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), max_side)
                    ok, frame = cap.read()
                    if not ok:
                        _say(f"warning: camera {spec} stopped")
                        return
            finally:
                cap.release()

        return Stream(f"camera {spec}", grab(), fps=15.0)
    path = Path(spec)
    if is_video(path):
        info = video_info(path)
        frames = read_video(path)
        first = next(frames)[2]  # fails here, with one line, when the video has no decodable frame

        def video() -> Iterator[np.ndarray]:
            yield resize_max_side(first, max_side)
            for _, _, frame in frames:
                yield resize_max_side(frame, max_side)

        return Stream(path.name, video(), fps=info["fps"], length=info["frames"] or None)
    image = resize_max_side(read_image(path, min_side=32), max_side)
    return Stream(path.name, iter([image]), still=True, length=1)


def _looped(frames: Iterator[np.ndarray], cap: int = 900) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame) forever: the video once, then back and forth over the frames seen (at most ``cap`` kept)."""
    seen: list[np.ndarray] = []
    for i, frame in enumerate(frames):
        if len(seen) < cap:
            seen.append(frame)
        yield i, frame
    if not seen:
        return
    order = list(range(len(seen) - 2, 0, -1)) + list(range(len(seen)))
    while True:
        for i in order:
            yield i, seen[i]


def side_by_side(source: np.ndarray, target: np.ndarray, result: np.ndarray) -> np.ndarray:
    """[source | target | result] at the target's height, labelled."""
    import cv2

    h = target.shape[0]
    panels = []
    for label, img in (("source", source), ("target", target), ("face2face", result)):
        if img.shape[0] != h:
            img = cv2.resize(img, (round(img.shape[1] * h / img.shape[0]), h), interpolation=cv2.INTER_AREA)
        img = img.copy()
        cv2.putText(img, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(img, label, (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(img)
    return np.concatenate(panels, axis=1)


@dataclass
class RunSummary:
    output: Path
    frames: int = 0
    unchanged: list[int] = field(default_factory=list)  # frame indices written unchanged
    seconds: float = 0.0


def reenact(source: Stream, target: Stream, out: str | Path, config: Face2FaceConfig | None = None,
            max_frames: int | None = None, sbs: bool = False, quiet: bool = False,
            reenactor: Reenactor | None = None, source_neutral: np.ndarray | None = None) -> RunSummary:
    """Drive ``target`` with ``source`` and write the result: PNG/JPG for two photos, MP4/GIF otherwise.

    ``source_neutral``: the actor's relaxed face (478, 3) when the source itself does not start with one (a photo).
    """
    import time

    out = Path(out)
    single = source.still and target.still
    allowed = IMAGE_OUT + VIDEO_OUT if single else VIDEO_OUT
    if out.suffix.lower() not in allowed:
        kind = "two photos" if single else "a video or camera"
        raise UserError(f"{out}: for {kind} the output must end in {', '.join(allowed)}")
    if max_frames is not None and max_frames < 1:
        raise UserError(f"--max-frames must be ≥ 1, got {max_frames}")
    r = reenactor or Reenactor(config, video=not single)
    if source_neutral is not None:
        r.set_source_neutral(source_neutral)
    elif source.still and not quiet:
        _say("warning: the source is one photo and no --source-neutral was given: its own face is the neutral, "
             "so the target's expression does not change")
    summary = RunSummary(out)
    driver_is_source = not source.still or target.still
    src_iter = _looped(source.frames) if not driver_is_source else enumerate(source.frames)
    tgt_iter = enumerate(target.frames) if not driver_is_source else _looped(target.frames)

    def frames() -> Iterator[np.ndarray]:
        start = time.perf_counter()
        n = 0
        try:
            for n, ((_, src), (ti, tgt)) in enumerate(zip(src_iter, tgt_iter, strict=False)):
                if max_frames is not None and n >= max_frames:
                    break
                res = r.step(src, tgt, target_index=ti, target_still=target.still)
                if res.message:
                    summary.unchanged.append(n)
                    if not quiet:
                        _say(f"frame {n}: {res.message} (target written unchanged)")
                summary.frames = n + 1
                yield side_by_side(src, tgt, res.image) if sbs else res.image
        except KeyboardInterrupt:
            _say("stopped by Ctrl-C; writing what was processed")
        summary.seconds = time.perf_counter() - start

    if out.suffix.lower() in IMAGE_OUT:
        image = next(frames())
        save_image(out, image)
    else:
        write_video(out, frames(), fps=source.fps if driver_is_source else target.fps)
    return summary
