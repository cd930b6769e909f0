"""Speed of the maps between latent spaces and of CKA, against naive versions in this process.

- linear and Procrustes maps fitted on 60,000 pairs of 20-D codes (targets: under 1 s), against
  normal equations accumulated one pair at a time;
- the MLP map on the same pairs (target: under 60 s);
- linear CKA (plain and debiased) on 10,000 x 20 codes, against the n x n Gram-matrix formulas.

Synthetic codes: B is a fixed random linear map of A plus noise (speed does not depend on it).

    python benchmarks/translate_speed.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch
from timing import timed

from latentatlas.translate import LinearMap, MLPMap, ProcrustesMap, cka


def naive_lstsq(a, b):
    d = a.shape[1]
    ata, atb = torch.zeros(d, d, dtype=torch.float64), torch.zeros(d, b.shape[1],
                                                                    dtype=torch.float64)
    for i in range(len(a)):
        ata += torch.outer(a[i], a[i])
        atb += torch.outer(a[i], b[i])
    return torch.linalg.solve(ata, atb)


def gram_cka(x, y, debiased=False):
    x, y = x.double() - x.double().mean(0), y.double() - y.double().mean(0)
    k, g = x @ x.T, y @ y.T
    if not debiased:
        return float((k * g).sum() / ((k * k).sum() * (g * g).sum()).sqrt())
    n = len(k)

    def hsic(p, q):
        p, q = p.clone(), q.clone()
        p.fill_diagonal_(0)
        q.fill_diagonal_(0)
        return ((p * q).sum() + p.sum() * q.sum() / ((n - 1) * (n - 2))
                - 2 / (n - 2) * (p.sum(1) @ q.sum(1))) / (n * (n - 3))

    return float(hsic(k, g) / (hsic(k, k) * hsic(g, g)).sqrt())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    za = torch.randn(60_000, 20, generator=g)
    zb = za @ torch.randn(20, 20, generator=g) + 0.1 * torch.randn(60_000, 20, generator=g)
    ops: dict = {}
    t, _ = timed(lambda: LinearMap().fit(za, zb))
    t_naive, _ = timed(lambda: naive_lstsq(za[:10_000].double(), zb[:10_000].double()), 1)
    ops["linear_map_60k"] = {"seconds": round(t, 4), "naive_seconds": round(t_naive * 6, 3),
                             "naive_measured_on": 10_000, "speedup": round(t_naive * 6 / t, 1)}
    t, _ = timed(lambda: ProcrustesMap().fit(za, zb))
    ops["procrustes_map_60k"] = {"seconds": round(t, 4)}
    t, m = timed(lambda: MLPMap().fit(za, zb), 1)
    ops["mlp_map_60k"] = {"seconds": round(t, 2), "epochs_run": m.epochs_run_}
    x, y = za[:10_000], zb[:10_000]
    for debiased in (False, True):
        name = "cka_linear_debiased_10k" if debiased else "cka_linear_10k"
        t, ours = timed(lambda d=debiased: cka(x, y, debiased=d))
        t_naive, ref = timed(lambda d=debiased: gram_cka(x, y, d), 1)
        ops[name] = {"seconds": round(t, 5), "naive_seconds": round(t_naive, 3),
                     "speedup": round(t_naive / t, 1), "same_value": abs(ours - ref) < 1e-9}
    result = {"benchmark": "translate_speed", "threads": a.threads, "torch": torch.__version__,
              "ops": ops,
              "linear_and_procrustes_under_1s": ops["linear_map_60k"]["seconds"] < 1
              and ops["procrustes_map_60k"]["seconds"] < 1,
              "mlp_under_60s": ops["mlp_map_60k"]["seconds"] < 60}
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
