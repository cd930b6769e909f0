"""Text datasets: WordNet's example sentences, Debian's fortunes, a synthetic grammar with known
factors, and a user's file of lines (optionally TSV with label and context columns)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UserError
from .base import sample_indices, taken_text

WORDNET_DIR = Path("/usr/share/wordnet")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
MAX_LINE = 100_000  # characters of one text; longer ones are cut with a warning


@dataclass(frozen=True)
class WordRules:
    """What a generated dataset knows about its words: each content word's ``roles`` (words of
    one role may stand in for each other), ``truth(factor)``, the words that carry a labelled
    factor's value, and ``accepts(text)``, whether the grammar makes the text."""

    roles: dict[str, str]
    truth: Callable[[str], set[str]]
    accepts: Callable[[str], bool]
    label: str = ""  # the factor the label column holds


@dataclass
class TextData:
    """Train and test texts with optional labels, a scalar context, and ground-truth factors."""

    name: str
    train: list[str]
    test: list[str]
    train_labels: list[str] | None = None
    test_labels: list[str] | None = None
    train_context: np.ndarray | None = None  # (N,) floats
    test_context: np.ndarray | None = None
    train_factors: dict[str, list] = field(default_factory=dict)
    test_factors: dict[str, list] = field(default_factory=dict)
    source: str = ""
    taken: str = ""  # how the splits were cut from the corpus, in words
    rules: WordRules | None = None  # known for grammar's sentences

    @property
    def classes(self) -> list[str] | None:
        return sorted(set(self.train_labels)) if self.train_labels else None

    def condition(self, name: str) -> tuple[str, list, list]:
        """A context to condition a model on: ("scalar" or "category", train values, test
        values). ``name`` is a ground-truth factor (grammar's ``energy``, ``subject``), ``label``
        / ``category`` (the label column), or the name given to a file's context column."""
        if name in self.train_factors:
            tr, te = self.train_factors[name], self.test_factors[name]
            kind = "scalar" if all(isinstance(v, float | int) for v in tr) else "category"
            return kind, list(tr), list(te)
        if name in ("label", "category") and self.train_labels is not None:
            return "category", list(self.train_labels), list(self.test_labels or [])
        file_context = self.train_context is not None and not self.train_factors
        if file_context and name not in ("label", "category"):  # a file's context column
            return "scalar", self.train_context.tolist(), self.test_context.tolist()
        known = [*self.train_factors, *(["category"] if self.train_labels else []),
                 *(["context (any name)"] if file_context else [])]
        raise UserError(f"{self.name} has no context {name!r}; it has: "
                        f"{', '.join(known) or 'none'}")

    def summary(self) -> str:
        extra = f", {len(self.classes)} labels" if self.classes else ""
        return (f"{self.name}: {len(self.train):,} train / {len(self.test):,} test texts{extra}"
                + (f" ({self.source})" if self.source else "")
                + (f"; {self.taken}" if self.taken else ""))

    def cut(self, n_train: int | None, n_test: int | None, seed: int) -> TextData:
        """The splits cut to ``n_train`` / ``n_test`` texts: seeded samples, stratified by
        label where there are labels; ``taken`` says what was taken."""
        said = []
        for split, n, what in (("train", n_train, "training"), ("test", n_test, "test")):
            texts = getattr(self, split)
            if n is None or n >= len(texts):
                continue
            labels = getattr(self, f"{split}_labels")
            idx = sample_indices(len(texts), n, labels, seed + (split == "test"))
            setattr(self, split, _pick(texts, idx))
            if labels is not None:
                setattr(self, f"{split}_labels", _pick(labels, idx))
            context = getattr(self, f"{split}_context")
            if context is not None:
                setattr(self, f"{split}_context", context[idx])
            factors = getattr(self, f"{split}_factors")
            setattr(self, f"{split}_factors", {k: _pick(v, idx) for k, v in factors.items()})
            said.append(taken_text(n, len(texts), what, labels is not None, seed))
        self.taken = "; ".join(said)
        return self


