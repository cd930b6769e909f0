"""The ``latentatlas`` command: a thin layer over the Python API.

Every subcommand prints a readable summary (or JSON with ``--json``); a user error is one
``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .errors import Interrupted, UserError


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 400 or 512,256, got {text!r}") \
            from None


def _scale(text: str) -> float | str:
    if text == "learned":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'learned', got {text!r}") \
            from None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error:`` line with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="latentatlas", description=__doc__.splitlines()[0])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"latentatlas {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model into a run directory")
    t.add_argument("--model", default="vae", choices=["vae", "ae"])
    t.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    t.add_argument("--data", default="fashion-mnist", help="dataset spec (latentatlas data list)")
    t.add_argument("--data-dir", help="folder holding the dataset files")
    t.add_argument("--image-size", type=_positive_int, help="resize images to N x N")
    t.add_argument("--n-train", type=_positive_int, help="use the first N training items")
    t.add_argument("--n-test", type=_positive_int, help="use the first N test items")
    t.add_argument("--latent-dim", type=_positive_int, default=20)
    t.add_argument("--size", default="small", choices=["small", "large"], help="width preset")
    t.add_argument("--hidden", type=_widths, help="explicit widths, e.g. 400 or 32,64,256 (conv)")
    t.add_argument("--likelihood", default="bernoulli",
                   choices=["bernoulli", "gaussian", "laplace", "continuous-bernoulli"])
    t.add_argument("--obs-scale", type=_scale, default=0.1,
                   help="gaussian sigma / laplace b in pixel units, or 'learned'")
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    t.add_argument("--epochs", type=_positive_int, default=10)
    t.add_argument("--batch-size", type=_positive_int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="bf16: matmuls in bfloat16, weights, optimizer and loss in fp32; "
                        "auto: bf16 where the device has native bf16 matmuls")
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    t.add_argument("--threads", type=_positive_int, help="torch threads (default: all cores)")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out with its saved model, data and settings "
                        "(from this command only --epochs, the new total, and output options)")
    t.add_argument("--force", action="store_true", help="replace an existing --out")
    t.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    t.add_argument("--json", action="store_true")

    e = sub.add_parser("eval", help="test-set loss terms, optionally the IW likelihood")
    e.add_argument("run")
    e.add_argument("--iw", type=_positive_int, metavar="K",
                   help="importance-weighted NLL with K samples (Burda et al.)")
    e.add_argument("--data-dir")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true")

    i = sub.add_parser("info", help="what a run holds")
    i.add_argument("run")
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("sample", help="decode latent samples into an image grid")
    s.add_argument("run")
    s.add_argument("-n", type=_positive_int, default=64)
    s.add_argument("--from", dest="source", choices=["prior", "fitted"],
                   help="prior N(0, I) (VAE default) or a Gaussian fitted to the codes (AE)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir")
    s.add_argument("--out", required=True, help="PNG file")

    r = sub.add_parser("reconstruct", help="test images (odd rows) over their reconstructions")
    r.add_argument("run")
    r.add_argument("-n", type=_positive_int, default=16)
    r.add_argument("--data-dir")
    r.add_argument("--out", required=True, help="PNG file")

    ip = sub.add_parser("interpolate", help="decode the path between two items as a strip")
    ip.add_argument("run")
    ip.add_argument("--a", required=True, help="test-set index or image file")
    ip.add_argument("--b", required=True, help="test-set index or image file")
    ip.add_argument("--steps", type=_positive_int, default=10)
    ip.add_argument("--method", choices=["lerp", "slerp"], default="slerp")
    ip.add_argument("--data-dir")
    ip.add_argument("--out", required=True, help="PNG file")

    g = sub.add_parser("grid", help="bilinear latent grid between four corner items")
    g.add_argument("run")
    g.add_argument("--corners", required=True,
                   help="four items: top-left,top-right,bottom-left,bottom-right")
    g.add_argument("--n", type=_positive_int, default=8, help="grid side")
    g.add_argument("--data-dir")
    g.add_argument("--out", required=True, help="PNG file")

    mp = sub.add_parser("map", help="2-D map of the test codes coloured by label")
    mp.add_argument("run")
    mp.add_argument("--method", choices=["auto", "raw", "pca", "umap"], default="auto")
    mp.add_argument("--data-dir")
    mp.add_argument("--out", required=True, help="PNG file")
    mp.add_argument("--json", action="store_true", help="also print the coordinates")

    dm = sub.add_parser("dims", help="active units and KL per latent unit")
    dm.add_argument("run")
    dm.add_argument("--threshold", type=float, default=0.01,
                    help="a unit is active when Var(mu) over the data exceeds this")
    dm.add_argument("--data-dir")
    dm.add_argument("--json", action="store_true")

    kn = sub.add_parser("knobs", help="PCA knobs over the codes and their explained variance")
    kn.add_argument("run")
    kn.add_argument("-k", type=_positive_int, default=5)
    kn.add_argument("--data-dir")
    kn.add_argument("--json", action="store_true")

    c = sub.add_parser("concept", help="find a concept direction and save it to the run")
    c.add_argument("run")
    c.add_argument("name")
    c.add_argument("--from", dest="method", required=True,
                   choices=["groups", "probe", "edit", "property"])
    c.add_argument("--pos", help="selector of the positive group (or the items to edit)")
    c.add_argument("--neg", help="selector of the negative group (default: all other items)")
    c.add_argument("--edit", help="NAME:AMOUNT, e.g. taller:2, wider:2, brighter:40")
    c.add_argument("--property", help="a measured property to regress on the codes")
    c.add_argument("--target", help="the identifier this concept is meant to move "
                                    "(default: implied by --edit or --property)")
    c.add_argument("--n", type=_positive_int, help="at most N items per group (seeded)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--data-dir")
    c.add_argument("--json", action="store_true")

    cs = sub.add_parser("concepts", help="the run's saved concepts and their scores")
    cs.add_argument("run")
    cs.add_argument("--json", action="store_true")

    tv = sub.add_parser("traverse", help="walk along a concept and measure every identifier")
    tv.add_argument("run")
    tv.add_argument("--concept", required=True)
    tv.add_argument("--index", default="0", help="test-set index or image file for the strip")
    tv.add_argument("--alphas", default="-3:3:7", help="START:STOP:COUNT or a comma list")
    tv.add_argument("--items", type=_positive_int, default=64,
                    help="test items the slopes are averaged over")
    tv.add_argument("--with", dest="identifiers", default="",
                    help="trained identifiers too: probe:CONCEPT,classifier:LABEL")
    tv.add_argument("--data-dir")
    tv.add_argument("--out", help="PNG file for the strip")
    tv.add_argument("--json", action="store_true")

    en = sub.add_parser("entangle", help="concepts x identifiers matrix of standardised effects")
    en.add_argument("run")
    en.add_argument("--concepts", help="comma list (default: all saved)")
    en.add_argument("--alphas", default="-2:2:5")
    en.add_argument("--items", type=_positive_int, default=64)
    en.add_argument("--with", dest="identifiers", default="",
                    help="trained identifiers too: probe:CONCEPT,classifier:LABEL")
    en.add_argument("--data-dir")
    en.add_argument("--out", help="PNG heatmap")
    en.add_argument("--json", action="store_true")

    dg = sub.add_parser("disentangle", help="remove concept B from concept A, three ways")
    dg.add_argument("run")
    dg.add_argument("--concept", required=True, help="concept A (needs a target identifier)")
    dg.add_argument("--keep", required=True,
                    help="B: a saved concept (with a target) or a property such as brightness")
    dg.add_argument("--alphas", default="-2:2:5")
    dg.add_argument("--items", type=_positive_int, default=64)
    dg.add_argument("--fit-items", type=_positive_int, default=10000,
                    help="at most this many training items of A's population (its --pos) "
                         "to fit B's normal and eraser on")
    dg.add_argument("--save", action="store_true", help="save the three results as concepts")
    dg.add_argument("--data-dir")
    dg.add_argument("--json", action="store_true")

    d = sub.add_parser("data", help="list or fetch datasets")
    dsub = d.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    dl = dsub.add_parser("list", help="each dataset and whether it is available here")
    dl.add_argument("--data-dir")
    dl.add_argument("--json", action="store_true")
    df = dsub.add_parser("fetch", help="download a dataset from its official location")
    df.add_argument("name", choices=["fashion-mnist", "mnist"])
    df.add_argument("--dest", help="folder to write (default: $LATENTATLAS_DATA/NAME)")
    df.add_argument("--mirror", help="base URL to download from instead")
    return p


def _print(obj: Any, as_json: bool, text: str) -> None:
    print(json.dumps(obj, indent=2) if as_json else text)


def _set_threads(n: int | None) -> None:
    import torch

    if n is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        n = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    if n is not None:
        torch.set_num_threads(n)


def cmd_train(a: argparse.Namespace) -> int:
    import torch

    from .data import load_spec
    from .models import PRESETS, ImageModelConfig
    from .models import run as runfile
    from .train import TrainConfig, train

    _set_threads(a.threads)
    out = Path(a.out)
    if a.resume and (out / runfile.CONFIG).is_file():
        saved = runfile.read_config(out)
        data_spec, model_config = saved["data"], saved["model"]
        cfg = TrainConfig(**{**saved["train"], "epochs": a.epochs, "quiet": a.quiet})
    else:
        if a.resume and not out.is_dir():
            raise UserError(f"--resume: {out} does not exist")
        data_spec = {"name": a.data, "seed": a.seed, "image_size": a.image_size,
                     "n_train": a.n_train, "n_test": a.n_test}
        if a.data_dir:
            data_spec["data_dir"] = str(Path(a.data_dir).resolve())
        model_config = None
        cfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                          precision=a.precision, device=a.device, quiet=a.quiet)
    cfg.validate()
    data = load_spec(data_spec)
    if model_config is None:
        hidden = a.hidden or PRESETS[(a.arch, a.size)]
        model_config = ImageModelConfig(
            kind=a.model, arch=a.arch, image_shape=data.image_shape, latent_dim=a.latent_dim,
            hidden=hidden, likelihood=a.likelihood, obs_scale=a.obs_scale, beta=a.beta,
        ).to_dict()
    torch.manual_seed(cfg.seed)  # the initial weights are part of what the seed fixes
    model = runfile.build_model("image-vae", model_config)
    talk = not a.quiet and not a.json and int(os.environ.get("RANK", "0")) == 0
    if talk:
        print(data.summary())
        print(f"model: {model_config['kind']} {model_config['arch']} hidden "
              f"{list(model_config['hidden'])} latent {model_config['latent_dim']}, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters -> {out}")

    def report(r: dict[str, Any]) -> None:
        if talk:
            print(f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
                  f"  (recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/item)"
                  f"  {r['seconds']:.2f}s  {r['items_per_s']:,.0f} items/s", flush=True)

    history = train(model, data.train_x, data.test_x, out, cfg,
                    {"kind": "image-vae", "model": model_config, "data": data_spec},
                    resume=a.resume, force=a.force, on_epoch=report)
    if int(os.environ.get("RANK", "0")) == 0:
        last = history[-1] if history else {}
        loss = last.get("test_loss", float("nan"))
        _print({"run": str(out), "epochs": len(history), "last": last}, a.json,
               f"done: {out} ({len(history)} epochs), test loss {loss:.2f} nats/item")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    import torch

    from .models import load
    from .models.run import load_run_data
    from .train import evaluate, iw_nll

    model = load(a.run)
    data = load_run_data(a.run, a.data_dir)
    torch.manual_seed(a.seed)
    result: dict[str, Any] = {"run": a.run, "n_test": len(data.test_x)}
    result.update({k: round(v, 4) for k, v in evaluate(model, data.test_x).items()})
    if a.iw:
        if not model.is_variational:
            raise UserError("--iw needs a VAE; this run is a plain autoencoder")
        result[f"iw_nll_k{a.iw}"] = round(iw_nll(model, data.test_x, a.iw), 4)
    lines = [f"{a.run} on {len(data.test_x):,} test items (nats per item):",
             f"  loss {result['loss']:.2f}  recon {result['recon']:.2f}  kl {result['kl']:.2f}"]
    if a.iw:
        lines.append(f"  importance-weighted NLL (k={a.iw}): {result[f'iw_nll_k{a.iw}']:.2f}")
    _print(result, a.json, "\n".join(lines))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from .models import load, read_config, read_metrics

    config = read_config(a.run)
    model = load(a.run)
    metrics = read_metrics(a.run)
    n_params = sum(p.numel() for p in model.parameters())
    info = {"run": a.run, "kind": config["kind"], "model": config["model"],
            "data": config.get("data"), "parameters": n_params, "epochs": len(metrics),
            "last": metrics[-1] if metrics else None, "versions": config.get("versions")}
    m = config["model"]
    text = [f"{a.run}: {config['kind']} ({m['kind']}, {m['arch']}, hidden {m['hidden']}, "
            f"latent {m['latent_dim']}, {m['likelihood']}), {n_params:,} parameters",
            f"data: {(config.get('data') or {}).get('name')}; epochs trained: {len(metrics)}"]
    if metrics:
        text.append(f"last test loss {metrics[-1]['test_loss']:.2f} nats/item "
                    f"(recon {metrics[-1]['test_recon']:.2f}, kl {metrics[-1]['test_kl']:.2f})")
    _print(info, a.json, "\n".join(text))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from .atlas import run_codes, sample
    from .figures import save_grid
    from .models import load

    model = load(a.run)
    source = a.source or ("prior" if model.is_variational else "fitted")
    codes = None
    if source == "fitted":
        codes = run_codes(a.run, "train", model=model, data_dir=a.data_dir).mu
    z = sample(model, a.n, source=source, codes=codes, seed=a.seed)
    with torch.no_grad():
        images = model.decode(z)
    save_grid(images, a.out)
    print(f"wrote {a.out}: {a.n} samples from the {source} distribution")
    return 0


def cmd_reconstruct(a: argparse.Namespace) -> int:
    import torch

    from .figures import save_grid
    from .models import load
    from .models.run import load_run_data

    model = load(a.run)
    x = load_run_data(a.run, a.data_dir).test_x[: a.n]
    with torch.no_grad():
        x_hat = model.decode(model.encode(x)[0])
    cols = min(len(x), 16)
    rows = []
    for i in range(0, len(x), cols):
        rows += [x[i:i + cols], x_hat[i:i + cols]]
    save_grid(torch.cat(rows), a.out, nrow=cols)
    print(f"wrote {a.out}: {len(x)} test images, each above its reconstruction")
    return 0


def _decode_png(model, z, out: str, nrow: int | None = None) -> None:
    import torch

    from .figures import save_grid

    with torch.no_grad():
        save_grid(model.decode(z), out, nrow=nrow)


def cmd_interpolate(a: argparse.Namespace) -> int:
    from .atlas import encode, interpolate
    from .data.items import resolve_items
    from .models import load
    from .models.run import load_run_data

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
    from .atlas import encode, grid
    from .data.items import resolve_items
    from .models import load
    from .models.run import load_run_data

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

    from .atlas import embed_2d, run_codes, save_map
    from .figures import grid_array
    from .models import load
    from .models.run import load_run_data

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
    from .atlas import run_codes, unit_stats

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
    _print(result, a.json, "\n".join(lines))
    return 0


def cmd_knobs(a: argparse.Namespace) -> int:
    from .atlas import Knobs, run_codes

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
    _print(result, a.json, "\n".join(lines))
    return 0


EDIT_TARGETS = {"taller": "height", "wider": "width", "brighter": "brightness"}


def _effect_inputs(model, data, n_items: int, selector: str | None = None):
    """Start codes (up to ``n_items`` test items matching ``selector``) and decoded references
    (the first 1,000 test items) that set each identifier's spread."""
    import torch

    from .atlas import encode
    from .concepts.groups import select

    idx = select(selector, data, split="test", n=n_items)
    if len(idx) < 2:
        raise UserError(f"fewer than 2 test items match {selector!r} to start traversals from")
    starts = encode(model, data.test_x[idx]).mu
    with torch.no_grad():
        reference = model.decode(encode(model, data.test_x[:1000]).mu)
    return starts, reference


