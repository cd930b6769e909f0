"""A sweep of K VAEs trained at once against the same K trained one after another.

    python benchmarks/sweep_speed.py [--k 10] [--epochs 1] [--n-train 20000] [--rounds 2]
                                     [--threads 2] [--no-cli] [--device cpu|cuda]

For each width (64, the small models a sweep is for, and 400, the canonical 784-400-20 VAE),
two comparisons, each alternating which side goes first over ``--rounds`` (the best of each):

- in process: ``latentatlas.sweep`` over seeds 0..K-1 (stacked weights, one vmapped step)
  against K ``latentatlas.fit`` runs of the same seeds in sequence, after a warm-up that pays
  the imports and first calls for both: the strongest baseline, our trainer with its data
  already in memory;
- from the shell, as a user runs them: one ``latentatlas sweep`` process against K
  ``latentatlas train`` processes in sequence, each paying its start (imports, data).

fp32 everywhere; ``--device cuda`` runs both sides on the GPU (the lone runs with our
trainer's defaults there, their step a CUDA graph). Prints JSON: the wall time of each side,
the throughput ratios, and the largest gap between a model's test loss in the sweep and alone
(nats per image).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import latentatlas

CLI = [sys.executable, "-m", "latentatlas"]


def _shell(args: list[str], threads: int) -> None:
    p = subprocess.run([*CLI, *args, "--threads", str(threads)], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(Path(latentatlas.__file__).parents[1])})
    if p.returncode:
        raise SystemExit(p.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-cli", action="store_true", help="only the in-process comparison")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    opts = {"n_train": a.n_train, "n_test": 2000, "latent_dim": 20, "epochs": a.epochs,
            "device": a.device}
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in opts.items()]
    seeds = list(range(a.k))
    warm = Path(tempfile.mkdtemp())  # imports and first calls are paid here, by neither side
    latentatlas.sweep("vae", "shapes", warm / "s", seeds=[0, 1], hidden=[(8,)], epochs=1,
                      n_train=128, n_test=32, device=a.device)
    latentatlas.fit("vae", "shapes", warm / "f", hidden=(8,), epochs=1, n_train=128,
                    n_test=32, precision="fp32", device=a.device)
    shutil.rmtree(warm)
    out: dict = {"benchmark": "sweep_speed", "k": a.k, "epochs": a.epochs,
                 "n_train": a.n_train, "threads": a.threads, "device": a.device, "widths": {}}
    for width in (64, 400):
        times: dict[str, list[float]] = {"sweep": [], "sequential": [], "sweep_cli": [],
                                         "sequential_cli": []}
        for r in range(a.rounds):
            for way in (("sweep", "sequential") if r % 2 == 0 else ("sequential", "sweep")):
                root = Path(tempfile.mkdtemp())
                t = time.perf_counter()
                if way == "sweep":
                    swept = latentatlas.sweep("vae", "fashion-mnist", root, seeds=seeds,
                                              hidden=[(width,)], **opts)
                    losses_sweep = [row["test_loss"] for row in swept["runs"]]
                else:
                    losses_alone = [latentatlas.fit("vae", "fashion-mnist", root / str(s),
                                                    seed=s, hidden=(width,), precision="fp32",
                                                    **opts).metrics[-1]["test_loss"]
                                    for s in seeds]
                times[way].append(time.perf_counter() - t)
                shutil.rmtree(root)
            if a.no_cli:
                continue
            for way in (("sweep_cli", "sequential_cli") if r % 2 == 0
                        else ("sequential_cli", "sweep_cli")):
                root = Path(tempfile.mkdtemp())
                t = time.perf_counter()
                if way == "sweep_cli":
                    _shell(["sweep", "--data", "fashion-mnist", "--seeds", f"0..{a.k - 1}",
                            "--hidden", str(width), *flags, "--out", str(root)], a.threads)
                else:
                    for s in seeds:
                        _shell(["train", "--data", "fashion-mnist", "--seed", str(s), "--hidden",
                                str(width), "--precision", "fp32", *flags, "--out",
                                str(root / str(s))], a.threads)
                times[way].append(time.perf_counter() - t)
                shutil.rmtree(root)
        gap = max(abs(x - y) for x, y in zip(losses_sweep, losses_alone, strict=True))
        best = {k: min(v) for k, v in times.items() if v}
        row = {"sweep_s": round(best["sweep"], 2), "sequential_s": round(best["sequential"], 2),
               "speedup": round(best["sequential"] / best["sweep"], 2)}
        if not a.no_cli:
            row.update({"sweep_cli_s": round(best["sweep_cli"], 2),
                        "sequential_cli_s": round(best["sequential_cli"], 2),
                        "speedup_cli": round(best["sequential_cli"] / best["sweep_cli"], 2)})
        out["widths"][str(width)] = {
            **row, "test_loss_sweep_mean": round(sum(losses_sweep) / a.k, 3),
            "test_loss_alone_mean": round(sum(losses_alone) / a.k, 3),
            "largest_test_loss_gap": round(gap, 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
