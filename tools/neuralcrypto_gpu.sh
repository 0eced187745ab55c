#!/usr/bin/env bash
# Train the hardened neuralcrypto cipher on the GPU machine for at most MINUTES wall-clock minutes (several
# variants side by side), attack it and the paper's cipher with the suite, and pack everything into
# OUTDIR/neuralcrypto.tar (hardened.safetensors/.json/_otp.png, variants' checkpoints and logs, suite.json, run.log).
#   bash tools/neuralcrypto_gpu.sh MINUTES OUTDIR
# Needs only torch, numpy, safetensors, tqdm, matplotlib and the repo on PYTHONPATH; no data.
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD} DEEPGALLERY_QUIET=1 MPLBACKEND=Agg OMP_NUM_THREADS=1
# a hard stop 30 s past the time box (the runner allows 90): what was measured by then still goes into the tar
LIMIT=$(python3 -c "print(int(float('$MINUTES') * 60 + 30))")
timeout "$LIMIT" python3 tools/neuralcrypto_gpu.py --minutes "$MINUTES" --work "$WORK" 2>&1 | tee "$WORK/run.log" \
  | tail -n 40 || echo "stopped at the time box"
(cd "$WORK" && tar cf "$OUTDIR/neuralcrypto.tar" --exclude='*.tmp' .)
echo "wrote $OUTDIR/neuralcrypto.tar"
