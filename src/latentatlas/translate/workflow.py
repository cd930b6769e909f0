"""Translation and similarity on run directories: what the CLI calls."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from ..atlas import run_codes
from ..errors import UserError
from ..fileio import write_atomic
from ..models.run import load, load_run_data, read_config
from .maps import MLPMap, make_map
from .relative import relative_agreement
from .similarity import cka, shuffled_null, svcca


def _same_data(runs: list[str | Path]) -> None:
    specs = [read_config(r).get("data") or {} for r in runs]
    names = {s.get("name") for s in specs}
    if len(names) != 1:
        raise UserError("the runs were trained on different datasets ("
                        + ", ".join(sorted(map(str, names))) + "): codes of the same items "
                        "are needed")


def paired_codes(runs: list[str | Path], split: str,
                 data_dir: str | Path | None = None) -> list[torch.Tensor]:
    """Posterior means of the same items (``split`` of the shared dataset) in every run."""
    _same_data(runs)
    data = load_run_data(runs[0], data_dir)
    codes = [run_codes(r, split, data=data).mu for r in runs]
    if len({len(c) for c in codes}) != 1:
        raise UserError("the runs' codes hold different item counts: "
                        + ", ".join(str(len(c)) for c in codes))
    return codes


def similarity(runs: list[str | Path], items: int = 5000, anchors: int = 300, seed: int = 0,
               data_dir: str | Path | None = None) -> dict[str, Any]:
    """Every pair of runs: linear CKA (plain, debiased), RBF CKA, SVCCA and the agreement of
    relative representations, each beside its shuffled-pairs null, on test items."""
    if len(runs) < 2:
        raise UserError("similarity needs at least two runs")
    codes = paired_codes(runs, "test", data_dir)
    rng = np.random.default_rng(seed)
    idx = torch.from_numpy(np.sort(rng.permutation(len(codes[0]))[:items]))
    codes = [c[idx] for c in codes]
    anchor_idx = torch.from_numpy(rng.permutation(len(idx))[:anchors])
    measures = {
        "cka_linear": lambda x, y: cka(x, y),
        "cka_linear_debiased": lambda x, y: cka(x, y, debiased=True),
        "cka_rbf": lambda x, y: cka(x, y, kernel="rbf", max_items=2000, seed=seed),
        "svcca": svcca,
        "relative": lambda x, y: relative_agreement(x, y, anchor_idx),
    }
    pairs = []
    for i, j in combinations(range(len(runs)), 2):
        row: dict[str, Any] = {"a": str(runs[i]), "b": str(runs[j])}
        for name, fn in measures.items():
            row[name] = round(fn(codes[i], codes[j]), 4)
            row[name + "_null"] = round(shuffled_null(fn, codes[i], codes[j], repeats=3,
                                                      seed=seed), 4)
        pairs.append(row)
    return {"runs": [str(r) for r in runs], "items": len(idx), "measures": list(measures),
            "pairs": pairs}


def _recon_loss(model, z: torch.Tensor, x: torch.Tensor, batch: int = 2048) -> float:
    """Mean -log p(x | z) under the model's decoder, nats per item."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out = model.decoder_output(z[i:i + batch]).float()
            total += float(model.likelihood.nll(out, x[i:i + batch]).sum())
    return total / len(x)


def translate(run_a: str | Path, run_b: str | Path, method: str = "linear",
              anchors: int | None = None, seed: int = 0, save: bool = True,
              data_dir: str | Path | None = None) -> dict[str, Any]:
    """Fit T: Z_A -> Z_B on training pairs (all, or ``anchors`` of them), score it on test
    pairs, and measure decode-through quality against B's own and a shuffled-pairs null."""
    try:
        t_map, null_map = make_map(method), make_map(method)
    except ValueError as e:
        raise UserError(str(e)) from None
    train_a, train_b = paired_codes([run_a, run_b], "train", data_dir)
    test_a, test_b = paired_codes([run_a, run_b], "test", data_dir)
    rng = np.random.default_rng(seed)
    fit_idx = torch.from_numpy(rng.permutation(len(train_a))[:anchors or len(train_a)])
    if len(fit_idx) < 2:
        raise UserError("--anchors must be at least 2")
    t_map.fit(train_a[fit_idx], train_b[fit_idx])
    shuffled = fit_idx[torch.from_numpy(rng.permutation(len(fit_idx)))]
    null_map.fit(train_a[fit_idx], train_b[shuffled])
    model_b = load(run_b)
    x = load_run_data(run_b, data_dir).test_x
    result = {
        "a": str(run_a), "b": str(run_b), "method": method, "pairs_fitted": len(fit_idx),
        "held_out": t_map.score(test_a, test_b), "null": null_map.score(test_a, test_b),
        "recon_b_own": round(_recon_loss(model_b, test_b, x), 3),
        "recon_through_map": round(_recon_loss(model_b, t_map.transform(test_a), x), 3),
        "recon_through_null": round(_recon_loss(model_b, null_map.transform(test_a), x), 3),
    }
    if save:
        result["saved"] = str(save_map(t_map, run_a, run_b))
    return result


def save_map(t_map, run_a: str | Path, run_b: str | Path) -> Path:
    """Write a fitted map's state to ``RUN_A/atlas/translate-<B>-<method>.safetensors``."""
    if isinstance(t_map, MLPMap):
        tensors = {f"net.{k}": v for k, v in t_map.net_.state_dict().items()}
        tensors.update({k: getattr(t_map, k) for k in ("mean_a_", "std_a_", "mean_b_",
                                                        "std_b_")})
    else:
        tensors = {k: v for k, v in vars(t_map).items() if isinstance(v, torch.Tensor)}
    path = Path(run_a) / "atlas" / f"translate-{Path(run_b).name}-{t_map.method}.safetensors"
    path.parent.mkdir(exist_ok=True)
    meta = {"method": t_map.method, "run_b": str(Path(run_b).resolve())}
    if hasattr(t_map, "d_b_"):
        meta["d_b"] = str(t_map.d_b_)
    write_atomic(path, lambda p: save_file({k: v.contiguous() for k, v in tensors.items()},
                                           str(p), metadata=meta))
    return path
