"""A run as a Python object: ``fit`` makes one, ``Run.open`` opens one.

    run = latentatlas.fit("vae", "shapes", "runs/s", epochs=1, n_train=2000, latent_dim=4)
    run = latentatlas.Run.open("runs/s")
    run.model, run.config, run.kind, run.data("test"), run.codes("test"), run.concepts,
    run.metrics, run.evaluate(iw=50), run.info()

The keyword options of ``fit`` are the CLI's ``train`` flags with underscores. This module sits
above the analysis layer (a run hands out its cached codes and saved concepts) and below the
surfaces, which call it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from .atlas.codes import Codes, run_codes, split_items
from .concepts.directions import Concept
from .concepts.store import load_concepts, save_concept
from .errors import OptionError, UserError
from .fileio import cache_dir, write_json
from .models import rundir
from .models.kinds import KINDS, OPTION_NAMES, Kind, Options, get_kind
from .train import TrainConfig, evaluate, iw_nll, train

# TrainConfig fields a user sets (eval_batch_size and quiet are the trainer's own)
TRAIN_OPTIONS = ("epochs", "batch_size", "lr", "lr_schedule", "seed", "precision", "device",
                 "cuda_graph", "sample_every")


class Run:
    """A run directory: its config, model, data, cached codes, concepts and metrics."""

    def __init__(self, path: str | Path, data_dir: str | Path | None = None):
        self.path = Path(path)
        self.config: dict[str, Any] = rundir.read_config(self.path)
        self.kind: Kind = get_kind(self.config["kind"])
        self.data_dir = data_dir
        self.history: list[dict[str, Any]] = []  # what ``fit`` trained in this session

    @classmethod
    def open(cls, path: str | Path, data_dir: str | Path | None = None) -> Run:
        """Open the run at ``path`` (``data_dir``: where its dataset's files lie, if moved)."""
        return cls(path, data_dir)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r}, kind={self.kind.name!r})"

    @cached_property
    def model(self) -> torch.nn.Module:
        """The trained model in eval mode, on the CPU."""
        return rundir.load(self.path)

    @cached_property
    def dataset(self):
        """The whole dataset the run was trained on (ImageData or TextData)."""
        return rundir.load_run_data(self.path, self.data_dir)

    def data(self, split: str = "test") -> torch.Tensor | list[str]:
        """The items of a split: an image tensor (N, C, H, W) or a list of texts."""
        if split not in ("train", "test"):
            raise OptionError("split", f"must be train or test, got {split!r}")
        return split_items(self.dataset, split)[0]

    def batch(self, split: str = "test") -> tuple[torch.Tensor, ...]:
        """A split as the tensors the model's loss takes (token ids, labels, contexts)."""
        vocab = getattr(self.model, "vocab", None)
        return self.kind.batch(self.config["model"], vocab, self.dataset, split)

    def codes(self, split: str = "test", save: bool = True) -> Codes:
        """Posterior means (and log-variances) of a split, cached under ``atlas/`` unless
        ``save`` is False."""
        self.require("latent", "has no latent space to encode into")
        return run_codes(self.path, split, model=self.model, data=self.dataset, save=save)

    @property
    def concepts(self) -> dict[str, Concept]:
        """The concepts saved in the run, by name."""
        return load_concepts(self.path)

    def save_concept(self, concept: Concept, replace: bool = False) -> None:
        """Save ``concept`` to the run; one of the same name is replaced only if ``replace``."""
        save_concept(self.path, concept, replace)

    def translation_map(self, other: str | Path | Run, method: str = "affine",
                        save: bool = True):
        """The map from this run's latent space to ``other``'s (a fitted ``translate.maps``
        object): the one ``translate`` saved while neither run has changed, else one fitted
        on their paired training codes (and saved unless ``save`` is False)."""
        from .translate.workflow import translation_map

        other = other.path if isinstance(other, Run) else other
        return translation_map(self.path, other, method, save=save)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """One record per trained epoch (nats per item)."""
        return rundir.read_metrics(self.path)

    def require(self, flag: str, what: str) -> None:
        """A UserError unless the run's kind has capability ``flag``; ``what`` says why not."""
        if not getattr(self.kind, flag):
            raise UserError(f"{self.path} holds {self.kind.named}, which {what}")

    def evaluate(self, iw: int | None = None, seed: int = 0) -> dict[str, Any]:
        """Test-set loss terms (nats per item) and the model's own metrics (perplexity,
        accuracy, active units); with ``iw`` = K the importance-weighted NLL (K samples)."""
        model = self.model
        batch = self.batch("test")
        torch.manual_seed(seed)
        terms = evaluate(model, batch)
        if hasattr(model, "epoch_metrics"):
            terms.update(model.epoch_metrics(terms, *batch))
        result: dict[str, Any] = {"run": str(self.path), "n_test": len(batch[0])}
        result.update({k: v if isinstance(v, int) else round(float(v), 4)
                       for k, v in terms.items()})
        if iw:
            if not hasattr(model, "iw_log_likelihood") or not model.is_variational:
                raise OptionError("iw", "needs an image VAE")
            result[f"iw_nll_k{iw}"] = round(iw_nll(model, batch[0], iw), 4)
        return result

    def sample_quality(self, n: int = 5000, classifier: str | Path | None = None,
                       seed: int = 0) -> dict[str, Any]:
        """The quality of ``n`` samples against the test split (``atlas.quality``: Fréchet
        classifier distance, precision, recall, class coverage) in the features of an
        image-classifier run: ``classifier``, or the reference classifier of the run's dataset
        (``reference_classifier``, trained once and cached). The real training split scored
        the same way (``real_train``) gives each measure's floor."""
        from .atlas.quality import sample_quality
        from .atlas.workflow import sample_images

        if self.kind.text or not self.kind.generates:
            raise UserError(f"{self.path} holds {self.kind.named}; sample quality is measured "
                            "for image generators")
        if n < 2:
            raise OptionError("samples", f"must be at least 2, got {n}")
        clf_run = Run.open(classifier) if classifier else reference_classifier(self)
        if not clf_run.kind.classifier or clf_run.kind.text:
            raise UserError(f"{clf_run.path} holds {clf_run.kind.named}, not an image classifier")
        clf = clf_run.model
        data = self.dataset
        if tuple(clf.config.image_shape) != tuple(data.image_shape):
            raise UserError(f"{clf_run.path} takes {clf.config.image_shape} images; "
                            f"{self.path} makes {data.image_shape}")
        fake, source = sample_images(self.path, n, seed=seed, data_dir=self.data_dir)
        classes = list(clf.config.classes)
        out = sample_quality(clf, data.test_x, fake, classes, seed=seed)
        floor = sample_quality(clf, data.test_x, data.train_x[:len(data.test_x)], classes,
                               seed=seed)
        return {**out, "source": source, "classifier": str(clf_run.path),
                "real_train": {k: floor[k] for k in ("frechet_classifier_distance",
                                                     "precision", "recall", "coverage")}}

    def path_comparison(self, pairs: int = 500, steps: int = 9, method: str = "slerp",
                        classifier: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
        """The lecture's contrast, measured: between ``pairs`` random pairs of test images,
        the latent path (decodes of ``method`` between their codes) and the pixel path
        (cross-fades), each scored per position by ``atlas.quality.path_quality`` (the
        classifier's confidence, the Fréchet classifier distance to the test set)."""
        from .atlas.interpolate import interpolate
        from .atlas.quality import path_quality
        from .atlas.workflow import decode_batched

        self.require("latent", "has no latent space to interpolate in")
        if self.kind.text:
            raise UserError(f"{self.path} is a text run; the path comparison is for images")
        if pairs < 2 or steps < 2:
            raise OptionError("pairs", f"and steps must be at least 2, got {pairs}, {steps}")
        clf = (Run.open(classifier) if classifier else reference_classifier(self)).model
        x = self.data("test")
        g = torch.Generator().manual_seed(seed)
        ends = torch.randperm(len(x), generator=g)[:2 * pairs].view(-1, 2)
        if len(ends) < 2:
            raise UserError(f"the test split has {len(x)} items: too few for pairs")
        model = self.model
        mu = run_codes(self.path, "test", model=model, data=self.dataset).mu
        codes = torch.stack([interpolate(mu[i], mu[j], steps, method)
                             for i, j in ends.tolist()])  # (P, S, D), decoded in one pass
        latent = decode_batched(model, codes.flatten(0, 1)).unflatten(0, codes.shape[:2])
        t = torch.linspace(0, 1, steps).view(1, -1, 1, 1, 1)
        pixel = (1 - t) * x[ends[:, 0]][:, None] + t * x[ends[:, 1]][:, None]
        return {"pairs": len(ends), "steps": steps, "method": method,
                "latent": path_quality(clf, x, latent), "pixel": path_quality(clf, x, pixel)}

    def answers(self, x: torch.Tensor | None = None, n: int = 1,
                seed: int = 0) -> dict[str, Any]:
        """A regression run's answers for inputs ``x`` (M, dx; default the test inputs): ``n``
        drawn from its predicted distribution per input (``samples`` (M, n, dy)) and its point
        answer (``points`` (M, dy)); with the dataset's truth (``data.pairs.on_data``) whether
        each is right (``on_data`` (M, n), ``on_data_point`` (M,)) and the shares that are."""
        self.require("regression", "answers nothing: answers need a regressor or mdn run")
        data = self.dataset
        try:
            x = data.test_x if x is None else torch.as_tensor(x, dtype=torch.float32)
        except (ValueError, TypeError):
            raise OptionError("x", "inputs must be numbers, all of one length") from None
        if x.ndim != 2 or x.shape[1] != data.x_dim:
            got = x.shape[-1] if x.ndim else 1
            raise OptionError("x", f"must be {data.x_dim} number{'s' if data.x_dim > 1 else ''} "
                                   f"({', '.join(data.x_names)}) for {self.path}, got {got}")
        if n < 1:
            raise OptionError("n", f"must be at least 1, got {n}")
        model = self.model
        samples = model.sample(x, n, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            points = model.predict(x)
        right = data.on_data(x.repeat_interleave(n, 0), samples.flatten(0, 1)).view(len(x), n)
        right_point = data.on_data(x, points)
        return {"inputs": x, "samples": samples, "points": points, "on_data": right,
                "on_data_point": right_point, "x_names": data.x_names, "y_names": data.y_names,
                "on_data_rate": float(right.float().mean()),
                "on_data_rate_point": float(right_point.float().mean())}

    def info(self) -> dict[str, Any]:
        """What the run holds: kind, model config, data, parameters, epochs, last metrics."""
        metrics = self.metrics
        return {"run": str(self.path), "kind": self.kind.name, "model": self.config["model"],
                "data": self.config.get("data"),
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "epochs": len(metrics), "last": metrics[-1] if metrics else None,
                "precision": (self.config.get("train") or {}).get("precision"),
                "versions": self.config.get("versions")}


REFERENCE_EPOCHS = 3


def reference_classifier(run: Run) -> Run:
    """The image classifier whose features score samples of ``run``'s dataset: trained once
    (``REFERENCE_EPOCHS`` epochs, default widths, seed 0) on the dataset's training split as
    the run's config names it, and kept under ``cache_dir()/classifiers/`` by the dataset spec
    (so every run of one dataset is scored in the same features)."""
    import hashlib
    import json
    import shutil
    import tempfile

    spec = {k: v for k, v in run.config["data"].items() if k != "seed"}
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    out = cache_dir() / "classifiers" / f"{spec['name'].replace(':', '-').replace('/', '-')}-{key}"
    if (out / rundir.WEIGHTS).is_file():
        return Run.open(out)
    if run.dataset.train_y is None:
        raise UserError(f"{spec['name']} has no labels to train a reference classifier on; "
                        "pass `classifier`, an image-classifier run")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=".training-"))
    try:
        options = {k: spec[k] for k in ("data_dir", "image_size", "n_train", "n_test")
                   if spec.get(k) is not None}
        if sys.stderr.isatty():
            print(f"training the reference classifier of {spec['name']} (once; kept in {out})",
                  file=sys.stderr, flush=True)
        fit("image-classifier", spec["name"], tmp / "run", epochs=REFERENCE_EPOCHS, **options)
        (tmp / "run").rename(out)  # whole or not at all
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Run.open(out)


