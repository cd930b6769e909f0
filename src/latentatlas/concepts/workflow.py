"""Concepts on a run directory: the functions the CLI (and later the explorer) call.

Each takes a run directory and plain options, loads what it needs (model, data, cached codes,
saved concepts) unless given it, and returns plain results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..atlas import encode, run_codes
from ..data import ImageData
from ..data.items import resolve_items
from ..errors import OptionError, UserError
from ..models.rundir import load, load_image_data
from .directions import Concept, LinearProbe, MeanDifference, PairedEdits, PropertyRegression
from .disentangle import disentangle
from .edits import apply_edit
from .groups import implied_target, select
from .identifiers import PixelClassifier, ProbeIdentifier
from .properties import PROPERTIES, measure
from .store import check_name, check_new, get_concept, load_concepts, save_concept
from .traversal import Effect, Identifier, measure_effect, slopes_per_item, traverse

EDIT_TARGETS = {"taller": "height", "wider": "width", "brighter": "brightness"}
CHECK_ALPHAS = torch.linspace(-2.0, 2.0, 5)  # the traversal every new concept is scored on


def effect_inputs(model, data: ImageData, n_items: int = 64,
                  selector: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Start codes (up to ``n_items`` test items matching ``selector``) and decoded references
    (the first 1,000 test items) that set each identifier's spread."""
    idx = select(selector, data, split="test", n=n_items)
    if len(idx) < 2:
        raise UserError(f"fewer than 2 test items match {selector!r} to start traversals from")
    starts = encode(model, data.test_x[idx]).mu
    with torch.no_grad():
        reference = model.decode(encode(model, data.test_x[:1000]).mu)
    return starts, reference


def trained_identifiers(specs: str, run: str | Path, model,
                        data: ImageData) -> dict[str, Identifier]:
    """``probe:CONCEPT`` and ``classifier:LABEL`` (comma-separated) -> {spec: identifier}."""
    out: dict[str, Identifier] = {}
    for spec in (t.strip() for t in specs.split(",") if t.strip()):
        kind, _, arg = spec.partition(":")
        if kind == "probe":
            out[spec] = ProbeIdentifier(model, get_concept(run, arg))
        elif kind == "classifier":
            idx = select(f"label={arg}", data)  # validates the label name
            out[spec] = PixelClassifier(int(data.train_y[idx[0]])).fit(data.train_x,
                                                                        data.train_y)
        else:
            raise UserError(f"identifiers are probe:CONCEPT or classifier:LABEL, got {spec!r}")
    return out


def fit_concept(run: str | Path, name: str, method: str, *, pos: str | None = None,
                neg: str | None = None, edit: str | None = None, prop: str | None = None,
                target: str | None = None, n: int | None = None, seed: int = 0,
                data_dir: str | Path | None = None, save: bool = True,
                force: bool = False) -> Concept:
    """Find a concept by ``method`` (groups, probe, edit, property), score it, and save it
    to the run (unless ``save`` is False; a concept of the same name is replaced only with
    ``force``).

    The scores hold the finder's own (AUC, consistency, R^2, ...), the standardised effect on
    every identifier along alphas -2..2 from test items of the concept's group, and, when the
    concept has a target identifier, its leakage into every other one.
    """
    check_name(name)
    if save:
        check_new(run, name, force)  # before the work, not after it
    model = load(run)
    data = load_image_data(run, data_dir)
    params: dict[str, Any] = {k: v for k, v in (("pos", pos), ("neg", neg), ("edit", edit),
                                                ("property", prop), ("n", n)) if v}
    if method in ("groups", "probe"):
        if not pos:
            raise OptionError("method", f"{method} needs a positive group `pos` (and "
                                        "optionally `neg`)")
        codes = run_codes(run, "train", model=model, data=data).mu
        p_idx = select(pos, data, n=n, seed=seed)
        n_idx = select(neg, data, n=n, seed=seed + 1, exclude=None if neg else p_idx)
        finder = MeanDifference() if method == "groups" else LinearProbe(seed=seed)
        finder.fit(codes[p_idx], codes[n_idx])
        target = target or implied_target(pos)  # height>18: a concept of height
    elif method == "edit":
        if not edit:
            raise OptionError("method", "edit needs an `edit` NAME:AMOUNT, e.g. taller:2")
        idx = select(pos, data, n=n or 200, seed=seed)
        if len(idx) < 1:
            raise OptionError("pos", f"{pos!r} matches no item")
        x = data.train_x[idx]
        finder = PairedEdits().fit(encode(model, x).mu, encode(model, apply_edit(x, edit)).mu)
        target = target or EDIT_TARGETS[edit.partition(":")[0]]
    elif method == "property":
        if not prop:
            raise OptionError("method", f"property needs a `prop` ({', '.join(PROPERTIES)})")
        codes = run_codes(run, "train", model=model, data=data).mu
        idx = select(pos, data, n=n or 5000, seed=seed)
        values = measure(data.train_x[idx], [prop])[prop]
        finder = PropertyRegression(seed=seed).fit(codes[idx], values)
        target = target or prop
    else:
        raise UserError(f"unknown method {method!r}: groups, probe, edit or property")
    if target is not None and target not in PROPERTIES:
        raise OptionError("target", f"{target!r} is unknown; known: {', '.join(PROPERTIES)}")
    if target:
        params["target"] = target
    concept = finder.to_concept(name, **params)
    starts, reference = effect_inputs(model, data, 64, pos)
    effect = measure_effect(model, starts, concept.vector, CHECK_ALPHAS, reference)
    concept.scores.update({f"effect_{k}": round(v, 5) for k, v in effect.standardised().items()})
    if target:
        concept.scores.update({f"leakage_{k}": round(v, 5)
                               for k, v in effect.leakage(target).items()})
    if save:
        save_concept(run, concept, replace=force)
    return concept


