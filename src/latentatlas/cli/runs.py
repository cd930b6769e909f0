"""Commands over datasets and runs: train, eval, info, sample, reconstruct, data."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path
from typing import Any

from ..errors import UserError
from .common import Parser, emit, obs_scale, positive_int, set_threads, widths


def add_parsers(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a model into a run directory")
    t.set_defaults(func=cmd_train)
    t.add_argument("--model", default="vae", choices=["vae", "ae", "text-vae"])
    t.add_argument("--arch", default="mlp", choices=["mlp", "conv"])
    t.add_argument("--data", default="fashion-mnist", help="dataset spec (latentatlas data list)")
    t.add_argument("--data-dir", help="folder holding the dataset files")
    t.add_argument("--image-size", type=positive_int, help="resize images to N x N")
    t.add_argument("--n-train", type=positive_int, help="use the first N training items")
    t.add_argument("--n-test", type=positive_int, help="use the first N test items")
    t.add_argument("--latent-dim", type=positive_int, default=20)
    t.add_argument("--size", default="small", choices=["small", "large"], help="width preset")
    t.add_argument("--hidden", type=widths, help="explicit widths, e.g. 400 or 32,64,256 (conv)")
    t.add_argument("--likelihood", default="bernoulli",
                   choices=["bernoulli", "gaussian", "laplace", "continuous-bernoulli"])
    t.add_argument("--obs-scale", type=obs_scale, default=0.1,
                   help="gaussian sigma / laplace b in pixel units, or 'learned'")
    t.add_argument("--beta", type=float, default=1.0, help="weight of the KL term")
    t.add_argument("--cell", default="gru", choices=["gru", "lstm"], help="text models' RNN")
    t.add_argument("--word-dropout", type=float, default=0.25,
                   help="text-vae: share of decoder inputs replaced by <unk>")
    t.add_argument("--anneal", default="logistic", choices=["logistic", "linear", "none"],
                   help="text-vae: KL annealing schedule")
    t.add_argument("--anneal-steps", type=positive_int, default=2000)
    t.add_argument("--free-bits", type=float, default=0.0, help="text-vae: nats per unit")
    t.add_argument("--max-len", type=positive_int, default=32, help="tokens per sentence")
    t.add_argument("--min-count", type=positive_int, default=2, help="vocabulary: min count")
    t.add_argument("--max-vocab", type=positive_int, default=20000)
    t.add_argument("--epochs", type=positive_int, default=10)
    t.add_argument("--batch-size", type=positive_int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0, help="initial weights, shuffling, noise")
    t.add_argument("--data-seed", type=int, default=0,
                   help="the dataset's own seed (shapes' images, train/test splits)")
    t.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="bf16: matmuls in bfloat16, weights, optimizer and loss in fp32; "
                        "auto: bf16 where the device has native bf16 matmuls")
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    t.add_argument("--threads", type=positive_int, help="torch threads (default: all cores)")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--resume", action="store_true",
                   help="continue the run in --out with its saved model, data and settings "
                        "(from this command only --epochs, the new total, and output options)")
    t.add_argument("--force", action="store_true", help="replace an existing --out")
    t.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    t.add_argument("--json", action="store_true")

    e = sub.add_parser("eval", help="test-set loss terms, optionally the IW likelihood")
    e.set_defaults(func=cmd_eval)
    e.add_argument("run")
    e.add_argument("--iw", type=positive_int, metavar="K",
                   help="importance-weighted NLL with K samples (Burda et al.)")
    e.add_argument("--data-dir")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", action="store_true")

    i = sub.add_parser("info", help="what a run holds")
    i.set_defaults(func=cmd_info)
    i.add_argument("run")
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("sample", help="decode latent samples into an image grid")
    s.set_defaults(func=cmd_sample)
    s.add_argument("run")
    s.add_argument("-n", type=positive_int, default=64)
    s.add_argument("--from", dest="source", choices=["prior", "fitted"],
                   help="prior N(0, I) (VAE default) or a Gaussian fitted to the codes (AE)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir")
    s.add_argument("--out", required=True, help="PNG file")

    r = sub.add_parser("reconstruct", help="test images (odd rows) over their reconstructions")
    r.set_defaults(func=cmd_reconstruct)
    r.add_argument("run")
    r.add_argument("-n", type=positive_int, default=16)
    r.add_argument("--data-dir")
    r.add_argument("--out", required=True, help="PNG file")

    d = sub.add_parser("data", help="list or fetch datasets")
    d.set_defaults(func=cmd_data)
    dsub = d.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    dl = dsub.add_parser("list", help="each dataset and whether it is available here")
    dl.add_argument("--data-dir")
    dl.add_argument("--json", action="store_true")
    df = dsub.add_parser("fetch", help="download a dataset from its official location")
    df.add_argument("name", choices=["fashion-mnist", "mnist"])
    df.add_argument("--dest", help="folder to write (default: $LATENTATLAS_DATA/NAME)")
    df.add_argument("--mirror", help="base URL to download from instead")


def _run_settings(a: argparse.Namespace, out: Path, new_data_spec: dict):
    """(data spec, model config or None, TrainConfig): the saved ones when resuming a run
    (only --epochs and output options come from this command), else this command's."""
    from ..models import run as runfile
    from ..train import TrainConfig

    if a.resume and (out / runfile.CONFIG).is_file():
        saved = runfile.read_config(out)
        cfg = TrainConfig(**{**saved["train"], "epochs": a.epochs, "quiet": a.quiet})
        return saved["data"], saved["model"], cfg
    if a.resume and not out.is_dir():
        raise UserError(f"--resume: {out} does not exist")
    cfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, seed=a.seed,
                      precision=a.precision, device=a.device, quiet=a.quiet)
    return new_data_spec, None, cfg


