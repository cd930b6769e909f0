"""Commands over datasets and runs: train, eval, info, sample, reconstruct, data."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..errors import UserError
from .common import (
    Parser,
    add_decoding_args,
    decoding,
    emit,
    is_text_run,
    latent_text_model,
    obs_scale,
    positive_int,
    set_threads,
    widths,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train a model into a run directory")
    t.set_defaults(func=cmd_train)
    t.add_argument("--model", default="vae",
                   choices=["vae", "ae", "image-classifier", "text-vae", "text-ae", "lm",
                            "attn-lm", "text-classifier"],
                   help="image VAE/AE, a small CNN image classifier, sentence VAE, plain "
                        "sequence autoencoder, an LSTM language model (attn-lm: with attention "
                        "over its recent states), or a text classifier")
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
    t.add_argument("--cell", choices=["gru", "lstm"],
                   help="text models' RNN (default: gru for text-vae/text-ae, lstm for lm)")
    t.add_argument("--word-dropout", type=float, default=0.25,
                   help="text-vae: share of decoder inputs replaced by <unk>")
    t.add_argument("--anneal", default="logistic", choices=["logistic", "linear", "none"],
                   help="text-vae: KL annealing schedule")
    t.add_argument("--anneal-steps", type=positive_int, default=2000)
    t.add_argument("--free-bits", type=float, default=0.0, help="text-vae: nats per unit")
    t.add_argument("--z-every-step", action="store_true",
                   help="text-vae: feed z to every decoder step, not only the first state")
    t.add_argument("--embed-dim", type=positive_int, default=128, help="text models")
    t.add_argument("--label", default="label",
                   help="text-classifier: what to predict (the label column, or a factor such "
                        "as grammar's sentiment or subject)")
    t.add_argument("--no-attention", action="store_true",
                   help="text-classifier: mean pooling instead of attention pooling")
    t.add_argument("--condition", metavar="NAME",
                   help="lm: condition on a context: a scalar (grammar's energy, a file's "
                        "context column) or a category (category/label, grammar's subject)")
    t.add_argument("--window", type=positive_int, default=10,
                   help="attn-lm: the recent states each prediction attends over")
    t.add_argument("--max-len", type=positive_int, default=32, help="tokens per sentence")
    t.add_argument("--tokens", default="word", choices=["word", "char"],
                   help="text models: words, or characters (a character-level model; give "
                        "--max-len in characters)")
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

    s = sub.add_parser("sample", help="decode latent samples (images: a grid; text: sentences)")
    s.set_defaults(func=cmd_sample)
    s.add_argument("run")
    s.add_argument("-n", type=positive_int, help="how many (default 64 images, 10 sentences)")
    s.add_argument("--from", dest="source", choices=["prior", "fitted"],
                   help="prior N(0, I) (VAE default) or a Gaussian fitted to the codes (AE)")
    s.add_argument("--context", help="language model: the context value or category")
    s.add_argument("--words", type=positive_int,
                   help="text: generate until this many words instead of -n sentences")
    add_decoding_args(s)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--data-dir")
    s.add_argument("--out", help="image runs: PNG file (required); text runs: a .txt file")
    s.add_argument("--json", action="store_true")

    r = sub.add_parser("reconstruct", help="test images over their reconstructions, or a "
                                           "sentence through a sentence VAE")
    r.set_defaults(func=cmd_reconstruct)
    r.add_argument("run")
    r.add_argument("-n", type=positive_int, default=16)
    r.add_argument("--text", action="append", help="text runs: a sentence (repeatable)")
    r.add_argument("--samples", type=int, default=0,
                   help="text: also decode this many codes drawn from q(z|x)")
    add_decoding_args(r)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--data-dir")
    r.add_argument("--out", help="image runs: PNG file (required)")
    r.add_argument("--json", action="store_true")

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
    from ..models.image_classifier import ImageClassifierConfig
    from ..train import train

    set_threads(a.threads)
    out = Path(a.out)
    if a.model in ("text-vae", "text-ae", "lm", "attn-lm", "text-classifier") or (
            a.resume and (out / runfile.CONFIG).is_file()
            and runfile.read_config(out)["kind"] in runfile.TEXT_KINDS):
        return _train_text(a)
    if a.condition:
        raise UserError("--condition is for --model lm")
    spec = {"name": a.data, "seed": a.data_seed, "image_size": a.image_size,
            "n_train": a.n_train, "n_test": a.n_test}
    if a.data_dir:
        spec["data_dir"] = str(Path(a.data_dir).resolve())
    data_spec, model_config, cfg = _run_settings(a, out, spec)
    cfg.validate()
    data = load_spec(data_spec)
    kind = "image-vae"
    if a.resume and (out / runfile.CONFIG).is_file():
        kind = runfile.read_config(out)["kind"]
    elif a.model == "image-classifier":
        kind = "image-classifier"
    if model_config is None and kind == "image-classifier":
        if data.train_y is None or not data.classes:
            raise UserError(f"{a.data} has no labels: an image classifier needs them")
        model_config = ImageClassifierConfig(image_shape=data.image_shape, classes=data.classes,
                                             hidden=a.hidden or (32, 64, 128)).to_dict()
    elif model_config is None:
        hidden = a.hidden or PRESETS[(a.arch, a.size)]
        model_config = ImageModelConfig(
            kind=a.model, arch=a.arch, image_shape=data.image_shape, latent_dim=a.latent_dim,
            hidden=hidden, likelihood=a.likelihood, obs_scale=a.obs_scale, beta=a.beta,
        ).to_dict()
    torch.manual_seed(cfg.seed)  # the initial weights are part of what the seed fixes
    model = runfile.build_model(kind, model_config)
    classifier = kind == "image-classifier"
    talk = not a.quiet and not a.json and int(os.environ.get("RANK", "0")) == 0
    if talk:
        print(data.summary())
        what = (f"image-classifier cnn {list(model_config['hidden'])}, "
                f"{len(model_config['classes'])} classes" if classifier else
                f"{model_config['kind']} {model_config['arch']} hidden "
                f"{list(model_config['hidden'])} latent {model_config['latent_dim']}")
        print(f"model: {what}, {sum(p.numel() for p in model.parameters()):,} parameters "
              f"-> {out}")

    def report(r: dict[str, Any]) -> None:
        if not talk:
            return
        detail = (f"test accuracy {r['test_accuracy']:.3f}" if classifier else
                  f"(recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/item)")
        print(f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
              f"  {detail}  {r['seconds']:.2f}s  {r['items_per_s']:,.0f} items/s", flush=True)

    train_data = (data.train_x, data.train_y) if classifier else data.train_x
    test_data = (data.test_x, data.test_y) if classifier else data.test_x
    history = train(model, train_data, test_data, out, cfg,
                    {"kind": kind, "model": model_config, "data": data_spec},
                    resume=a.resume, force=a.force, on_epoch=report)
    if int(os.environ.get("RANK", "0")) == 0:
        last = history[-1] if history else {}
        loss = last.get("test_loss", float("nan"))
        quality = f", accuracy {last.get('test_accuracy', float('nan')):.3f}" if classifier \
            else ""
        emit({"run": str(out), "epochs": len(history), "last": last}, a.json,
             f"done: {out} ({len(history)} epochs), test loss {loss:.2f} nats/item{quality}")
    return 0


def _text_model_config(a: argparse.Namespace, vocab, data) -> tuple[str, dict]:
    """The kind and model config a new text run gets from this command's options."""
    from ..models.lm import LMConfig
    from ..models.text import TextModelConfig

    hidden = (a.hidden or (256,))[0]
    if a.model == "text-classifier":
        from ..models.classifier import TextClassifierConfig

        kind, values, _ = data.condition(a.label)
        if kind != "category":
            raise UserError(f"--label {a.label} is a number; a classifier needs categories")
        return "text-classifier", TextClassifierConfig(
            vocab_size=len(vocab), classes=sorted(set(map(str, values))),
            embed_dim=a.embed_dim, hidden=hidden, cell=a.cell or "gru",
            attention=not a.no_attention, max_len=a.max_len, label=a.label).to_dict()
    if a.model in ("lm", "attn-lm"):
        cfg = LMConfig(vocab_size=len(vocab), embed_dim=a.embed_dim, hidden=hidden,
                       cell=a.cell or "lstm", max_len=a.max_len,
                       window=a.window if a.model == "attn-lm" else 0)
        if a.condition:
            kind, train_values, _ = data.condition(a.condition)
            cfg.condition, cfg.condition_name = kind, a.condition
            if kind == "scalar":  # a context inside [0, 1] is taken to range over all of it
                lo, hi = float(min(train_values)), float(max(train_values))
                cfg.context_range = [0.0, 1.0] if 0 <= lo and hi <= 1 else [lo, hi]
            else:
                cfg.categories = sorted(set(map(str, train_values)))
        return "lm", cfg.to_dict()
    if a.condition:
        raise UserError("--condition is for --model lm")
    return "text-vae", TextModelConfig(
        vocab_size=len(vocab), embed_dim=a.embed_dim, hidden=hidden, latent_dim=a.latent_dim,
        cell=a.cell or "gru", word_dropout=a.word_dropout, anneal=a.anneal,
        anneal_steps=a.anneal_steps, free_bits=a.free_bits, beta=a.beta, max_len=a.max_len,
        variational=a.model != "text-ae", z_every_step=a.z_every_step).to_dict()


