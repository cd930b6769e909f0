"""Commands across runs: similarity, translate, transfer."""

from __future__ import annotations

import argparse

from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("similarity", help="how alike two or more runs' codes are (CKA, SVCCA)")
    s.set_defaults(func=cmd_similarity)
    s.add_argument("runs", nargs="+", help="two or more runs trained on the same dataset")
    s.add_argument("--items", type=positive_int, default=5000, help="test items compared")
    s.add_argument("--anchors", type=positive_int, default=300,
                   help="anchor items of the relative representations")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir")
    s.add_argument("--out", help="PNG heatmap of linear CKA")
    s.add_argument("--json", action="store_true")

    t = sub.add_parser("translate", help="fit a map from run A's latent space to run B's")
    t.set_defaults(func=cmd_translate)
    t.add_argument("run_a")
    t.add_argument("run_b")
    t.add_argument("--method", default="linear",
                   choices=["linear", "affine", "procrustes", "mlp"])
    t.add_argument("--anchors", type=positive_int,
                   help="fit on only N training pairs (default: all)")
    t.add_argument("--data", dest="dataset",
                   help="encode this dataset with both models (default: the runs' own, from "
                        "their cached codes)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir")
    t.add_argument("--json", action="store_true")

    c = sub.add_parser("transfer", help="carry a concept from run A into run B")
    c.set_defaults(func=cmd_transfer)
    c.add_argument("run_a")
    c.add_argument("run_b")
    c.add_argument("--concept", required=True)
    c.add_argument("--method", default="linear",
                   choices=["linear", "affine", "procrustes", "mlp"])
    c.add_argument("--alphas", default="-2:2:5")
    c.add_argument("--items", type=positive_int, default=64)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--data-dir")
    c.add_argument("--json", action="store_true")


def cmd_transfer(a: argparse.Namespace) -> int:
    from ..concepts import parse_alphas
    from ..translate.workflow import transfer

    r = transfer(a.run_a, a.run_b, a.concept, a.method, parse_alphas(a.alphas), a.items,
                 a.seed, a.data_dir)
    d = r["direction"]
    lines = [f"{a.concept}: {a.run_a} -> {a.run_b} through a {a.method} map",
             f"direction carried vs found in B: cosine {d['cosine_carried_vs_direct']:.3f}",
             f"{'identifier':12s} {'carried':>10s} {'direct':>10s}   (standardised effect in B)"]
    for k, v in d["carried"]["standardised_effect"].items():
        mark = "  <- target" if k == r["target"] else ""
        lines.append(f"{k:12s} {v:10.3f} {d['direct']['standardised_effect'][k]:10.3f}{mark}")
    lines.append(_transfer_reading(d, r["target"]))
    ident = r["identifier"]
    if ident:
        lines.append(f"identifier (probe) carried by labelling B's codes with A's probe: agrees "
                     f"with A on {ident['agreement_with_a']:.3f} of {ident['test_items']:,} "
                     f"test items; accuracy against the groups {ident['accuracy_b_vs_truth']:.3f}"
                     f" (A's own: {ident['accuracy_a_vs_truth']:.3f})")
    emit(r, a.json, "\n".join(lines))
    return 0


def _transfer_reading(d: dict, target: str | None) -> str:
    """One line saying what the cosine and the target effects mean together."""
    cos = d["cosine_carried_vs_direct"]
    angle = ("the map carries the concept onto B's own direction" if cos > 0.8 else
             "the carried direction is partly B's own" if cos > 0.3 else
             "the carried direction is nearly orthogonal to B's own (cosine near 0)")
    if not target:
        return f"reading: {angle}"
    carried = d["carried"]["standardised_effect"][target]
    direct = d["direct"]["standardised_effect"][target]
    share = f"{carried / direct:.0%} of" if direct > 0 else "n/a against"
    return (f"reading: {angle}; on the target {target} it moves B {share} as much as B's own "
            "direction (what counts is the effect, not the angle)")


def cmd_similarity(a: argparse.Namespace) -> int:
    from ..translate.workflow import similarity

    r = similarity(a.runs, a.items, a.anchors, a.seed, a.data_dir)
    matrix = r["cka_linear_matrix"]
    width = max(len(name) for name in r["runs"])
    lines = [f"linear CKA of codes on {r['items']:,} test items:"]
    lines += [f"  {name:<{width}}  " + "  ".join(f"{v:6.3f}" for v in row)
              for name, row in zip(r["runs"], matrix, strict=True)]
    lines.append("every measure, score / shuffled-pairs null:")
    for p in r["pairs"]:
        lines.append(f"{p['a']} vs {p['b']}")
        for m in r["measures"]:
            lines.append(f"  {m:22s} {p[m]:7.4f}  / {p[m + '_null']:7.4f}")
    if a.out:
        from ..plotting import save_heatmap

        save_heatmap(matrix, r["runs"], r["runs"], a.out, title="linear CKA")
        lines.append(f"wrote {a.out}")
    emit(r, a.json, "\n".join(lines))
    return 0


def cmd_translate(a: argparse.Namespace) -> int:
    from ..translate.workflow import translate

    r = translate(a.run_a, a.run_b, a.method, a.anchors, a.seed, data_dir=a.data_dir,
                  dataset=a.dataset)
    h, n = r["held_out"], r["null"]
    lines = [f"{a.method} map {a.run_a} -> {a.run_b}, fitted on {r['pairs_fitted']:,} pairs; "
             "held-out test pairs (map / shuffled-pairs null):",
             f"  R^2     {h['r2']:8.4f} / {n['r2']:8.4f}",
             f"  cosine  {h['cosine']:8.4f} / {n['cosine']:8.4f}",
             f"  MSE     {h['mse']:8.4f} / {n['mse']:8.4f}",
             f"reconstruction loss of B's decoder ({r['recon_unit']}): from B's own codes "
             f"{r['recon_b_own']:.2f}, through the map {r['recon_through_map']:.2f}, "
             f"through the null {r['recon_through_null']:.2f}",
             f"saved {r['saved']}"]
    emit(r, a.json, "\n".join(lines))
    return 0
