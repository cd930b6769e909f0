"""Explanations on run directories: the item to explain, every method on it, and the checks
of their faithfulness; what the CLI calls for explain, maximize and cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.items import load_image_file
from ..errors import OptionError, UserError
from ..fileio import out_path, write_text
from ..models.decoding import PAD
from ..models.rundir import load, load_run_data, read_config, run_kind
from ..progress import progress
from .attribute import explain
from .cells import cell_activations, indicator, rank_cells
from .core import IMAGE_METHODS, METHODS
from .faithfulness import deletion_insertion, randomization, stability
from .maximize import Maximized, maximize_image, maximize_text


def explain_input(run: str | Path, text: str | None = None, index: int | None = None,
                  image: str | Path | None = None, data_dir: str | Path | None = None
                  ) -> tuple[str | torch.Tensor, str | None]:
    """What to explain, checked against the run's classifier, and its true label when known:
    a text for a text classifier; a test-set item (``index``, with its label) or an image file
    of the model's size for an image one."""
    kind = run_kind(run)
    if kind.text:
        if text is None:
            raise OptionError("text", f"is needed: {run} is a text classifier")
        return text, None
    if text is not None:
        raise OptionError("text", f"is for text classifiers; {run} is an image classifier: "
                                  "give an `index` or an `image`")
    if image is not None:
        shape = tuple(read_config(run)["model"]["image_shape"])
        return load_image_file(image, shape, resize=False), None
    if index is None:
        raise OptionError("index", "or an `image` is needed for an image classifier")
    data = load_run_data(run, data_dir)
    if not 0 <= index < len(data.test_x):
        raise OptionError("index", f"{index} is out of range: the test split has "
                                   f"{len(data.test_x)} items (0..{len(data.test_x) - 1})")
    label = None
    if data.test_y is not None and data.classes:
        label = data.classes[int(data.test_y[index])]
    return data.test_x[index], label


def explain_with_checks(model, item: str | torch.Tensor,
                        methods: tuple[str, ...] | None = None,
                        target: str | None = None, *, stability_runs: int | None = None,
                        evaluate: bool = False, seed: int = 0,
                        **params: Any) -> tuple[list, dict[str, dict]]:
    """Every method's ``Attribution`` of ``item`` and, per method, the checks asked for:
    ``stability`` over ``stability_runs`` seeds; with ``evaluate`` the deletion and insertion
    areas and the Spearman correlation with the same method on a randomised model. ``methods``
    None: every method the item takes (``METHODS`` for a text, ``IMAGE_METHODS`` for an
    image)."""
    if methods is None:
        methods = METHODS if isinstance(item, str) else IMAGE_METHODS
    for m in methods:
        if m not in METHODS:
            raise OptionError("method", f"{m!r} is unknown; one of {', '.join(METHODS)}")
    results = []
    with progress(len(methods), "explaining", "method") as bar:
        for m in methods:
            results.append(explain(model, item, m, target, seed=seed, **params))
            bar.update(1)
    checks: dict[str, dict] = {r.method: {} for r in results}
    for r in results:
        if stability_runs:
            checks[r.method]["stability"] = stability(model, item, r.method, stability_runs,
                                                      target=r.target, **params)
        if evaluate:
            checks[r.method].update(deletion_insertion(model, item, r))
            checks[r.method].update(randomization(model, item, r.method, r.target, seed,
                                                  **params))
    return results, checks


def explain_run(run: str | Path, *, text: str | None = None, index: int | None = None,
                image: str | Path | None = None, methods: tuple[str, ...] | None = None,
                target: str | None = None, stability_runs: int | None = None,
                evaluate: bool = False, seed: int = 0, data_dir: str | Path | None = None,
                **params: Any) -> tuple[str | torch.Tensor, str | None, list, dict[str, dict]]:
    """``explain_with_checks`` on a run's classifier, for the item ``explain_input`` picks:
    (the item, its true label or None, the attributions, the checks)."""
    item, label = explain_input(run, text, index, image, data_dir)
    results, checks = explain_with_checks(load(run), item, methods, target,
                                          stability_runs=stability_runs, evaluate=evaluate,
                                          seed=seed, **params)
    return item, label, results, checks


