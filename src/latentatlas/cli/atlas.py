"""Commands that look at a latent space: interpolate, grid, map, dims, knobs, fidelity,
invert."""

from __future__ import annotations

import argparse
import json

from ..errors import OptionError, UserError
from .common import add_decoding_args, decoding, emit, positive_int, require_png, run_kind


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ip = sub.add_parser("interpolate", help="decode the path between two items (images: a "
                                            "strip; sentences: a homotopy)")
    ip.set_defaults(func=cmd_interpolate)
    ip.add_argument("run")
    ip.add_argument("--a", required=True, help="test-set index, image file, prior:SEED (a "
                                               "draw from the prior), or a sentence")
    ip.add_argument("--b", required=True, help="test-set index, image file, prior:SEED, or a "
                                               "sentence")
    ip.add_argument("--space", choices=["latent", "pixel"], default="latent",
                    help="images: decode the path between the codes (latent) or cross-fade the "
                         "two images (pixel)")
    ip.add_argument("--measure", type=positive_int, metavar="PAIRS",
                    help="images: draw both paths between --a and --b, and measure both over "
                         "PAIRS random test pairs (the classifier's confidence and the Fréchet "
                         "classifier distance along the path)")
    ip.add_argument("--classifier", metavar="RUN",
                    help="with --measure: an image-classifier run (default: the dataset's "
                         "reference classifier)")
    ip.add_argument("--steps", type=positive_int, default=10)
    ip.add_argument("--method", choices=["lerp", "slerp"],
                    help="default: slerp for images, lerp for sentences (as in the paper)")
    add_decoding_args(ip)
    ip.add_argument("--data-dir")
    ip.add_argument("--out", help="image runs: PNG file (required)")
    ip.add_argument("--json", action="store_true")

    iv = sub.add_parser("invert", help="find the code of an image by optimisation (latent "
                                       "inversion; a GAN's way into the atlas)")
    iv.set_defaults(func=cmd_invert)
    iv.add_argument("run")
    iv.add_argument("--image", action="append", required=True,
                    help="an image file or a test-set index (repeatable)")
    iv.add_argument("--starts", type=positive_int, default=4,
                    help="starts per image: the encoder's guess, then prior draws")
    iv.add_argument("--steps", type=int, default=200, help="Adam steps")
    iv.add_argument("--seed", type=int, default=0)
    iv.add_argument("--data-dir")
    iv.add_argument("--out", help="PNG: the images, the encoder's decodes, the inverted ones")
    iv.add_argument("--json", action="store_true")

    g = sub.add_parser("grid", help="bilinear latent grid between four corner items")
    g.set_defaults(func=cmd_grid)
    g.add_argument("run")
    g.add_argument("--corners", required=True,
                   help="four items: top-left,top-right,bottom-left,bottom-right")
    g.add_argument("--n", type=positive_int, default=8, help="grid side")
    g.add_argument("--data-dir")
    g.add_argument("--out", required=True, help="PNG file")

    mp = sub.add_parser("map", help="2-D map of the test codes coloured by label")
    mp.set_defaults(func=cmd_map)
    mp.add_argument("run")
    mp.add_argument("--method", choices=["auto", "raw", "pca", "umap"], default="auto")
    mp.add_argument("--data-dir")
    mp.add_argument("--out", required=True, help="PNG file")
    mp.add_argument("--json", action="store_true", help="also print the coordinates")

    dm = sub.add_parser("dims", help="active units and KL per latent unit")
    dm.set_defaults(func=cmd_dims)
    dm.add_argument("run")
    dm.add_argument("--threshold", type=float, default=0.01,
                    help="a unit is active when Var(mu) over the data exceeds this")
    dm.add_argument("--data-dir")
    dm.add_argument("--json", action="store_true")

    kn = sub.add_parser("knobs", help="PCA knobs over the codes and their explained variance")
    kn.set_defaults(func=cmd_knobs)
    kn.add_argument("run")
    kn.add_argument("-k", type=positive_int, default=5)
    kn.add_argument("--items", type=positive_int,
                    help="decode every knob setting for the first N test items (with --out)")
    kn.add_argument("--steps", type=positive_int, default=3, help="values per knob")
    kn.add_argument("--span", type=float, default=2.0,
                    help="knob values run over +-span standard deviations")
    kn.add_argument("--out", help="with --items: JSON of sentences (text runs) or a PNG sheet")
    kn.add_argument("--no-unk", action="store_true", help="text: never emit <unk>")
    kn.add_argument("--data-dir")
    kn.add_argument("--json", action="store_true")

    fi = sub.add_parser("fidelity", help="how much of each sentence a sentence VAE's codes "
                                         "carry: exact reconstructions, token accuracy, BLEU, "
                                         "rate, overall and by sentence length")
    fi.set_defaults(func=cmd_fidelity)
    fi.add_argument("run")
    fi.add_argument("-n", type=positive_int, help="the first N sentences (default: all)")
    fi.add_argument("--split", choices=["test", "train"], default="test")
    fi.add_argument("--data-dir")
    fi.add_argument("--out", help="PNG file: exact share and token accuracy by length")
    fi.add_argument("--json", action="store_true")



