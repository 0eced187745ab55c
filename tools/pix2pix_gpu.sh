#!/usr/bin/env bash
# GPU training of pix2pix's two shipped generators (edges -> photo: cGAN + L1 and L1 alone, Table 1's ablation),
# side by side on one GPU, for at most MINUTES wall-clock minutes; writes OUTDIR/pix2pix.tar.
#   bash tools/pix2pix_gpu.sh MINUTES OUTDIR        (from the repository root; data in .gpu/pix2pix/photos,
#                                                    made by: python tools/pix2pix_gpu.py --prepare .gpu/pix2pix/photos)
set -euo pipefail
MINUTES=${1:?minutes}
OUTDIR=${2:?outdir}
mkdir -p "$OUTDIR"
WORK=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD}
export DEEPGALLERY_QUIET=1 OMP_NUM_THREADS=2
# both runs share the time box; each stops itself, saves and exports
python tools/pix2pix_gpu.py --minutes "$MINUTES" --out "$WORK/edges2photo" --gan > "$WORK/edges2photo.log" 2>&1 &
GAN=$!
python tools/pix2pix_gpu.py --minutes "$MINUTES" --out "$WORK/edges2photo_l1" --no-gan > "$WORK/edges2photo_l1.log" 2>&1 &
L1=$!
status=0
wait $GAN || status=$?
wait $L1 || status=$?
nvidia-smi --query-gpu=name,memory.used --format=csv > "$WORK/gpu.txt" 2>/dev/null || true
tail -n 3 "$WORK"/*.log
tar -C "$WORK" -cf "$OUTDIR/pix2pix.tar" $(cd "$WORK" && ls edges2photo*.safetensors edges2photo*.json *.log gpu.txt 2>/dev/null)
echo "wrote $OUTDIR/pix2pix.tar (exit $status)"
exit $status