def _trained_identifiers(specs: str, run: str, model, data) -> dict:
    """``probe:CONCEPT`` and ``classifier:LABEL`` specs -> {name: identifier}."""
    from .concepts import get_concept
    from .concepts.groups import select
    from .concepts.identifiers import PixelClassifier, ProbeIdentifier

    out = {}
    for spec in (t.strip() for t in specs.split(",") if t.strip()):
        kind, _, arg = spec.partition(":")
        if kind == "probe":
            out[spec] = ProbeIdentifier(model, get_concept(run, arg))
        elif kind == "classifier":
            idx = select(f"label={arg}", data)  # validates the label name
            label = int(data.train_y[idx[0]])
            out[spec] = PixelClassifier(label).fit(data.train_x, data.train_y)
        else:
            raise UserError(f"--with takes probe:CONCEPT or classifier:LABEL, got {spec!r}")
    return out


def cmd_concept(a: argparse.Namespace) -> int:
    from .atlas import encode, run_codes
    from .concepts import (
        PROPERTIES,
        LinearProbe,
        MeanDifference,
        PairedEdits,
        PropertyRegression,
        apply_edit,
        measure,
        measure_effect,
        parse_alphas,
        save_concept,
    )
    from .concepts.groups import select
    from .models import load
    from .models.run import load_run_data

    model = load(a.run)
    data = load_run_data(a.run, a.data_dir)
    params: dict[str, Any] = {k: v for k, v in (("pos", a.pos), ("neg", a.neg), ("edit", a.edit),
                                                ("property", a.property), ("n", a.n)) if v}
    target = a.target
    if a.method in ("groups", "probe"):
        if not a.pos:
            raise UserError(f"--from {a.method} needs --pos (and optionally --neg)")
        codes = run_codes(a.run, "train", model=model, data=data).mu
        pos = select(a.pos, data, n=a.n, seed=a.seed)
        neg = select(a.neg, data, n=a.n, seed=a.seed + 1, exclude=None if a.neg else pos)
        finder = (MeanDifference() if a.method == "groups" else LinearProbe(seed=a.seed))
        finder.fit(codes[pos], codes[neg])
    elif a.method == "edit":
        if not a.edit:
            raise UserError("--from edit needs --edit NAME:AMOUNT, e.g. --edit taller:2")
        idx = select(a.pos, data, n=a.n or 200, seed=a.seed)
        if len(idx) < 1:
            raise UserError(f"no item matches --pos {a.pos!r}")
        x = data.train_x[idx]
        finder = PairedEdits().fit(encode(model, x).mu, encode(model, apply_edit(x, a.edit)).mu)
        target = target or EDIT_TARGETS[a.edit.partition(":")[0]]
    else:
        if not a.property:
            raise UserError(f"--from property needs --property ({', '.join(PROPERTIES)})")
        codes = run_codes(a.run, "train", model=model, data=data).mu
        idx = select(a.pos, data, n=a.n or 5000, seed=a.seed)
        values = measure(data.train_x[idx], [a.property])[a.property]
        finder = PropertyRegression(seed=a.seed).fit(codes[idx], values)
        target = target or a.property
    if target is not None and target not in PROPERTIES:
        raise UserError(f"unknown --target {target!r}; known: {', '.join(PROPERTIES)}")
    if target:
        params["target"] = target
    concept = finder.to_concept(a.name, **params)
    starts, reference = _effect_inputs(model, data, 64, a.pos)
    effect = measure_effect(model, starts, concept.vector, parse_alphas("-2:2:5"), reference)
    concept.scores.update({f"effect_{k}": round(v, 5) for k, v in effect.standardised().items()})
    if target:
        concept.scores.update({f"leakage_{k}": round(v, 5)
                               for k, v in effect.leakage(target).items()})
    path = save_concept(a.run, concept)
    scores = ", ".join(f"{k} {v:.3g}" for k, v in concept.scores.items()
                       if not k.startswith("effect_"))
    _print(concept.to_dict(), a.json,
           f"saved concept {a.name!r} ({a.method}) to {path}\n  {scores}")
    return 0


