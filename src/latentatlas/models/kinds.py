"""The registry of model kinds: one ``Kind`` per model a run can hold.

A kind names itself once: its name is the CLI's ``--model`` word and the ``kind`` stored in
``config.json``. It carries its recipe (the model config it builds from the training data and
the options, how it turns a split into the trainer's batch tensors, how it reports an epoch)
and capability flags that commands ask instead of comparing names:

    latent      encode/decode a latent space (atlas, concepts, explorer, translation)
    text        trained on texts; the run carries its vocabulary (vocab.json)
    generates   makes new items (sample)
    adversarial a GAN: a generator and a critic, trained in turns
    regression  predicts answers y from inputs x (a regression set of ``data.pairs``)
    classifier  has a classifier head (explain, maximize)
    prompted    continues a prompt token by token (generate, cells)

Adding a kind is its model file plus one ``register(Kind(...))`` entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from ..errors import OptionError, UserError
from .classifier import TextClassifier, TextClassifierConfig
from .gan import GAN, GANConfig
from .image import PRESETS, ImageModelConfig, ImageVAE
from .image_classifier import ImageClassifier, ImageClassifierConfig, rrr_mask
from .lm import LanguageModel, LMConfig
from .regression import Regressor, RegressorConfig
from .softmax import resolve_softmax
from .text import SentenceVAE, TextModelConfig

Batch = tuple[torch.Tensor, ...]


@dataclass
class Options:
    """The options a new run is made with, beside the training ones (``TrainConfig``); the
    names are the CLI's flags with underscores. Each kind reads the ones it needs."""

    data_dir: str | None = None
    image_size: int | None = None
    n_train: int | None = None
    n_test: int | None = None
    data_seed: int = 0
    latent_dim: int = 20
    arch: str = "mlp"
    size: str = "small"
    hidden: tuple[int, ...] | None = None
    likelihood: str = "bernoulli"
    obs_scale: float | str = 0.1
    beta: float = 1.0
    cell: str | None = None
    word_dropout: float = 0.5
    anneal: str = "logistic"
    anneal_steps: int = 2000
    free_bits: float = 0.0
    kl_target: float | None = None
    softmax: str = "auto"
    bidirectional: bool = False
    z_every_step: bool = False
    embed_dim: int = 128
    label: str = "label"
    no_attention: bool = False
    condition: str | None = None
    window: int = 10
    max_len: int = 32
    tokens: str = "word"
    min_count: int = 2
    max_vocab: int = 20000
    gan_loss: str = "ns"
    gan_encoder: bool = True
    variance: bool = False
    variance_head: str = "exp"
    components: int = 5
    adversarial: str | None = None
    eps: float = 0.1
    attack_steps: int = 7
    rrr: str | None = None
    rrr_weight: float = 1000.0

    def validate(self) -> None:
        """An OptionError for a value no kind can use."""
        if self.data_seed < 0:
            raise OptionError("data_seed", f"must be 0 or more, got {self.data_seed}")
        for name in ("n_train", "n_test", "image_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise OptionError(name, f"must be at least 1, got {value}")


OPTION_NAMES = tuple(f.name for f in fields(Options))


@dataclass(frozen=True)
class Kind:
    """One model kind: its name, model class, recipe and capabilities."""

    name: str
    model: type[torch.nn.Module]
    config: type
    help: str
    configure: Callable[[Options, Any, Any], dict[str, Any]]  # (options, data, vocab) -> config
    batch: Callable[[dict[str, Any], Any, Any, str], Batch]  # (config, vocab, data, split)
    describe: Callable[[dict[str, Any]], str]
    report: Callable[[dict[str, Any]], str]  # one epoch's metrics record -> a line
    quality: Callable[[dict[str, Any]], str] = lambda last: ""  # the done line's last part
    # the done line's measure of the last epoch; the test loss unless the kind says otherwise
    headline: Callable[[dict[str, Any]], str] | None = None
    text: bool = False
    latent: bool = False
    generates: bool = False
    classifier: bool = False
    prompted: bool = False
    adversarial: bool = False
    regression: bool = False
    # training defaults of this kind where the user gives none (a GAN's learning rate)
    train_defaults: dict[str, Any] = field(default_factory=dict)
    # options this kind refuses (the others it does not read are simply unused)
    refuses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def named(self) -> str:
        """The kind with its article, for messages: "a vae", "an attn-lm"."""
        return f"{'an' if self.name[0] in 'aeiou' else 'a'} {self.name}"

    @property
    def samples(self) -> bool:
        """``sample`` works: a generator, or a regressor (answers drawn for inputs)."""
        return self.generates or self.regression

    @property
    def unit(self) -> str:
        """What one item is, for "nats per ...": a text, or an item (an image, an x-y pair)."""
        return "text" if self.text else "item"

    def summary(self, last: dict[str, Any]) -> str:
        """How the last epoch ended, for the done line ("test loss 3.21 nats/item, ...")."""
        if self.headline is not None:
            return self.headline(last)
        loss = last.get("test_loss", float("nan"))
        return f"test loss {loss:.2f} nats/{self.unit}{self.quality(last)}"

    def build(self, model_config: dict[str, Any]) -> torch.nn.Module:
        """The model this kind's config describes (an OptionError for a bad value)."""
        return self.model(self.config(**model_config))


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add (or replace) a kind in the registry; returns it."""
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind:
    """The registered kind called ``name``, or a UserError listing the known ones."""
    if not isinstance(name, str) or name not in KINDS:
        raise UserError(f"unknown model kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]


def upgrade_format0(kind: str, model: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A kind and model config written before run format 1 -> today's: image runs were
    ``image-vae`` with the VAE/AE choice in the model config, the sequence autoencoder was a
    ``text-vae`` with ``variational`` false, and the attention LM an ``lm`` with a window."""
    model = dict(model)
    if kind == "image-vae":
        old = model.pop("kind", "vae")
        return old, {**model, "variational": old == "vae"}
    if kind == "text-vae" and model.get("variational") is False:
        return "text-ae", model
    if kind == "lm" and int(model.get("window", 0)) > 0:
        return "attn-lm", model
    return kind, model


# ---- images --------------------------------------------------------------------------------

def _vae_config(variational: bool) -> Callable[[Options, Any, Any], dict[str, Any]]:
    def configure(o: Options, data, vocab) -> dict[str, Any]:
        hidden = o.hidden or PRESETS[(o.arch, o.size)]
        return ImageModelConfig(
            variational=variational, arch=o.arch, image_shape=data.image_shape,
            latent_dim=o.latent_dim, hidden=hidden, likelihood=o.likelihood,
            obs_scale=o.obs_scale, beta=o.beta).to_dict()
    return configure


def _image_classifier_config(o: Options, data, vocab) -> dict[str, Any]:
    if data.train_y is None or not data.classes:
        raise UserError(f"{data.name} has no labels: an image classifier needs them")
    config = ImageClassifierConfig(image_shape=data.image_shape, classes=data.classes,
                                   hidden=o.hidden or (32, 64, 128), adversarial=o.adversarial,
                                   eps=o.eps, attack_steps=o.attack_steps, rrr=o.rrr,
                                   rrr_weight=o.rrr_weight)
    if o.rrr is not None:
        rrr_mask(o.rrr, config.image_shape)  # a new run reads its PNG mask before it starts
    return config.to_dict()


def _images(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return (data.train_x if split == "train" else data.test_x,)


def _labelled_images(config: dict[str, Any], vocab, data, split: str) -> Batch:
    if split == "train":
        return data.train_x, data.train_y
    return data.test_x, data.test_y


def _gan_config(o: Options, data, vocab) -> dict[str, Any]:
    classes: list[str] = []
    if o.condition:
        if o.condition != "label":
            raise OptionError("condition", f"a gan is conditioned on the class: give `label`, "
                                           f"not {o.condition!r}")
        if data.train_y is None or not data.classes:
            raise UserError(f"{data.name} has no labels: a conditional GAN needs them")
        classes = list(data.classes)
    default = (64,) if o.arch == "conv" else (256, 512, 1024)
    hidden = tuple(o.hidden or default)
    return GANConfig(arch=o.arch, image_shape=data.image_shape, z_dim=o.latent_dim,
                     width=hidden[0], hidden=hidden if o.arch == "mlp" else (),
                     classes=classes, loss=o.gan_loss, encoder=o.gan_encoder).to_dict()


def _gan_batch(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return (_labelled_images if config.get("classes") else _images)(config, vocab, data, split)


def _gan_report(r: dict[str, Any]) -> str:
    return (f"epoch {r['epoch']:3d}  critic {r['train_critic']:.3f}  generator "
            f"{r['train_generator']:.3f}  test D(real) {r['test_real_prob']:.2f} D(fake) "
            f"{r['test_fake_prob']:.2f}  {r['seconds']:.2f}s  {r['items_per_s']:,.0f} items/s")


def _describe_gan(m: dict[str, Any]) -> str:
    c, h, w = m["image_shape"]
    arch = "dcgan" if m["arch"] == "conv" else f"mlp gan {list(m['hidden'])}"
    return (f"{arch} {c}x{h}x{w}, z {m['z_dim']}, {m['loss']} loss"
            + (f", conditioned on {len(m['classes'])} classes" if m.get("classes") else ""))


def _image_report(r: dict[str, Any]) -> str:
    detail = (f"test accuracy {r['test_accuracy']:.3f}" if "test_accuracy" in r else
              f"(recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/item)")
    if "test_robust_accuracy" in r:
        detail += f", robust {r['test_robust_accuracy']:.3f}"
    return (f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
            f"  {detail}  {r['seconds']:.2f}s  {r['items_per_s']:,.0f} items/s")


def _accuracy(last: dict[str, Any]) -> str:
    robust = (f", robust accuracy {last['test_robust_accuracy']:.3f}"
              if "test_robust_accuracy" in last else "")
    return f", accuracy {last.get('test_accuracy', float('nan')):.3f}{robust}"


# ---- regression ----------------------------------------------------------------------------

def _regressor_config(mixture: bool) -> Callable[[Options, Any, Any], dict[str, Any]]:
    def configure(o: Options, data, vocab) -> dict[str, Any]:
        head = "mixture" if mixture else "gaussian" if o.variance else "mse"
        return RegressorConfig(
            x_dim=data.x_dim, y_dim=data.y_dim, hidden=tuple(o.hidden or (64, 64)), head=head,
            variance_head=o.variance_head, components=o.components if mixture else 1,
            truth=data.name, y_names=data.y_names).to_dict()
    return configure


def _pairs(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return (data.train_x, data.train_y) if split == "train" else (data.test_x, data.test_y)


def _describe_regressor(m: dict[str, Any]) -> str:
    head = {"mse": "squared error", "gaussian": f"predicted variance ({m['variance_head']})",
            "mixture": f"{m['components']} mixture components"}[m["head"]]
    return f"mlp {list(m['hidden'])}, {m['x_dim']} -> {m['y_dim']}, {head}"


def _regression_report(r: dict[str, Any]) -> str:
    rate = (f"  on data {r['test_on_data_rate']:.3f} (point {r['test_on_data_rate_point']:.3f})"
            if "test_on_data_rate" in r else "")
    return (f"epoch {r['epoch']:3d}  train {r['train_loss']:.4f}  test nll "
            f"{r['test_nll']:.3f} nats/item  mse {r['test_mse']:.4f}{rate}  "
            f"{r['seconds']:.2f}s")


def _regression_headline(last: dict[str, Any]) -> str:
    return (f"test nll {last.get('test_nll', float('nan')):.3f} nats/item, on-data rate "
            f"{last.get('test_on_data_rate', float('nan')):.3f}")


# ---- texts ---------------------------------------------------------------------------------

def _context(o: Options, data) -> dict[str, Any]:
    """The LM config fields of ``--condition``: its kind, name, and training range or
    categories (a scalar inside [0, 1] is taken to range over all of it)."""
    if not o.condition:
        return {}
    kind, values, _ = data.condition(o.condition)
    out: dict[str, Any] = {"condition": kind, "condition_name": o.condition}
    if kind == "scalar":
        lo, hi = float(min(values)), float(max(values))
        out["context_range"] = [0.0, 1.0] if 0 <= lo and hi <= 1 else [lo, hi]
    else:
        out["categories"] = sorted(set(map(str, values)))
    return out


def _sentence_config(variational: bool) -> Callable[[Options, Any, Any], dict[str, Any]]:
    def configure(o: Options, data, vocab) -> dict[str, Any]:
        return TextModelConfig(
            vocab_size=len(vocab), embed_dim=o.embed_dim, hidden=(o.hidden or (256,))[0],
            latent_dim=o.latent_dim, cell=o.cell or "gru", word_dropout=o.word_dropout,
            anneal=o.anneal, anneal_steps=o.anneal_steps, free_bits=o.free_bits, beta=o.beta,
            max_len=o.max_len, variational=variational,
            z_every_step=o.z_every_step, kl_target=o.kl_target,
            softmax=resolve_softmax(o.softmax, len(vocab)),
            bidirectional=o.bidirectional).to_dict()
    return configure


def _lm_config(attention: bool) -> Callable[[Options, Any, Any], dict[str, Any]]:
    def configure(o: Options, data, vocab) -> dict[str, Any]:
        return LMConfig(vocab_size=len(vocab), embed_dim=o.embed_dim,
                        hidden=(o.hidden or (256,))[0], cell=o.cell or "lstm",
                        max_len=o.max_len, window=o.window if attention else 0,
                        **_context(o, data)).to_dict()
    return configure


def _text_classifier_config(o: Options, data, vocab) -> dict[str, Any]:
    kind, values, _ = data.condition(o.label)
    if kind != "category":
        raise OptionError("label", f"{o.label!r} is a number; a classifier needs categories")
    return TextClassifierConfig(
        vocab_size=len(vocab), classes=sorted(set(map(str, values))), embed_dim=o.embed_dim,
        hidden=(o.hidden or (256,))[0], cell=o.cell or "gru", attention=not o.no_attention,
        max_len=o.max_len, label=o.label).to_dict()


def text_batch(config: dict[str, Any], vocab, data, split: str, condition: str = "none",
               name: str = "", categories: list[str] | None = None) -> Batch:
    """A split as token ids (N, T), with the context (N,) of each text when the model is
    conditioned on one: a scalar, or a category's index (test texts of a category the
    training split never had are left out)."""
    texts = data.train if split == "train" else data.test
    if condition == "none":
        return (vocab.batch(texts, config["max_len"]),)
    _, tr, te = data.condition(name)
    values = tr if split == "train" else te
    if condition == "scalar":
        return vocab.batch(texts, config["max_len"]), torch.tensor(values, dtype=torch.float32)
    index = {c: i for i, c in enumerate(categories or [])}
    keep = [i for i, v in enumerate(values) if str(v) in index]
    return (vocab.batch([texts[i] for i in keep], config["max_len"]),
            torch.tensor([index[str(values[i])] for i in keep]))


def _lm_batch(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return text_batch(config, vocab, data, split, config.get("condition", "none"),
                      config.get("condition_name", ""), config.get("categories"))


def _labelled_texts(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return text_batch(config, vocab, data, split, "category", config["label"],
                      config["classes"])


def _sentences(config: dict[str, Any], vocab, data, split: str) -> Batch:
    return text_batch(config, vocab, data, split)


def _describe_sentence(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda m: (f"{name} {m['cell']} hidden {m['hidden']} latent {m['latent_dim']}"
                      + (f", rate target {m['kl_target']:g} nats" if m.get("kl_target")
                         else "")
                      + (", adaptive softmax" if m.get("softmax") == "adaptive" else ""))


def _describe_lm(name: str) -> Callable[[dict[str, Any]], str]:
    def describe(m: dict[str, Any]) -> str:
        cond = m.get("condition", "none")
        return (f"{name} {m['cell']} hidden {m['hidden']}"
                + (f", attention over {m['window']} states" if m.get("window") else "")
                + (f", conditioned on {m['condition_name']} ({cond})" if cond != "none"
                   else ""))
    return describe


def _text_report(r: dict[str, Any]) -> str:
    if "test_nll" in r:
        detail = f"nll {r['test_nll']:.2f} nats/sentence"
    else:
        detail = (f"recon {r['test_recon']:.2f}, kl {r['test_kl']:.2f} nats/sentence, "
                  f"{r['test_active_units']} active units, kl weight {r['train_kl_weight']:.2f}")
    return (f"epoch {r['epoch']:3d}  train {r['train_loss']:.2f}  test {r['test_loss']:.2f}"
            f"  ({detail}, perplexity {r['test_perplexity']:.1f})  {r['seconds']:.2f}s")


def _text_classifier_report(r: dict[str, Any]) -> str:
    return (f"epoch {r['epoch']:3d}  train {r['train_loss']:.3f}  test {r['test_loss']:.3f}"
            f" nats/text, test accuracy {r['test_accuracy']:.3f}  {r['seconds']:.2f}s")


def _perplexity(last: dict[str, Any]) -> str:
    return f", perplexity {last.get('test_perplexity', float('nan')):.1f}"


# ---- the registry --------------------------------------------------------------------------

_SENTENCE_ONLY = ("kl_target", "softmax", "bidirectional")
_GAN_ONLY = ("gan_loss", "gan_encoder")
_REGRESSION_ONLY = ("variance", "variance_head", "components")
_IMAGE_CLASSIFIER_ONLY = ("adversarial", "eps", "attack_steps", "rrr", "rrr_weight")
_IMAGE_ONLY = ("condition", *_GAN_ONLY, *_SENTENCE_ONLY, *_REGRESSION_ONLY)
_TEXT_ONLY = ("word_dropout", "anneal", "anneal_steps", "free_bits", "kl_target", "softmax",
              "bidirectional", "z_every_step", "cell", "embed_dim", "max_len", "tokens",
              "min_count", "max_vocab", "window")
for _name, _variational, _help in (("vae", True, "an image VAE"),
                                   ("ae", False, "an image autoencoder")):
    register(Kind(
        _name, ImageVAE, ImageModelConfig, _help, configure=_vae_config(_variational),
        batch=_images, report=_image_report,
        describe=lambda m, n=_name: (f"{n} {m['arch']} hidden {list(m['hidden'])} latent "
                                     f"{m['latent_dim']}"),
        latent=True, generates=True, refuses=(*_IMAGE_ONLY, *_IMAGE_CLASSIFIER_ONLY)))
register(Kind(
    "image-classifier", ImageClassifier, ImageClassifierConfig, "a small CNN image classifier",
    configure=_image_classifier_config, batch=_labelled_images, report=_image_report,
    quality=_accuracy, classifier=True, refuses=_IMAGE_ONLY,
    describe=lambda m: (f"image-classifier cnn {list(m['hidden'])}, {len(m['classes'])} "
                        "classes")))
register(Kind(
    "gan", GAN, GANConfig, "a GAN (--arch mlp, or conv: a DCGAN; --condition label: "
                           "class-conditional)",
    configure=_gan_config, batch=_gan_batch, report=_gan_report, describe=_describe_gan,
    latent=True, generates=True, adversarial=True, train_defaults={"lr": 2e-4},
    headline=lambda last: (f"test D(real) {last.get('test_real_prob', float('nan')):.2f}, "
                           f"D(fake) {last.get('test_fake_prob', float('nan')):.2f}"),
    refuses=("likelihood", "obs_scale", "beta", *_SENTENCE_ONLY, *_REGRESSION_ONLY,
             *_IMAGE_CLASSIFIER_ONLY)))
for _name, _variational, _help in (("text-vae", True, "a sentence VAE"),
                                   ("text-ae", False, "a plain sequence autoencoder")):
    register(Kind(
        _name, SentenceVAE, TextModelConfig, _help, configure=_sentence_config(_variational),
        batch=_sentences, describe=_describe_sentence(_name), report=_text_report,
        quality=_perplexity, text=True, latent=True, generates=True,
        refuses=("condition", *_GAN_ONLY, *_REGRESSION_ONLY, *_IMAGE_CLASSIFIER_ONLY)
        if _variational else
        ("condition", *_GAN_ONLY, *_REGRESSION_ONLY, *_IMAGE_CLASSIFIER_ONLY, "kl_target")))
for _name, _attention, _help in (("lm", False, "an LSTM language model"),
                                 ("attn-lm", True, "an LSTM language model with attention "
                                                   "over its recent states")):
    register(Kind(
        _name, LanguageModel, LMConfig, _help, configure=_lm_config(_attention),
        batch=_lm_batch, describe=_describe_lm(_name), report=_text_report,
        quality=_perplexity, text=True, generates=True, prompted=True,
        refuses=(*_SENTENCE_ONLY, *_GAN_ONLY, *_REGRESSION_ONLY, *_IMAGE_CLASSIFIER_ONLY)))
register(Kind(
    "text-classifier", TextClassifier, TextClassifierConfig, "a text classifier",
    configure=_text_classifier_config, batch=_labelled_texts, report=_text_classifier_report,
    quality=_accuracy, text=True, classifier=True,
    refuses=("condition", *_GAN_ONLY, *_SENTENCE_ONLY, *_REGRESSION_ONLY,
             *_IMAGE_CLASSIFIER_ONLY),
    describe=lambda m: (f"text-classifier bi-{m['cell']} hidden {m['hidden']}, "
                        f"{'attention' if m['attention'] else 'mean'} pooling, "
                        f"{len(m['classes'])} classes of {m['label']!r}")))
for _name, _mixture, _help, _refuses in (
        ("regressor", False, "an MLP regressor (--variance: it predicts a variance too)",
         ("components",)),
        ("mdn", True, "a mixture density network (--components K)", ("variance",))):
    register(Kind(
        _name, Regressor, RegressorConfig, _help, configure=_regressor_config(_mixture),
        batch=_pairs, describe=_describe_regressor, report=_regression_report,
        headline=_regression_headline, regression=True,
        train_defaults={"epochs": 40, "lr": 3e-3},  # 20,000 small pairs: more, faster steps
        refuses=("condition", "likelihood", "obs_scale", "beta", "latent_dim", "arch",
                 *_GAN_ONLY, *_TEXT_ONLY, *_IMAGE_CLASSIFIER_ONLY, *_refuses)))
