#!/usr/bin/env bash
# The GPU checks of issues 18 (parts 2, 3 and 5) and 16 (GAN speed), as one call on a lent GPU
# machine (prepare with scripts/gpu_prepare.sh; the steps take 590 s at most: give the call
# timeout_s 600). Each step has its own time limit, so one that hangs leaves the others their
# time; everything lands in $OUT.
# Rehearse it here first, small and on the CPU: DEVICE=cpu QUICK=1 bash scripts/gpu_checks.sh
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-checks}
DEVICE=${DEVICE:-cuda}
if [ "${QUICK:-0}" = 1 ]; then
    small=(--epochs 2 --n-train 1000); gan=(--rounds 1 --n 512)
    sweep=(--k 2 --n-train 512 --rounds 1)
else
    small=(--epochs 5); gan=(--rounds 3 --n 60000); sweep=(--rounds 1)
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
# the captured steps against the launched ones, a sweep on the GPU, nccl under torchrun
step pytest.txt 110 $py -m pytest -q -p no:cacheprovider tests/test_graphs.py tests/test_ddp.py \
    tests/test_sweep.py -k "cuda or gpu or one_process"
step device_speed.json 170 $py benchmarks/device_speed.py --device "$DEVICE" "${small[@]}"
step device_speed_bf16.json 90 $py benchmarks/device_speed.py --device "$DEVICE" "${small[@]}" \
    --precision bf16 --models mlp,conv
step gan_speed.json 140 $py benchmarks/gan_speed.py --device "$DEVICE" "${gan[@]}"
step sweep_speed.json 80 $py benchmarks/sweep_speed.py --device "$DEVICE" --no-cli "${sweep[@]}"
tail -n 3 "$OUT/pytest.txt"
tail -n 20 "$OUT/errors.log"
exit 0