def cmd_concepts(a: argparse.Namespace) -> int:
    from .concepts import load_concepts
    from .models import read_config

    read_config(a.run)
    concepts = load_concepts(a.run)
    rows = [{k: v for k, v in c.to_dict().items() if k != "vector"} for c in concepts.values()]
    lines = [f"{a.run}: {len(rows)} concept(s)"]
    for r in rows:
        how = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lines.append(f"  {r['name']}: {r['method']} ({how})")
        score = ", ".join(f"{k} {v:.3g}" for k, v in r["scores"].items()
                          if not k.startswith("effect_"))
        if score:
            lines.append(f"      {score}")
    _print(rows, a.json, "\n".join(lines))
    return 0


def cmd_traverse(a: argparse.Namespace) -> int:
    from .atlas import encode
    from .concepts import get_concept, measure_effect, parse_alphas, slopes_per_item, traverse
    from .data.items import resolve_items
    from .figures import save_grid
    from .models import load
    from .models.run import load_run_data

    model = load(a.run)
    concept = get_concept(a.run, a.concept)
    if len(concept.vector) != model.latent_dim:
        raise UserError(f"concept {a.concept!r} has {len(concept.vector)} dimensions, the model "
                        f"{model.latent_dim}")
    alphas = parse_alphas(a.alphas)
    data = load_run_data(a.run, a.data_dir)
    item = resolve_items([a.index], data)
    z = encode(model, item).mu
    strip = traverse(model, z, concept.vector, alphas)  # (1, A, C, H, W)
    if a.out:
        save_grid(strip[0], a.out, nrow=len(alphas))
    extra = _trained_identifiers(a.identifiers, a.run, model, data)
    one = {k: float(v[0]) for k, v in slopes_per_item(strip, alphas, extra=extra).items()}
    starts, reference = _effect_inputs(model, data, a.items, concept.params.get("pos"))
    effect = measure_effect(model, starts, concept.vector, alphas, reference, extra=extra)
    target = concept.params.get("target")
    result = {"concept": a.concept, "alphas": alphas.tolist(), "item": a.index,
              "item_slopes": one, "mean_slopes": effect.mean_slope,
              "standardised_effect": effect.standardised(), "sd": effect.sd,
              "leakage": effect.leakage(target) if target else None, "target": target}
    among = f" matching {concept.params['pos']}" if "pos" in concept.params else ""
    lines = [f"{a.concept}: alphas {a.alphas}; slopes per unit alpha (item {a.index}; mean over "
             f"{len(starts)} test items{among}; standardised: |mean slope| / sd)"]
    for k in effect.sd:
        mark = "  <- target" if k == target else ""
        lines.append(f"  {k:18s} {one[k]:+9.3f}  {effect.mean_slope[k]:+9.3f}  "
                     f"{effect.standardised()[k]:7.3f}{mark}")
    if a.out:
        lines.append(f"wrote {a.out}")
    _print(result, a.json, "\n".join(lines))
    return 0


