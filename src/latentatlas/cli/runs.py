"""Commands over datasets and runs: train, eval, info, sample, reconstruct, data."""

from __future__ import annotations

import argparse

from ..errors import OptionError
from .common import (
    Parser,
    add_decoding_args,
    as_flags,
    decoding,
    emit,
    numbers,
    obs_scale,
    positive_int,
    require_png,
    run_kind,
    seed_list,
    width_lists,
    widths,
)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from ..models.kinds import KINDS

    t = sub.add_parser("train", help="train a model into a run directory",
                       argument_default=argparse.SUPPRESS)  # fit's defaults apply
    t.set_defaults(func=cmd_train)
    t.add_argument("--model", choices=list(KINDS), default=None,
                   help="the model kind (default vae): " + "; ".join(
                       f"{k.name}: {k.help}" for k in KINDS.values()))
    t.add_argument("--arch", choices=["mlp", "conv"])
    t.add_argument("--data", default=None,
                   help="dataset spec (latentatlas data list; default fashion-mnist)")
    t.add_argument("--data-dir", help="folder holding the dataset files")
    t.add_argument("--image-size", type=positive_int, help="resize images to N x N")
    t.add_argument("--n-train", type=positive_int,
                   help="the training set's size: a seeded sample of the training split, "
                        "stratified by label where there are labels (images and texts alike)")
    t.add_argument("--n-test", type=positive_int,
                   help="the test set's size, sampled the same way")
    t.add_argument("--latent-dim", type=positive_int)
    t.add_argument("--size", choices=["small", "large"], help="width preset")
    t.add_argument("--hidden", type=widths, help="explicit widths, e.g. 400 or 32,64,256 (conv)")
    t.add_argument("--likelihood",
                   choices=["bernoulli", "gaussian", "laplace", "continuous-bernoulli"])
    t.add_argument("--obs-scale", type=obs_scale,
                   help="gaussian sigma / laplace b in pixel units, 'learned' (one for all "
                        "pixels) or 'per-pixel' (the decoder predicts each pixel's, bounded "
                        "to [0.01, 1])")
    t.add_argument("--beta", type=float, help="weight of the KL term")
    t.add_argument("--cell", choices=["gru", "lstm"],
                   help="text models' RNN (default: gru for text-vae/text-ae, lstm for lm)")
    t.add_argument("--word-dropout", type=float,
                   help="text-vae: share of decoder inputs replaced by <unk>")
    t.add_argument("--anneal", choices=["logistic", "linear", "none"],
                   help="text-vae: KL annealing schedule")
    t.add_argument("--anneal-steps", type=positive_int)
    t.add_argument("--free-bits", type=float, help="text-vae: nats per unit")
    t.add_argument("--kl-target", type=float, metavar="NATS",
                   help="text-vae: train toward this rate, nats per sentence (recon + "
                        "|KL - NATS|, Alemi et al. 2018) instead of the annealed ELBO")
    t.add_argument("--softmax", choices=["auto", "full", "adaptive"],
                   help="text-vae/text-ae: the output layer; auto: the adaptive softmax (Grave "
                        "et al. 2017) for vocabularies of 5,000 tokens or more")
    t.add_argument("--bidirectional", action="store_true",
                   help="text-vae/text-ae: a bidirectional encoder (the code from both final "
                        "states)")
    t.add_argument("--z-every-step", action="store_true",
                   help="text-vae: feed z to every decoder step, not only the first state")
    t.add_argument("--embed-dim", type=positive_int, help="text models")
    t.add_argument("--label",
                   help="text-classifier: what to predict (the label column, or a factor such "
                        "as grammar's sentiment or subject)")
    t.add_argument("--no-attention", action="store_true",
                   help="text-classifier: mean pooling instead of attention pooling")
    t.add_argument("--condition", metavar="NAME",
                   help="lm: condition on a context: a scalar (grammar's energy, a file's "
                        "context column) or a category (category/label, grammar's subject); "
                        "gan: `label`, a class-conditional GAN")
    t.add_argument("--gan-loss", choices=["ns", "hinge"],
                   help="gan: the non-saturating loss (default) or the hinge loss")
    t.add_argument("--no-encoder", dest="gan_encoder", action="store_const", const=False,
                   help="gan: train no encoder alongside (codes then come from latent "
                        "inversion by optimisation, hundreds of generator passes an item)")
    t.add_argument("--variance", action="store_true",
                   help="regressor: predict a variance too (Gaussian NLL) instead of a point "
                        "(squared error)")
    t.add_argument("--variance-head", choices=["exp", "softplus"],
                   help="regressor --variance, mdn: a scale from a raw output by exp (of a "
                        "log-variance; default) or softplus")
    t.add_argument("--components", type=positive_int,
                   help="mdn: mixture components (default 5)")
    t.add_argument("--adversarial", choices=["fgsm", "pgd"],
                   help="image-classifier: train on adversarial images (Madry et al. 2018)")
    t.add_argument("--eps", type=float,
                   help="image-classifier --adversarial: the L-inf budget (pixel values in "
                        "[0, 1]; default 0.1)")
    t.add_argument("--attack-steps", type=positive_int,
                   help="image-classifier --adversarial pgd: steps per batch (default 7)")
    t.add_argument("--rrr", metavar="MASK",
                   help="image-classifier: right for the right reasons (Ross et al. 2017), "
                        "penalise the input gradients on MASK: corners:K (the four KxK "
                        "corners) or a PNG of the image's size whose white pixels to ignore")
    t.add_argument("--rrr-weight", type=float,
                   help="image-classifier --rrr: the penalty's weight (default 1000)")
    t.add_argument("--window", type=positive_int,
                   help="attn-lm: the recent states each prediction attends over")
    t.add_argument("--max-len", type=positive_int, help="tokens per sentence")
    t.add_argument("--tokens", choices=["word", "char"],
                   help="text models: words, or characters (a character-level model; give "
                        "--max-len in characters)")
    t.add_argument("--min-count", type=positive_int, help="vocabulary: min count")
    t.add_argument("--max-vocab", type=positive_int)
    t.add_argument("--epochs", type=positive_int)
    t.add_argument("--batch-size", type=positive_int)
    t.add_argument("--lr", type=float)
    t.add_argument("--lr-schedule", choices=["constant", "cosine"],
                   help="cosine: the learning rate falls to 0 along a half cosine over all the "
                        "epochs (resuming with more epochs stretches what is left of it)")
    t.add_argument("--seed", type=int, help="initial weights, shuffling, noise")
    t.add_argument("--data-seed", type=int,
                   help="the dataset's own seed (shapes' images, train/test splits)")
    t.add_argument("--precision", choices=["auto", "fp32", "bf16"],
                   help="bf16: matmuls in bfloat16, weights, optimizer and loss in fp32; "
                        "auto: time a few steps in each on this machine and take the faster "
                        "whose loss agrees (cached)")
    t.add_argument("--device", choices=["auto", "cpu", "cuda"])
    t.add_argument("--cuda-graph", choices=["auto", "on", "off"],
                   help="auto: on a GPU, record an image VAE's or a GAN's training step once "
                        "as a CUDA graph and replay it (no per-step launch overhead); on: "
                        "that or an error; off: launch every kernel")
    t.add_argument("--sample-every", type=positive_int, metavar="N",
                   help="generative and language models: every N epochs print samples (texts; "
                        "images go to RUN/samples/epoch-NNN.png) and log them in "
                        "metrics.jsonl")
    t.add_argument("--threads", type=positive_int, default=None,
                   help="torch threads (default: the cores other processes are not using, "
                        "checked again every epoch)")
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--resume", action="store_true", default=False,
                   help="continue the run in --out with its saved model, data and settings "
                        "(from this command only --epochs, the new total, by default the "
                        "saved one, and output options)")
    t.add_argument("--force", action="store_true", default=False,
                   help="replace an existing --out")
    t.add_argument("--quiet", action="store_true", default=False,
                   help="no progress bar or per-epoch lines")
    t.add_argument("--json", action="store_true", default=False)
    _show_defaults(t)

    w = sub.add_parser("sweep", help="train many image VAEs at once, one per seed and width "
                                     "list (stacked weights, one vmapped step), each an "
                                     "ordinary run", argument_default=argparse.SUPPRESS)
    w.set_defaults(func=cmd_sweep)
    w.add_argument("--model", choices=["vae", "ae"], default="vae")
    w.add_argument("--data", default="fashion-mnist")
    w.add_argument("--seeds", type=seed_list, required=True, help="0,1,2 or 0..9")
    w.add_argument("--hidden", type=width_lists,
                   help="one model's widths per comma, a layer's after an x: 256,400,1024x512 "
                        "(default: the --size preset)")
    w.add_argument("--arch", choices=["mlp", "conv"])
    w.add_argument("--size", choices=["small", "large"])
    w.add_argument("--latent-dim", type=positive_int)
    for flag in ("--n-train", "--n-test", "--epochs", "--batch-size", "--image-size"):
        w.add_argument(flag, type=positive_int)
    w.add_argument("--likelihood",
                   choices=["bernoulli", "gaussian", "laplace", "continuous-bernoulli"])
    w.add_argument("--obs-scale", type=obs_scale)
    w.add_argument("--beta", type=float)
    w.add_argument("--lr", type=float)
    w.add_argument("--lr-schedule", choices=["constant", "cosine"])
    w.add_argument("--data-seed", type=int)
    w.add_argument("--data-dir")
    w.add_argument("--device", choices=["auto", "cpu", "cuda"],
                   help="where the stacked models train (auto: a GPU when there is one)")
    w.add_argument("--out", required=True, help="the folder for the runs and sweep.json")
    w.add_argument("--force", action="store_true", default=False,
                   help="overwrite runs of the same names")
    w.add_argument("--resume", action="store_true", default=False,
                   help="continue the runs a sweep with these options left in --out, "
                        "together, to --epochs in all")
    w.add_argument("--json", action="store_true", default=False)

    e = sub.add_parser("eval", help="test-set loss terms, optionally the IW likelihood")
    e.set_defaults(func=cmd_eval)
    e.add_argument("run")
    e.add_argument("--iw", type=positive_int, metavar="K",
                   help="importance-weighted NLL with K samples (Burda et al.)")
    e.add_argument("--data-dir")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--quality", action="store_true",
                   help="also score samples (Fréchet classifier distance, precision, recall, "
                        "class coverage); always on for GAN runs")
    e.add_argument("--samples", type=positive_int,
                   help="samples to score (default 5000; implies --quality)")
    e.add_argument("--classifier", metavar="RUN",
                   help="an image-classifier run whose features score the samples (default: "
                        "the dataset's reference classifier, trained once and cached)")
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
    s.add_argument("--class", dest="label", metavar="NAME",
                   help="class-conditional GAN: samples of this class")
    s.add_argument("--per-class", action="store_true",
                   help="class-conditional GAN: -n samples (default 8) of every class, a row "
                        "each")
    s.add_argument("--pixels", choices=["mean", "draw", "scale"], default="mean",
                   help="images: show each pixel's mean E[x|z], a draw x ~ p(x|z) (the "
                        "likelihood's noise included), or its scale (gaussian/laplace; the "
                        "sheet is divided by its largest scale)")
    s.add_argument("--words", type=positive_int,
                   help="text: generate until this many words instead of -n sentences")
    s.add_argument("--x", action="append", type=numbers, metavar="V[,V]",
                   help="regressor/mdn: an input (its numbers comma-separated; repeatable); -n "
                        "answers are drawn for each (default: one for each test input)")
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
    r.add_argument("--best", type=positive_int, metavar="N",
                   help="text: the N test sentences reconstructed best (exact matches first, "
                        "then lower NLL), as the sentence explorer offers them")
    r.add_argument("--min-words", type=positive_int, default=1,
                   help="with --best: pass over sentences shorter than this")
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
    df.add_argument("--mirror", help="a folder holding the four .gz files, or a base URL "
                                     "(http://, file://) to download from instead")