def _text_tensors(kind: str, model_config: dict, vocab, data, split: str):
    """A split as the trainer's batch tuple: (ids,) or (ids, context) for a conditioned LM.
    Test items whose category the training split never had are left out."""
    import torch

    texts = data.train if split == "train" else data.test
    condition = model_config.get("condition", "none") if kind == "lm" else "none"
    if kind == "text-classifier":
        condition, model_config = "category", {**model_config,
                                               "categories": model_config["classes"],
                                               "condition_name": model_config["label"]}
    if condition == "none":
        return vocab.batch(texts, model_config["max_len"])
    _, tr, te = data.condition(model_config["condition_name"])
    values = tr if split == "train" else te
    if condition == "scalar":
        return vocab.batch(texts, model_config["max_len"]), torch.tensor(values,
                                                                          dtype=torch.float32)
    cats = {c: i for i, c in enumerate(model_config["categories"])}
    keep = [i for i, v in enumerate(values) if str(v) in cats]
    return (vocab.batch([texts[i] for i in keep], model_config["max_len"]),
            torch.tensor([cats[str(values[i])] for i in keep]))


def _describe(kind: str, m: dict) -> str:
    if kind == "text-classifier":
        return (f"text-classifier bi-{m['cell']} hidden {m['hidden']}, "
                f"{'attention' if m['attention'] else 'mean'} pooling, {len(m['classes'])} "
                f"classes of {m['label']!r}")
    if kind == "lm":
        cond = m.get("condition", "none")
        return (f"lm {m['cell']} hidden {m['hidden']}"
                + (f", attention over {m['window']} states" if m.get("window") else "")
                + (f", conditioned on {m['condition_name']} ({cond})" if cond != "none" else ""))
    name = "text-vae" if m.get("variational", True) else "text-ae"
    return f"{name} {m['cell']} hidden {m['hidden']} latent {m['latent_dim']}"


