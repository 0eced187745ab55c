"""`deepgallery bench deepwarp`: gaze error measured by the iris landmarks on the output (two real faces), and speed.

For each test face (640×480 frames) and each requested redirection (yaw, pitch) the face mesh measures
the gaze of each eye before and after (eyeball model of `geometry.py`); the achieved redirection is the
difference, and ``gaze_error_deg`` is the mean Euclidean distance between achieved and requested
(yaw, pitch). ``noop_gaze_error_deg`` is the same for an unchanged frame (the error of doing nothing).
``ms_per_face`` times the whole path on one 640×480 frame: face mesh, eye crops, network, warp.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

EXAMPLES = Path(__file__).parent / "examples"
FULL_ANGLES = [(y, p) for y in (-15, -10, -5, 0, 5, 10, 15) for p in (-10, 0, 10) if (y, p) != (0, 0)]
QUICK_ANGLES = [(-15, 0), (15, 0), (-10, 0), (10, 0), (0, -10), (0, 10), (10, -10), (-10, 10)]


def to_frame(rgb: np.ndarray, box: tuple[int, int, int, int], size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Cut `box` (x0, y0, x1, y1; 4:3) out of a photo and scale it to a W×H frame, like a webcam close-up."""
    import cv2

    x0, y0, x1, y1 = box
    return cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)


def test_frames() -> list[tuple[str, np.ndarray]]:
    """640×480 frames of two real faces, each as a close-up and a medium shot, and both mirrored:
    the astronaut photo (eyes ≈ 50 and 38 px wide in the frame) and matplotlib's Grace Hopper portrait
    (≈ 60 and 46 px). The order interleaves the faces so `--quick` (the first two) sees both."""
    from matplotlib import cbook

    from ...core.media import read_image

    def views(name: str, rgb: np.ndarray, close: tuple, medium: tuple) -> list[tuple[str, np.ndarray]]:
        width = rgb.shape[1]

        def mirror(box: tuple) -> tuple:
            return (width - box[2], box[1], width - box[0], box[3])

        flipped = rgb[:, ::-1]
        return [(f"{name}-close", to_frame(rgb, close)), (f"{name}-medium", to_frame(rgb, medium)),
                (f"{name}-close-mirrored", to_frame(flipped, mirror(close))),
                (f"{name}-medium-mirrored", to_frame(flipped, mirror(medium)))]

    astronaut = views("astronaut", read_image(EXAMPLES / "astronaut.jpg"), (105, 40, 345, 220), (65, 10, 385, 250))
    hopper = views("hopper", read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
                   (64, 72, 464, 372), (0, 10, 512, 394))
    return [frame for pair in zip(astronaut, hopper, strict=True) for frame in pair]


def achieved_redirection(before, after) -> np.ndarray:
    """(yaw, pitch) the iris turned by, in the eye frame (corners) of the input photo.

    MediaPipe's refined eye-contour landmarks drift with the iris (a rigid 10° iris shift that leaves the
    corners in place moves the detected corners by up to 1.7 px), so the output's iris is measured against
    the input's corners — the warp is local to the eye and the head does not move.
    """
    from .face import Eye

    return np.subtract(Eye(before.corners, after.iris).gaze(), before.gaze())


def eye_offset(eye, yaw: float, pitch: float) -> np.ndarray:
    """The eyeball model's iris displacement for (yaw, pitch), in image px (along and across the eye axis)."""
    from .geometry import angles_to_offset

    c0, c1 = eye.corners
    axis = (c1 - c0) / max(eye.width, 1e-6)
    normal = np.array([-axis[1], axis[0]])
    dx, dy = angles_to_offset(yaw, pitch, eye.width)
    return dx * axis + dy * normal


def known_shift(frame: np.ndarray, face, yaw: float, pitch: float) -> np.ndarray:
    """The synthetic ground truth: each iris moved by exactly the eyeball model's offset, under still lids
    (`iris.shift_iris`); no network. Instruments are scored on it (``instrument_error_deg``)."""
    from .iris import shift_iris

    out = frame
    for eye in face.values():
        out = shift_iris(out, eye.contour, eye.iris, eye.iris_radius, *eye_offset(eye, yaw, pitch))
    return out


