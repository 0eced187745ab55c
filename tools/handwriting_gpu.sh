#!/usr/bin/env bash
# Train the handwriting synthesis network (3 x 160 LSTM, K = 10, M = 20; the paper: 3 x 400, too big to ship) on the GPU machine for
# at most MINUTES wall-clock minutes, then pack the fp16 checkpoint, its JSON and the log into OUTDIR/handwriting.tar.
#   bash tools/handwriting_gpu.sh MINUTES OUTDIR
# Needs only torch, numpy, safetensors, tqdm and the repo on PYTHONPATH; the Hershey glyphs come from
# .gpu/handwriting/glyphs.json (made here by: python tools/handwriting_gpu_train.py --make-glyphs).
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD}
DEEPGALLERY_QUIET=1 python tools/handwriting_gpu_train.py --minutes "$MINUTES" --work "$WORK" 2>&1 | tee "$WORK/train.log" | tail -n 40
tar cf "$OUTDIR/handwriting.tar" -C "$WORK" synthesis.safetensors synthesis.json train.log
echo "wrote $OUTDIR/handwriting.tar"