def _train_text(a: argparse.Namespace) -> int:
    """``train --model text-vae|text-ae|lm``: a text model, vocab.json in the run."""
    import torch

    from ..data.text import load_text_spec
    from ..data.vocab import Vocab
    from ..models import run as runfile
    from ..train import train

    out = Path(a.out)
    data_spec, model_config, cfg = _run_settings(
        a, out, {"name": a.data, "seed": a.data_seed, "n": a.n_train})
    cfg.validate()
    data = load_text_spec(data_spec)
    if model_config is not None:
        kind, vocab = runfile.read_config(out)["kind"], Vocab.load(out / runfile.VOCAB)
    else:
        vocab = Vocab.build(data.train, min_count=a.min_count, max_size=a.max_vocab,
                            level=a.tokens)
        kind, model_config = _text_model_config(a, vocab, data)
    torch.manual_seed(cfg.seed)
    model = runfile.build_model(kind, model_config)
    train_data = _text_tensors(kind, model_config, vocab, data, "train")
    test_data = _text_tensors(kind, model_config, vocab, data, "test")
    talk = not a.quiet and not a.json and int(os.environ.get("RANK", "0")) == 0
    if talk:
        what = _describe(kind, model_config)
        print(data.summary())
        print(f"model: {what}, vocabulary {len(vocab):,}, "
              f"{sum(p.numel() for p in model.parameters()):,} parameters -> {out}")

    def report(r: dict[str, Any]) -> None:
        if not talk:
            return
        if kind == "text-classifier":
            print(f"epoch {r['epoch']:3d}  train {r['train_loss']:.3f}  test {r['test_loss']:.3f}"
                  f" nats/text, test accuracy {r['test_accuracy']:.3f}  {r['seconds']:.2f}s",
                  flush=True)
            return
        if kind == "lm":
            detail = f"nll {r['test_nll']:.2f} nats/sentence"
        else:
            detail = (f"recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/sentence, "
                      f"{r['test_active_units']} active units, kl weight "
                      f"{r['train_kl_weight']:.2f}")
        print(f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
              f"  ({detail}, perplexity {r['test_perplexity']:.1f})  {r['seconds']:.2f}s",
              flush=True)

    history = train(model, train_data, test_data, out, cfg,
                    {"kind": kind, "model": model_config, "data": data_spec},
                    resume=a.resume, force=a.force, on_epoch=report,
                    on_start=lambda d: vocab.save(d / runfile.VOCAB))
    last = history[-1] if history else {}
    quality = (f"accuracy {last.get('test_accuracy', float('nan')):.3f}"
               if kind == "text-classifier"
               else f"perplexity {last.get('test_perplexity', float('nan')):.1f}")
    emit({"run": str(out), "epochs": len(history), "last": last}, a.json,
         f"done: {out} ({len(history)} epochs), test loss "
         f"{last.get('test_loss', float('nan')):.2f} nats/text, {quality}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    import torch

    from ..models import load
    from ..models.run import load_run_data
    from ..train import evaluate, iw_nll

    model = load(a.run)
    if hasattr(model, "vocab"):  # a text model: its test sentences as token ids (+ context)
        from ..models import read_config

        config = read_config(a.run)
        x = _text_tensors(config["kind"], config["model"], model.vocab,
                          load_run_data(a.run), "test")
    else:
        data = load_run_data(a.run, a.data_dir)
        from ..models.image_classifier import ImageClassifier

        labelled = isinstance(model, ImageClassifier)  # its loss takes the labels
        x = (data.test_x, data.test_y) if labelled else data.test_x
    torch.manual_seed(a.seed)
    n_test = len(x[0]) if isinstance(x, tuple) else len(x)
    result: dict[str, Any] = {"run": a.run, "n_test": n_test}
    terms = evaluate(model, x)
    if hasattr(model, "epoch_metrics"):
        terms.update(model.epoch_metrics(terms, *(x if isinstance(x, tuple) else (x,))))
    result.update({k: round(float(v), 4) for k, v in terms.items()})
    if a.iw:
        if not hasattr(model, "iw_log_likelihood") or not model.is_variational:
            raise UserError("--iw needs an image VAE")
        result[f"iw_nll_k{a.iw}"] = round(iw_nll(model, x, a.iw), 4)
    lines = [f"{a.run} on {n_test:,} test items (nats per item):",
             "  " + "  ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in terms.items()
                              if k != "kl_weight")]
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
        last = metrics[-1]
        terms = ", ".join(f"{k[5:]} {last[k]:.2f}" for k in (
            "test_recon", "test_kl", "test_perplexity", "test_accuracy") if k in last)
        text.append(f"last test loss {last['test_loss']:.2f} nats/item"
                    + (f" ({terms})" if terms else ""))
    emit(info, a.json, "\n".join(text))
    return 0


