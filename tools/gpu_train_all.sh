#!/usr/bin/env bash
# Run every app's GPU training script (tools/<id>_gpu.sh MINUTES OUTDIR) at once on one lent GPU machine, each
# time-boxed, and gather what they write (<OUTDIR>/<id>.tar) plus one logs.tar. A maintainer script: the device
# tool runs it from the repository root, e.g. `bash tools/gpu_train_all.sh 6 $OUT` (data carried in .gpu/,
# extra wheels in .whl/). Apps share the GPU; each script picks its own batch size.
set -u
minutes=${1:?minutes}
out=${2:?outdir}
rm -rf /tmp/gpu-logs; mkdir -p "$out" /tmp/gpu-logs
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if ! command -v python >/dev/null; then  # scripts may say `python`; the machine may only have python3
  mkdir -p /tmp/pybin && ln -sf "$(command -v python3)" /tmp/pybin/python && export PATH=/tmp/pybin:$PATH
fi
if compgen -G ".whl/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=$PWD:/tmp/site
fi
{ date; nvidia-smi; python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } \
  > /tmp/gpu-logs/machine.txt 2>&1
for script in tools/*_gpu.sh; do
  id=$(basename "$script" _gpu.sh)
  [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $id "* ]] && continue
  ( start=$(date +%s); timeout $(( ${minutes%.*} * 60 + 90 )) bash "$script" "$minutes" "$out" \
      > "/tmp/gpu-logs/$id.log" 2>&1
    echo "$id rc=$? seconds=$(( $(date +%s) - start ))" >> /tmp/gpu-logs/status.txt ) &
done
wait
nvidia-smi --query-gpu=memory.used,memory.total --format=csv >> /tmp/gpu-logs/machine.txt 2>&1
tar -C /tmp -cf "$out/logs.tar" gpu-logs
cat /tmp/gpu-logs/status.txt
ls -la "$out"
