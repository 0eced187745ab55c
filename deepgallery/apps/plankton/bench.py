"""`deepgallery bench plankton`: the shipped networks on rotated Fashion-MNIST test images they never saw.

Metrics (the competition's log loss first): the cyclic network with test-time augmentation (`logloss`,
`accuracy`), the same network without it (`logloss_no_tta`, `accuracy_no_tta`), the plain CNN of equal parameter
count with TTA (`logloss_plain`, `accuracy_plain`), the two averaged (`logloss_ensemble`: the team averaged
many models), and CPU speed without TTA (`images_per_s`, `images_per_s_plain`, batch 64, one torch thread).
Both checkpoints were trained the same way for the same number of steps (their JSON says how); the bench loads
them, it never trains. `--quick`: 1000 test images instead of 4000.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ...core.runtime import torch_threads
from .data import as_input, rotated_fashion_mnist
from .model import load_shipped, parameter_count
from .predict import accuracy, logloss, probabilities

BENCH_FULL = {"images": 4000, "tta": 8, "speed_images": 512}
BENCH_QUICK = {"images": 1000, "tta": 8, "speed_images": 256}
TEST_SEED = 2015  # the rotations and scales of the test images (the training images used seed 0)


def images_per_s(model, x: torch.Tensor, size: torch.Tensor, batch: int = 64) -> float:
    net = model.net.eval()
    with torch.no_grad():
        net(as_input(x[:batch]), size[:batch])  # warm-up
        start = time.perf_counter()
        for i in range(0, len(x), batch):
            net(as_input(x[i:i + batch]), size[i:i + batch])
    return len(x) / (time.perf_counter() - start)


def bench(quick: bool = False) -> dict[str, Any]:
    plan = BENCH_QUICK if quick else BENCH_FULL
    cyclic, plain = load_shipped("cyclic"), load_shipped("plain")
    test = rotated_fashion_mnist("t10k", cyclic.cfg.size, TEST_SEED, limit=plan["images"])
    y = test.y.numpy()
    with torch_threads(1):
        speed = images_per_s(cyclic, test.x[:plan["speed_images"]], test.size[:plan["speed_images"]])
        speed_plain = images_per_s(plain, test.x[:plan["speed_images"]], test.size[:plan["speed_images"]])
    with torch_threads(2):
        p_cyc = probabilities([cyclic], test.x, test.size, tta=plan["tta"])
        p_cyc_plain = probabilities([cyclic], test.x, test.size)
        p_plain = probabilities([plain], test.x, test.size, tta=plan["tta"])
    metrics = {
        "logloss": round(logloss(p_cyc, y), 4),
        "accuracy": round(accuracy(p_cyc, y), 4),
        "logloss_no_tta": round(logloss(p_cyc_plain, y), 4),
        "accuracy_no_tta": round(accuracy(p_cyc_plain, y), 4),
        "logloss_plain": round(logloss(p_plain, y), 4),
        "accuracy_plain": round(accuracy(p_plain, y), 4),
        "logloss_ensemble": round(logloss((p_cyc + p_plain) / 2, y), 4),
        "images_per_s": round(speed, 1),
        "images_per_s_plain": round(speed_plain, 1),
    }
    print(", ".join(f"{k} {v}" for k, v in metrics.items()))
    return {"metrics": metrics, "device": "cpu",
            "config": {"test": f"Fashion-MNIST t10k, first {plan['images']}, random rotation 0-360 and scale "
                               f"0.75-1.33 (seed {TEST_SEED})", "tta_transforms": plan["tta"],
                       "parameters": parameter_count(cyclic.net), "parameters_plain": parameter_count(plain.net),
                       "trained": {"cyclic": cyclic.meta, "plain": plain.meta},
                       "speed": "batch 64, one torch thread, float32, no TTA"}}