def measured_redirection(before_frame: np.ndarray, after_frame: np.ndarray, eye, fit=None) -> np.ndarray | None:
    """(yaw, pitch) the iris turned by, by the classical localiser of `iris.py` (None: iris not found).

    The iris centre of the input is the limbus circle fit (`iris.locate`); the output's is that centre
    plus the iris' sub-pixel displacement (`iris.track_iris`); both are turned into angles against the
    input's eye corners with the eyeball model.
    """
    from .face import Eye
    from .iris import locate, track_iris

    fit = fit or locate(before_frame, eye)
    if fit is None:
        return None
    d = track_iris(before_frame, after_frame, eye.contour, fit.center, fit.radius)
    if d is None:
        return None
    return np.subtract(Eye(eye.corners, fit.center + d).gaze(), Eye(eye.corners, fit.center).gaze())


def render_check(eyes: int = 16, seed: int = 5) -> list[tuple[tuple[float, float], np.ndarray]]:
    """The instrument on procedural eyes (`render.py` at 3× the crop size) re-rendered at a known gaze.

    Unlike `known_shift` this is not a translation of pixels: the iris is re-drawn foreshortened, the upper
    lid follows the pitch, the glint and noise are new. The lid contour is the renderer's own parabolas.
    Returns (requested, measured) pairs like the bench's, for `_score`.
    """
    from .face import Eye
    from .geometry import CropFrame
    from .iris import track_iris
    from .render import RenderConfig, render, sample_params

    fr = CropFrame(height=96, width=144, inner_x=27.0, outer_x=117.0, center_y=48.0)
    cfg = RenderConfig(frame=fr)
    gen = torch.Generator().manual_seed(seed)
    p = sample_params(eyes, cfg, gen)
    zero = torch.zeros(eyes)
    p.update(tilt=zero, shift_x=zero, shift_y=zero, lid_skew=zero)
    cx, cy = fr.center
    u = np.linspace(-1, 1, 9)
    pairs = []
    to_u8 = lambda t: (t.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)  # noqa: E731
    a = to_u8(render(p, zero, zero, cfg, gen))
    for yaw, pitch in QUICK_ANGLES:
        b = to_u8(render(p, zero + yaw, zero + pitch, cfg, gen))
        for i in range(eyes):
            ew = fr.eye_width * float(p["scale"][i])
            upper, lower = -ew * float(p["upper"][i]) * (1 - u**2), ew * float(p["lower"][i]) * (1 - u**2)
            contour = np.concatenate([np.stack([cx + u * ew / 2, cy + lower], 1),
                                      np.stack([cx + u[::-1][1:-1] * ew / 2, cy + upper[::-1][1:-1]], 1)])
            d = track_iris(a[i], b[i], contour, (cx, cy), float(p["iris_r"][i]) * ew)
            if d is not None:
                corners = np.array([[cx - ew / 2, cy], [cx + ew / 2, cy]])
                pairs.append(((yaw, pitch), np.asarray(Eye(corners, np.array([cx, cy]) + d).gaze())))
    return pairs


def _score(pairs: list[tuple[tuple[float, float], np.ndarray]]) -> dict[str, float]:
    """Mean errors and achieved/requested gains from (requested, achieved) pairs."""
    req = np.array([r for r, _ in pairs], float)
    ach = np.array([a for _, a in pairs], float)
    d = ach - req
    gain = [float((req[:, k] @ ach[:, k]) / max(req[:, k] @ req[:, k], 1e-9)) for k in (0, 1)]
    return {"error": float(np.mean(np.hypot(d[:, 0], d[:, 1]))), "yaw": float(np.mean(np.abs(d[:, 0]))),
            "pitch": float(np.mean(np.abs(d[:, 1]))), "gain_yaw": gain[0], "gain_pitch": gain[1],
            "noop": float(np.mean(np.hypot(req[:, 0], req[:, 1])))}