def traversal(run: str | Path, concept_name: str, item: str, alphas: torch.Tensor,
              n_items: int = 64, identifiers: str = "",
              data_dir: str | Path | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
    """The decoded strip (A, C, H, W) for one item and the slopes of every identifier: for
    that item and averaged over test items of the concept's group."""
    model = load(run)
    concept = get_concept(run, concept_name)
    if len(concept.vector) != model.latent_dim:
        raise UserError(f"concept {concept_name!r} has {len(concept.vector)} dimensions, the "
                        f"model {model.latent_dim}")
    data = load_image_data(run, data_dir)
    strip = traverse(model, encode(model, resolve_items([item], data)).mu, concept.vector,
                     alphas)  # (1, A, C, H, W)
    extra = trained_identifiers(identifiers, run, model, data)
    one = {k: float(v[0]) for k, v in slopes_per_item(strip, alphas, extra=extra).items()}
    starts, reference = effect_inputs(model, data, n_items, concept.params.get("pos"))
    effect = measure_effect(model, starts, concept.vector, alphas, reference, extra=extra)
    target = concept.params.get("target")
    return strip[0], {
        "concept": concept_name, "alphas": alphas.tolist(), "item": item, "item_slopes": one,
        "mean_slopes": effect.mean_slope, "standardised_effect": effect.standardised(),
        "sd": effect.sd, "leakage": effect.leakage(target) if target else None,
        "target": target, "starts": len(starts), "population": concept.params.get("pos"),
    }


def entanglement(run: str | Path, names: list[str] | None, alphas: torch.Tensor,
                 n_items: int = 64, identifiers: str = "",
                 data_dir: str | Path | None = None) -> dict[str, Any]:
    """Concepts x identifiers matrix of standardised effects, and each concept's leakage."""
    model = load(run)
    names = names or list(load_concepts(run))
    if not names:
        raise UserError("no concepts to compare; make some with latentatlas concept")
    concepts = [get_concept(run, n) for n in names]
    data = load_image_data(run, data_dir)
    extra = trained_identifiers(identifiers, run, model, data)
    columns = [*PROPERTIES, *extra]
    matrix, leak = [], {}
    for c in concepts:
        starts, reference = effect_inputs(model, data, n_items, c.params.get("pos"))
        effect: Effect = measure_effect(model, starts, c.vector, alphas, reference, extra=extra)
        matrix.append([effect.standardised()[k] for k in columns])
        if c.params.get("target"):
            leak[c.name] = effect.leakage(c.params["target"])
    return {"concepts": names, "identifiers": columns, "standardised_effect": matrix,
            "leakage": leak}


def disentangle_concept(run: str | Path, concept_name: str, keep: str, alphas: torch.Tensor,
                        n_items: int = 64, fit_items: int = 10_000, save: bool = False,
                        data_dir: str | Path | None = None) -> dict[str, Any]:
    """Take ``keep`` (a saved concept with a target, or a property) out of a concept three
    ways; measure, for each, the share of the target effect kept and the leakage left."""
    model = load(run)
    data = load_image_data(run, data_dir)
    concept = get_concept(run, concept_name)
    target = concept.params.get("target")
    if not target:
        raise UserError(f"concept {concept_name!r} has no target identifier; refit it with "
                        "a `target`")
    codes = run_codes(run, "train", model=model, data=data).mu
    # B's normal and eraser are fitted where A is used: on A's population when it has one
    fit_idx = select(concept.params.get("pos"), data, n=fit_items, seed=0)
    if len(fit_idx) < 8:
        raise UserError(f"only {len(fit_idx)} training items to fit {keep!r} on; need 8")
    if keep in load_concepts(run):
        other = get_concept(run, keep)
        keep_id = other.params.get("target")
        if not keep_id:
            raise UserError(f"concept {keep!r} has no target identifier; refit it with a "
                            "`target`")
        b_direction = other.vector
    elif keep in PROPERTIES:
        keep_id = keep
        values = measure(data.train_x[fit_idx], [keep_id])[keep_id]
        b_direction = PropertyRegression().fit(codes[fit_idx], values).direction_
    else:
        raise OptionError("keep", f"{keep!r} is neither a saved concept nor a property "
                        f"({', '.join(PROPERTIES)})")
    if keep_id == target:
        raise UserError(f"{concept_name!r} targets {target} itself; nothing would be left")
    values = measure(data.train_x[fit_idx], [keep_id])[keep_id]
    variants = {"original": concept.vector,
                **disentangle(concept.vector, b_direction, codes[fit_idx], values)}
    starts, reference = effect_inputs(model, data, n_items, concept.params.get("pos"))
    rows = {}
    for method, v in variants.items():
        std = measure_effect(model, starts, v, alphas, reference).standardised()
        rows[method] = {"target_effect": std[target], "kept_effect": std[keep_id],
                        "leakage": std[keep_id] / std[target] if std[target] > 0 else None,
                        "cosine_to_original": float(v @ concept.vector)}
    base = rows["original"]["target_effect"]
    for r in rows.values():  # undefined when the original does not move its target at all
        r["target_kept"] = r["target_effect"] / base if base > 0 else None
    if save:
        for method, v in variants.items():
            if method != "original":
                save_concept(run, Concept(f"{concept_name}-minus-{keep}-{method}", v,
                                          f"disentangle:{method}",
                                          {**concept.params, "from": concept_name,
                                           "keep": keep}),
                             replace=True)  # derived: rewritten by each disentangle
    return {"concept": concept_name, "target": target, "keep": keep, "keep_identifier": keep_id,
            "methods": rows}