def maximize_run(run: str | Path, cls: str | None = None, neuron: str | None = None,
                 start: str = "noise", seed: int = 0, data_dir: str | Path | None = None,
                 **params: Any) -> Maximized:
    """Activation maximisation on a run's classifier. Images: from ``noise`` or a test-set
    index, towards class ``cls`` or a ``neuron``; texts: from a starting text (or random words
    when ``start`` is ``noise``), towards ``cls``. ``params``: ``maximize_image`` /
    ``maximize_text`` options."""
    model = load(run)
    if run_kind(run).text:
        if neuron:
            raise OptionError("neuron", "is for image classifiers; give a `cls` for a text "
                                        "classifier")
        return maximize_text(model, cls, start=None if start == "noise" else start, seed=seed,
                             **params)
    image, name = None, "noise"
    if start != "noise":
        if not start.isdigit():
            raise OptionError("start", f"{start!r}: give 'noise' or a test-set index")
        test = load_run_data(run, data_dir).test_x
        if int(start) >= len(test):
            raise OptionError("start", f"{start} is out of range: the test split has "
                                       f"{len(test)} items")
        image, name = test[int(start)], f"item {start}"
    return maximize_image(model, cls, neuron, start=image, start_name=name, seed=seed, **params)


def attack_run(run: str | Path, method: str | None = None, eps: float | None = None,
               n: int = 100, target: str | None = None, steps: int | None = None,
               noise: bool = False, seed: int = 0, data_dir: str | Path | None = None,
               swaps: str | None = None, candidates: int = 16) -> dict[str, Any]:
    """An adversarial attack on a classifier run's first ``n`` test items, untargeted or
    toward class ``target`` (a name). Image classifiers: ``explain.adversarial.attack_images``
    (``method`` fgsm or pgd, default pgd; ``eps`` the L-infinity size, default 0.1; ``steps``
    PGD steps, default 20), or with ``noise`` ``n`` images of uniform noise (which need a
    ``target``). Text classifiers: ``attack_text_run``. Adds the run and the class names of
    the predictions before and after."""
    from ..data.base import class_index
    from .adversarial import attack_images

    if n < 1:
        raise OptionError("n", f"must be at least 1, got {n}")
    if run_kind(run).text:
        if noise:
            raise OptionError("noise", "is for image classifiers; a text attack changes words "
                                       "of test texts")
        if steps is not None:
            raise OptionError("steps", "is for pgd on images; a text attack takes one step "
                                       "per word it changes")
        return attack_text_run(run, method or "hotflip", 0.2 if eps is None else eps, n,
                               target, seed, data_dir, swaps, candidates)
    if swaps is not None:
        raise OptionError("swaps", "is for text classifiers")
    model = load(run)
    classes = list(model.config.classes)
    wanted = None if target is None else class_index(classes, target)
    if noise:
        if wanted is None:
            raise OptionError("target", "is needed with noise: which class should noise become?")
        g = torch.Generator().manual_seed(seed)
        x, labels = torch.rand(n, *model.config.image_shape, generator=g), None
    else:
        data = load_run_data(run, data_dir)
        x, labels = data.test_x[:n], data.test_y[:n]
    out = attack_images(model, x, labels, method or "pgd", 0.1 if eps is None else eps,
                        wanted, 20 if steps is None else steps, seed)
    out.update({"run": str(run), "source": "noise" if noise else "test images",
                "target_class": None if wanted is None else classes[wanted],
                "classes_before": [classes[i] for i in out["predicted_before"]],
                "classes_after": [classes[i] for i in out["predicted_after"]]})
    return out


SWAPS = ("same-role", "any")