def cmd_interpolate(a: argparse.Namespace) -> int:
    if run_kind(a.run).text:
        from ..atlas.workflow import sentence_homotopy

        if a.space != "latent" or a.measure:
            raise OptionError("space" if a.space != "latent" else "measure",
                              "is for image runs; sentences interpolate codes")
        kw = decoding(a)
        kw["method"] = kw["method"] or "greedy"
        rows = sentence_homotopy(a.run, a.a, a.b, a.steps, a.method or "lerp", **kw)
        emit({"run": a.run, "method": a.method or "lerp",
              "rows": [{"name": n, "text": t} for n, t in rows]}, a.json,
             "\n".join(f"{n:<5} {t}" for n, t in rows))
        return 0
    from ..atlas.workflow import interpolation_strip
    from ..plotting import save_grid

    out = require_png(a)
    method = a.method or "slerp"
    if a.measure:
        return _measure_paths(a, method, out)
    strip = interpolation_strip(a.run, a.a, a.b, a.steps, method, a.data_dir, a.space)
    save_grid(strip, out, nrow=a.steps)
    how = "a pixel cross-fade" if a.space == "pixel" else method
    print(f"wrote {out}: {how} from {a.a} to {a.b} in {a.steps} steps")
    return 0


def _measure_paths(a: argparse.Namespace, method: str, out) -> int:
    from ..atlas.workflow import interpolation_strip
    from ..plotting import save_path_comparison
    from ..runs import Run

    r = Run.open(a.run, a.data_dir).path_comparison(a.measure, a.steps, method, a.classifier)
    strips = {f"{space}: {a.a} to {a.b}": interpolation_strip(a.run, a.a, a.b, a.steps, method,
                                                            a.data_dir, space)
              for space in ("latent", "pixel")}
    save_path_comparison(strips, {"latent": r["latent"], "pixel": r["pixel"]}, out,
                         f"latent ({method}) vs pixel paths over {r['pairs']} test pairs")
    mid = a.steps // 2
    lines = [f"wrote {out}: both paths, and measures over {r['pairs']} random test pairs",
             "  position  confidence (latent / pixel)  Fréchet classifier distance "
             "(latent / pixel)"]
    lines += [f"  {lr['t']:8.2f}  {lr['confidence']:.3f} / {pr['confidence']:.3f}"
              f"{'':16}{lr['frechet_classifier_distance']:.2f} / "
              f"{pr['frechet_classifier_distance']:.2f}" + ("   <- midpoint" if i == mid else "")
              for i, (lr, pr) in enumerate(zip(r["latent"], r["pixel"], strict=True))]
    emit({"run": a.run, "out": str(out), **r}, a.json, "\n".join(lines))
    return 0


