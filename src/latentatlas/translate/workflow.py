"""Translation and similarity on run directories: what the CLI calls."""

from __future__ import annotations

import hashlib
import json
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..atlas import run_codes
from ..errors import OptionError, UserError
from ..fileio import write_atomic, write_cache
from ..models.rundir import WEIGHTS, load, load_image_data, load_run_data, read_config, run_kind
from .maps import make_map, map_from_state, map_state
from .relative import relative_agreement
from .similarity import cka, shuffled_null, svcca


def _same_data(runs: list[str | Path]) -> None:
    """The runs must have seen the same items: same dataset, sizes and settings."""
    specs = [read_config(r).get("data") or {} for r in runs]
    names = {s.get("name") for s in specs}
    if len(names) != 1:
        raise UserError("the runs were trained on different datasets ("
                        + ", ".join(sorted(map(str, names))) + "): codes of the same items "
                        "are needed")
    for key, what in (("n_train", "training"), ("n_test", "test")):
        sizes = {s.get(key) for s in specs}
        if len(sizes) != 1:
            raise UserError(f"the runs' codes hold different item counts ({what} items: "
                            + ", ".join(sorted("all" if n is None else str(n) for n in sizes))
                            + ")")
    # the seed draws the items of shapes, of the text corpora and of stratified samples
    seeded = [s.get("name") == "shapes" or run_kind(r).text or s.get("subset") == "stratified"
              for s, r in zip(specs, runs, strict=True)]
    settings = {(s.get("seed", 0) if seeded_ else 0, s.get("image_size"), s.get("n"),
                 s.get("subset", "first"))
                for s, seeded_ in zip(specs, seeded, strict=True)}
    if len(settings) != 1:
        raise UserError("the runs' datasets differ in their settings (seed, size or image size)")


def paired_codes(runs: list[str | Path], split: str, data_dir: str | Path | None = None,
                 dataset: str | None = None) -> list[torch.Tensor]:
    """Posterior means of the same items in every run: ``split`` of the runs' shared dataset
    (cached codes), or of ``dataset`` when one is named (encoded afresh by each model)."""
    if dataset is None:
        _same_data(runs)
        data = load_run_data(runs[0], data_dir)  # images, or the texts of a shared corpus
        codes = [run_codes(r, split, data=data).mu for r in runs]
    else:
        from ..atlas import encode
        from ..data import load_dataset

        data = load_dataset(dataset, data_dir=data_dir)
        x = data.train_x if split == "train" else data.test_x
        codes = []
        for r in runs:
            model = load(r)
            shape = tuple(model.config.image_shape)
            if tuple(x.shape[1:]) != shape:
                raise OptionError("data", f"{dataset}: its images are {tuple(x.shape[1:])}, "
                                f"{r} takes {shape}")
            codes.append(encode(model, x).mu)
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
    names = [str(r) for r in runs]
    matrix = [[1.0] * len(runs) for _ in runs]  # linear CKA of every pair, 1 on the diagonal
    for p in pairs:
        i, j = names.index(p["a"]), names.index(p["b"])
        matrix[i][j] = matrix[j][i] = p["cka_linear"]
    return {"runs": names, "items": len(idx), "measures": list(measures), "pairs": pairs,
            "cka_linear_matrix": matrix}


def recon_unit(model) -> str:
    """What ``_recon_loss`` measures for ``model``: -log p(x | z) where the decoder has a
    likelihood, else (a GAN) the squared pixel error summed over the item."""
    return "nats per item" if hasattr(model, "likelihood") else "squared error per item"


def _recon_loss(model, z: torch.Tensor, x: torch.Tensor, batch: int = 2048) -> float:
    """Mean reconstruction loss of ``x`` from codes ``z`` under the model's decoder, in
    ``recon_unit(model)``."""
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            if hasattr(model, "likelihood"):
                out = model.decoder_output(z[i:i + batch]).float()
                total += float(model.likelihood.nll(out, x[i:i + batch]).sum())
            else:
                total += float((model.decode(z[i:i + batch]) - x[i:i + batch]).pow(2).sum())
    return total / len(x)


