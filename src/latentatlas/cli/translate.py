"""Commands across runs: similarity, translate."""

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
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir")
    t.add_argument("--json", action="store_true")


def cmd_similarity(a: argparse.Namespace) -> int:
    from ..translate.workflow import similarity

    r = similarity(a.runs, a.items, a.anchors, a.seed, a.data_dir)
    lines = [f"similarity of codes on {r['items']:,} test items (score / shuffled-pairs null)"]
    for p in r["pairs"]:
        lines.append(f"{p['a']} vs {p['b']}")
        for m in r["measures"]:
            lines.append(f"  {m:22s} {p[m]:7.4f}  / {p[m + '_null']:7.4f}")
    if a.out:
        from ..plotting import save_heatmap

        n = len(r["runs"])
        matrix = [[1.0] * n for _ in range(n)]
        for p in r["pairs"]:
            i, j = r["runs"].index(p["a"]), r["runs"].index(p["b"])
            matrix[i][j] = matrix[j][i] = p["cka_linear"]
        save_heatmap(matrix, r["runs"], r["runs"], a.out, title="linear CKA")
        lines.append(f"wrote {a.out}")
    emit(r, a.json, "\n".join(lines))
    return 0


def cmd_translate(a: argparse.Namespace) -> int:
    from ..translate.workflow import translate

    r = translate(a.run_a, a.run_b, a.method, a.anchors, a.seed, data_dir=a.data_dir)
    h, n = r["held_out"], r["null"]
    lines = [f"{a.method} map {a.run_a} -> {a.run_b}, fitted on {r['pairs_fitted']:,} pairs; "
             "held-out test pairs (map / shuffled-pairs null):",
             f"  R^2     {h['r2']:8.4f} / {n['r2']:8.4f}",
             f"  cosine  {h['cosine']:8.4f} / {n['cosine']:8.4f}",
             f"  MSE     {h['mse']:8.4f} / {n['mse']:8.4f}",
             f"reconstruction loss of B's decoder (nats per item): from B's own codes "
             f"{r['recon_b_own']:.2f}, through the map {r['recon_through_map']:.2f}, "
             f"through the null {r['recon_through_null']:.2f}",
             f"saved {r['saved']}"]
    emit(r, a.json, "\n".join(lines))
    return 0