def cmd_invert(a: argparse.Namespace) -> int:
    from ..atlas.workflow import invert_items
    from ..plotting import png_path, save_grid

    if a.steps < 0:
        raise OptionError("steps", f"must be 0 or more, got {a.steps}")
    out = png_path(a.out) if a.out else None
    r = invert_items(a.run, a.image, a.starts, a.steps, a.seed, a.data_dir)
    sheet = r.pop("sheet")
    if out is not None:
        save_grid(sheet, out, nrow=len(a.image))
    lines = [f"{item}: squared error per pixel {e:.5f} after inversion"
             + (f" (the encoder's guess: {g:.5f})" if r["encoder_error"] else "")
             for item, e, g in zip(a.image, r["error"], r["encoder_error"] or r["error"],
                                   strict=True)]
    if out is not None:
        lines.append(f"wrote {out}: the images, the encoder's decodes, the inverted decodes")
    emit({"run": a.run, "out": str(out) if out else None, **r}, a.json, "\n".join(lines))
    return 0


def cmd_grid(a: argparse.Namespace) -> int:
    from ..atlas.workflow import corner_grid
    from ..plotting import png_path, save_grid

    if run_kind(a.run).text:
        raise UserError(f"{a.run} is a text run; grid decodes images (for sentences see "
                        "interpolate and knobs)")
    png_path(a.out, "grids")
    corners = [c for c in a.corners.split(",") if c.strip()]
    save_grid(corner_grid(a.run, corners, a.n, a.data_dir), a.out, nrow=a.n)
    print(f"wrote {a.out}: {a.n}x{a.n} grid between items {', '.join(corners)}")
    return 0


def cmd_map(a: argparse.Namespace) -> int:
    from ..atlas.workflow import data_map
    from ..plotting import png_path, save_code_map

    png_path(a.out, "maps")
    m = data_map(a.run, a.method, data_dir=a.data_dir)
    save_code_map(m.xy, a.out, m.labels, m.classes,
                  title=f"{a.run}: {len(m.xy):,} test codes ({m.method})", manifold=m.manifold)
    if a.json:
        print(json.dumps({"method": m.method, "xy": m.xy.round(4).tolist(),
                          "labels": None if m.labels is None else m.labels.tolist()}))
    else:
        print(f"wrote {a.out}: {len(m.xy):,} test codes, {m.method}")
    return 0


def cmd_dims(a: argparse.Namespace) -> int:
    from ..atlas.workflow import unit_table

    result = unit_table(a.run, a.threshold, a.data_dir)
    lines = [f"{a.run}: {result['active_units']} of {result['latent_dim']} units active "
             f"(Var over the test set of the posterior mean > {a.threshold})",
             "unit  activity    KL (nats)  active"]
    for r in result["units"]:
        kl = "-" if r["kl"] is None else f"{r['kl']:.3f}"
        active = "yes" if r["active"] else ""
        lines.append(f"{r['unit']:4d}  {r['activity']:8.4f}  {kl:>11}  {active}")
    if result["total_kl"] is not None:
        lines.append(f"total KL {result['total_kl']:.2f} nats per item")
    emit(result, a.json, "\n".join(lines))
    return 0


def cmd_knobs(a: argparse.Namespace) -> int:
    from ..atlas.workflow import fit_knobs

    if (a.items is None) != (a.out is None):
        raise OptionError("items", "and `out` go together: the knob settings of N items to a "
                                   "file")
    if a.items is not None:
        return _knob_sheet(a)
    knobs = fit_knobs(a.run, a.k, a.data_dir)
    ratio = knobs.explained_variance_ratio_.tolist()
    result = {"run": a.run, "k": a.k, "explained_variance_ratio": [round(r, 5) for r in ratio],
              "cumulative": round(sum(ratio), 5), "scale": knobs.scale_.tolist(),
              "components": knobs.components_.tolist(), "mean": knobs.mean_.tolist()}
    lines = [f"{a.run}: {a.k} PCA knobs over {knobs.n_samples_:,} training codes",
             "knob  explained  cumulative  sd"]
    cum = 0.0
    for i, (r, sd) in enumerate(zip(ratio, knobs.scale_.tolist(), strict=True)):
        cum += r
        lines.append(f"{i:4d}  {r:9.3f}  {cum:10.3f}  {sd:.3f}")
    emit(result, a.json, "\n".join(lines))
    return 0


