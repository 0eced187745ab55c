"""From a photo, a video or a webcam to redirected eyes: find faces, crop eyes, run DeepWarp, warp the photo."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import numpy as np
import torch

from ...core.media import IMAGE_SUFFIXES, open_camera, read_image, read_video, save_image, video_info, write_video
from ...core.runtime import torch_threads
from .face import FaceMesh, apply_flow, crop_eye, eye_distance_ok
from .geometry import FRAME
from .model import DeepWarp, load

NO_FACE = "no face found; frame written unchanged"


class Redirector:
    """Redirects every eye of every face in RGB frames by (yaw, pitch) degrees."""

    def __init__(self, model: DeepWarp | None = None, static: bool = True, mesh: FaceMesh | None = None,
                 device: torch.device | str = "cpu"):
        self.device = torch.device(device)  # the CPU by default: two 32×48 crops cost less than a GPU round trip
        self.model = (model or load()).to(self.device)
        self.mesh = mesh or FaceMesh(static=static)

    @torch.no_grad()
    def __call__(self, rgb: np.ndarray, yaw: float, pitch: float, faces=None) -> tuple[np.ndarray, int]:
        """(redirected frame, number of faces). A frame without faces comes back unchanged."""
        faces = self.mesh.faces(rgb) if faces is None else faces
        eyes = [e for f in faces for e in f.values() if eye_distance_ok(e)]
        if not eyes:
            return rgb, len(faces)
        crops = torch.from_numpy(np.stack([crop_eye(rgb, e) for e in eyes])).permute(0, 3, 1, 2)  # (E, 3, H, W)
        angle = torch.tensor([[yaw, pitch]], dtype=torch.float32).expand(len(eyes), 2)  # (E, 2)
        with torch_threads(1):  # a few 32×48 crops: extra threads only wait on each other (6 vs 40+ ms here)
            pred = self.model(crops.to(self.device), angle.to(self.device))
        flow, mask = pred["flow"].cpu().numpy(), pred["mask"][:, 0].cpu().numpy()  # (E, 2, H, W), (E, H, W)
        out = rgb
        for i, eye in enumerate(eyes):
            out = apply_flow(out, eye, flow[i], mask[i], FRAME)
        return out, len(faces)


def animation_angles(frames: int = 24, yaw: float = 15.0, pitch: float = 10.0) -> list[tuple[float, float]]:
    """The paper's 'eyes looking around' loop: the gaze goes round an ellipse of ±yaw, ±pitch degrees."""
    return [(yaw * math.cos(2 * math.pi * i / frames), pitch * math.sin(2 * math.pi * i / frames))
            for i in range(frames)]


def face_box(faces, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the first face's eyes with a margin (the animation's view), else the whole frame."""
    h, w = shape[:2]
    if not faces:
        return 0, 0, w, h
    pts = np.concatenate([e.corners for e in faces[0].values()])  # (4, 2)
    (cx, cy), span = pts.mean(0), np.ptp(pts[:, 0]) + 1
    half_w, half_h = 0.9 * span, 0.45 * span
    x0, x1 = int(max(0, cx - half_w)), int(min(w, cx + half_w))
    y0, y1 = int(max(0, cy - half_h)), int(min(h, cy + half_h))
    return x0, y0, x1, y1


def zoom(rgb: np.ndarray, box: tuple[int, int, int, int], width: int = 360) -> np.ndarray:
    """Crop to `box` and scale to `width` px (even height, for video codecs)."""
    import cv2

    x0, y0, x1, y1 = box
    crop = rgb[y0:y1, x0:x1]
    height = max(2, round(crop.shape[0] * width / crop.shape[1] / 2) * 2)
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_CUBIC)


def _say(msg: str, quiet: bool = False) -> None:
    if not quiet:
        print(msg, file=sys.stderr)


def process_image(path: str | Path, out: str | Path | None, yaw: float, pitch: float,
                  animate: str | Path | None = None, redirector: Redirector | None = None,
                  quiet: bool = False) -> dict:
    """Photo → redirected PNG/JPG (`out`) and/or looking-around GIF/MP4 (`animate`)."""
    rgb = read_image(path, min_side=16)
    red = redirector or Redirector()
    faces = red.mesh.faces(rgb)
    if not faces:
        _say(f"{path}: {NO_FACE}", quiet)
    result = {"faces": len(faces)}
    if out is not None:
        result["image"] = save_image(out, red(rgb, yaw, pitch, faces)[0])
    if animate is not None:
        box = face_box(faces, rgb.shape)
        frames = [zoom(red(rgb, y, p, faces)[0], box) for y, p in animation_angles()]
        result["animation"] = write_video(animate, frames, fps=12)
    return result


def process_stream(frames, out: str | Path, yaw: float, pitch: float, fps: float, quiet: bool = False,
                   redirector: Redirector | None = None) -> dict:
    """Frames (iterable of (index, RGB)) → redirected MP4/GIF; frames without a face are said and kept."""
    red = redirector or Redirector(static=False)
    stats = {"frames": 0, "without_face": 0}

    def gen():
        for i, rgb in frames:
            new, n = red(rgb, yaw, pitch)
            stats["frames"] += 1
            if n == 0:
                stats["without_face"] += 1
                _say(f"frame {i}: {NO_FACE}", quiet)
            yield new

    stats["video"] = write_video(out, gen(), fps=fps)
    return stats


def process_video(path: str | Path, out: str | Path, yaw: float, pitch: float, max_frames: int | None = None,
                  quiet: bool = False, redirector: Redirector | None = None) -> dict:
    fps = video_info(path)["fps"]
    frames = ((i, f) for i, _, f in read_video(path))
    if max_frames:
        frames = itertools.islice(frames, max_frames)
    return process_stream(frames, out, yaw, pitch, fps, quiet, redirector)


def process_camera(index: int, out: str | Path, yaw: float, pitch: float, frames: int = 100,
                   quiet: bool = False, redirector: Redirector | None = None) -> dict:
    import cv2

    cap, first = open_camera(index)
    fps = cap.get(cv2.CAP_PROP_FPS) or 15.0

    def gen():
        frame, i = first, 0
        try:
            while frame is not None and i < frames:
                yield i, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                i += 1
                ok, frame = cap.read()
                if not ok:
                    frame = None
        finally:
            cap.release()

    return process_stream(gen(), out, yaw, pitch, fps if 1 <= fps <= 120 else 15.0, quiet, redirector)


def is_image(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES - {".gif"}
