"""Commands that explain a model's predictions: explain (token attributions)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import OptionError
from ..fileio import out_path
from .common import emit, positive_int, run_kind


def add_parsers(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("explain", help="which tokens (pixels) a text (image) classifier's "
                                       "prediction rests on")
    e.set_defaults(func=cmd_explain)
    e.add_argument("run")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--text", help="text classifiers: the text to explain")
    what.add_argument("--index", type=int, help="image classifiers: a test-set item")
    what.add_argument("--image", help="image classifiers: a PNG/JPEG of the model's size")
    e.add_argument("--method", default="all",
                   choices=["saliency", "gradxinput", "ig", "occlusion", "lime", "kernelshap",
                            "anchors", "all"])
    e.add_argument("--target", help="class to explain (default: the prediction)")
    e.add_argument("--samples", type=positive_int,
                   help="lime, kernelshap: masked inputs (default 5000 for texts, 1000 for "
                        "images)")
    e.add_argument("--kernel-width", type=float,
                   help="lime: kernel width (default 25 for texts, 0.25 for images, as lime)")
    e.add_argument("--mask", choices=["unk", "drop"], default="unk",
                   help="lime, kernelshap on texts: a masked word becomes <unk> (as lime "
                        "with bow=False) or leaves the text")
    e.add_argument("--segments", choices=["patches", "superpixels"], default="patches",
                   help="images, occlusion, lime and kernelshap: the features are squares or "
                        "superpixels")
    e.add_argument("--patch", type=positive_int, default=4,
                   help="--segments patches: squares of N x N pixels")
    e.add_argument("--n-segments", type=positive_int, default=50,
                   help="--segments superpixels: about this many")
    e.add_argument("--steps", type=positive_int, default=50, help="ig: integration steps")
    e.add_argument("--threshold", type=float,
                   help="anchors (texts): the precision an anchor must reach (default 0.95)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--stability", type=positive_int, metavar="N",
                   help="rerun each method with N seeds: mean rank correlation of the top-10")
    e.add_argument("--evaluate", action="store_true",
                   help="deletion and insertion curves (areas) and the model-randomisation check")
    e.add_argument("--out", help="texts: HTML with the tokens coloured by score; images: PNG "
                                 "with the scores over the image")
    e.add_argument("--data-dir")
    e.add_argument("--json", action="store_true")
    add_cells_parser(sub)
    add_maximize_parser(sub)
    add_attack_parser(sub)


def add_attack_parser(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("attack", help="adversarial examples against a classifier: images by "
                                      "FGSM or PGD, texts by word substitution (HotFlip); "
                                      "success rate, size of the change, confidence")
    t.set_defaults(func=cmd_attack)
    t.add_argument("run")
    t.add_argument("--method", choices=["fgsm", "pgd", "hotflip", "random"],
                   help="images: fgsm or pgd (default); texts: hotflip (default: gradient-"
                        "ranked word swaps, each checked) or random (the baseline)")
    t.add_argument("--eps", type=float,
                   help="images: the largest change of a pixel (L-infinity, pixel values in "
                        "[0, 1]; default 0.1); texts: the largest share of a text's words to "
                        "change (at least one word; default 0.2)")
    t.add_argument("--target", metavar="CLASS",
                   help="a targeted attack: make each item this class (default: any wrong "
                        "class)")
    t.add_argument("-n", type=positive_int, default=100, help="test items to attack")
    t.add_argument("--steps", type=positive_int, help="pgd: projected steps (default 20)")
    t.add_argument("--noise", action="store_true",
                   help="images: attack -n images of uniform noise instead (needs --target)")
    t.add_argument("--swaps", choices=["same-role", "any"],
                   help="texts: a word may become only a word of its role, and the text must "
                        "stay grammatical (same-role: grammar's default), or any word")
    t.add_argument("--candidates", type=positive_int, default=16,
                   help="hotflip: the gradient's best swaps scored exactly at each step")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir")
    t.add_argument("--out", help="images: PNG (originals, the change x10, the adversarial "
                                 "images); texts: TSV (label, before, after, success, text, "
                                 "adversarial text), one row per text")
    t.add_argument("--json", action="store_true")


def add_maximize_parser(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser("maximize", help="optimise an input until a class (or a neuron) fires "
                                        "as much as it can")
    m.set_defaults(func=cmd_maximize)
    m.add_argument("run")
    goal = m.add_mutually_exclusive_group(required=True)
    goal.add_argument("--class", dest="cls", help="the class whose logit to maximise")
    goal.add_argument("--neuron", help="image classifiers: LAYER:INDEX (conv1, conv2, dense)")
    m.add_argument("--from", dest="start", default="noise",
                   help="images: 'noise' or a test-set index; texts: a starting text "
                        "(default: random words)")
    m.add_argument("--steps", type=positive_int, help="Adam steps (256 images, 300 texts)")
    m.add_argument("--lr", type=float, help="step size (0.02 images, 0.05 texts)")
    m.add_argument("--tv", type=float, default=20.0, help="images: total-variation weight")
    m.add_argument("--l2", type=float, default=5.0, help="images: weight of the mean squared "
                                                         "pixel")
    m.add_argument("--length", type=positive_int, default=8, help="texts: tokens to optimise")
    m.add_argument("--closeness", type=float, default=0.1,
                   help="texts: weight pulling each vector towards its nearest token")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--data-dir")
    m.add_argument("--out", help="images: PNG of the start and the optimised image")
    m.add_argument("--json", action="store_true")


def cmd_attack(a: argparse.Namespace) -> int:
    from ..explain.workflow import attack_run, save_text_attack
    from ..plotting import png_path, save_attack

    text = run_kind(a.run).text
    if a.out and not text:
        png_path(a.out)
    if a.out and text:
        out_path(a.out, ".tsv", "text attacks")
    r = attack_run(a.run, a.method, a.eps, a.n, a.target, a.steps, a.noise, a.seed,
                   a.data_dir, a.swaps, a.candidates)
    if a.out and text:
        save_text_attack(r, a.out)
    elif a.out:
        save_attack(r["images"], r["adversarial"], r["classes_before"], r["classes_after"],
                    a.out, title=f"{r['method']} eps {r['eps']:g}"
                    + (f" toward {r['target_class']}" if r["target_class"] else ""))
    keep = ("run", "method", "eps", "steps", "swaps", "target_class", "source", "n",
            "attacked", "success_rate", "linf_mean", "l2_mean", "words_changed_mean",
            "share_changed_mean", "confidence_before", "confidence_after", "accuracy_before",
            "accuracy_after", "target_confidence_after", "frozen_words")
    result = {k: r[k] for k in keep if k in r} | {"out": a.out}
    if text:
        result["examples"] = [
            {"text": r["texts"][i], "adversarial": r["adversarial_texts"][i],
             "label": r["labels"][i], "before": r["classes_before"][i],
             "after": r["classes_after"][i], "swapped": r["swapped"][i]}
            for i in r["success"].nonzero()[:, 0].tolist()]
    rate = "n/a" if r["success_rate"] is None else f"{r['success_rate']:.1%}"
    goal = f"toward {r['target_class']}" if r["target_class"] else "untargeted"
    size = (f"{r['words_changed_mean'] or 0:.2f} words changed on average ({r['swaps']} swaps)"
            if text else f"change L-inf {r['linf_mean']:.3f}, L2 {r['l2_mean']:.2f}")
    lines = [f"{r['method']} eps {r['eps']:g} {goal} on {r['n']} {r['source']}: success "
             f"{rate} of {r['attacked']}; {size}; confidence {r['confidence_before']:.3f} -> "
             f"{r['confidence_after']:.3f}"
             + (f"; accuracy {r['accuracy_before']:.3f} -> {r['accuracy_after']:.3f}"
                if "accuracy_before" in r else "")]
    for ex in result.get("examples", [])[:5]:
        lines.append(f"  {ex['before']} -> {ex['after']}: {ex['text']}\n"
                     f"  {' ' * (len(ex['before']) + len(ex['after']) + 4)} "
                     f"{ex['adversarial']}")
    if a.out:
        lines.append(f"wrote {a.out}")
    emit(result, a.json, "\n".join(lines))
    return 0


def cmd_maximize(a: argparse.Namespace) -> int:
    from ..explain.workflow import maximize_run
    from ..plotting import png_path, save_grid

    text = run_kind(a.run).text
    if a.out and text:
        raise OptionError("out", "draws images; a text classifier's result is printed "
                                 "(--json for all of it)")
    if a.out:
        png_path(a.out, "maximised images")
    opt = {k: v for k, v in (("steps", a.steps), ("lr", a.lr)) if v is not None}
    opt.update({"length": a.length, "closeness": a.closeness} if text else
               {"tv": a.tv, "l2": a.l2})
    r = maximize_run(a.run, a.cls, a.neuron, a.start, a.seed, a.data_dir, **opt)
    if text:
        emit({"run": a.run, **r.to_dict()}, a.json,
             f"{r.objective} from {r.start}: {' '.join(r.tokens)}\n"
             f"  p({a.cls}) {r.start_probability:.3f} -> relaxed {r.relaxed_probability:.3f}"
             f" -> projected to tokens {r.probability:.3f}")
        return 0
    if a.out:
        import torch

        save_grid(torch.stack([r.start_image, r.image]), a.out, nrow=2, scale=6)
    prob = ("" if r.probability is None else
            f"; p = {r.start_probability:.3f} -> {r.probability:.3f}")
    text = (f"{r.objective} from {r.start}: {r.start_value:.3f} -> {r.value:.3f}{prob}"
            + (f"\nwrote {a.out} (start, optimised)" if a.out else ""))
    emit({"run": a.run, **r.to_dict()}, a.json, text)
    return 0


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
    from ..explain.render import cells_html
    from ..explain.workflow import cells_run
    from ..fileio import write_text

    if a.out and not a.out.lower().endswith((".html", ".htm")):
        raise OptionError("out", "writes HTML: give a .html file")
    table = cells_run(a.run, a.text, a.find, a.context)
    spans, acts, ranked = table["spans"], table["activations"], table["ranked"]
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
    from ..explain.render import attributions_html, overlay_png
    from ..explain.workflow import explain_run
    from ..fileio import write_text
    from ..plotting import png_path

    text = run_kind(a.run).text
    if a.out and text and not a.out.lower().endswith((".html", ".htm")):
        raise OptionError("out", "writes HTML for a text: give a .html file")
    if a.out and not text:
        png_path(a.out, "image attributions")
    kw = {"steps": a.steps}
    kw.update({k: v for k, v in (("samples", a.samples), ("kernel_width", a.kernel_width))
               if v is not None})
    if text and a.method in ("lime", "kernelshap", "all"):
        kw["mask"] = a.mask
    if a.threshold is not None:
        if not text or a.method not in ("anchors", "all"):
            raise OptionError("threshold", "is for --method anchors on a text classifier")
        kw["threshold"] = a.threshold
    if not text:
        kw.update(segments=a.segments, patch=a.patch, n_segments=a.n_segments)
    methods = None if a.method == "all" else (a.method,)
    item, label, results, checks = explain_run(
        a.run, text=a.text, index=a.index, image=a.image, methods=methods, target=a.target,
        stability_runs=a.stability, evaluate=a.evaluate, seed=a.seed, data_dir=a.data_dir,
        **kw)
    if a.out and text:
        write_text(a.out, attributions_html(results, a.text))
    elif a.out:
        name = f"test item {a.index}" if a.image is None else a.image
        overlay_png(item, results, a.out, f"{Path(a.run).name}: {name}", truth=label)
    head = results[0]
    lines = [f"target {head.target} (p = {head.probability:.3f}), prediction {head.prediction}"
             + (f", true label {label}" if label is not None else "")]
    for r in results:
        if r.method == "anchors":
            words = " AND ".join(r.params["anchor"]) or "no words (the prediction holds anyway)"
            lines.append(f"  {r.method:<10} anchor: {words} "
                         f"(precision {r.params['precision']:.3f}, coverage "
                         f"{r.params['coverage']:.3f}, {r.params['samples']:,} samples)")
        else:
            if text:
                top = ", ".join(f"{r.tokens[i]} {r.scores[i]:+.3f}" for i in r.top(3))
            else:
                w = r.scores.shape[1]
                top = ", ".join(f"({i // w},{i % w}) {r.scores.ravel()[i]:+.3f}"
                                for i in r.top(3))
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
    source = {"text": a.text} if text else (
        {"index": a.index} if a.image is None else {"image": a.image})
    emit({"run": a.run, **source, "label": label,
          "explanations": [{**r.to_dict(), **checks[r.method]} for r in results]},
         a.json, "\n".join(lines))
    return 0