def translate(run_a: str | Path, run_b: str | Path, method: str = "linear",
              anchors: int | None = None, seed: int = 0, save: bool = True,
              data_dir: str | Path | None = None, dataset: str | None = None) -> dict[str, Any]:
    """Fit T: Z_A -> Z_B on training pairs (all, or ``anchors`` of them), score it on test
    pairs, and measure decode-through quality against B's own and a shuffled-pairs null."""
    try:
        t_map, null_map = make_map(method), make_map(method)
    except ValueError as e:
        raise UserError(str(e)) from None
    train_a, train_b = paired_codes([run_a, run_b], "train", data_dir, dataset)
    test_a, test_b = paired_codes([run_a, run_b], "test", data_dir, dataset)
    rng = np.random.default_rng(seed)
    fit_idx = torch.from_numpy(rng.permutation(len(train_a))[:anchors or len(train_a)])
    if len(fit_idx) < 2:
        raise OptionError("anchors", "must be at least 2")
    t_map.fit(train_a[fit_idx], train_b[fit_idx])
    shuffled = fit_idx[torch.from_numpy(rng.permutation(len(fit_idx)))]
    null_map.fit(train_a[fit_idx], train_b[shuffled])
    model_b = load(run_b)
    if dataset is None:
        x = load_image_data(run_b, data_dir).test_x
    else:
        from ..data import load_dataset

        x = load_dataset(dataset, data_dir=data_dir).test_x
    result = {
        "a": str(run_a), "b": str(run_b), "method": method, "pairs_fitted": len(fit_idx),
        "held_out": t_map.score(test_a, test_b), "null": null_map.score(test_a, test_b),
        "recon_b_own": round(_recon_loss(model_b, test_b, x), 3),
        "recon_through_map": round(_recon_loss(model_b, t_map.transform(test_a), x), 3),
        "recon_through_null": round(_recon_loss(model_b, null_map.transform(test_a), x), 3),
        "recon_unit": recon_unit(model_b),
    }
    if save:
        variant = "-".join(v for v in (
            f"anchors{len(fit_idx)}-seed{seed}" if len(fit_idx) < len(train_a) else "",
            "on-" + "".join(c if c.isalnum() or c in "-_." else "-" for c in dataset)
            if dataset else "") if v)
        result["saved"] = str(save_translation_map(t_map, run_a, run_b, variant=variant))
    return result


def _map_path(run_a: str | Path, run_b: str | Path, method: str, variant: str = "") -> Path:
    """Where the map from A to B lives: one file per method for the map fitted on all paired
    training codes (the one the explorer and ``transfer`` read), and one per ``variant`` (fitted
    on some anchors, or on another dataset), so a variant never replaces the full map."""
    name = f"translate-{Path(run_b).name}-{method}{'-' + variant if variant else ''}"
    return Path(run_a) / "atlas" / f"{name}.safetensors"


def _map_key(run_a: str | Path, run_b: str | Path) -> str:
    """Changes whenever either run's weights or dataset change."""
    h = hashlib.sha256()
    for run in (run_a, run_b):
        h.update((Path(run) / WEIGHTS).read_bytes())
        h.update(json.dumps(read_config(run).get("data"), sort_keys=True).encode())
    return h.hexdigest()


def save_translation_map(t_map, run_a: str | Path, run_b: str | Path,
                         cache: bool = False, variant: str = "") -> Path:
    """Write a fitted map's state to ``RUN_A/atlas/translate-<B>-<method>[-variant]
    .safetensors``; as a ``cache``, a folder that cannot be written is noted, not an error."""
    tensors, meta = map_state(t_map)
    path = _map_path(run_a, run_b, t_map.method, variant)
    meta.update(run_b=str(Path(run_b).resolve()), key=_map_key(run_a, run_b))

    def write(p: Path) -> None:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(p), metadata=meta)

    if cache:
        write_cache(path, write)
    else:
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, write)
    return path


def load_translation_map(run_a: str | Path, run_b: str | Path, method: str):
    """The map from A to B saved by ``translate``, or None when there is none or either run
    has changed since it was fitted."""
    path = _map_path(run_a, run_b, method)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("key") != _map_key(run_a, run_b) or meta.get("method") != method:
                return None
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        return map_from_state(tensors, meta)
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError):
        return None  # damaged or from another version: fit it again


def translation_map(run_a: str | Path, run_b: str | Path, method: str = "affine",
                    save: bool = True):
    """The saved map from A's latent space to B's, or one fitted on all paired training codes
    (and saved, unless ``save`` is False)."""
    t_map = load_translation_map(run_a, run_b, method)
    if t_map is None:
        za, zb = paired_codes([run_a, run_b], "train")
        t_map = make_map(method).fit(za, zb)
        if save:
            save_translation_map(t_map, run_a, run_b, cache=True)
    return t_map


