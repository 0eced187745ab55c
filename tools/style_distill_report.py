"""How close the shipped slim nets are to the full-width nets: the measure of a distillation (`--distill-from`).
The slim nets shipped now are trained on their own with a larger style weight, so for them it measures how
different the two are, not a distillation gap; for a student of your own, `train.fidelity` gives the same numbers.

    python tools/style_distill_report.py

For each shipped style: PSNR / SSIM / mean |difference| of the slim net's output against the full-width net's on
whole photos (up to 512 px), separately for photos the distillation never saw and the ones it trained on, and both
nets' training-objective terms (content at relu2_2, style Grams
at relu1_2 … relu4_3 of the style image, as in train.py and bench.py; lower is better) on the held-out photos and the
512x512 bench photo. Prints a Markdown table.

Held out: matplotlib's `grace_hopper.jpg` (the last offline photo, left out by `DistillConfig.holdout = 2`) and its
`Minduka_Present_Blue_Pack.png` (a photo of a gift box that is not among the training photos). The other photo that
holdout leaves out, scikit-image's `cat`, is the same picture as `chelsea`, which is trained on, so it is not counted.
"""

from __future__ import annotations

import numpy as np

from deepgallery.apps.style.bench import fast_losses
from deepgallery.apps.style.fast import fast_checkpoint, load_fast
from deepgallery.apps.style.fast_infer import FastInference
from deepgallery.apps.style.photos import offline_photos
from deepgallery.apps.style.pipeline import EXAMPLES
from deepgallery.apps.style.train import DistillConfig, fidelity
from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import fit_side, load_rgb
from deepgallery.core.media import resize_max_side
from deepgallery.core.runtime import torch_threads


def held_out_photos() -> list[np.ndarray]:
    import matplotlib.cbook as cbook
    from PIL import Image

    out = []
    for name in ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png"):
        with cbook.get_sample_data(name) as f:
            out.append(resize_max_side(np.asarray(Image.open(f).convert("RGB")), 512))
    return out


def report(styles: tuple[str, ...] = ("swirl", "mosaic")) -> list[dict]:
    photos = offline_photos()
    trained = photos[:len(photos) - DistillConfig().holdout]
    held_out = held_out_photos()
    content, _ = load_rgb(EXAMPLES / "chelsea.jpg", max_side=512)
    bench_photo = fit_side(np.asarray(content)[:, 64:320], 512)
    loss_net = backbone(default_backbone("style"))
    rows = []
    for name in styles:
        slim_net, meta = load_fast(fast_checkpoint(name))
        full_net, _ = load_fast(fast_checkpoint(f"{name}-full"))
        slim, full = FastInference(slim_net), FastInference(full_net)
        style, _ = load_rgb(EXAMPLES / f"{name}.jpg", max_side=512)
        row = {"style": name, "steps": meta.get("step"), "held_out": fidelity(slim, full, held_out),
               "trained": fidelity(slim, full, trained)}
        for label, model in (("slim", slim), ("full", full)):
            per = [fast_losses(*loss_net, model, p, np.asarray(style)) for p in held_out]
            row[f"{label}_held_out"] = {t: float(np.mean([d[t] for d in per])) for t in ("content", "style")}
            row[f"{label}_bench"] = fast_losses(*loss_net, model, bench_photo, np.asarray(style))
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| style | distillation steps | PSNR / SSIM vs full, held-out photos "
             "| PSNR / SSIM vs full, training photos | content, held-out: full / slim | style, held-out: full / slim "
             "| content, bench 512: full / slim "
             "| style, bench 512: full / slim |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h, t = r["held_out"], r["trained"]
        lines.append(
            f"| {r['style']} | {r['steps']} | {h['psnr']:.1f} dB / {h['ssim']:.3f} "
            f"| {t['psnr']:.1f} dB / {t['ssim']:.3f} "
            f"| {r['full_held_out']['content']:.4f} / {r['slim_held_out']['content']:.4f} "
            f"| {r['full_held_out']['style']:.3g} / {r['slim_held_out']['style']:.3g} "
            f"| {r['full_bench']['content']:.4f} / {r['slim_bench']['content']:.4f} "
            f"| {r['full_bench']['style']:.3g} / {r['slim_bench']['style']:.3g} |")
    return "\n".join(lines)


if __name__ == "__main__":
    with torch_threads(1):
        print(markdown(report()))