def cmd_entangle(a: argparse.Namespace) -> int:
    from .concepts import PROPERTIES, get_concept, load_concepts, measure_effect, parse_alphas
    from .models import load
    from .models.run import load_run_data

    model = load(a.run)
    names = ([n.strip() for n in a.concepts.split(",") if n.strip()] if a.concepts
             else list(load_concepts(a.run)))
    if not names:
        raise UserError("no concepts to compare; make some with latentatlas concept")
    concepts = [get_concept(a.run, n) for n in names]
    alphas = parse_alphas(a.alphas)
    data = load_run_data(a.run, a.data_dir)
    extra = _trained_identifiers(a.identifiers, a.run, model, data)
    identifiers = [*PROPERTIES, *extra]
    matrix, leak = [], {}
    for c in concepts:
        starts, reference = _effect_inputs(model, data, a.items, c.params.get("pos"))
        effect = measure_effect(model, starts, c.vector, alphas, reference, extra=extra)
        matrix.append([effect.standardised()[p] for p in identifiers])
        if c.params.get("target"):
            leak[c.name] = effect.leakage(c.params["target"])
    result = {"concepts": names, "identifiers": identifiers, "standardised_effect": matrix,
              "leakage": leak}
    if a.out:
        from .concepts.figures import save_heatmap

        save_heatmap(matrix, names, identifiers, a.out,
                     title="|mean slope| / sd per unit alpha")
    lines = ["standardised effect (|mean slope| / sd per unit alpha)",
             "concept".ljust(16) + "".join(p[:20].rjust(21) for p in identifiers)]
    for n, row in zip(names, matrix, strict=True):
        lines.append(n[:16].ljust(16) + "".join(f"{v:21.3f}" for v in row))
    for n, lk in leak.items():
        lines.append(f"leakage of {n}: " + ", ".join(f"{k} {v:.3f}" for k, v in lk.items()))
    if a.out:
        lines.append(f"wrote {a.out}")
    _print(result, a.json, "\n".join(lines))
    return 0


