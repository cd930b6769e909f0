"""Commands about concepts: concept, concepts, traverse, entangle, disentangle.

Thin: each calls ``latentatlas.concepts.workflow`` and formats what it returns.
"""

from __future__ import annotations

import argparse

from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("concept", help="find a concept direction and save it to the run")
    c.set_defaults(func=cmd_concept)
    c.add_argument("run", help="an image run with a latent space (vae or ae)")
    c.add_argument("name", help="the concept's name: 1-100 letters, digits, '-', '_', '.'")
    c.add_argument("--from", dest="method", required=True,
                   choices=["groups", "probe", "edit", "property"],
                   help="groups: the mean difference of two groups' codes; probe: a logistic "
                        "probe's normal; edit: the mean code change of paired edits (--edit); "
                        "property: a linear regression of a measured property (--property)")
    c.add_argument("--pos", help="selector of the positive group (or the items to edit): "
                                 "conditions joined by '&': label=Sneaker,Ankle_boot (class "
                                 "names, any case), height>18 (a factor of shapes), "
                                 "brightness>q0.8 (a measured property above its 0.8 "
                                 "quantile), idx=1,5,9")
    c.add_argument("--neg", help="selector of the negative group, as --pos (default: all "
                                 "other items)")
    c.add_argument("--edit", help="NAME:AMOUNT, e.g. taller:2, wider:2, brighter:40")
    c.add_argument("--property", dest="prop", help="a measured property to regress on the codes")
    c.add_argument("--target", help="the identifier this concept is meant to move "
                                    "(default: implied by --edit, --property, or a --pos that "
                                    "selects by one identifier, as height>18)")
    c.add_argument("--n", type=positive_int, help="at most N items per group (seeded)")
    c.add_argument("--seed", type=int, default=0, help="seed of the item sampling")
    c.add_argument("--force", action="store_true",
                   help="replace a concept of the same name (else that is an error)")
    c.add_argument("--data-dir")
    c.add_argument("--json", action="store_true")

    cs = sub.add_parser("concepts", help="the run's saved concepts and their scores")
    cs.set_defaults(func=cmd_concepts)
    cs.add_argument("run")
    cs.add_argument("--json", action="store_true")

    tv = sub.add_parser("traverse", help="walk along a concept and measure every identifier")
    tv.set_defaults(func=cmd_traverse)
    tv.add_argument("run")
    tv.add_argument("--concept", required=True)
    tv.add_argument("--index", default="0", help="test-set index or image file for the strip")
    tv.add_argument("--alphas", default="-2:2:5",
                    help="START:STOP:COUNT or a comma list; the default is the range every "
                         "concept's stored scores and entangle use, so the numbers agree")
    tv.add_argument("--items", type=positive_int, default=64,
                    help="test items the slopes are averaged over")
    tv.add_argument("--with", dest="identifiers", default="",
                    help="trained identifiers too: probe:CONCEPT,classifier:LABEL")
    tv.add_argument("--data-dir")
    tv.add_argument("--out", help="PNG file for the strip")
    tv.add_argument("--json", action="store_true")

    en = sub.add_parser("entangle", help="concepts x identifiers matrix of standardised effects")
    en.set_defaults(func=cmd_entangle)
    en.add_argument("run")
    en.add_argument("--concepts", help="comma list (default: all saved)")
    en.add_argument("--alphas", default="-2:2:5")
    en.add_argument("--items", type=positive_int, default=64)
    en.add_argument("--with", dest="identifiers", default="",
                    help="trained identifiers too: probe:CONCEPT,classifier:LABEL")
    en.add_argument("--data-dir")
    en.add_argument("--out", help="PNG heatmap")
    en.add_argument("--json", action="store_true")

    dg = sub.add_parser("disentangle", help="remove concept B from concept A, three ways")
    dg.set_defaults(func=cmd_disentangle)
    dg.add_argument("run")
    dg.add_argument("--concept", required=True, help="concept A (needs a target identifier)")
    dg.add_argument("--keep", required=True,
                    help="B: a saved concept (with a target) or a property such as brightness")
    dg.add_argument("--alphas", default="-2:2:5")
    dg.add_argument("--items", type=positive_int, default=64)
    dg.add_argument("--fit-items", type=positive_int, default=10000,
                    help="at most this many training items of A's population (its --pos) "
                         "to fit B's normal and eraser on")
    dg.add_argument("--save", action="store_true", help="save the three results as concepts")
    dg.add_argument("--data-dir")
    dg.add_argument("--json", action="store_true")



def _scores(scores: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in scores.items() if not k.startswith("effect_"))


def cmd_concept(a: argparse.Namespace) -> int:
    from ..concepts.store import FILE
    from ..concepts.workflow import fit_concept

    concept = fit_concept(a.run, a.name, a.method, pos=a.pos, neg=a.neg, edit=a.edit,
                          prop=a.prop, target=a.target, n=a.n, seed=a.seed,
                          data_dir=a.data_dir, force=a.force)
    emit(concept.to_dict(), a.json, f"saved concept {a.name!r} ({a.method}) to {a.run}/{FILE}"
                                    f"\n  {_scores(concept.scores)}")
    return 0


