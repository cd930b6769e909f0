"""Commands that explain a model's predictions: explain (token attributions)."""

from __future__ import annotations

import argparse

from ..errors import UserError
from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("explain", help="which tokens a text classifier's prediction rests on")
    e.set_defaults(func=cmd_explain)
    e.add_argument("run")
    e.add_argument("--text", required=True)
    e.add_argument("--method", default="all",
                   choices=["saliency", "gradxinput", "ig", "occlusion", "lime", "all"])
    e.add_argument("--target", help="class to explain (default: the prediction)")
    e.add_argument("--samples", type=positive_int, default=5000, help="lime: masked texts")
    e.add_argument("--kernel-width", type=float, default=25.0, help="lime: kernel width")
    e.add_argument("--steps", type=positive_int, default=50, help="ig: integration steps")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--stability", type=positive_int, metavar="N",
                   help="rerun each method with N seeds: mean rank correlation of the top-10")
    e.add_argument("--evaluate", action="store_true",
                   help="deletion and insertion curves (areas) and the model-randomisation check")
    e.add_argument("--out", help="HTML file with the tokens coloured by score")
    e.add_argument("--json", action="store_true")
    add_cells_parser(sub)


def add_cells_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("cells", help="every RNN cell of a language model over a text, and the "
                                     "cells that follow a pattern")
    c.set_defaults(func=cmd_cells)
    c.add_argument("run")
    c.add_argument("--text", required=True, help="a UTF-8 text file to read")
    c.add_argument("--find", metavar="REGEX",
                   help="rank cells by correlation with 1-inside-a-match, e.g. '\"[^\"]*\"'")
    c.add_argument("--top", type=positive_int, default=10, help="cells to list")
    c.add_argument("--context", help="the context of a conditioned language model")
    c.add_argument("--out", help="HTML file: the text coloured by a chosen cell")
    c.add_argument("--json", action="store_true")


def cmd_cells(a: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from ..explain.cells import cell_activations, indicator, rank_cells
    from ..explain.render import cells_html
    from ..fileio import write_text
    from ..models import load, read_config
    from ..text.generation import parse_context

    if read_config(a.run).get("kind") != "lm":
        raise UserError(f"{a.run} is not a language model (train one with --model lm)")
    if a.out and not a.out.lower().endswith((".html", ".htm")):
        raise UserError("--out writes HTML: give a .html file")
    try:
        text = Path(a.text).read_bytes().decode("utf-8")
    except OSError as e:
        raise UserError(f"cannot read {a.text}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{a.text} is not UTF-8 text (byte {e.start})") from None
    model = load(a.run)
    spans, acts = cell_activations(model, text, parse_context(model, a.context))
    if a.find:
        ranked = rank_cells(acts, indicator(text, spans, a.find))
    else:  # the most variable cells first
        order = np.argsort(-acts.var(0), kind="stable")
        ranked = [(int(c), None) for c in order]
    top = ranked[: a.top]
    if a.out:
        write_text(a.out, cells_html([t for t, _, _ in spans], acts, ranked,
                                     f"{Path(a.run).name}: {Path(a.text).name}"))
    rows = [{"cell": c, "correlation": None if r is None else round(r, 4)} for c, r in top]
    lines = [f"{len(spans):,} tokens, {acts.shape[1]} cells"
             + (f"; cells following {a.find!r}:" if a.find else "; most variable cells:")]
    lines += [f"  cell {c:4d}" + ("" if r is None else f"  r = {r:+.3f}") for c, r in top]
    if a.out:
        lines.append(f"wrote {a.out}")
    emit({"run": a.run, "tokens": len(spans), "cells": acts.shape[1], "pattern": a.find,
          "top": rows}, a.json, "\n".join(lines))
    return 0


def cmd_explain(a: argparse.Namespace) -> int:
    from ..explain import METHODS, explain_text
    from ..explain.faithfulness import deletion_insertion, randomization, stability
    from ..explain.render import attributions_html
    from ..fileio import write_text
    from ..models import load, read_config

    if read_config(a.run).get("kind") != "text-classifier":
        raise UserError(f"{a.run} is not a text classifier (train one with --model "
                        "text-classifier)")
    if a.out and not a.out.lower().endswith((".html", ".htm")):
        raise UserError("--out writes HTML: give a .html file")
    model = load(a.run)
    methods = METHODS if a.method == "all" else (a.method,)
    results = [explain_text(model, a.text, m, a.target, steps=a.steps, samples=a.samples,
                            kernel_width=a.kernel_width, seed=a.seed) for m in methods]
    kw = {"steps": a.steps, "samples": a.samples, "kernel_width": a.kernel_width}
    checks: dict[str, dict] = {r.method: {} for r in results}
    for r in results:
        if a.stability:
            checks[r.method]["stability"] = stability(model, a.text, r.method, a.stability,
                                                      target=r.target, **kw)
        if a.evaluate:
            curves = deletion_insertion(model, a.text, r)
            checks[r.method].update(curves)
            checks[r.method].update(randomization(model, a.text, r.method, r.target, a.seed,
                                                  **kw))
    if a.out:
        write_text(a.out, attributions_html(results, a.text))
    head = results[0]
    lines = [f"target {head.target} (p = {head.probability:.3f}), prediction {head.prediction}"]
    for r in results:
        top = ", ".join(f"{r.tokens[i]} {r.scores[i]:+.3f}" for i in r.top(3))
        lines.append(f"  {r.method:<10} top: {top}")
        c = checks[r.method]
        if "stability" in c:
            lines.append(f"  {'':<10} stability over {a.stability} seeds: mean Spearman "
                         f"{c['stability']['mean_spearman']:.3f}")
        if "deletion_auc" in c:
            lines.append(f"  {'':<10} deletion AUC {c['deletion_auc']:.3f}, insertion AUC "
                         f"{c['insertion_auc']:.3f}, Spearman vs randomised model "
                         f"{c['spearman_vs_randomized_model']:+.3f}")
    if a.out:
        lines.append(f"wrote {a.out}")
    emit({"run": a.run, "text": a.text,
          "explanations": [{**r.to_dict(), **checks[r.method]} for r in results]},
         a.json, "\n".join(lines))
    return 0