def _split_options(hparams: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keyword options -> (training options, model and data options); unknown names are a
    UserError naming the known ones."""
    unknown = sorted(set(hparams) - set(TRAIN_OPTIONS) - set(OPTION_NAMES))
    if unknown:
        raise UserError(f"unknown option{'s' if len(unknown) > 1 else ''} "
                        f"{', '.join(unknown)}; known: "
                        f"{', '.join(sorted((*TRAIN_OPTIONS, *OPTION_NAMES)))}")
    return ({k: v for k, v in hparams.items() if k in TRAIN_OPTIONS},
            {k: v for k, v in hparams.items() if k in OPTION_NAMES})


def _refused(kind: Kind, given: dict[str, Any]) -> None:
    """An OptionError for an option the kind refuses, naming the kinds that take it."""
    defaults = {f.name: f.default for f in fields(Options)}
    for name in kind.refuses:
        if name in given and given[name] != defaults[name]:
            takers = [k.name for k in KINDS.values() if name not in k.refuses]
            raise OptionError(name, f"is for {', '.join(takers)} models, not {kind.name}")


def fit(kind: str | None = None, data: str | None = None, out: str | Path = "", *,
        resume: bool = False, force: bool = False, quiet: bool = True,
        threads: int | None = None, log: Callable[[str], None] | None = None,
        on_epoch: Callable[[dict[str, Any]], None] | None = None, **hparams: Any) -> Run:
    """Train a model of ``kind`` on dataset ``data`` into the run directory ``out``.

    ``hparams`` are the ``train`` command's options with underscores (``epochs``,
    ``latent_dim``, ``n_train``, ``hidden``, ...; defaults as there). With ``resume`` the run in
    ``out`` continues from its checkpoint with its saved settings, data and kind (only
    ``epochs``, the new total, is taken from here). ``log`` receives the data summary, the
    model and one line per epoch; ``on_epoch`` each epoch's metrics record.
    """
    out = Path(out)
    if not str(out):
        raise OptionError("out", "is required: the run directory to write")
    if threads is not None:
        torch.set_num_threads(threads)
    train_opts, model_opts = _split_options(hparams)
    saved = rundir.read_config(out) if resume and (out / rundir.CONFIG).is_file() else None
    if resume and saved is None and not out.is_dir():
        raise OptionError("resume", f"{out} does not exist")
    if saved is not None:
        k = get_kind(saved["kind"])
        if kind is not None and kind != k.name:
            raise OptionError("model", f"is {kind}, but the run in {out} holds {k.named}")
        spec, model_config = saved["data"], saved["model"]
        known = {f.name for f in fields(TrainConfig)}  # not what the run noted beside them
        cfg = TrainConfig(**{**{k: v for k, v in saved["train"].items() if k in known},
                             "epochs": train_opts.get("epochs", saved["train"]["epochs"]),
                             "sample_every": train_opts.get(
                                 "sample_every", saved["train"].get("sample_every", 0)),
                             "quiet": quiet})
    else:
        k = get_kind(kind or "vae")
        _refused(k, model_opts)
        options = Options(**model_opts)
        options.validate()
        spec = _data_spec(k, data or "fashion-mnist", options)
        model_config = None
        cfg = TrainConfig(**{**k.train_defaults, **train_opts}, quiet=quiet)
    cfg.validate()
    if cfg.sample_every and not k.generates:
        raise OptionError("sample_every", f"is for models that generate "
                          f"({', '.join(n for n, g in KINDS.items() if g.generates)}), not "
                          f"{k.name}")
    dataset, vocab, model_config, model, train_data, test_data = _materialise(
        k, spec, None if saved is not None else options, model_config, cfg.seed,
        out if saved is not None else None)
    say = log if is_main_process() else None
    if say is not None:
        size = f"vocabulary {len(vocab):,}, " if vocab is not None else ""
        say(dataset.summary())
        say(f"model: {k.describe(model_config)}, {size}"
            f"{sum(p.numel() for p in model.parameters()):,} parameters -> {out}")

    def report(record: dict[str, Any]) -> None:
        if say is not None:
            say(k.report(record))
            samples = record.get("samples")
            if isinstance(samples, list):
                say("\n".join(f"  sample: {text}" for text in samples))
            elif samples is not None:
                say(f"  samples: {out / samples}")
        if on_epoch is not None:
            on_epoch(record)

    history = train(model, train_data, test_data, out, cfg,
                    {"kind": k.name, "model": model_config, "data": spec},
                    resume=resume, force=force, on_epoch=report,
                    on_start=None if vocab is None else lambda d: vocab.save(d / rundir.VOCAB),
                    sampler=(lambda o, epoch: _epoch_samples(k, o, epoch)) if k.generates
                    else None)
    run = Run.open(out)
    run.history = history
    return run


def prepare(kind: str = "vae", data: str = "fashion-mnist", **hparams: Any
            ) -> tuple[torch.nn.Module, tuple[torch.Tensor, ...], tuple[torch.Tensor, ...],
                       TrainConfig, dict[str, Any]]:
    """What ``fit`` would train, without training it: the model (initial weights from
    ``seed``), the training and test tensors, the train config and the run config (kind,
    model config, data spec). For benchmarks and loops of one's own."""
    train_opts, model_opts = _split_options(hparams)
    k = get_kind(kind)
    _refused(k, model_opts)
    options = Options(**model_opts)
    options.validate()
    spec = _data_spec(k, data, options)
    cfg = TrainConfig(**{**k.train_defaults, **train_opts}, quiet=True)
    cfg.validate()
    _, _, model_config, model, train_data, test_data = _materialise(
        k, spec, options, None, cfg.seed, None)
    return model, train_data, test_data, cfg, {"kind": k.name, "model": model_config,
                                               "data": spec}


