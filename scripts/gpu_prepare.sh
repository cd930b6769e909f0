#!/usr/bin/env bash
# Run here, before a session's one call on a lent GPU machine: the machine's image has torch,
# numpy, safetensors, tqdm and pytest but no Debian data sets, so Fashion-MNIST travels in
# .gpu/ (ignored by git; name it in the device tool's `carry`). Then, on the machine:
#   bash scripts/gpu_checks.sh        (carry: [".gpu"], timeout_s: 600)
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/datasets/fashion-mnist
[ -d "$src" ] || { echo "error: $src is missing (apt-get install dataset-fashion-mnist)" >&2; exit 2; }
mkdir -p .gpu/data/fashion-mnist
cp "$src"/*.gz .gpu/data/fashion-mnist/
du -sh .gpu
