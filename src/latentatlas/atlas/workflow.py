"""The atlas on a run directory: what the CLI, the explorer and the export call.

Each function takes a run directory and plain options, loads what it needs (model, data, cached
codes) and returns tensors or plain results; drawing and printing are the caller's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.items import resolve_items
from ..errors import OptionError, UserError
from ..models.rundir import load, load_run_data, run_kind
from ..progress import progress
from .codes import encode, run_codes
from .interpolate import grid, interpolate
from .knobs import Knobs, knob_positions
from .maps import embed_2d
from .sampling import sample
from .sentences import homotopy, knob_table
from .units import unit_stats

KNOB_DECODES_MAX = 2_000_000  # decodes one knob sheet or table may take
EXPORT_DECODES_MAX = 200_000  # decodes one static page may carry (it holds them all)
EXPORT_PIXELS_MAX = EXPORT_DECODES_MAX * 784  # and their values (a 28x28 image: 784)


@torch.no_grad()
def decode_batched(model, z: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """(N, D) codes -> the mean observations (N, ...), decoded in no-grad batches."""
    out = []
    with torch.no_grad(), progress(len(z), "decoding", "code") as bar:
        for c in z.split(batch_size):
            out.append(model.decode(c))
            bar.update(len(c))
    return torch.cat(out)


PIXELS = ("mean", "draw", "scale")


def observe_batched(model, z: torch.Tensor, pixels: str = "mean", seed: int = 0,
                    batch_size: int = 4096) -> torch.Tensor:
    """(N, D) codes -> (N, C, H, W) images of p(x | z): its mean E[x | z] (``pixels="mean"``),
    one draw x ~ p(x | z) (``"draw"``: the likelihood's pixel noise included, unclipped), or
    each pixel's scale, sigma or b in pixel units (``"scale"``: a Gaussian or Laplace
    likelihood's)."""
    if pixels not in PIXELS:
        raise OptionError("pixels", f"must be one of {', '.join(PIXELS)}, got {pixels!r}")
    if pixels == "mean":
        return decode_batched(model, z, batch_size)
    likelihood = getattr(model, "likelihood", None)
    if likelihood is None:
        raise OptionError("pixels", f"{pixels} needs a model with a pixel likelihood (a VAE "
                                    "or autoencoder), not a generator that outputs pixels")
    if pixels == "scale" and likelihood.scale(torch.zeros(1, likelihood.outputs, 1, 1)) is None:
        raise OptionError("pixels", f"scale needs a gaussian or laplace likelihood; this model's "
                                    f"is {likelihood.name}")
    gen = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad(), progress(len(z), "decoding", "code") as bar:
        for c in z.split(batch_size):
            raw = model.decoder_output(c).float()
            out.append(likelihood.sample(raw, gen) if pixels == "draw" else likelihood.scale(raw))
            bar.update(len(c))
    return torch.cat(out)


def sample_images(run: str | Path, n: int = 64, source: str | None = None, seed: int = 0,
                  data_dir: str | Path | None = None, label: str | None = None,
                  per_class: bool = False, pixels: str = "mean") -> tuple[torch.Tensor, str]:
    """``n`` decoded samples (n, C, H, W) and the distribution drawn from: the prior (a VAE's
    N(0, I), a GAN's; the default for both) or a Gaussian fitted to the training codes (an
    autoencoder's). A class-conditional model samples class ``label`` only, or with
    ``per_class`` ``n`` of each class, class by class (n * classes images). ``pixels`` says
    what of p(x | z) each image shows (``observe_batched``): the mean, a draw, or the scale."""
    if pixels not in PIXELS:
        raise OptionError("pixels", f"must be one of {', '.join(PIXELS)}, got {pixels!r}")
    model = load(run)
    prior = model.is_variational or hasattr(model, "prior")
    source = source or ("prior" if prior else "fitted")
    labels = None
    if label is not None or per_class:
        classes = list(getattr(model, "classes", None) or [])
        if not classes:
            raise UserError(f"{run} holds no class-conditional model; a class needs one "
                            "(train --model gan --condition label)")
        if source != "prior":
            raise OptionError("source", "must be prior to choose a class")
        if per_class:
            labels = torch.arange(len(classes)).repeat_interleave(n)
        elif label not in classes:
            raise UserError(f"unknown class {label!r}; {run} knows {', '.join(classes)}")
        else:
            labels = torch.full((n,), classes.index(label))
    if source == "fitted" and not hasattr(model, "encode"):
        raise OptionError("source", f"fitted needs codes, and {run} has no encoder; "
                                    "sample its prior")
    codes = run_codes(run, "train", model=model, data_dir=data_dir).mu \
        if source == "fitted" else None
    z = sample(model, len(labels) if labels is not None else n, source=source, codes=codes,
               seed=seed, labels=labels)
    return observe_batched(model, z, pixels, seed), source


def reconstruction_sheet(run: str | Path, n: int = 16, cols: int = 16,
                         data_dir: str | Path | None = None) -> tuple[torch.Tensor, int]:
    """The first ``n`` test images, each row of ``cols`` above its reconstructions (decoded
    from the posterior means): (2n, C, H, W) and the number of columns."""
    model = load(run)
    x = load_run_data(run, data_dir).test_x[:n]
    x_hat = decode_batched(model, encode(model, x).mu)
    cols = min(len(x), cols)
    rows = []
    for i in range(0, len(x), cols):
        rows += [x[i:i + cols], x_hat[i:i + cols]]
    return torch.cat(rows), cols


def item_codes(model, specs: list[str], data) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n, C, H, W), codes (n, D)) of items named on a command line: a test-set
    index or an image file (encoded: the posterior mean, or a GAN's encoder), or
    ``prior:SEED``, a draw from the model's prior (its decode is the image)."""
    drawn: dict[int, torch.Tensor] = {}
    for i, spec in enumerate(specs):
        if spec.strip().startswith("prior:"):
            seed = spec.strip()[len("prior:"):]
            if not seed.lstrip("-").isdigit():
                raise UserError(f"item {spec!r}: prior:SEED takes an integer seed")
            drawn[i] = sample(model, 1, source="prior", seed=int(seed))[0]
    named = [i for i in range(len(specs)) if i not in drawn]
    x = resolve_items([specs[i] for i in named], data) if named else None
    mu = iter(encode(model, x).mu) if x is not None else iter(())
    z = torch.stack([drawn[i] if i in drawn else next(mu) for i in range(len(specs))])
    with torch.no_grad():
        images = model.decode(z)
    for j, i in enumerate(named):  # a named item is itself, not its reconstruction
        images[i] = x[j]
    return images, z


def interpolation_strip(run: str | Path, a: str, b: str, steps: int = 10,
                        method: str = "slerp", data_dir: str | Path | None = None,
                        space: str = "latent") -> torch.Tensor:
    """Images (steps, C, H, W) along the path between two items (test-set indices, image
    files, or ``prior:SEED`` draws): in the ``latent`` space, decodes of ``lerp`` or
    ``slerp`` between their codes; in ``pixel`` space, cross-fades of the two images
    ((1 - t) a + t b, the path that leaves the data manifold)."""
    if steps < 2:
        raise OptionError("steps", f"must be at least 2, got {steps}")
    if space not in ("latent", "pixel"):
        raise OptionError("space", f"must be latent or pixel, got {space!r}")
    model = load(run)
    images, z = item_codes(model, [a, b], load_run_data(run, data_dir))
    if space == "pixel":
        t = torch.linspace(0, 1, steps).view(-1, 1, 1, 1)
        return (1 - t) * images[0] + t * images[1]
    return decode_batched(model, interpolate(z[0], z[1], steps, method))


def sentence_homotopy(run: str | Path, a: str, b: str, steps: int = 5, path: str = "lerp",
                      **decoding: Any) -> list[tuple[str, str]]:
    """``homotopy`` between two sentences, each given as text or as a test-set index."""
    if steps < 2:
        raise OptionError("steps", f"must be at least 2, got {steps}")
    model = load(run)
    ends, test = [], None
    for item in (a, b):
        if item.isdigit():
            test = test if test is not None else load_run_data(run).test
            if int(item) >= len(test):
                raise UserError(f"index {item} is out of range: the test split has "
                                f"{len(test)} texts")
            item = test[int(item)]
        ends.append(item)
    return homotopy(model, ends[0], ends[1], steps, path, **decoding)


def corner_grid(run: str | Path, corners: list[str], n: int = 8,
                data_dir: str | Path | None = None) -> torch.Tensor:
    """Decodes (n * n, C, H, W) of the bilinear grid between four corner items (top-left,
    top-right, bottom-left, bottom-right), row by row."""
    if len(corners) != 4:
        raise OptionError("corners", f"takes four items, got {len(corners)}")
    if n < 2:
        raise OptionError("n", f"must be at least 2, got {n}")
    model = load(run)
    mu = encode(model, resolve_items(corners, load_run_data(run, data_dir))).mu
    return decode_batched(model, grid(mu, n).reshape(n * n, -1))


@dataclass
class DataMap:
    """The test codes in 2-D: coordinates (N, 2), how they were made, labels (N,) and class
    names where the data has them, and for a 2-D image latent the decoded manifold (an image
    array over the range the data covers)."""

    xy: np.ndarray
    method: str
    labels: torch.Tensor | None
    classes: list[str] | None
    manifold: np.ndarray | None = None


def data_map(run: str | Path, method: str = "auto", side: int = 15,
             data_dir: str | Path | None = None) -> DataMap:
    """A map of the run's test codes (raw axes of a 2-D latent, else UMAP or PCA)."""
    from ..plotting import grid_array

    model = load(run)
    data = load_run_data(run, data_dir)
    codes = run_codes(run, "test", model=model, data=data)
    if method == "raw" and model.latent_dim != 2:
        raise OptionError("method", f"raw needs a 2-D latent; this one has {model.latent_dim}")
    xy, used = embed_2d(codes.mu, method)
    manifold = None
    if model.latent_dim == 2 and not run_kind(run).text:
        lo, hi = codes.mu.quantile(0.02, 0), codes.mu.quantile(0.98, 0)
        gy, gx = torch.meshgrid(torch.linspace(hi[1], lo[1], side),
                                torch.linspace(lo[0], hi[0], side), indexing="ij")
        images = decode_batched(model, torch.stack([gx.flatten(), gy.flatten()], 1))
        manifold = grid_array(images, nrow=side, pad=0)
    return DataMap(xy, used, codes.labels, data.classes, manifold)


def unit_table(run: str | Path, threshold: float = 0.01,
               data_dir: str | Path | None = None) -> dict[str, Any]:
    """Active units (Var over the test set of a unit's posterior mean > ``threshold``) and each
    unit's average KL in nats, most active first."""
    codes = run_codes(run, "test", data_dir=data_dir)
    stats = unit_stats(codes.mu, codes.logvar, threshold=threshold)
    rows = [{"unit": int(u), "activity": round(float(stats.activity[u]), 5),
             "kl": None if stats.kl is None else round(float(stats.kl[u]), 4),
             "active": bool(stats.active[u])} for u in stats.order()]
    return {"run": str(run), "latent_dim": len(rows), "active_units": stats.n_active,
            "threshold": threshold, "units": rows,
            "total_kl": None if stats.kl is None else float(stats.kl.sum())}


def fit_knobs(run: str | Path, k: int = 5, data_dir: str | Path | None = None, *,
              model=None, data=None) -> Knobs:
    """PCA knobs fitted to the run's training codes (``model`` and ``data``: already loaded)."""
    codes = run_codes(run, "train", model=model, data=data, data_dir=data_dir)
    if k > codes.mu.shape[1]:
        raise OptionError("k", f"{k} is more than the {codes.mu.shape[1]} latent dimensions")
    return Knobs(k).fit(codes.mu)


def check_knob_budget(k: int, steps: int, items: int, limit: int = KNOB_DECODES_MAX,
                      span: float = 2.0, pixels: int = 0,
                      pixel_limit: int = KNOB_DECODES_MAX * 784) -> int:
    """steps**k x items decodes, or an OptionError when that is over ``limit``, when the
    decodes of ``pixels`` values each are over ``pixel_limit`` values, or when ``span`` (the
    knobs' range in standard deviations) is not a positive number up to 10."""
    if steps < 2:
        raise OptionError("steps", f"must be at least 2, got {steps}")
    if not (math.isfinite(span) and 0 < span <= 10):
        raise OptionError("span", f"must be a positive number of standard deviations up to "
                                  f"10, got {span}")
    total = steps ** k * items
    what = f"{steps} steps on each of {k} knobs for {items} items make {total:,} decodes"
    if total > limit:
        raise UserError(f"{what}, over the {limit:,} allowed; use fewer knobs, steps or items")
    if total * pixels > pixel_limit:
        raise UserError(f"{what} of {pixels:,} values each, over the {pixel_limit:,} values "
                        "allowed; use fewer knobs, steps or items")
    return total


def knob_images(model, knobs: Knobs, x: torch.Tensor, steps: int = 3,
                span: float = 2.0) -> torch.Tensor:
    """Every knob setting for each image: (items * steps**k, C, H, W), item by item, knob 0
    varying slowest."""
    z = encode(model, x).mu
    _, codes = knob_positions(knobs, z, steps, span)
    return decode_batched(model, codes.reshape(-1, z.shape[1]))


def knob_sheet(run: str | Path, k: int = 5, steps: int = 3, items: int = 5, span: float = 2.0,
               ban_unk: bool = False, data_dir: str | Path | None = None, *,
               limit: int = KNOB_DECODES_MAX,
               pixel_limit: int = KNOB_DECODES_MAX * 784) -> dict[str, Any]:
    """The decodes of every knob setting for the first ``items`` test items, within the
    budget (``check_knob_budget``): ``decodes`` (how many), ``fitted`` (the Knobs), and for a
    text run the sentence table (``knob_table``), for an image run ``inputs`` (the items),
    ``images`` (N, C, H, W) and the sheet's ``columns`` (one row per item's first two knobs)."""
    text = run_kind(run).text
    data = load_run_data(run, data_dir)
    pixels = 0 if text else int(np.prod(data.image_shape))
    total = check_knob_budget(k, steps, items, limit, span, pixels, pixel_limit)
    model = load(run)
    knobs = fit_knobs(run, k, model=model, data=data)
    if text:
        return {"decodes": total, "fitted": knobs,
                **knob_table(model, knobs, data.test[:items], steps, span, ban_unk=ban_unk)}
    x = data.test_x[:items]
    return {"decodes": total, "fitted": knobs, "columns": steps ** min(k, 2), "inputs": x,
            "images": knob_images(model, knobs, x, steps, span)}


def sheet_columns(n: int) -> int:
    """Columns of a near-square sheet of ``n`` tiles."""
    return math.ceil(math.sqrt(n))


def reconstruct_sentences(run: str | Path, texts: list[str] | None = None, n: int = 16,
                          samples: int = 0, seed: int = 0, **decoding: Any) -> list[dict]:
    """``reconstruct_texts`` of the given texts, or of the first ``n`` test texts."""
    from .sentences import reconstruct_texts

    given = bool(texts)  # the user's texts are checked; a split's are taken as they are
    texts = texts or load_run_data(run).test[:n]
    return reconstruct_texts(load(run), texts, samples, seed, given, **decoding)


def _split_texts(run: str | Path, n: int | None, data_dir: str | Path | None,
                 split: str = "test") -> list[str]:
    data = load_run_data(run, data_dir)
    texts = data.test if split == "test" else data.train
    return list(texts[:n] if n else texts)


def sentence_fidelity(run: str | Path, n: int | None = None, split: str = "test",
                      data_dir: str | Path | None = None) -> dict[str, Any]:
    """How much of each sentence the run's codes carry, over the first ``n`` sentences of a
    split (all by default): ``atlas.fidelity.summarise`` (exact matches, token accuracy,
    recon, KL, -ELBO in nats per sentence, BLEU, active units) and its ``by_length`` table."""
    from .fidelity import by_length, sentence_scores, summarise

    if split not in ("test", "train"):
        raise OptionError("split", f"must be test or train, got {split!r}")
    texts = _split_texts(run, n, data_dir, split)
    scores = sentence_scores(load(run), texts)
    return {"run": str(run), "split": split, "summary": summarise(scores),
            "by_length": by_length(scores)}


def best_sentences(run: str | Path, n: int = 10, min_words: int = 1,
                   pool: int | None = None,
                   data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """The ``n`` test sentences (of the first ``pool``; all by default) the run reconstructs
    best: exact matches first, then lower NLL; those under ``min_words`` words passed over.
    Rows: input, mean (the greedy decode), exact, token_accuracy, recon (nats)."""
    from .fidelity import best_reconstructed, sentence_scores

    texts = _split_texts(run, pool, data_dir)
    return best_reconstructed(sentence_scores(load(run), texts), texts, n, min_words)


def random_net_study(depth: int = 12, width: int = 100, activation: str = "relu",
                     init: str = "glorot", points: int = 100_000, seed: int = 0
                     ) -> dict[str, Any]:
    """The lecture's untrained MLP generator: ``points`` 2-D Gaussian points and their images
    (numpy arrays ``inputs``, ``outputs``), with the ``concentration`` of each (the share of
    points in the densest 5% of histogram cells) and the outputs' standard deviations."""
    from ..models.random_net import concentration, push_points, random_mlp

    z, x = push_points(random_mlp(depth, width, activation, init, seed), points, seed)
    return {"settings": {"depth": depth, "width": width, "activation": activation,
                         "init": init, "points": points, "seed": seed},
            "concentration": round(concentration(x), 4),
            "input_concentration": round(concentration(z), 4),
            "output_std": [round(float(s), 6) for s in x.std(0)],
            "inputs": z.numpy(), "outputs": x.numpy()}


def random_conv_study(n: int = 64, image_size: int = 28, channels: int = 1, width: int = 128,
                      activation: str = "relu", init: str = "glorot", deconv: bool = False,
                      seed: int = 0) -> dict[str, Any]:
    """``n`` images (``images``, (n, C, S, S) in [0, 1]) from an untrained convolutional
    generator, with their mean pixel and the mean over pixels of the standard deviation
    between images (0 would mean every code gives the same image)."""
    from ..models.random_net import random_conv_generator, random_images

    net = random_conv_generator(64, image_size, channels, width, activation, init, deconv,
                                seed)
    images = random_images(net, n, seed)
    return {"settings": {"n": n, "image_size": image_size, "channels": channels,
                         "width": width, "activation": activation, "init": init,
                         "deconv": deconv, "seed": seed},
            "pixel_mean": round(float(images.mean()), 4),
            "between_image_std": round(float(images.std(0).mean()), 4), "images": images}


def invert_items(run: str | Path, items: list[str], starts: int = 4, steps: int = 200,
                 seed: int = 0, data_dir: str | Path | None = None) -> dict[str, Any]:
    """Latent inversion (``models.inversion.invert``) of test items or image files: the codes,
    each item's mean squared pixel error from the inverted code and from the encoder's guess,
    and ``sheet``, a (3N, C, H, W) image stack: the items, the encoder's decodes, the inverted
    decodes, row by row."""
    from ..models.inversion import invert

    if run_kind(run).text:
        raise UserError(f"{run} is a text run; inversion searches image codes")
    if starts < 1:
        raise OptionError("starts", f"must be at least 1, got {starts}")
    model = load(run)
    x = resolve_items(items, load_run_data(run, data_dir))
    result = invert(model, x, starts=starts, steps=steps, seed=seed)
    with torch.no_grad():
        guess = model.encode(x)[0]
        rows = [x, model.decode(guess), model.decode(result.codes)]
    return {"items": items, "starts": starts, "steps": steps,
            "error": [round(float(e), 6) for e in result.error],
            "encoder_error": [round(float(e), 6) for e in result.encoder_error]
            if result.encoder_error is not None else None,
            "best_start": [int(i) for i in result.start],
            "codes": [[round(float(v), 5) for v in c] for c in result.codes],
            "sheet": torch.cat(rows)}