def _knob_sheet(a: argparse.Namespace) -> int:
    """Every combination of knob values for the first --items test items: sentences to JSON
    (text runs) or an image sheet (image runs), one row per item."""
    import time

    from ..atlas.workflow import knob_sheet
    from ..fileio import write_json
    from ..plotting import png_path, save_grid

    text = run_kind(a.run).text
    if not text:
        png_path(a.out, "knob sheets")
    t0 = time.perf_counter()
    sheet = knob_sheet(a.run, a.k, a.steps, a.items, a.span, a.no_unk, a.data_dir)
    if text:
        write_json(a.out, {"run": a.run, **{k: v for k, v in sheet.items()
                                            if k not in ("decodes", "fitted")}})
    else:
        save_grid(sheet["images"], a.out, nrow=sheet["columns"])
    seconds = time.perf_counter() - t0
    total = sheet["decodes"]
    emit({"run": a.run, "out": a.out, "decodes": total, "seconds": round(seconds, 3)}, a.json,
         f"wrote {a.out}: {a.steps}^{a.k} knob settings x {a.items} items = {total:,} decodes "
         f"({seconds:.2f} s)")
    return 0


def cmd_fidelity(a: argparse.Namespace) -> int:
    from ..atlas.workflow import sentence_fidelity

    if a.out:
        require_png(a)
    result = sentence_fidelity(a.run, a.n, a.split, a.data_dir)
    s = result["summary"]

    def share(d: dict) -> str:
        if not d["n"]:
            return "- (no such sentences)"
        return f"{d['share']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}] of {d['n']:,}"

    def mean(d: dict) -> str:
        if d["mean"] is None:
            return "-"
        return f"{d['mean']:.3f} [{d['ci95'][0]:.3f}, {d['ci95'][1]:.3f}]"

    lines = [f"{a.run}, {s['sentences']:,} {a.split} sentences ({s['words_per_sentence']} "
             "words each), greedy decodes from the posterior mean (95% intervals):",
             f"  exact reconstructions      {share(s['exact'])}",
             f"    in-vocabulary sentences  {share(s['exact_in_vocab'])}",
             f"  token accuracy             {mean(s['token_accuracy'])}",
             f"    in-vocabulary sentences  {mean(s['token_accuracy_in_vocab'])}",
             f"  BLEU                       {s['bleu']:.3f}",
             f"  -ELBO {s['neg_elbo']:.2f} = recon {s['recon']:.2f} + KL {s['kl']:.2f} nats "
             f"per sentence, {s['active_units']} active units",
             "", "words      n  exact                  token accuracy        recon (nats)"]
    for r in result["by_length"]:
        e, t = r["exact"], r["token_accuracy"]
        lines.append(f"{r['words']:>6} {r['n']:>6}  {e['share']:.3f} [{e['ci95'][0]:.3f}, "
                     f"{e['ci95'][1]:.3f}]  {t['mean']:.3f} [{t['ci95'][0]:.3f}, "
                     f"{t['ci95'][1]:.3f}]  {r['recon']:8.2f}")
    if a.out:
        from ..plotting import save_length_fidelity

        save_length_fidelity({str(a.run): result["by_length"]}, a.out,
                             f"{a.run}: reconstruction by sentence length")
        lines.append(f"wrote {a.out}")
    emit(result, a.json, "\n".join(lines))
    return 0