def _materialise(k: Kind, spec: dict[str, Any], options: Options | None,
                 model_config: dict[str, Any] | None, seed: int, saved_run: Path | None):
    """Load the data, the vocabulary (a new one from ``options``, else ``saved_run``'s), the
    model (seeded: the initial weights are part of what the seed fixes) and its batch
    tensors; -> (dataset, vocab, model_config, model, train_data, test_data)."""
    dataset = rundir.load_data(k, spec)
    vocab = None
    if k.text:
        from .data.vocab import Vocab

        vocab = (Vocab.load(saved_run / rundir.VOCAB) if saved_run is not None else
                 Vocab.build(dataset.train, min_count=options.min_count,
                             max_size=options.max_vocab, level=options.tokens))
    if model_config is None:
        model_config = k.configure(options, dataset, vocab)
    torch.manual_seed(seed)
    # a new config's bad value names its option; a saved one that cannot build names the run
    model = k.build(model_config) if saved_run is None else rundir.build_model(k, model_config)
    return (dataset, vocab, model_config, model, k.batch(model_config, vocab, dataset, "train"),
            k.batch(model_config, vocab, dataset, "test"))


def sweep(kind: str = "vae", data: str = "fashion-mnist", out: str | Path = "", *,
          seeds: list[int] | tuple[int, ...] = (0,),
          hidden: list[tuple[int, ...]] | None = None, force: bool = False,
          resume: bool = False, log: Callable[[str], None] | None = None,
          **hparams: Any) -> dict[str, Any]:
    """Train one image VAE (or autoencoder) per seed and per ``hidden`` width list, the seeds
    of one width together (``train.sweep.train_stacked``: stacked weights, one vmapped step),
    each into its own ordinary run ``out/h{widths}-s{seed}``. ``hparams`` as ``fit``'s (one
    value for all). With ``resume`` the runs of the same call continue from their
    checkpoints, together, to ``epochs`` in all. Writes and returns the sweep's summary
    ``out/sweep.json``: one row per run with its last epoch's test loss terms (nats per
    image)."""
    from .train.sweep import train_stacked

    out = Path(out)
    if not str(out):
        raise OptionError("out", "is required: the folder to hold the sweep's runs")
    k = get_kind(kind)
    if k.name not in ("vae", "ae"):
        raise OptionError("model", f"sweep trains vae and ae models (stacked with vmap), not "
                                   f"{k.name}")
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise OptionError("seeds", f"must be distinct seeds, got {seeds}")
    if "seed" in hparams:
        raise OptionError("seed", "is given per model by `seeds`")
    train_opts, model_opts = _split_options(hparams)
    _refused(k, model_opts)
    options = Options(**model_opts)
    options.validate()
    cfg = TrainConfig(**{**k.train_defaults, **train_opts}, quiet=True)
    cfg.validate()
    spec = _data_spec(k, data, options)
    dataset = rundir.load_data(k, spec)
    if log is not None:
        log(dataset.summary())
    rows = []
    for widths in hidden or [None]:
        model_config = k.configure(Options(**{**model_opts, "hidden": widths}), dataset, None)
        models = []
        for seed in seeds:
            torch.manual_seed(seed)  # each model starts where `train --seed` would start it
            models.append(k.build(model_config))
        name = "x".join(map(str, model_config["hidden"]))
        outs = [out / f"h{name}-s{seed}" for seed in seeds]
        if resume:
            _same_settings(outs, {"kind": k.name, "model": model_config, "data": spec})
        if log is not None:
            log(f"{len(seeds)} x {k.describe(model_config)} -> {out}/h{name}-s*")
        t = time.perf_counter()
        histories = train_stacked(
            models, seeds, k.batch(model_config, None, dataset, "train")[0],
            k.batch(model_config, None, dataset, "test")[0], outs, cfg,
            [{"kind": k.name, "model": model_config, "data": spec}] * len(seeds), force=force,
            resume=resume)
        seconds = time.perf_counter() - t
        for seed, path, history in zip(seeds, outs, histories, strict=True):
            last = history[-1]
            rows.append({"run": str(path), "hidden": list(model_config["hidden"]),
                         "seed": seed, "epochs": last["epoch"],
                         **{key: v for key, v in last.items() if key.startswith("test_")},
                         "group_seconds": round(seconds, 2)})
        if log is not None:
            losses = [r["test_loss"] for r in rows[-len(seeds):]]
            log(f"  {len(seeds)} models in {seconds:.1f} s; test loss "
                f"{min(losses):.2f} to {max(losses):.2f}")
    summary = {"kind": k.name, "data": spec, "seeds": seeds, "train": asdict(cfg),
               "runs": rows}
    write_json(out / "sweep.json", summary)
    return summary


