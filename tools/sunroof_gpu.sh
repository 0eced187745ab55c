#!/usr/bin/env bash
# GPU training of sunroof's roof finder (U-Net, width 16, depth 3: the shipped size) on generated towns made on the
# fly by CPU worker processes (numpy/scipy only; no data to upload), for at most MINUTES wall-clock minutes;
# writes OUTDIR/sunroof.tar (roofnet.safetensors + roofnet.json, fp16, and the training log).
#   bash tools/sunroof_gpu.sh MINUTES OUTDIR        (from the repository root)
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD}
export DEEPGALLERY_QUIET=1 OMP_NUM_THREADS=1
WORKERS=$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))
status=0
python3 - "$MINUTES" "$WORK" "$WORKERS" > "$WORK/train.log" 2>&1 <<'PY' || status=$?
import sys, time
import torch
from deepgallery.apps.sunroof.train import TrainConfig, export, train
from deepgallery.core import distributed

minutes, work, workers = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
device = "cuda" if torch.cuda.is_available() else "cpu"
cfg = TrainConfig(steps=100_000, batch=32, crop=128, width=16, depth=3, lr=3e-3, workers=workers,
                  minutes=max(0.05, minutes - 0.5), seed=1)
ctx = distributed.start(device)
start = time.time()
result = train(f"{work}/run", cfg, None, ctx)
command = (f"bash tools/sunroof_gpu.sh {sys.argv[1]} OUT  (TrainConfig(steps=100000, batch=32, crop=128, width=16, "
           f"depth=3, lr=3e-3, workers={workers}, minutes={cfg.minutes}, seed=1) on {device})")
gpu = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
export(result, f"{work}/roofnet", cfg, None, command, extra={"device": gpu})
print(f"trained {result.step} steps in {time.time() - start:.0f} s on {gpu}; last loss {result.losses[-1]:.4f}")
PY
tail -n 3 "$WORK/train.log"
tar -C "$WORK" -cf "$OUTDIR/sunroof.tar" $(cd "$WORK" && ls roofnet.safetensors roofnet.json train.log 2>/dev/null)
echo "wrote $OUTDIR/sunroof.tar (exit $status)"
exit $status