def cmd_train(a: argparse.Namespace) -> int:
    import torch

    from ..data import load_spec
    from ..models import PRESETS, ImageModelConfig
    from ..models import run as runfile
    from ..train import train

    set_threads(a.threads)
    out = Path(a.out)
    resuming_text = (a.resume and (out / runfile.CONFIG).is_file()
                     and runfile.read_config(out)["kind"] == "text-vae")
    if a.model == "text-vae" or resuming_text:
        return _train_text(a)
    spec = {"name": a.data, "seed": a.data_seed, "image_size": a.image_size,
            "n_train": a.n_train, "n_test": a.n_test}
    if a.data_dir:
        spec["data_dir"] = str(Path(a.data_dir).resolve())
    data_spec, model_config, cfg = _run_settings(a, out, spec)
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
        emit({"run": str(out), "epochs": len(history), "last": last}, a.json,
               f"done: {out} ({len(history)} epochs), test loss {loss:.2f} nats/item")
    return 0


def _train_text(a: argparse.Namespace) -> int:
    """``train --model text-vae``: a sentence VAE on a text dataset, vocab.json in the run."""
    import torch

    from ..data.text import load_text_spec
    from ..data.vocab import Vocab
    from ..models import run as runfile
    from ..train import train

    out = Path(a.out)
    data_spec, model_config, cfg = _run_settings(
        a, out, {"name": a.data, "seed": a.data_seed, "n": a.n_train})
    vocab = Vocab.load(out / runfile.VOCAB) if model_config is not None else None
    cfg.validate()
    data = load_text_spec(data_spec)
    if vocab is None:
        vocab = Vocab.build(data.train, min_count=a.min_count, max_size=a.max_vocab)
    if model_config is None:
        from ..models.text import TextModelConfig

        model_config = TextModelConfig(
            vocab_size=len(vocab), hidden=(a.hidden or (256,))[0], latent_dim=a.latent_dim,
            cell=a.cell, word_dropout=a.word_dropout, anneal=a.anneal,
            anneal_steps=a.anneal_steps, free_bits=a.free_bits, beta=a.beta,
            max_len=a.max_len).to_dict()
    torch.manual_seed(cfg.seed)
    model = runfile.build_model("text-vae", model_config)
    train_ids = vocab.batch(data.train, model_config["max_len"])
    test_ids = vocab.batch(data.test, model_config["max_len"])
    talk = not a.quiet and not a.json and int(os.environ.get("RANK", "0")) == 0
    if talk:
        print(data.summary())
        print(f"model: text-vae {model_config['cell']} hidden {model_config['hidden']} latent "
              f"{model_config['latent_dim']}, vocabulary {len(vocab):,}, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters -> {out}")

    def report(r: dict[str, Any]) -> None:
        if talk:
            ppl = math.exp(r["test_recon"] / max(r["test_tokens"], 1e-9))
            print(f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
                  f"  (recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/sentence, "
                  f"perplexity {ppl:.1f}, kl weight {r['train_kl_weight']:.2f})"
                  f"  {r['seconds']:.2f}s", flush=True)

    history = train(model, train_ids, test_ids, out, cfg,
                    {"kind": "text-vae", "model": model_config, "data": data_spec},
                    resume=a.resume, force=a.force, on_epoch=report,
                    on_start=lambda d: vocab.save(d / runfile.VOCAB))
    last = history[-1] if history else {}
    emit({"run": str(out), "epochs": len(history), "last": last}, a.json,
         f"done: {out} ({len(history)} epochs), test loss "
         f"{last.get('test_loss', float('nan')):.2f} nats/sentence")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    import torch

    from ..models import load
    from ..models.run import load_run_data
    from ..train import evaluate, iw_nll

    model = load(a.run)
    if hasattr(model, "vocab"):  # a text model: its test sentences as token ids
        from ..data.text import load_text_spec
        from ..models import read_config

        spec = read_config(a.run)["data"]
        texts = load_text_spec(spec).test
        x = model.vocab.batch(texts, model.config.max_len)
    else:
        x = load_run_data(a.run, a.data_dir).test_x
    torch.manual_seed(a.seed)
    result: dict[str, Any] = {"run": a.run, "n_test": len(x)}
    result.update({k: round(float(v), 4) for k, v in evaluate(model, x).items()})
    if a.iw:
        if not hasattr(model, "iw_log_likelihood") or not model.is_variational:
            raise UserError("--iw needs an image VAE")
        result[f"iw_nll_k{a.iw}"] = round(iw_nll(model, x, a.iw), 4)
    lines = [f"{a.run} on {len(x):,} test items (nats per item):",
             f"  loss {result['loss']:.2f}  recon {result['recon']:.2f}  kl {result['kl']:.2f}"]
    if a.iw:
        lines.append(f"  importance-weighted NLL (k={a.iw}): {result[f'iw_nll_k{a.iw}']:.2f}")
    emit(result, a.json, "\n".join(lines))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from ..models import load, read_config, read_metrics

    config = read_config(a.run)
    model = load(a.run)
    metrics = read_metrics(a.run)
    n_params = sum(p.numel() for p in model.parameters())
    info = {"run": a.run, "kind": config["kind"], "model": config["model"],
            "data": config.get("data"), "parameters": n_params, "epochs": len(metrics),
            "last": metrics[-1] if metrics else None, "versions": config.get("versions")}
    m = config["model"]
    shown = ", ".join(f"{k} {m[k]}" for k in ("kind", "arch", "cell", "hidden", "latent_dim",
                                               "likelihood", "vocab_size") if k in m)
    text = [f"{a.run}: {config['kind']} ({shown}), {n_params:,} parameters",
            f"data: {(config.get('data') or {}).get('name')}; epochs trained: {len(metrics)}"]
    if metrics:
        text.append(f"last test loss {metrics[-1]['test_loss']:.2f} nats/item "
                    f"(recon {metrics[-1]['test_recon']:.2f}, kl {metrics[-1]['test_kl']:.2f})")
    emit(info, a.json, "\n".join(text))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from ..atlas import run_codes, sample
    from ..figures import save_grid
    from ..models import load

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

    from ..figures import save_grid
    from ..models import load
    from ..models.run import load_run_data

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


def cmd_data(a: argparse.Namespace) -> int:
    from ..data import DATASETS, availability, fetch

    if a.data_command == "fetch":
        dest = fetch(a.name, a.dest, a.mirror)
        print(f"fetched {a.name} into {dest}")
        return 0
    rows = [{"name": n, "description": d.description, "size": d.size,
             "available": availability(n, a.data_dir)} for n, d in DATASETS.items()]
    width = max(len(r["name"]) for r in rows)
    text = "\n".join(f"{r['name']:<{width}}  {r['size']:<16} {r['description']}\n"
                     f"{'':<{width}}  -> {r['available']}" for r in rows)
    emit(rows, a.json, text)
    return 0
