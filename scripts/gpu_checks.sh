#!/usr/bin/env bash
# The GPU checks of issues 18 (parts 2 and 5) and 16 (GAN speed), as one call on a lent GPU
# machine (prepare with scripts/gpu_prepare.sh; the steps take 570 s at most: give the call
# timeout_s 600). Each step has its own time limit, so one that hangs leaves the others their
# time; everything lands in $OUT.
# Rehearse it here first, small and on the CPU: DEVICE=cpu QUICK=1 bash scripts/gpu_checks.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-checks}
DEVICE=${DEVICE:-cuda}
if [ "${QUICK:-0}" = 1 ]; then
    small=(--epochs 2 --n-train 1000); gan=(--rounds 1 --n 512)
else
    small=(--epochs 5); gan=(--rounds 3 --n 60000)
fi
mkdir -p "$OUT"
export PYTHONPATH=src LATENTATLAS_DATA=.gpu/data LATENTATLAS_CACHE=/tmp/latentatlas-cache
export PYTHONUNBUFFERED=1
py=python3
step() {  # step NAME SECONDS COMMAND...: its output in $OUT/NAME, its stderr in errors.log
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    echo "== $name" >>"$OUT/errors.log"
    timeout "$limit" "$@" >"$OUT/$name" 2>>"$OUT/errors.log"
    echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"
}
{ nvidia-smi -L; $py -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
# the CUDA graph's capture against the launched step, and torchrun with nccl (one process)
step pytest.txt 120 $py -m pytest -q -p no:cacheprovider tests/test_graphs.py tests/test_ddp.py \
    -k "cuda or one_process"
step device_speed.json 200 $py benchmarks/device_speed.py --device "$DEVICE" "${small[@]}"
step device_speed_bf16.json 100 $py benchmarks/device_speed.py --device "$DEVICE" "${small[@]}" \
    --precision bf16 --models mlp,conv
step gan_speed.json 150 $py benchmarks/gan_speed.py --device "$DEVICE" "${gan[@]}"
tail -n 3 "$OUT/pytest.txt"
tail -n 20 "$OUT/errors.log"
exit 0
