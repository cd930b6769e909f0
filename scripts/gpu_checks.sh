#!/usr/bin/env bash
# The GPU checks of issues 18 (parts 2 and 5) and 16 (GAN speed), as one call on a lent GPU
# machine (about 6 minutes on an H200; prepare with scripts/gpu_prepare.sh). Each step has
# its own time limit, so one that hangs leaves the others their time; everything lands in $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-checks}
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
step pytest.txt 180 $py -m pytest -q -p no:cacheprovider tests/test_graphs.py tests/test_ddp.py \
    -k "cuda or one_process"
step device_speed.json 240 $py benchmarks/device_speed.py --device cuda --epochs 5
step device_speed_bf16.json 120 $py benchmarks/device_speed.py --device cuda --epochs 5 \
    --precision bf16 --models mlp,conv
step gan_speed.json 200 $py benchmarks/gan_speed.py --device cuda --rounds 3 --n 60000
tail -n 3 "$OUT/pytest.txt"
tail -n 20 "$OUT/errors.log"
exit 0