def transfer(run_a: str | Path, run_b: str | Path, concept_name: str, method: str = "linear",
             alphas: torch.Tensor | None = None, n_items: int = 64, seed: int = 0,
             data_dir: str | Path | None = None) -> dict[str, Any]:
    """Carry a concept of run A into run B, as a direction and (for a probe) as an identifier.

    Direction: both ends of a step along it, z_A +- v, go through the map T; B's direction is
    the average of T(z_A + v) - T(z_A - v) over test items of the concept's group,
    renormalised, and is measured in B beside the same concept found directly in B.
    Identifier (probe concepts): B's codes of the training items of the probe's two groups are
    labelled by A's probe on A's codes of the same items (the complete-data method); a probe
    fitted on them is compared with A's probe and with the groups' ground truth on the test
    items of the two groups.
    """
    from ..atlas import encode
    from ..concepts.directions import LinearProbe
    from ..concepts.groups import select
    from ..concepts.store import get_concept, load_concepts
    from ..concepts.traversal import measure_effect
    from ..concepts.workflow import effect_inputs, fit_concept

    alphas = torch.linspace(-2.0, 2.0, 5) if alphas is None else alphas
    concept = get_concept(run_a, concept_name)
    train_a, train_b = paired_codes([run_a, run_b], "train", data_dir)
    try:
        t_map = make_map(method).fit(train_a, train_b)
    except ValueError as e:
        raise UserError(str(e)) from None
    model_a, model_b = load(run_a), load(run_b)
    data = load_image_data(run_b, data_dir)
    pos = concept.params.get("pos")
    idx = select(pos, data, split="test", n=n_items)
    z_a = encode(model_a, data.test_x[idx]).mu
    v = concept.vector
    carried = (t_map.transform(z_a + v) - t_map.transform(z_a - v)).double().mean(0)
    if not float(carried.norm()) > 1e-12:
        raise UserError(f"the map sends {concept_name!r} to the zero vector in B")
    carried = (carried / carried.norm()).float()
    if concept_name not in load_concepts(run_b):  # the same concept, found directly in B
        p = concept.params
        fit_concept(run_b, concept_name, concept.method.split(":")[0], pos=p.get("pos"),
                    neg=p.get("neg"), edit=p.get("edit"), prop=p.get("property"),
                    target=p.get("target"), n=p.get("n"), seed=seed, data_dir=data_dir)
    direct = get_concept(run_b, concept_name)
    starts, reference = effect_inputs(model_b, data, n_items, pos)
    target = concept.params.get("target")
    direction: dict[str, Any] = {"cosine_carried_vs_direct": float(carried @ direct.vector)}
    for name, vec in (("carried", carried), ("direct", direct.vector)):
        effect = measure_effect(model_b, starts, vec, alphas, reference)
        direction[name] = {"mean_slopes": effect.mean_slope,
                           "standardised_effect": effect.standardised(),
                           "leakage": effect.leakage(target) if target else None}
    result: dict[str, Any] = {"a": str(run_a), "b": str(run_b), "concept": concept_name,
                              "map": method, "target": target, "direction": direction,
                              "identifier": None}
    if concept.method == "probe" and concept.params.get("neg"):
        # the probe's domain: the items of its two groups (in the training and test splits)
        w_a = concept.vector.double() * concept.scores.get("norm", 1.0)
        b_a = concept.scores.get("intercept", 0.0)
        domain = torch.cat([select(concept.params["pos"], data),
                            select(concept.params["neg"], data)])
        labels_a = (train_a[domain].double() @ w_a + b_a) > 0  # A's identifier on A's codes
        if labels_a.all() or not labels_a.any():
            raise UserError(f"A's probe {concept_name!r} puts every item of its groups on one "
                            "side")
        codes_b = train_b[domain]
        probe_b = LinearProbe(seed=seed).fit(codes_b[labels_a], codes_b[~labels_a])
        w_b = probe_b.direction_.double() * probe_b.norm_
        test_a, test_b = paired_codes([run_a, run_b], "test", data_dir)
        gt_pos = select(concept.params["pos"], data, split="test")
        gt_neg = select(concept.params["neg"], data, split="test")
        test_idx = torch.cat([gt_pos, gt_neg])
        truth = torch.cat([torch.ones(len(gt_pos)), torch.zeros(len(gt_neg))]).bool()
        says_a = (test_a[test_idx].double() @ w_a + b_a) > 0
        says_b = (test_b[test_idx].double() @ w_b + probe_b.intercept_) > 0
        result["identifier"] = {
            "agreement_with_a": float((says_a == says_b).double().mean()),
            "accuracy_b_vs_truth": float((says_b == truth).double().mean()),
            "accuracy_a_vs_truth": float((says_a == truth).double().mean()),
            "labelled_train_items": len(domain), "test_items": len(test_idx),
        }
    return result
