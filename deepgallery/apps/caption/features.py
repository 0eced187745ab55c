"""Section 3.1.1 "Representing images": detected regions + the whole image, each as a CNN feature vector.

The paper runs an R-CNN detector (ImageNet-200 classes), keeps the top 19 locations plus the whole image, and
computes the 4096-d fc7 feature of each crop with the CNN. Here the detector is the offline COCO CenterNet
(``core.detector``; 80 classes) and the CNN the offline EfficientNet-Lite0 (``core.backbones``; its 1280-d pooled
feature). Each region is cropped from the photo (with a little context, as R-CNN's 16 px padding) and run through
the CNN on its own, as in the paper. The whole image also gives the ImageNet class probabilities, which the
pseudo-caption writer uses (pseudo.py), and a small colour summary for the same purpose.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

FEATURE_DIM = 1280  # EfficientNet-Lite0's pooled feature
WHOLE_SIDE = 224  # the whole image goes through the CNN at its training size
REGION_SIDE = 160  # region crops are smaller on screen; a smaller input keeps 10 crops per photo cheap on a CPU


@dataclass
class EncodedImage:
    """One photo as the alignment model sees it: box 0 is the whole image, then the detections (best first)."""

    boxes: np.ndarray  # (R, 4) x1, y1, x2, y2 in the photo's pixels
    labels: list[str]  # "image" for box 0, then COCO class names
    scores: np.ndarray  # (R,) detector scores (1 for the whole image)
    features: np.ndarray  # (R, 1280) float32 CNN features
    width: int
    height: int
    imagenet: list[tuple[str, float]] = field(default_factory=list)  # whole image's top-5 ImageNet classes


@functools.lru_cache(maxsize=1)
def _cnn():
    from ...core.backbones import efficientnet_lite0, imagenet_class_names

    net, prep = efficientnet_lite0()
    return net.eval(), prep, imagenet_class_names()


def _resized(rgb: np.ndarray, side: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA if max(h, w) > side else cv2.INTER_LINEAR)


def cnn_features(crops: list[np.ndarray], side: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 1280) pooled features and (N, 1000) ImageNet logits of RGB uint8 crops, each stretched to side × side."""
    import torch

    net, prep, _ = _cnn()
    x = torch.from_numpy(np.stack([_resized(c, side) for c in crops])).permute(0, 3, 1, 2).float() / 255  # (N,3,S,S)
    with torch.inference_mode():
        out = net.extract(prep.normalize(x), ["pool", "logits"])
    return out["pool"].numpy().astype(np.float32), out["logits"].numpy()


def region_crop(rgb: np.ndarray, box, context: float = 0.1) -> np.ndarray:
    """The box enlarged by `context` of its size on each side (R-CNN keeps 16 px of context), clipped to the photo."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * context, (y2 - y1) * context
    a, b = int(max(0, x1 - dx)), int(max(0, y1 - dy))
    c, d = int(min(w, np.ceil(x2 + dx))), int(min(h, np.ceil(y2 + dy)))
    return rgb[b:max(d, b + 1), a:max(c, a + 1)]


def encode(rgb: np.ndarray, max_regions: int = 9, min_score: float = 0.3) -> EncodedImage:
    """Detect, crop and embed: the paper's image representation {v_i}, i = 1..R (R ≤ max_regions + 1)."""
    from ...core.detector import DetectorConfig, shared_detector

    h, w = rgb.shape[:2]
    found = shared_detector(DetectorConfig(min_score=min_score)).detect(rgb)[:max_regions]
    whole_feat, logits = cnn_features([rgb], WHOLE_SIDE)
    feats = [whole_feat]
    if found:
        feats.append(cnn_features([region_crop(rgb, (d.x1, d.y1, d.x2, d.y2)) for d in found], REGION_SIDE)[0])
    probs = np.exp(logits[0] - logits[0].max())
    probs /= probs.sum()
    names = _cnn()[2]
    top = [(names[i], float(probs[i])) for i in np.argsort(probs)[::-1][:5]]
    return EncodedImage(
        boxes=np.array([[0, 0, w, h]] + [[d.x1, d.y1, d.x2, d.y2] for d in found], np.float32),
        labels=["image"] + [d.label for d in found],
        scores=np.array([1.0] + [d.score for d in found], np.float32),
        features=np.concatenate(feats).astype(np.float32),
        width=w, height=h, imagenet=top,
    )


CLASS_SCALE = 4.0  # the class scores' size beside the standardised CNN features (which have unit spread)


def model_features(enc: EncodedImage, dim: int = FEATURE_DIM) -> np.ndarray:
    """The rows the models read: the CNN features, and when the model's feature_dim says so (1280 + 80) each region's
    detector class score (the score at its COCO class, 0 elsewhere; 0 for the whole image), times CLASS_SCALE.
    R-CNN's regions come with their class scores too; with them the m-RNN can name what the detector saw."""
    from ...core.detector import COCO_CLASSES

    if dim == enc.features.shape[1]:
        return enc.features
    scores = np.zeros((len(enc.labels), len(COCO_CLASSES)), np.float32)
    for i, (label, score) in enumerate(zip(enc.labels, enc.scores, strict=True)):
        if i and label in COCO_CLASSES:
            scores[i, COCO_CLASSES.index(label)] = CLASS_SCALE * float(score)
    return np.concatenate([enc.features, scores], 1)


def save_cache(path, encoded: dict[str, EncodedImage]) -> None:
    """Encoded images keyed by their dataset key, in one .npz (features in float16), written atomically."""
    from ...core.atomic import atomic_path

    keys = list(encoded)
    counts = np.array([len(encoded[k].labels) for k in keys], np.int64)
    arrays = {
        "keys": np.array(keys), "offsets": np.concatenate([[0], np.cumsum(counts)]),
        "boxes": np.concatenate([encoded[k].boxes for k in keys]).astype(np.float32),
        "labels": np.array([lab for k in keys for lab in encoded[k].labels]),
        "scores": np.concatenate([encoded[k].scores for k in keys]).astype(np.float32),
        "features": np.concatenate([encoded[k].features for k in keys]).astype(np.float16),
        "sizes": np.array([[encoded[k].width, encoded[k].height] for k in keys], np.int64),
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_cache(path) -> dict[str, EncodedImage]:
    """The inverse of `save_cache` (no pickles: plain arrays only)."""
    z = np.load(path, allow_pickle=False)
    off = z["offsets"]
    out = {}
    for n, key in enumerate(z["keys"]):
        a, b = int(off[n]), int(off[n + 1])
        out[str(key)] = EncodedImage(z["boxes"][a:b], [str(x) for x in z["labels"][a:b]], z["scores"][a:b],
                                     z["features"][a:b].astype(np.float32), int(z["sizes"][n, 0]),
                                     int(z["sizes"][n, 1]))
    return out