def _split(n: int, seed: int, test_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng([seed, 0x7E]).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _pick(items: list, idx: np.ndarray) -> list:
    return [items[i] for i in idx]


def wordnet_examples(root: Path = WORDNET_DIR, glosses: bool = False) -> list[str]:
    """The example sentences of WordNet's glosses (the quoted parts after '|'), deduplicated,
    in file order; with ``glosses`` the definitions too (the unquoted parts)."""
    files = [root / f"data.{pos}" for pos in ("noun", "verb", "adj", "adv")]
    if not all(f.is_file() for f in files):
        raise UserError(f"dataset 'wordnet' is not installed here (no {root}/data.*); fix: "
                        "apt-get install wordnet-base")
    seen: dict[str, None] = {}
    quoted = re.compile(r'"([^"]+)"')
    for f in files:
        for line in f.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("  ") or "|" not in line:  # the licence header
                continue
            gloss = line.split("|", 1)[1]
            texts = quoted.findall(gloss)
            if glosses:
                texts += [d for d in quoted.sub("", gloss).split(";")]
            for ex in texts:
                ex = ex.strip()
                if len(ex.split()) >= 2:
                    seen.setdefault(ex, None)
    return list(seen)


def fortunes(root: Path | None = None, sentences: bool = False) -> tuple[list[str], list[str]]:
    """Every fortune with its category (the file it comes from); ``sentences`` splits each
    fortune into its sentences."""
    root = FORTUNES_DIR if root is None else root
    if not root.is_dir():
        raise UserError(f"dataset 'fortunes' is not installed here (no {root}); fix: "
                        "apt-get install fortunes")
    texts, labels = [], []
    for f in sorted(root.iterdir()):
        if f.suffix or not f.is_file():  # skip the .dat indexes and .u8 links
            continue
        raw = f.read_bytes().decode("utf-8", errors="replace")
        for entry in re.split(r"^%$", raw, flags=re.M):
            entry = " ".join(entry.split())
            if not entry:
                continue
            parts = re.split(r"(?<=[.!?])\s+", entry) if sentences else [entry]
            for p in parts:
                if p.strip():
                    texts.append(p.strip())
                    labels.append(f.name)
    if not texts:
        raise UserError(f"no fortunes found in {root}")
    return texts, labels


def read_lines(path: str | Path) -> tuple[list[str], list[str] | None, np.ndarray | None]:
    """A user's corpus: one text per line; with tabs, the columns text, label[, context]."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start}); convert it first") from None
    texts, labels, contexts = [], [], []
    for number, line in enumerate(content.splitlines(), start=1):
        cols = line.split("\t")
        if len(cols[0]) > MAX_LINE:  # the text is cut; its label and context columns stay
            print(f"warning: {path}:{number}: the text is {len(cols[0]):,} characters; cut to "
                  f"{MAX_LINE:,}", file=sys.stderr)
            cols[0] = cols[0][:MAX_LINE]
        if not cols[0].strip():
            continue
        texts.append(cols[0].strip())
        labels.append(cols[1].strip() if len(cols) > 1 else None)
        if len(cols) > 2:
            try:
                contexts.append(float(cols[2]))
            except ValueError:
                raise UserError(f"{path}:{number}: context {cols[2]!r} is not a number") \
                    from None
    if not texts:
        raise UserError(f"{path} holds no text (an empty corpus)")
    has_labels = all(lab is not None for lab in labels)
    has_context = len(contexts) == len(texts)
    return texts, labels if has_labels else None, np.array(contexts) if has_context else None


def _root(data_dir: str | Path | None, name: str, default: Path) -> Path:
    """Where corpus ``name`` lives: ``data_dir/name`` or ``data_dir`` itself when given, else
    Debian's folder."""
    if data_dir is None:
        return default
    d = Path(data_dir)
    return d / name if (d / name).is_dir() else d


def load_text(spec: str, *, seed: int = 0, sentences: bool = False, n: int | None = None,
              n_train: int | None = None, n_test: int | None = None,
              data_dir: str | Path | None = None) -> TextData:
    """Load a text dataset by name: ``wordnet``, ``fortunes``, ``grammar``, ``text:PATH``,
    split 90/10 (seeded). ``n_train`` / ``n_test`` are the sizes of the splits (seeded samples,
    stratified by label where there are labels); ``n``, the rule of runs made before that, keeps
    the first ``n`` texts (grammar: generates ``n``) before the split. ``data_dir`` holds
    wordnet's or fortunes' files (or a ``wordnet`` / ``fortunes`` folder) instead of Debian's."""
    if n is not None and (n_train is not None or n_test is not None):
        raise ValueError("give n (the old rule) or n_train / n_test, not both")
    synthetic = spec in ("grammar", "negation", "clauses") or spec.startswith("grammar:")
    if synthetic:  # enough sentences for the splits
        need = max(-(-(n_train or 0) * 10 // 9) + 1, (n_test or 0) * 10 + 1)
        n = n if n is not None else (max(20_000, need) if n_train or n_test else None)
    from . import grammar

    labels = context = rules = None
    factors: dict[str, list] = {}
    if spec in ("wordnet", "wordnet:glosses"):
        root = _root(data_dir, "wordnet", WORDNET_DIR)
        texts, source = wordnet_examples(root, glosses=spec.endswith("glosses")), str(root)
    elif spec in ("fortunes", "fortunes:sentences"):
        split = sentences or spec.endswith(":sentences")
        root = _root(data_dir, "fortunes", FORTUNES_DIR)
        (texts, labels), source = fortunes(root, sentences=split), str(root)
    elif spec in ("grammar", "negation") or spec.startswith("grammar:"):
        try:
            weights = grammar.parse_weights(spec[8:]) if spec.startswith("grammar:") else None
        except ValueError as e:
            raise UserError(f"{spec}: {e}") from None
        texts, factors = grammar.generate(n or 20_000, seed, weights,
                                          negation=0.5 if spec == "negation" else 0.0)
        context, labels = np.array(factors["energy"]), factors["sentiment"]
        source = f"generated, seed {seed}"
        rules = WordRules(grammar.word_roles(), grammar.truth_words, grammar.accepts,
                          "sentiment")
    elif spec == "clauses":
        texts, factors = grammar.generate_clauses(n or 20_000, seed)
        labels, source = factors["number"], f"generated, seed {seed}"
    elif spec.startswith("text:"):
        texts, labels, context = read_lines(spec.removeprefix("text:"))
        source = spec.removeprefix("text:")
    else:
        raise UserError(f"unknown text dataset {spec!r}; known: wordnet, wordnet:glosses, "
                        "fortunes, fortunes:sentences, grammar, grammar:he=W,she=W,they=W, "
                        "negation, clauses, "
                        "text:PATH")
    if n is not None and not synthetic:
        texts = texts[:n]
        labels = labels[:n] if labels else None
        context = context[:n] if context is not None else None
    if len(texts) < 2:
        raise UserError(f"{spec}: need at least 2 texts, found {len(texts)}")
    tr, te = _split(len(texts), seed)
    data = TextData(
        name=spec, train=_pick(texts, tr), test=_pick(texts, te),
        train_labels=_pick(labels, tr) if labels else None,
        test_labels=_pick(labels, te) if labels else None,
        train_context=context[tr] if context is not None else None,
        test_context=context[te] if context is not None else None,
        train_factors={k: _pick(v, tr) for k, v in factors.items()},
        test_factors={k: _pick(v, te) for k, v in factors.items()}, source=source,
        rules=rules)
    return data.cut(n_train, n_test, seed) if n_train or n_test else data


def load_text_spec(spec: dict, data_dir: str | Path | None = None) -> TextData:
    """Load the text dataset a run's config describes: {"name", "seed", "n_train", "n_test",
    "data_dir"?} (or, for runs made before that rule, {"name", "seed", "n"}); ``data_dir``
    overrides the stored one."""
    return load_text(spec["name"], seed=spec.get("seed", 0), n=spec.get("n"),
                     n_train=spec.get("n_train"), n_test=spec.get("n_test"),
                     data_dir=data_dir if data_dir is not None else spec.get("data_dir"))
