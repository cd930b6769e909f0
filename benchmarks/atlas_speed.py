"""Speed of the atlas operations on the 60k Fashion-MNIST training set, against naive loops.

For each operation, our batched implementation and a naive per-item baseline run in this one
process on the same inputs; prints JSON with seconds for each and their ratio.

- encode: the 60,000 training images through the 784-400-20 VAE's encoder (4,096 per batch)
  against one image at a time;
- PCA knobs (k = 5), active units with per-unit KL, and the 2-D map (PCA) on the 60k x 20 codes
  against per-item Python accumulation; a linear probe on 12k codes (Sneaker vs Sandal) against
  per-item stochastic gradient steps;
- slerp of 64 pairs x 7 steps and a decoded 64 x 7 traversal, against per-item loops.

    python benchmarks/atlas_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import torch
from timing import timed

from latentatlas.atlas import Knobs, embed_2d, encode, slerp, unit_stats
from latentatlas.concepts import LinearProbe
from latentatlas.data import load_dataset
from latentatlas.models import ImageModelConfig, ImageVAE


@torch.no_grad()
def naive_encode(model, x):
    return torch.stack([model.encode(x[i:i + 1])[0][0] for i in range(len(x))])


def naive_unit_stats(mu, logvar):
    n, d = mu.shape
    means, sq, kl = [0.0] * d, [0.0] * d, [0.0] * d
    for i in range(n):
        row, lv = mu[i].tolist(), logvar[i].tolist()
        for j in range(d):
            means[j] += row[j]
            sq[j] += row[j] * row[j]
            kl[j] += 0.5 * (row[j] ** 2 + pow(2.718281828459045, lv[j]) - 1 - lv[j])
    return [(sq[j] - means[j] ** 2 / n) / (n - 1) for j in range(d)], [k / n for k in kl]


def naive_pca(codes, k):
    """Covariance by per-item outer products, then an eigendecomposition."""
    mean = codes.mean(0)
    cov = torch.zeros(codes.shape[1], codes.shape[1], dtype=torch.float64)
    for row in codes.double():
        c = row - mean
        cov += torch.outer(c, c)
    vals, vecs = torch.linalg.eigh(cov / (len(codes) - 1))
    return vecs[:, -k:].flip(1).T


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    data = load_dataset("fashion-mnist")
    torch.manual_seed(0)
    model = ImageVAE(ImageModelConfig()).eval()
    x = data.train_x
    result: dict = {"benchmark": "atlas_speed", "items": len(x), "threads": a.threads,
                    "torch": torch.__version__, "ops": {}}

    def record(name, ours, naive, **extra):
        result["ops"][name] = {"seconds": round(ours, 4), "naive_seconds": round(naive, 4),
                               "speedup": round(naive / ours, 1), **extra}

    t_ours, codes = timed(lambda: encode(model, x))
    t_naive, _ = timed(lambda: naive_encode(model, x[:5000]), repeat=1)
    record("encode_60k", t_ours, t_naive * len(x) / 5000, naive_measured_on=5000)
    mu, logvar = codes.mu, codes.logvar
    t_ours, _ = timed(lambda: Knobs(5).fit(mu))
    t_naive, _ = timed(lambda: naive_pca(mu, 5), repeat=1)
    record("pca_knobs_k5", t_ours, t_naive)
    t_ours, _ = timed(lambda: unit_stats(mu, logvar))
    t_naive, _ = timed(lambda: naive_unit_stats(mu[:10000], logvar[:10000]), repeat=1)
    record("active_units_and_kl", t_ours, t_naive * 6, naive_measured_on=10000)
    t_ours, _ = timed(lambda: embed_2d(mu, "pca"))
    t_naive, _ = timed(lambda: naive_pca(mu, 2), repeat=1)
    record("map_pca", t_ours, t_naive)
    labels = data.train_y
    pos, neg = mu[labels == 7], mu[labels == 5]  # Sneaker vs Sandal: 6,000 codes each

    def naive_probe():
        """Logistic regression by per-item stochastic gradient steps (5 passes)."""
        w, b = torch.zeros(mu.shape[1], dtype=torch.float64), 0.0
        x = torch.cat([pos, neg]).double()
        y = [1.0] * len(pos) + [0.0] * len(neg)
        for _ in range(5):
            for i in range(len(x)):
                p_i = 1.0 / (1.0 + math.exp(-(float(x[i] @ w) + b)))
                w -= 0.01 * (p_i - y[i]) * x[i]
                b -= 0.01 * (p_i - y[i])
        return w

    t_ours, _ = timed(lambda: LinearProbe().fit(pos, neg))
    t_naive, _ = timed(naive_probe, repeat=1)
    record("probe_12k", t_ours, t_naive)
    z0, z1 = mu[:64], mu[64:128]

    def traversal():
        with torch.no_grad():
            paths = torch.stack([slerp(z0[i], z1[i], 7) for i in range(64)])  # (64, 7, D)
            return model.decode(paths.reshape(-1, mu.shape[1]))

    def naive_traversal():
        with torch.no_grad():
            return [model.decode(slerp(z0[i], z1[i], 7)[j:j + 1]) for i in range(64)
                    for j in range(7)]

    t_ours, _ = timed(traversal)
    t_naive, _ = timed(naive_traversal, repeat=1)
    record("traversal_64x7", t_ours, t_naive)
    result["all_under_1s_except_encode"] = all(
        v["seconds"] < 1.0 for k, v in result["ops"].items() if k != "encode_60k")
    result["encode_under_2s"] = result["ops"]["encode_60k"]["seconds"] < 2.0
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
