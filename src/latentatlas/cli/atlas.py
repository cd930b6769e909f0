"""Commands that look at a latent space: interpolate, grid, map, dims, knobs."""

from __future__ import annotations

import argparse
import json

from ..errors import UserError
from .common import add_decoding_args, decoding, emit, is_text_run, latent_text_model, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ip = sub.add_parser("interpolate", help="decode the path between two items (images: a "
                                            "strip; sentences: a homotopy)")
    ip.set_defaults(func=cmd_interpolate)
    ip.add_argument("run")
    ip.add_argument("--a", required=True, help="test-set index, image file, or a sentence")
    ip.add_argument("--b", required=True, help="test-set index, image file, or a sentence")
    ip.add_argument("--steps", type=positive_int, default=10)
    ip.add_argument("--method", choices=["lerp", "slerp"],
                    help="default: slerp for images, lerp for sentences (as in the paper)")
    add_decoding_args(ip)
    ip.add_argument("--data-dir")
    ip.add_argument("--out", help="image runs: PNG file (required)")
    ip.add_argument("--json", action="store_true")

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



def _decode_png(model, z, out: str, nrow: int | None = None) -> None:
    import torch

    from ..figures import save_grid

    with torch.no_grad():
        save_grid(model.decode(z), out, nrow=nrow)


def cmd_interpolate(a: argparse.Namespace) -> int:
    from ..atlas import encode, interpolate
    from ..data.items import resolve_items
    from ..models import load
    from ..models.run import load_run_data

    if a.steps < 2:
        raise UserError("--steps must be at least 2")
    if is_text_run(a.run):
        return _homotopy(a)
    if not a.out:
        raise UserError(f"{a.run} is an image run: give --out FILE.png")
    method = a.method or "slerp"
    model = load(a.run)
    items = resolve_items([a.a, a.b], load_run_data(a.run, a.data_dir))
    mu = encode(model, items).mu
    path = interpolate(mu[0], mu[1], a.steps, method)
    _decode_png(model, path, a.out, nrow=a.steps)
    print(f"wrote {a.out}: {method} from {a.a} to {a.b} in {a.steps} steps")
    return 0


def _homotopy(a: argparse.Namespace) -> int:
    """A sentence homotopy as rows s0, z0 ... z1, s1 (Bowman et al. 2016, Table 3)."""
    from ..atlas.sentences import homotopy
    from ..models.run import load_run_data

    model = latent_text_model(a.run)
    test = None
    ends = []
    for item in (a.a, a.b):  # a test-set index or a sentence
        if item.isdigit():
            test = test if test is not None else load_run_data(a.run).test
            if int(item) >= len(test):
                raise UserError(f"index {item} is out of range: the test split has "
                                f"{len(test)} texts")
            item = test[int(item)]
        ends.append(item)
    kw = decoding(a)
    kw["method"] = kw["method"] or "greedy"
    rows = homotopy(model, ends[0], ends[1], a.steps, a.method or "lerp", **kw)
    emit({"run": a.run, "method": a.method or "lerp",
          "rows": [{"name": n, "text": t} for n, t in rows]}, a.json,
         "\n".join(f"{n:<5} {t}" for n, t in rows))
    return 0


def cmd_grid(a: argparse.Namespace) -> int:
    from ..atlas import encode, grid
    from ..data.items import resolve_items
    from ..models import load
    from ..models.run import load_run_data

    if is_text_run(a.run):
        raise UserError(f"{a.run} is a text run; grid decodes images (for sentences see "
                        "interpolate and knobs)")
    corners = [c for c in a.corners.split(",") if c.strip()]
    if len(corners) != 4:
        raise UserError(f"--corners takes four items, got {len(corners)}")
    if a.n < 2:
        raise UserError("--n must be at least 2")
    model = load(a.run)
    mu = encode(model, resolve_items(corners, load_run_data(a.run, a.data_dir))).mu
    z = grid(mu, a.n).reshape(a.n * a.n, -1)
    _decode_png(model, z, a.out, nrow=a.n)
    print(f"wrote {a.out}: {a.n}x{a.n} grid between items {', '.join(corners)}")
    return 0


def cmd_map(a: argparse.Namespace) -> int:
    import torch

    from ..atlas import embed_2d, run_codes, save_map
    from ..figures import grid_array
    from ..models import load
    from ..models.run import load_run_data

    model = load(a.run)
    data = load_run_data(a.run, a.data_dir)
    codes = run_codes(a.run, "test", model=model, data=data)
    if a.method == "raw" and model.latent_dim != 2:
        raise UserError(f"--method raw needs a 2-D latent; this one has {model.latent_dim}")
    xy, method = embed_2d(codes.mu, a.method)
    manifold = None
    if model.latent_dim == 2 and not hasattr(model, "vocab"):  # decoded image manifold
        lo, hi = codes.mu.quantile(0.02, 0), codes.mu.quantile(0.98, 0)
        n = 15
        gy, gx = torch.meshgrid(torch.linspace(hi[1], lo[1], n), torch.linspace(lo[0], hi[0], n),
                                indexing="ij")
        with torch.no_grad():
            images = model.decode(torch.stack([gx.flatten(), gy.flatten()], 1))
        manifold = grid_array(images, nrow=n, pad=0)
    save_map(xy, a.out, codes.labels, data.classes,
             title=f"{a.run}: {len(xy):,} test codes ({method})", manifold=manifold)
    if a.json:
        print(json.dumps({"method": method, "xy": xy.round(4).tolist(),
                          "labels": None if codes.labels is None else codes.labels.tolist()}))
    else:
        print(f"wrote {a.out}: {len(xy):,} test codes, {method}")
    return 0