def _need_png(a: argparse.Namespace) -> None:
    if not a.out:
        raise UserError(f"{a.run} is an image run: give --out FILE.png")


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from ..atlas import run_codes, sample
    from ..figures import save_grid
    from ..models import load

    if is_text_run(a.run):
        return _sample_text(a)
    _need_png(a)
    model = load(a.run)
    n = a.n or 64
    source = a.source or ("prior" if model.is_variational else "fitted")
    codes = None
    if source == "fitted":
        codes = run_codes(a.run, "train", model=model, data_dir=a.data_dir).mu
    z = sample(model, n, source=source, codes=codes, seed=a.seed)
    with torch.no_grad():
        images = model.decode(z)
    save_grid(images, a.out)
    print(f"wrote {a.out}: {n} samples from the {source} distribution")
    return 0


def _sample_text(a: argparse.Namespace) -> int:
    """Sentences from a language model under --context, or from a sentence VAE's prior."""
    from ..fileio import write_text
    from ..models import load
    from ..text import generate_texts
    from ..text.generation import parse_context

    model = load(a.run)
    if a.source == "fitted":
        raise UserError("--from fitted is for image runs; text runs sample the prior")
    context = parse_context(model, a.context)
    count = {"words": a.words} if a.words else {"n": a.n or 10}
    texts = generate_texts(model, context=context, seed=a.seed, **count, **decoding(a))
    if a.out:
        write_text(a.out, "".join(t + "\n" for t in texts))
    result = {"run": a.run, "context": a.context, "texts": texts}
    shown = "\n".join(texts) if not a.out else f"wrote {a.out}: {len(texts):,} texts"
    emit(result, a.json, shown)
    return 0


