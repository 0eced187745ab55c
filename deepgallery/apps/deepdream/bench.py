"""`deepgallery bench deepdream`: seconds for one 512 px dream at the default settings (4 octaves x 10 steps).

Also ``objective_gain`` — the amplified layer's 1/2 mean a^2 after / before, a check that the dream did its job.
The original (Caffe GoogLeNet) has no published timing; the peer column of the README says so.
"""

from __future__ import annotations

import time

import torch

from deepgallery.core.backbones import backbone, default_backbone
from deepgallery.core.backbones.images import auto_threads, fit_side, load_rgb, to_tensor
from deepgallery.core.runtime import choose_device

from .dream import DEFAULT_LAYER, DreamConfig, Objective, dream
from .pipeline import EXAMPLES


def bench(quick: bool = False, device: str = "cpu") -> dict:
    """Seconds and objective gain of one 512 px dream (`quick`: 2 octaves x 5 steps) on `device` (default the
    CPU, where the README's numbers come from; float32 there and on a GPU, as `run deepdream` defaults to)."""
    dev = choose_device(device)
    threads = auto_threads(0)
    img, _ = load_rgb(EXAMPLES / "astronaut.jpg", max_side=512)
    x = to_tensor(fit_side(img, 512), dev)  # (1, 3, 512, 512)
    name = default_backbone("dream")
    net, prep = backbone(name)
    net = net.to(dev)
    cfg = DreamConfig()  # the defaults: 4 octaves x 10 steps, jitter 32, step 1.5/255
    if quick:
        cfg = DreamConfig(octaves=2, steps=5)
    obj = Objective(net, prep, DEFAULT_LAYER[name], precision="fp32")
    _synchronize(dev)
    t = time.perf_counter()
    y = dream(x, obj, cfg)
    _synchronize(dev)
    seconds = time.perf_counter() - t
    with torch.no_grad():
        gain = obj(y).item() / obj(x).item()
    return {"metrics": {"seconds_512": round(seconds, 2), "objective_gain": round(gain, 2)},
            "config": {"backbone": name, "layer": DEFAULT_LAYER[name], "octaves": cfg.octaves, "steps": cfg.steps,
                       "size": 512, "image": "astronaut.jpg", "torch_threads": threads},
            "device": str(dev)}


def _synchronize(dev: torch.device) -> None:
    """Wait for a GPU's queued work, so the clock measures the dream and not only its launch."""
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