def cmd_dims(a: argparse.Namespace) -> int:
    from ..atlas import run_codes, unit_stats

    codes = run_codes(a.run, "test", data_dir=a.data_dir)
    stats = unit_stats(codes.mu, codes.logvar, threshold=a.threshold)
    rows = [{"unit": int(u), "activity": round(float(stats.activity[u]), 5),
             "kl": None if stats.kl is None else round(float(stats.kl[u]), 4),
             "active": bool(stats.active[u])} for u in stats.order()]
    result = {"run": a.run, "latent_dim": len(rows), "active_units": stats.n_active,
              "threshold": a.threshold, "units": rows}
    total_kl = None if stats.kl is None else float(stats.kl.sum())
    result["total_kl"] = total_kl
    lines = [f"{a.run}: {stats.n_active} of {len(rows)} units active "
             f"(Var over the test set of the posterior mean > {a.threshold})",
             "unit  activity    KL (nats)  active"]
    for r in rows:
        kl = "-" if r["kl"] is None else f"{r['kl']:.3f}"
        active = "yes" if r["active"] else ""
        lines.append(f"{r['unit']:4d}  {r['activity']:8.4f}  {kl:>11}  {active}")
    if total_kl is not None:
        lines.append(f"total KL {total_kl:.2f} nats per item")
    emit(result, a.json, "\n".join(lines))
    return 0


def cmd_knobs(a: argparse.Namespace) -> int:
    from ..atlas import Knobs, run_codes

    if (a.items is None) != (a.out is None):
        raise UserError("--items and --out go together: the knob settings of N items to a file")
    text = is_text_run(a.run)
    model = latent_text_model(a.run) if text else None
    codes = run_codes(a.run, "train", model=model, data_dir=a.data_dir)
    if a.k > codes.mu.shape[1]:
        raise UserError(f"-k {a.k} is more than the {codes.mu.shape[1]} latent dimensions")
    knobs = Knobs(a.k).fit(codes.mu)
    if a.items is not None:
        return _knob_table(a, knobs, model)
    ratio = knobs.explained_variance_ratio_.tolist()
    result = {"run": a.run, "k": a.k, "explained_variance_ratio": [round(r, 5) for r in ratio],
              "cumulative": round(sum(ratio), 5), "scale": knobs.scale_.tolist(),
              "components": knobs.components_.tolist(), "mean": knobs.mean_.tolist()}
    lines = [f"{a.run}: {a.k} PCA knobs over {len(codes.mu):,} training codes",
             "knob  explained  cumulative  sd"]
    cum = 0.0
    for i, (r, sd) in enumerate(zip(ratio, knobs.scale_.tolist(), strict=True)):
        cum += r
        lines.append(f"{i:4d}  {r:9.3f}  {cum:10.3f}  {sd:.3f}")
    emit(result, a.json, "\n".join(lines))
    return 0


KNOB_DECODES_MAX = 2_000_000


def _knob_table(a: argparse.Namespace, knobs, model) -> int:
    """Every combination of knob values for the first --items test items, decoded in batches:
    sentences to JSON (text runs) or an image sheet (image runs), one row per item."""
    import time

    import torch

    from ..atlas import encode
    from ..atlas.knobs import knob_positions
    from ..atlas.sentences import knob_table
    from ..fileio import write_json
    from ..models import load
    from ..models.run import load_run_data

    if a.steps < 2:
        raise UserError("--steps must be at least 2")
    total = a.steps ** a.k * a.items
    if total > KNOB_DECODES_MAX:
        raise UserError(f"{a.steps}^{a.k} x {a.items} = {total:,} decodes is too many "
                        f"(at most {KNOB_DECODES_MAX:,}); lower -k, --steps or --items")
    data = load_run_data(a.run, a.data_dir)
    t0 = time.perf_counter()
    if model is not None:
        texts = data.test[: a.items]
        table = knob_table(model, knobs, texts, a.steps, a.span, ban_unk=a.no_unk)
        write_json(a.out, {"run": a.run, **table})
    else:
        if not a.out.lower().endswith(".png"):
            raise UserError("image runs write the knob sheet as PNG: --out FILE.png")
        from ..figures import save_grid

        model = load(a.run)
        z = encode(model, data.test_x[: a.items]).mu
        _, codes = knob_positions(knobs, z, a.steps, a.span)
        with torch.no_grad():
            images = torch.cat([model.decode(c) for c in codes.reshape(-1, z.shape[1])
                                .split(4096)])
        save_grid(images, a.out, nrow=a.steps ** min(a.k, 2))
    seconds = time.perf_counter() - t0
    emit({"run": a.run, "out": a.out, "decodes": total, "seconds": round(seconds, 3)}, a.json,
         f"wrote {a.out}: {a.steps}^{a.k} knob settings x {a.items} items = {total:,} decodes "
         f"({seconds:.2f} s)")
    return 0
