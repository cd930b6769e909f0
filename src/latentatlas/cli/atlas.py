"""Commands that look at a latent space: interpolate, grid, map, dims, knobs."""

from __future__ import annotations

import argparse
import json

from ..errors import UserError
from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ip = sub.add_parser("interpolate", help="decode the path between two items as a strip")
    ip.set_defaults(func=cmd_interpolate)
    ip.add_argument("run")
    ip.add_argument("--a", required=True, help="test-set index or image file")
    ip.add_argument("--b", required=True, help="test-set index or image file")
    ip.add_argument("--steps", type=positive_int, default=10)
    ip.add_argument("--method", choices=["lerp", "slerp"], default="slerp")
    ip.add_argument("--data-dir")
    ip.add_argument("--out", required=True, help="PNG file")

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
    model = load(a.run)
    items = resolve_items([a.a, a.b], load_run_data(a.run, a.data_dir))
    mu = encode(model, items).mu
    path = interpolate(mu[0], mu[1], a.steps, a.method)
    _decode_png(model, path, a.out, nrow=a.steps)
    print(f"wrote {a.out}: {a.method} from {a.a} to {a.b} in {a.steps} steps")
    return 0


def cmd_grid(a: argparse.Namespace) -> int:
    from ..atlas import encode, grid
    from ..data.items import resolve_items
    from ..models import load
    from ..models.run import load_run_data

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
    if model.latent_dim == 2:  # the decoded manifold over the range the data covers
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

    codes = run_codes(a.run, "train", data_dir=a.data_dir)
    if a.k > codes.mu.shape[1]:
        raise UserError(f"-k {a.k} is more than the {codes.mu.shape[1]} latent dimensions")
    knobs = Knobs(a.k).fit(codes.mu)
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
