"""Training speed when another process takes a core: thread policies against each other.

    python benchmarks/busy_core.py [--steps 150] [--rounds 3]

Each measurement is a fresh process (OpenMP reads its wait policy when torch loads) that
trains the 784-400-20 VAE (our model, fused Adam, batch 128, fp32) for ``--steps`` steps after
20 warm-up steps and reports items per second. Policies:

- ``torch-default``: every core, OpenMP's default (active) wait: what a plain script gets;
- ``threads-1``: one thread;
- ``passive``: every core, ``OMP_WAIT_POLICY=PASSIVE`` (waiting threads sleep);
- ``latentatlas``: whatever the package does by default (``latentatlas.threads``).

Each runs on an idle machine and beside a busy one (a process spinning on one core), rounds
interleaved; the JSON gives the median items/s of each, the slowdown busy / idle of each
policy, and each against ``torch-default`` idle, the plain script on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKER = r"""
import os, sys, time
policy, steps = sys.argv[1], int(sys.argv[2])
if policy == "latentatlas":  # the package first: whatever it sets before torch loads
    import latentatlas
    from latentatlas.threads import configure_threads
    configure_threads()
import torch
if policy == "threads-1":
    torch.set_num_threads(1)
from latentatlas.models.image import ImageModelConfig, ImageVAE
torch.manual_seed(0)
model = ImageVAE(ImageModelConfig())
opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
x = torch.rand(128 * 8, 1, 28, 28)
def step(i):
    loss = model.loss(x[(i % 8) * 128:(i % 8 + 1) * 128])["loss"]
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
for i in range(20):
    step(i)
t = time.perf_counter()
for i in range(steps):
    step(i)
print(128 * steps / (time.perf_counter() - t), torch.get_num_threads())
"""
POLICIES = ("torch-default", "threads-1", "passive", "latentatlas")


def measure(policy: str, steps: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("OMP_NUM_THREADS", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    out = subprocess.run([sys.executable, "-c", WORKER, policy, str(steps)], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    speed: dict[str, list[float]] = {f"{q}/{s}": [] for q in POLICIES for s in ("idle", "busy")}
    threads: dict[str, list[int]] = {k: [] for k in speed}
    for _ in range(a.rounds):
        for scene in ("idle", "busy"):
            spinner = None
            if scene == "busy":
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(1.0)
            try:
                for policy in POLICIES:
                    items, n = measure(policy, a.steps)
                    speed[f"{policy}/{scene}"].append(items)
                    threads[f"{policy}/{scene}"].append(n)
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
    median = {k: round(statistics.median(v), 1) for k, v in speed.items()}
    base = median["torch-default/idle"]
    result = {
        "benchmark": "busy_core", "cores": os.cpu_count(), "steps": a.steps,
        "rounds": a.rounds, "items_per_s": median, "threads_per_round": threads,
        "slowdown_busy_vs_idle": {q: round(median[f"{q}/idle"] / median[f"{q}/busy"], 2)
                                  for q in POLICIES},
        "vs_torch_default_idle": {k: round(v / base, 3) for k, v in median.items()},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
