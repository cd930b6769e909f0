"""Datasets by name: ``load_dataset("fashion-mnist")``, ``load_dataset("images:/path")``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import OptionError, UserError
from .base import ImageData, sample_indices, taken_text
from .idx_sets import fetch, locate, missing_message
from .pairs import PAIR_SETS
from .shapes import load_shapes
from .small_sets import load_digits, load_folder, resize


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    size: str


DATASETS = {
    d.name: d
    for d in [
        DatasetInfo("fashion-mnist", "28x28 clothing images, 10 classes (IDX)", "60,000 + 10,000"),
        DatasetInfo("mnist", "28x28 handwritten digits (IDX)", "60,000 + 10,000"),
        DatasetInfo("digits", "8x8 digits bundled in scikit-learn", "1,497 + 300"),
        DatasetInfo("shapes", "synthetic silhouettes with exact factors", "20,000 + 5,000"),
        DatasetInfo("images:PATH", "a folder of PNG/JPEG files, optional labels.csv", "yours"),
        DatasetInfo("NAME:decoy", "a labelled image set with a class-coded square in a "
                    "random corner of each training image, the test images clean (decoy "
                    "MNIST; fashion-mnist:decoy)", "as NAME"),
        DatasetInfo("wordnet", "example sentences of WordNet's glosses (text); "
                    "wordnet:glosses adds the definitions", "~48,000"),
        DatasetInfo("fortunes", "Debian's fortunes, labelled by category (text); "
                    "fortunes:sentences splits them", "~15,000"),
        DatasetInfo("grammar", "synthetic sentences with known factors (text); "
                    "grammar:he=0.6,she=0.2,they=0.2 plants a subject skew", "20,000"),
        DatasetInfo("negation", "grammar with copulas, half of them negated (\"was not "
                    "elated\"): the sentiment rests on the adjective and \"not\" (text)",
                    "20,000"),
        DatasetInfo("clauses", "a harder synthetic grammar: number agreement across a "
                    "relative clause (text)", "20,000"),
        DatasetInfo("text:PATH", "one text per line, optional TSV label/context (text)",
                    "yours"),
        DatasetInfo("inverse-sine", "y from x = y + 0.3 sin(2 pi y) + noise: one x, up to "
                    "three answers (regression)", "20,000 + 2,000"),
        DatasetInfo("arm", "a two-link arm's joint angles from its hand's position: two "
                    "answers per hand (regression)", "20,000 + 2,000"),
    ]
}


def availability(name: str, data_dir: str | Path | None = None) -> str:
    """Where ``name`` would load from here, or why it cannot."""
    if name in ("fashion-mnist", "mnist"):
        files = locate(name, data_dir)
        return str(files["train_x"].parent) if files else "missing: " + missing_message(name)
    if name == "NAME:decoy":
        return "wherever NAME loads from"
    if name in ("images:PATH", "text:PATH"):
        return "give a folder" if name == "images:PATH" else "give a file"
    if name in ("wordnet", "fortunes"):
        from .text import FORTUNES_DIR, WORDNET_DIR

        where, package = ((WORDNET_DIR, "wordnet-base") if name == "wordnet"
                          else (FORTUNES_DIR, "fortunes"))
        return str(where) if where.is_dir() else f"missing: apt-get install {package}"
    return "built in"


def dataset_table(data_dir: str | Path | None = None) -> list[dict[str, str]]:
    """Every dataset spec with its description, size and where it would load from here."""
    return [{"name": n, "description": d.description, "size": d.size,
             "available": availability(n, data_dir)} for n, d in DATASETS.items()]


def load_dataset(
    spec: str,
    *,
    data_dir: str | Path | None = None,
    seed: int = 0,
    image_size: int | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    subset: str = "stratified",
) -> ImageData:
    """Load a dataset by its spec (see ``DATASETS``), optionally resized and subsampled.

    ``n_train``/``n_test`` are the sizes of the splits: a seeded sample of each, stratified by
    label where there are labels (``subset="first"``: the first N items, as runs made before
    this was the rule; ``shapes`` generates exactly that many); ``image_size`` resizes to a
    square of that side. ``data.taken`` says what was taken.
    """
    if subset not in ("stratified", "first"):
        raise ValueError(f"subset must be stratified or first, got {subset!r}")
    for n, what in ((n_train, "n_train"), (n_test, "n_test")):
        if n is not None and n < 1:
            raise OptionError(what, f"must be at least 1, got {n}")
    if image_size is not None and not 4 <= image_size <= 512:
        raise OptionError("image_size", f"must be between 4 and 512, got {image_size}")
    if spec.endswith(":decoy") and not spec.startswith("images:"):
        from .decoy import with_decoy

        base = load_dataset(spec.removesuffix(":decoy"), data_dir=data_dir, seed=seed,
                            image_size=image_size, n_train=n_train, n_test=n_test,
                            subset=subset)
        return with_decoy(base, seed)
    if spec == "shapes":
        data = load_shapes(seed, n_train or 20_000, n_test or 5_000)
    elif spec in ("fashion-mnist", "mnist"):
        from .idx_sets import load_idx_set

        data = load_idx_set(spec, data_dir)
    elif spec == "digits":
        data = load_digits(image_size, seed)
    elif spec.startswith("images:"):
        data = load_folder(spec.removeprefix("images:"), image_size, seed)
    elif spec.split(":")[0] in ("wordnet", "fortunes", "grammar", "negation", "clauses",
                                "text"):
        raise UserError(f"{spec!r} is a text dataset; train a text model on it "
                        "(a text-vae)")
    elif spec in PAIR_SETS:
        raise UserError(f"{spec!r} is a regression set; train a regressor or an mdn on it")
    else:
        known = ", ".join(DATASETS)
        raise UserError(f"unknown dataset {spec!r}; known: {known}")
    if image_size is not None and data.image_shape[1:] != (image_size, image_size):
        data.train_x = resize(data.train_x, image_size)
        data.test_x = resize(data.test_x, image_size)
    if n_train is not None or n_test is not None:
        data = _subsample(data, n_train, n_test, subset == "stratified", seed)
    return data


def load_spec(spec: dict, data_dir: str | Path | None = None) -> ImageData:
    """Load the dataset a run's config describes: {"name", "seed", "image_size", ...}."""
    return load_dataset(
        spec["name"], data_dir=data_dir if data_dir is not None else spec.get("data_dir"),
        seed=spec.get("seed", 0), image_size=spec.get("image_size"),
        n_train=spec.get("n_train"), n_test=spec.get("n_test"),
        subset=spec.get("subset", "first"),  # runs written before the rule took the first N
    )


def _subsample(data: ImageData, n_train: int | None, n_test: int | None, stratified: bool,
               seed: int) -> ImageData:
    """Cut each split to its size: a seeded (stratified) sample, or the first N items."""
    import torch

    said = []
    for split, n, what in (("train", n_train, "training"), ("test", n_test, "test")):
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        if n is None or n >= len(x):
            continue
        if stratified:
            labels = None if y is None else y.tolist()
            idx = torch.from_numpy(sample_indices(len(x), n, labels, seed + (split == "test")))
        else:
            idx = torch.arange(n)
        said.append(taken_text(n, len(x), what, stratified and y is not None, seed)
                    if stratified else f"the first {n:,} of {len(x):,} {what} items")
        setattr(data, f"{split}_x", x[idx])
        setattr(data, f"{split}_y", None if y is None else y[idx])
        factors = getattr(data, f"{split}_factors")
        setattr(data, f"{split}_factors", {k: v[idx] for k, v in factors.items()})
    data.taken = "; ".join(said)
    return data


__all__ = ["DATASETS", "ImageData", "availability", "dataset_table", "fetch", "load_dataset",
           "load_spec"]