def _same_settings(outs: list[Path], run_config: dict[str, Any]) -> None:
    """A resumed sweep's runs must be the ones these settings make."""
    for out in outs:
        if not (out / rundir.CONFIG).is_file():
            raise UserError(f"{out} holds no run to resume; run the sweep without `resume`")
        saved = rundir.read_config(out)
        for key in ("kind", "model", "data"):
            if saved.get(key) != json.loads(json.dumps(run_config[key])):
                raise UserError(f"{out} was trained with another {key} than this sweep's; "
                                "resume with the options it was started with")


EPOCH_SAMPLES = {"texts": 4, "images": 16}  # what ``sample_every`` logs


def _epoch_samples(kind: Kind, out: Path, epoch: int) -> dict[str, Any]:
    """What ``sample_every`` adds to an epoch's record, drawn from the run as saved with seed
    0 (the same draws every time, so successive epochs show the model change): a text
    model's texts (``sample_texts``), or an image model's samples (``sample_images``) drawn
    as a grid into ``out/samples/epoch-NNN.png``, the record holding that path."""
    if kind.text:
        from .text.workflow import sample_texts

        return {"samples": sample_texts(out, n=EPOCH_SAMPLES["texts"], seed=0)}
    from .atlas.workflow import sample_images
    from .plotting import save_grid

    images, _ = sample_images(out, EPOCH_SAMPLES["images"], seed=0)
    path = Path("samples") / f"epoch-{epoch:03d}.png"
    (out / path.parent).mkdir(exist_ok=True)
    save_grid(images.clamp(0, 1), out / path, nrow=8)
    return {"samples": str(path)}


def _data_spec(kind: Kind, name: str, o: Options) -> dict[str, Any]:
    """The dataset spec stored in config.json: what reloads the same items."""
    if kind.text or kind.regression:
        spec: dict[str, Any] = {"name": name, "seed": o.data_seed, "n_train": o.n_train,
                                "n_test": o.n_test}
    else:
        spec = {"name": name, "seed": o.data_seed, "image_size": o.image_size,
                "n_train": o.n_train, "n_test": o.n_test, "subset": "stratified"}
    if o.data_dir:
        spec["data_dir"] = str(Path(o.data_dir).resolve())
    return spec


def is_main_process() -> bool:
    """Rank 0 of a torchrun job, or a plain process: the one that prints results."""
    return int(os.environ.get("RANK", "0")) == 0
