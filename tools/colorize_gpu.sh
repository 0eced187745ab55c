#!/usr/bin/env bash
# GPU training of colorize's shipped checkpoint (the paper's network at width 0.125, 224x224 crops of the photo
# corpus, simulated user hints, pseudo scene labels) for at most MINUTES wall-clock minutes; writes OUTDIR/colorize.tar
# (colorize.safetensors + colorize.json, fp16, and the training log).
#   bash tools/colorize_gpu.sh MINUTES OUTDIR      (from the repository root; data in .gpu/colorize, made by
#                                                   python tools/colorize_gpu.py --prepare .gpu/colorize)
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD}
export DEEPGALLERY_QUIET=1 OMP_NUM_THREADS=1
status=0
python3 tools/colorize_gpu.py --minutes "$MINUTES" --out "$WORK" > "$WORK/train.log" 2>&1 || status=$?
tail -n 5 "$WORK/train.log"
nvidia-smi --query-gpu=name,memory.used --format=csv > "$WORK/gpu.txt" 2>/dev/null || true
tar -C "$WORK" -cf "$OUTDIR/colorize.tar" $(cd "$WORK" && ls colorize.safetensors colorize.json train.log gpu.txt 2>/dev/null)
echo "wrote $OUTDIR/colorize.tar (exit $status)"
exit $status
