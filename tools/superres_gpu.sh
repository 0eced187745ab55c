#!/usr/bin/env bash
# GPU training of superres's shipped model (pixel recursive model + L2 baseline, Fashion-MNIST 7x7 -> 28x28) for at
# most MINUTES wall-clock minutes; writes OUTDIR/superres.tar (fashion.safetensors, fashion.json, train.log).
#   bash tools/superres_gpu.sh MINUTES OUTDIR       (from the repository root; data in .gpu/superres, made here by:
#                                                   python tools/superres_gpu.py --prepare .gpu/superres)
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD}
export DEEPGALLERY_QUIET=1 OMP_NUM_THREADS=2
python tools/superres_gpu.py --minutes "$MINUTES" --work "$WORK" --data .gpu/superres ${SUPERRES_GPU_ARGS:-} > "$WORK/train.log" 2>&1 \
  || { tail -n 30 "$WORK/train.log"; tar -C "$WORK" -cf "$OUTDIR/superres.tar" train.log; exit 1; }
tail -n 5 "$WORK/train.log"
tar -C "$WORK" -cf "$OUTDIR/superres.tar" fashion.safetensors fashion.json train.log
echo "wrote $OUTDIR/superres.tar"