def cmd_disentangle(a: argparse.Namespace) -> int:
    from .atlas import run_codes
    from .concepts import (
        PROPERTIES,
        Concept,
        PropertyRegression,
        get_concept,
        load_concepts,
        measure,
        measure_effect,
        parse_alphas,
        save_concept,
    )
    from .concepts.disentangle import disentangle
    from .concepts.groups import select
    from .models import load
    from .models.run import load_run_data

    model = load(a.run)
    data = load_run_data(a.run, a.data_dir)
    concept = get_concept(a.run, a.concept)
    target = concept.params.get("target")
    if not target:
        raise UserError(f"concept {a.concept!r} has no target identifier; refit it with --target")
    codes = run_codes(a.run, "train", model=model, data=data).mu
    # B's normal and eraser are fitted where A is used: on A's population when it has one
    fit_idx = select(concept.params.get("pos"), data, n=a.fit_items, seed=0)
    if len(fit_idx) < 8:
        raise UserError(f"only {len(fit_idx)} training items to fit {a.keep!r} on; need 8")
    if a.keep in load_concepts(a.run):
        other = get_concept(a.run, a.keep)
        keep_id = other.params.get("target")
        if not keep_id:
            raise UserError(f"concept {a.keep!r} has no target identifier; refit it with --target")
        b_direction = other.vector
    elif a.keep in PROPERTIES:
        keep_id = a.keep
        values = measure(data.train_x[fit_idx], [keep_id])[keep_id]
        b_direction = PropertyRegression().fit(codes[fit_idx], values).direction_
    else:
        raise UserError(f"--keep {a.keep!r} is neither a saved concept nor a property "
                        f"({', '.join(PROPERTIES)})")
    if keep_id == target:
        raise UserError(f"{a.concept!r} targets {target} itself; nothing would be left")
    values = measure(data.train_x[fit_idx], [keep_id])[keep_id]
    variants = {"original": concept.vector,
                **disentangle(concept.vector, b_direction, codes[fit_idx], values)}
    starts, reference = _effect_inputs(model, data, a.items, concept.params.get("pos"))
    alphas = parse_alphas(a.alphas)
    rows = {}
    for method, v in variants.items():
        std = measure_effect(model, starts, v, alphas, reference).standardised()
        rows[method] = {"target_effect": std[target], "kept_effect": std[keep_id],
                        "leakage": std[keep_id] / std[target] if std[target] > 0 else None,
                        "cosine_to_original": float(v @ concept.vector)}
    base = rows["original"]["target_effect"]
    for r in rows.values():  # undefined when the original does not move its target at all
        r["target_kept"] = r["target_effect"] / base if base > 0 else None
    if a.save:
        for method, v in variants.items():
            if method != "original":
                save_concept(a.run, Concept(f"{a.concept}-minus-{a.keep}-{method}", v,
                                            f"disentangle:{method}",
                                            {**concept.params, "from": a.concept,
                                             "keep": a.keep}))
    result = {"concept": a.concept, "target": target, "keep": a.keep,
              "keep_identifier": keep_id, "methods": rows}
    lines = [f"{a.concept} (target {target}) without {a.keep} ({keep_id}); standardised "
             "effects per unit alpha",
             f"{'method':18s} {'target kept':>11s} {'leakage':>9s} {'cos(orig)':>9s}"]
    for method, r in rows.items():
        kept = "n/a" if r["target_kept"] is None else f"{r['target_kept']:.3f}"
        leak = "n/a" if r["leakage"] is None else f"{r['leakage']:.3f}"
        lines.append(f"{method:18s} {kept:>11s} {leak:>9s} {r['cosine_to_original']:9.3f}")
    _print(result, a.json, "\n".join(lines))
    return 0