def cmd_concepts(a: argparse.Namespace) -> int:
    from ..concepts import load_concepts
    from ..models import read_config

    read_config(a.run)  # a clear error when RUN is not a run
    rows = [{k: v for k, v in c.to_dict().items() if k != "vector"}
            for c in load_concepts(a.run).values()]
    lines = [f"{a.run}: {len(rows)} concept(s)"]
    for r in rows:
        how = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lines.append(f"  {r['name']}: {r['method']} ({how})")
        if _scores(r["scores"]):
            lines.append(f"      {_scores(r['scores'])}")
    emit(rows, a.json, "\n".join(lines))
    return 0


def cmd_traverse(a: argparse.Namespace) -> int:
    from ..concepts import parse_alphas
    from ..concepts.workflow import traversal
    from ..plotting import save_grid

    alphas = parse_alphas(a.alphas)
    strip, r = traversal(a.run, a.concept, a.index, alphas, a.items, a.identifiers, a.data_dir)
    if a.out:
        save_grid(strip, a.out, nrow=len(alphas))
    among = f" matching {r['population']}" if r["population"] else ""
    lines = [f"{a.concept} over alphas {a.alphas}: how each identifier moves per unit alpha",
             f"  {'identifier':18s} {'item ' + str(a.index):>9s}  {'mean':>9s}  "
             f"{'|mean|/sd':>9s}",
             f"  {'':18s} {'slope':>9s}  {'slope':>9s}  {'(effect)':>9s}"]
    for k in r["sd"]:
        mark = "  <- target" if k == r["target"] else ""
        lines.append(f"  {k:18s} {r['item_slopes'][k]:+9.3f}  {r['mean_slopes'][k]:+9.3f}  "
                     f"{r['standardised_effect'][k]:9.3f}{mark}")
    lines.append(f"  (mean over {r['starts']} test items{among}; effect: the mean slope in "
                 "standard deviations of that identifier; slopes depend on the alpha range)")
    if a.out:
        lines.append(f"wrote {a.out}")
    emit(r, a.json, "\n".join(lines))
    return 0


def cmd_entangle(a: argparse.Namespace) -> int:
    from ..concepts import parse_alphas
    from ..concepts.workflow import entanglement

    names = [n.strip() for n in a.concepts.split(",") if n.strip()] if a.concepts else None
    r = entanglement(a.run, names, parse_alphas(a.alphas), a.items, a.identifiers, a.data_dir)
    if a.out:
        from ..plotting import save_heatmap

        save_heatmap(r["standardised_effect"], r["concepts"], r["identifiers"], a.out,
                     title="|mean slope| / sd per unit alpha")
    lines = ["standardised effect (|mean slope| / sd per unit alpha)",
             "concept".ljust(16) + "".join(k[:20].rjust(21) for k in r["identifiers"])]
    for n, row in zip(r["concepts"], r["standardised_effect"], strict=True):
        lines.append(n[:16].ljust(16) + "".join(f"{v:21.3f}" for v in row))
    for n, lk in r["leakage"].items():
        lines.append(f"leakage of {n}: " + ", ".join(f"{k} {v:.3f}" for k, v in lk.items()))
        big = [k for k, v in lk.items() if abs(v) > 1]
        if big:
            lines.append(f"  leakage above 1: moving {n} changes {', '.join(big)} more than "
                         "its own target (the side effect is larger than the intended one)")
    lines.append(f"(alphas {a.alphas}; effect: |mean slope| in standard deviations of the "
                 "identifier; leakage: effect on an identifier / effect on the concept's target)")
    if a.out:
        lines.append(f"wrote {a.out}")
    emit(r, a.json, "\n".join(lines))
    return 0


def cmd_disentangle(a: argparse.Namespace) -> int:
    from ..concepts import parse_alphas
    from ..concepts.workflow import disentangle_concept

    r = disentangle_concept(a.run, a.concept, a.keep, parse_alphas(a.alphas), a.items,
                            a.fit_items, a.save, a.data_dir)
    lines = [f"{a.concept} (target {r['target']}) without {a.keep} ({r['keep_identifier']}); "
             "standardised effects per unit alpha",
             f"{'method':18s} {'target kept':>11s} {'leakage':>9s} {'cos(orig)':>9s}"]
    for method, m in r["methods"].items():
        kept = "n/a" if m["target_kept"] is None else f"{m['target_kept']:.3f}"
        leak = "n/a" if m["leakage"] is None else f"{m['leakage']:.3f}"
        lines.append(f"{method:18s} {kept:>11s} {leak:>9s} {m['cosine_to_original']:9.3f}")
    emit(r, a.json, "\n".join(lines))
    return 0