def attack_text_run(run: str | Path, method: str = "hotflip", eps: float = 0.2, n: int = 100,
                    target: str | None = None, seed: int = 0,
                    data_dir: str | Path | None = None, swaps: str | None = None,
                    candidates: int = 16) -> dict[str, Any]:
    """``explain.substitution.attack_texts`` on a text classifier run's first ``n`` test
    texts. Where the dataset knows its words (grammar), the words that carry the label's truth
    (sentiment: the adjective) never change, and with ``swaps="same-role"`` (its default
    there) a word is replaced only by one of its role (a place by a place) and every
    adversarial text must be one the grammar makes: the truth is kept, the prediction flips.
    ``swaps="any"``: any vocabulary word for any other. Adds the texts, the changed words and
    the class names."""
    from ..data.base import class_index
    from ..models.kinds import get_kind
    from .substitution import attack_texts, substitution_groups

    if swaps is not None and swaps not in SWAPS:
        raise OptionError("swaps", f"must be {' or '.join(SWAPS)}, got {swaps!r}")
    if candidates < 1:
        raise OptionError("candidates", f"must be at least 1, got {candidates}")
    model = load(run)
    config = read_config(run)
    if not run_kind(run).classifier:
        raise UserError(f"{run} holds {run_kind(run).named}; attack needs a classifier")
    data = load_run_data(run, data_dir)
    ids, labels = get_kind(config["kind"]).batch(config["model"], model.vocab, data,
                                                 "test")[:2]
    ids, labels = ids[:n], labels[:n]
    classes, itos = list(model.config.classes), model.vocab.itos
    rules = data.rules
    swaps = swaps or ("same-role" if rules else "any")
    if swaps == "same-role" and rules is None:
        raise OptionError("swaps", f"same-role needs a dataset that knows its words' roles "
                                   f"(grammar); {data.name} does not: use any")
    frozen: set[str] = set()
    accepts = None
    if rules is not None:
        factor = rules.label if model.config.label in ("label", "category") \
            else model.config.label
        try:
            frozen = rules.truth(factor)
        except ValueError as e:
            raise UserError(str(e)) from None
    if swaps == "same-role":
        def accepts(tokens: list[int]) -> bool:
            return rules.accepts(model.vocab.join(itos[i] for i in tokens))
    groups = substitution_groups(itos, rules.roles if swaps == "same-role" else None, frozen)
    wanted = None if target is None else class_index(classes, target)
    out = attack_texts(model, ids, labels, method, eps, wanted, groups, accepts, candidates,
                       seed)

    def words(row: torch.Tensor) -> list[str]:
        return [itos[i] for i in row.tolist() if i != PAD][1:-1]

    texts = [words(r) for r in ids]
    adversarial = [words(r) for r in out["adversarial"]]
    out.update({
        "run": str(run), "source": "test texts", "swaps": swaps,
        "frozen_words": sorted(frozen), "target_class": None if wanted is None
        else classes[wanted],
        "classes_before": [classes[i] for i in out["predicted_before"]],
        "classes_after": [classes[i] for i in out["predicted_after"]],
        "labels": [classes[i] for i in labels.tolist()],
        "texts": [model.vocab.join(t) for t in texts],
        "adversarial_texts": [model.vocab.join(t) for t in adversarial],
        "swapped": [[(a, b) for a, b in zip(t, u, strict=True) if a != b]
                    for t, u in zip(texts, adversarial, strict=True)],
    })
    return out


def save_text_attack(result: dict[str, Any], path: str | Path) -> Path:
    """A text attack (``attack_text_run``'s result) as TSV, written atomically: a header, then
    one row per text: label, class before and after, success (true/false), the text, the
    adversarial text."""
    rows = ["label\tbefore\tafter\tsuccess\ttext\tadversarial"]
    for i in range(result["n"]):
        rows.append("\t".join([result["labels"][i], result["classes_before"][i],
                               result["classes_after"][i],
                               "true" if bool(result["success"][i]) else "false",
                               result["texts"][i], result["adversarial_texts"][i]]))
    path = out_path(path, ".tsv", "text attacks")
    try:
        write_text(path, "\n".join(rows) + "\n")
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def read_text_file(path: str | Path) -> str:
    """A UTF-8 text file's contents, or a UserError naming the file."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start})") from None


def cells_run(run: str | Path, text_file: str | Path, find: str | None = None,
              context: str | None = None) -> dict[str, Any]:
    """``cell_table`` of a run's language model over a UTF-8 text file, under ``context`` (as
    given on the command line)."""
    from ..text.generation import parse_context

    model = load(run)
    return cell_table(model, read_text_file(text_file), find, parse_context(model, context))


def cell_table(model, text: str, find: str | None = None,
               context: torch.Tensor | None = None) -> dict[str, Any]:
    """A language model's cells over ``text``: ``spans`` (tokens), ``activations`` (T, H) and
    ``ranked`` [(cell, r)]: by |correlation| with being inside a match of the regex ``find``,
    or, without one, the most variable cells first (r None)."""
    spans, acts = cell_activations(model, text, context)
    if find:
        ranked = rank_cells(acts, indicator(text, spans, find))
    else:
        order = np.argsort(-acts.var(0), kind="stable")
        ranked = [(int(c), None) for c in order]
    return {"spans": spans, "activations": acts, "ranked": ranked}
