"""A sweep of K VAEs trained at once against the same K trained one after another.

    python benchmarks/sweep_speed.py [--k 10] [--epochs 1] [--n-train 20000] [--threads 2]

For each width (64, the small models the sweep is for, and 400, the canonical 784-400-20 VAE):
``latentatlas.sweep`` over seeds 0..K-1 (one process, stacked weights, one vmapped step)
against K ``latentatlas.fit`` runs of the same seeds in sequence (fp32 both), alternating
which goes first over ``--rounds`` (the best of each), after a warm-up that pays the imports
and first calls for both; prints the wall time of each, the throughput ratio, and the
largest gap between a model's test loss in the sweep and alone (nats per image).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import torch

import latentatlas


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    opts = {"n_train": a.n_train, "n_test": 2000, "latent_dim": 20, "epochs": a.epochs}
    seeds = list(range(a.k))
    warm = Path(tempfile.mkdtemp())  # imports and first calls (torch's optimizers pull in
    latentatlas.sweep("vae", "shapes", warm / "s", seeds=[0, 1], hidden=[(8,)], epochs=1,
                      n_train=128, n_test=32)  # dynamo) are paid here, by neither side
    latentatlas.fit("vae", "shapes", warm / "f", hidden=(8,), epochs=1, n_train=128,
                    n_test=32, precision="fp32")
    shutil.rmtree(warm)
    out: dict = {"benchmark": "sweep_speed", "k": a.k, "epochs": a.epochs,
                 "n_train": a.n_train, "threads": a.threads, "widths": {}}
    for width in (64, 400):
        times = {"sweep": [], "sequential": []}
        gap = 0.0
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
        gap = max(abs(x - y) for x, y in zip(losses_sweep, losses_alone, strict=True))
        best = {k: min(v) for k, v in times.items()}
        out["widths"][str(width)] = {
            "sweep_s": round(best["sweep"], 2), "sequential_s": round(best["sequential"], 2),
            "speedup": round(best["sequential"] / best["sweep"], 2),
            "test_loss_sweep_mean": round(sum(losses_sweep) / a.k, 3),
            "test_loss_alone_mean": round(sum(losses_alone) / a.k, 3),
            "largest_test_loss_gap": round(gap, 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