def bench(quick: bool = False) -> dict:
    """`deepgallery bench deepwarp [--quick]`: the metrics above (quick: two frames, eight angles), with their
    configuration."""
    from ...core.runtime import torch_threads
    from .iris import locate
    from .pipeline import Redirector

    red = Redirector()
    angles = QUICK_ANGLES if quick else FULL_ANGLES
    ours, ours_mp, known, known_mp = [], [], [], []
    per_face: dict[str, list] = {}
    for frame_name, frame in test_frames()[: 2 if quick else None]:
        face_store = per_face.setdefault(frame_name.split("-")[0], [])
        before = red.mesh.faces(frame)
        if not before:
            continue
        fits = {name: locate(frame, eye) for name, eye in before[0].items()}
        for yaw, pitch in angles:
            outputs = ((red(frame, yaw, pitch, before)[0], ours, ours_mp),
                       (known_shift(frame, before[0], yaw, pitch), known, known_mp))
            for out, store, store_mp in outputs:
                after = red.mesh.faces(out)
                for name, eye in before[0].items():
                    achieved = measured_redirection(frame, out, eye, fits[name])
                    if achieved is not None:
                        store.append(((yaw, pitch), achieved))
                        if store is ours:
                            face_store.append(((yaw, pitch), achieved))
                    if after:
                        store_mp.append(((yaw, pitch), achieved_redirection(eye, after[0][name])))
    s, k, s_mp, k_mp = _score(ours), _score(known), _score(ours_mp), _score(known_mp)
    rc = _score(render_check(8 if quick else 16))

    frame = test_frames()[0][1]
    red(frame, 10, 0)  # warm-up
    times = []
    for _ in range(5 if quick else 20):
        t = time.perf_counter()
        red(frame, 10.0, -5.0)
        times.append(time.perf_counter() - t)
    crops = torch.rand(2, 3, 32, 48)  # (E, 3, H, W): two eyes
    with torch_threads(1), torch.no_grad():  # one thread, as in Redirector
        t = time.perf_counter()
        for _ in range(20):
            red.model(crops, torch.tensor([[10.0, -5.0]] * 2))
        net_ms = (time.perf_counter() - t) / 20 * 1000
    r = lambda v: round(v, 2)  # noqa: E731
    return {
        "metrics": {
            "gaze_error_deg": r(s["error"]),
            "gaze_error_yaw_deg": r(s["yaw"]),
            "gaze_error_pitch_deg": r(s["pitch"]),
            "achieved_over_requested_yaw": r(s["gain_yaw"]),
            "achieved_over_requested_pitch": r(s["gain_pitch"]),
            "noop_gaze_error_deg": r(s["noop"]),
            **{f"gaze_error_{face}_deg": r(_score(pairs)["error"]) for face, pairs in per_face.items() if pairs},
            "instrument_error_deg": r(k["error"]),
            "instrument_gain_yaw": r(k["gain_yaw"]),
            "instrument_gain_pitch": r(k["gain_pitch"]),
            "instrument_error_renders_deg": r(rc["error"]),
            "gaze_error_mediapipe_deg": r(s_mp["error"]),
            "achieved_over_requested_mediapipe_yaw": r(s_mp["gain_yaw"]),
            "achieved_over_requested_mediapipe_pitch": r(s_mp["gain_pitch"]),
            "instrument_error_mediapipe_deg": r(k_mp["error"]),
            "instrument_gain_mediapipe_yaw": r(k_mp["gain_yaw"]),
            "instrument_gain_mediapipe_pitch": r(k_mp["gain_pitch"]),
            "ms_per_face": round(float(np.median(times)) * 1000, 1),
            "ms_network_two_eyes": r(net_ms),
            "eyes_measured": len(ours),
            "eyes_measured_known_shift": len(known),
        },
        "config": {"frames": "640x480 frames of the astronaut and Grace Hopper (matplotlib sample) faces, each as "
                             "close-up, medium shot and both mirrored", "angles": angles,
                   "metric": "mean |achieved - requested| (yaw, pitch) in degrees; achieved = iris centre after vs "
                             "before (limbus circle fit on the input + sub-pixel iris tracking, iris.py), in the "
                             "input's eye-corner frame, eyeball radius 0.42 x eye width",
                   "instrument": "the same measurement on known iris shifts (the eyeball model's offset for each "
                                 "requested angle, iris moved rigidly under still lids: bench.known_shift); "
                                 "_renders: on procedural eyes re-rendered at the requested gaze (bench.render_check)",
                   "mediapipe": "the same with MediaPipe's refined iris landmark (468/473) as the iris centre"},
        "device": "cpu",
    }