def cmd_reconstruct(a: argparse.Namespace) -> int:
    import torch

    from ..figures import save_grid
    from ..models import load
    from ..models.run import load_run_data

    if is_text_run(a.run):
        return _reconstruct_text(a)
    _need_png(a)
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


def _reconstruct_text(a: argparse.Namespace) -> int:
    """Each sentence, its decode from the posterior mean, and decodes of samples of q(z|x)."""
    import torch

    from ..atlas.sentences import decode_texts, token_ids
    from ..models.run import load_run_data

    model = latent_text_model(a.run)
    texts = a.text or load_run_data(a.run).test[: a.n]
    kw = decoding(a)
    kw["method"] = kw["method"] or "greedy"
    with torch.no_grad():
        mu, logvar = model.encode(token_ids(model, texts))
    rows = []
    gen = torch.Generator().manual_seed(a.seed)
    for i, text in enumerate(texts):
        row = {"input": text, "mean": decode_texts(model, mu[i:i + 1], **kw)[0]}
        if a.samples > 0 and logvar is not None:
            eps = torch.randn(a.samples, mu.shape[1], generator=gen)
            z = mu[i] + torch.exp(0.5 * logvar[i]) * eps
            row["samples"] = decode_texts(model, z, **kw)
        rows.append(row)
    lines = []
    for r in rows:
        lines += [f"input  {r['input']}", f"mean   {r['mean']}"]
        lines += [f"q(z|x) {s}" for s in r.get("samples", [])]
        lines.append("")
    emit({"run": a.run, "reconstructions": rows}, a.json, "\n".join(lines).rstrip())
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