def _show_defaults(p: argparse.ArgumentParser) -> None:
    """Add fit's defaults to the help of the train options (their values are fit's)."""
    from dataclasses import fields

    from ..models.kinds import Options
    from ..train import TrainConfig

    defaults = {f.name: f.default for f in (*fields(Options), *fields(TrainConfig))}
    for action in p._actions:
        value = defaults.get(action.dest)
        if value not in (None, False) and action.dest in defaults:
            action.help = f"{action.help or ''} (default {value})".strip()


# the train command's own arguments; every other one is an option of ``fit``
_TRAIN_OWN = ("command", "func", "debug", "model", "data", "out", "resume", "force", "quiet",
              "json", "threads")


def cmd_sweep(a: argparse.Namespace) -> int:
    from ..runs import sweep

    options = {k: v for k, v in vars(a).items()
               if k not in ("command", "func", "debug", "model", "data", "out", "seeds",
                            "hidden", "force", "resume", "json", "threads")}
    summary = sweep(a.model, a.data, a.out, seeds=a.seeds, hidden=getattr(a, "hidden", None),
                    force=a.force, resume=a.resume,
                    log=None if a.json else (lambda s: print(s, flush=True)),
                    **options)
    lines = [f"{len(summary['runs'])} runs in {a.out} (summary: {a.out}/sweep.json)"]
    for r in summary["runs"]:
        lines.append(f"  {r['run']}: test loss {r['test_loss']:.2f} nats/item")
    emit(summary, a.json, "\n".join(lines))
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    from ..runs import fit, is_main_process

    options = {k: v for k, v in vars(a).items() if k not in _TRAIN_OWN}
    talk = not a.quiet and not a.json
    run = fit(a.model, a.data, a.out, resume=a.resume, force=a.force, quiet=a.quiet,
              log=(lambda line: print(line, flush=True)) if talk else None, **options)
    if is_main_process():
        last = run.history[-1] if run.history else {}
        emit({"run": a.out, "epochs": len(run.history), "last": last}, a.json,
             f"done: {a.out} ({len(run.history)} epochs), {run.kind.summary(last)}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from ..runs import Run

    run = Run.open(a.run, a.data_dir)
    result = run.evaluate(a.iw, a.seed)
    terms = {k: v for k, v in result.items()
             if k not in ("run", "n_test", "kl_weight") and not k.startswith("iw_nll")}
    unit = " (nats per item)" if run.kind.headline is None else ""
    lines = [f"{a.run} on {result['n_test']:,} test items{unit}:",
             "  " + "  ".join(f"{k.replace('_', ' ')} "
                              + (f"{v:.2f}" if isinstance(v, float) else str(v))
                              for k, v in terms.items())]
    if a.iw:
        lines.append(f"  importance-weighted NLL (k={a.iw}): {result[f'iw_nll_k{a.iw}']:.2f}")
    if a.quality or a.samples is not None or run.kind.adversarial:
        q = run.sample_quality(a.samples or 5000, a.classifier, a.seed)
        result["quality"] = q
        floor = q["real_train"]
        lines += [f"{q['n_samples']:,} samples ({q['source']}) against the test split, in the "
                  f"features of {q['classifier']}:",
                  f"  Fréchet classifier distance {q['frechet_classifier_distance']:.3f}  "
                  f"precision {q['precision']:.3f}  recall {q['recall']:.3f}  "
                  f"class coverage {q['coverage']:.2f}"
                  + (f" (missing: {', '.join(q['missing_classes'])})"
                     if q["missing_classes"] else ""),
                  f"  the real training split scores {floor['frechet_classifier_distance']:.3f}"
                  f", {floor['precision']:.3f}, {floor['recall']:.3f}, "
                  f"{floor['coverage']:.2f}"]
    emit(result, a.json, "\n".join(lines))
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    from ..runs import Run

    run = Run.open(a.run)
    info = run.info()
    m = info["model"]
    shown = ", ".join(f"{k} {m[k]}" for k in ("arch", "cell", "hidden", "latent_dim", "z_dim",
                                               "likelihood", "loss", "vocab_size")
                      if m.get(k) not in (None, []))
    text = [f"{a.run}: {info['kind']} ({shown}), {info['parameters']:,} parameters",
            f"data: {(info['data'] or {}).get('name')}; epochs trained: {info['epochs']}"]
    last = info["last"]
    if last and run.kind.headline is not None:
        text.append(f"last epoch: {run.kind.summary(last)}")
    elif last:
        terms = ", ".join(f"{k[5:]} {last[k]:.2f}" for k in (
            "test_recon", "test_kl", "test_perplexity", "test_accuracy") if k in last)
        text.append(f"last test loss {last['test_loss']:.2f} nats/item"
                    + (f" ({terms})" if terms else ""))
    emit(info, a.json, "\n".join(text))
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    if a.pixels != "mean" and (run_kind(a.run).text or run_kind(a.run).regression):
        raise OptionError("pixels", "is for image runs")
    if run_kind(a.run).text:
        return _sample_text(a)
    if run_kind(a.run).regression:
        for option, given in (("class", a.label), ("per_class", a.per_class or None),
                              ("context", a.context), ("source", a.source)):
            if given is not None:
                raise OptionError(option, "is not for regressor or mdn runs (they take --x)")
        return _sample_answers(a)
    if a.x is not None:
        raise OptionError("x", "is for regressor and mdn runs")
    if a.context is not None:
        raise OptionError("context", "is for language models; a conditional GAN takes --class")
    from ..atlas.workflow import sample_images
    from ..plotting import save_grid

    out = require_png(a)
    n = a.n or (8 if a.per_class else 64)
    images, source = sample_images(a.run, n, a.source, a.seed, a.data_dir, a.label,
                                   a.per_class, a.pixels)
    shown = {"pixels": a.pixels}
    if a.pixels == "scale":
        shown |= {"scale_max": round(float(images.max()), 4),
                  "scale_mean": round(float(images.mean()), 4)}
        images = images / images.max()
    save_grid(images.clamp(0, 1), out, **({"nrow": n} if a.per_class else {}))
    which = (" of class " + a.label if a.label else ", one row per class" if a.per_class
             else "")
    what = {"mean": "", "draw": " (pixels drawn from p(x|z))",
            "scale": f" (pixel scales / {shown.get('scale_max')})"}[a.pixels]
    chosen = {"class": a.label} if a.label else {"per_class": True} if a.per_class else {}
    emit({"run": a.run, "out": str(out), "samples": len(images), "source": source,
          "seed": a.seed, **chosen, **shown}, a.json,
         f"wrote {out}: {len(images)} samples from the {source} distribution{which}{what}")
    return 0


def _sample_answers(a: argparse.Namespace) -> int:
    """Answers drawn from a regression run's predicted distribution: for each --x, or one per
    test input; --out draws them over the data."""
    from .. import Run
    from ..plotting import png_path, save_answers

    if a.out:
        png_path(a.out)
    run = Run.open(a.run, a.data_dir)
    n = a.n or (10 if a.x else 1)
    res = run.answers(a.x, n, a.seed)
    if a.out:
        save_answers({run.path.name: res}, (run.dataset.test_x, run.dataset.test_y), a.out,
                     (res["x_names"], res["y_names"]), f"{run.kind.name} on {run.dataset.name}")
    rows = [{"x": xi.tolist(), "samples": s.tolist(), "point": p.tolist(),
             "on_data": r.tolist(), "on_data_point": bool(rp)}
            for xi, s, p, r, rp in zip(res["inputs"], res["samples"], res["points"],
                                       res["on_data"], res["on_data_point"], strict=True)
            ] if a.x else []  # the given inputs' answers; the test split's only counted
    result = {"run": a.run, "n": n, "inputs": len(res["inputs"]), "seed": a.seed,
              "on_data_rate": round(res["on_data_rate"], 4),
              "on_data_rate_point": round(res["on_data_rate_point"], 4),
              "out": a.out, "answers": rows}

    def fmt(v: list[float]) -> str:
        return ",".join(f"{t:.3f}" for t in v)

    lines = [f"x={fmt(r['x'])}: " + " ".join(fmt(s) for s in r["samples"])
             + f"  (point {fmt(r['point'])}; {sum(r['on_data'])}/{n} samples right)"
             for r in rows]
    lines.append(f"{res['on_data_rate']:.1%} of {len(res['inputs']) * n:,} sampled answers "
                 f"right, "
                 f"{res['on_data_rate_point']:.1%} of point answers"
                 + (f"; wrote {a.out}" if a.out else ""))
    emit(result, a.json, "\n".join(lines))
    return 0


def _sample_text(a: argparse.Namespace) -> int:
    """Sentences from a language model under --context, or from a sentence VAE's prior."""
    from ..fileio import write_text
    from ..text.workflow import sample_texts

    if a.source == "fitted":
        raise OptionError("source", "fitted is for image runs; text runs sample the prior")
    if a.label is not None or a.per_class:
        raise OptionError("class", "is for class-conditional GAN runs; a language model "
                                   "takes --context")
    texts = sample_texts(a.run, a.n, a.words, a.context, a.seed, **decoding(a))
    if a.out:
        write_text(a.out, "".join(t + "\n" for t in texts))
    result = {"run": a.run, "context": a.context, "texts": texts}
    shown = "\n".join(texts) if not a.out else f"wrote {a.out}: {len(texts):,} texts"
    emit(result, a.json, shown)
    return 0


def cmd_reconstruct(a: argparse.Namespace) -> int:
    if run_kind(a.run).text:
        return _reconstruct_text(a)
    from ..atlas.workflow import reconstruction_sheet
    from ..plotting import save_grid

    out = require_png(a)
    sheet, cols = reconstruction_sheet(a.run, a.n, data_dir=a.data_dir)
    save_grid(sheet, out, nrow=cols)
    print(f"wrote {out}: {len(sheet) // 2} test images, each above its reconstruction")
    return 0


def _reconstruct_text(a: argparse.Namespace) -> int:
    """Each sentence, its decode from the posterior mean, and decodes of samples of q(z|x);
    or, with --best, the test sentences reconstructed best."""
    from ..atlas.workflow import best_sentences, reconstruct_sentences

    if a.best:
        if a.text:
            raise OptionError("best", "ranks the test sentences; it takes no --text")
        rows = best_sentences(a.run, a.best, a.min_words, data_dir=a.data_dir)
        lines = [f"{'exact' if r['exact'] else 'near '}  {r['recon']:7.2f} nats  "
                 f"{r['input']}" + ("" if r["exact"] else f"\n{'':21}-> {r['mean']}")
                 for r in rows]
        emit({"run": a.run, "best": rows}, a.json, "\n".join(lines))
        return 0

    rows = reconstruct_sentences(a.run, a.text, a.n, a.samples, a.seed, **decoding(a))
    lines = []
    for r in rows:
        lines += [f"input  {r['input']}", f"mean   {r['mean']}"]
        lines += [f"q(z|x) {s}" for s in r.get("samples", [])]
        lines.append("")
    emit({"run": a.run, "reconstructions": rows}, a.json, "\n".join(lines).rstrip())
    return 0


def cmd_data(a: argparse.Namespace) -> int:
    from ..data import dataset_table, fetch

    if a.data_command == "fetch":
        dest = fetch(a.name, a.dest, a.mirror)
        print(f"fetched {a.name} into {dest}")
        return 0
    rows = dataset_table(a.data_dir)
    width = max(len(r["name"]) for r in rows)
    text = "\n".join(f"{r['name']:<{width}}  {r['size']:<16} {r['description']}\n"
                     f"{'':<{width}}  -> {as_flags(r['available'])}" for r in rows)
    emit(rows, a.json, text)
    return 0