def cmd_data(a: argparse.Namespace) -> int:
    from .data import DATASETS, availability, fetch

    if a.data_command == "fetch":
        dest = fetch(a.name, a.dest, a.mirror)
        print(f"fetched {a.name} into {dest}")
        return 0
    rows = [{"name": n, "description": d.description, "size": d.size,
             "available": availability(n, a.data_dir)} for n, d in DATASETS.items()]
    width = max(len(r["name"]) for r in rows)
    text = "\n".join(f"{r['name']:<{width}}  {r['size']:<16} {r['description']}\n"
                     f"{'':<{width}}  -> {r['available']}" for r in rows)
    _print(rows, a.json, text)
    return 0


COMMANDS = {"train": cmd_train, "eval": cmd_eval, "info": cmd_info, "sample": cmd_sample,
            "reconstruct": cmd_reconstruct, "interpolate": cmd_interpolate, "grid": cmd_grid,
            "map": cmd_map, "dims": cmd_dims, "knobs": cmd_knobs, "concept": cmd_concept,
            "concepts": cmd_concepts, "traverse": cmd_traverse, "entangle": cmd_entangle,
            "disentangle": cmd_disentangle, "data": cmd_data}


_NEGATIVE_VALUE_OPTIONS = ("--alphas",)


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--alphas -3:3:7`` -> ``--alphas=-3:3:7``: argparse takes -3:3:7 for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in _NEGATIVE_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1][:2] in (
                "-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-."):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    argv = _join_negative_values(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UserError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(f"interrupted: {e}; the checkpoint is saved, continue with --resume",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
