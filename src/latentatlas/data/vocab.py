"""The tokenizers (words, or characters for a character-level model) and the vocabulary saved
with a run as vocab.json (which records its level)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import torch

from ..errors import UserError
from ..fileio import note_once, write_json

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case words (with an apostrophe suffix kept: "don't", "it's") and punctuation."""
    return _TOKEN.findall(text.lower())


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """``tokenize``'s tokens with their (start, end) character offsets in ``text``."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text.lower())]


LEVELS = ("word", "char")


def char_spans(text: str) -> list[tuple[str, int, int]]:
    """Every character (case kept, spaces included) with its offsets."""
    return [(ch, i, i + 1) for i, ch in enumerate(text)]


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens with spaces, dropping the special ones."""
    return " ".join(t for t in tokens if t not in (PAD, BOS, EOS))


class Vocab:
    """Token <-> id. Ids 0-3 are <pad> <unk> <s> </s>; then tokens by falling frequency.
    ``level`` "word" tokenizes with ``tokenize``; "char" takes every character as a token."""

    def __init__(self, tokens: list[str], level: str = "word"):
        if level not in LEVELS:
            raise UserError(f"unknown token level {level!r}; one of {', '.join(LEVELS)}")
        self.level = level
        self.itos = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    def tokenize(self, text: str) -> list[str]:
        return list(text) if self.level == "char" else tokenize(text)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """The tokens of ``text`` with their (start, end) character offsets."""
        return char_spans(text) if self.level == "char" else token_spans(text)

    def join(self, tokens: Iterable[str]) -> str:
        """Tokens back to text (specials dropped): characters run together, words get spaces."""
        if self.level == "char":
            return "".join(t for t in tokens if t not in (PAD, BOS, EOS))
        return detokenize(tokens)

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1,
              max_size: int | None = None, level: str = "word") -> Vocab:
        """From texts: tokens seen at least ``min_count`` times, the ``max_size`` most frequent
        (ties broken alphabetically, so the same corpus gives the same ids)."""
        split = list if level == "char" else tokenize
        counts = Counter(t for text in texts for t in split(text))
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(0, max_size - len(SPECIALS))]
        if not kept:
            raise UserError("the corpus yields no tokens (empty, or `min_count` too high)")
        return cls(kept, level)

    def __len__(self) -> int:
        return len(self.itos)

    pad, unk, bos, eos = 0, 1, 2, 3

    def encode(self, text: str, max_len: int | None = None) -> list[int]:
        """<s> token ids </s>; unknown tokens become <unk>; at most ``max_len`` tokens between."""
        ids = [self.stoi.get(t, self.unk) for t in self.tokenize(text)]
        if max_len is not None:
            ids = ids[:max_len]
        return [self.bos, *ids, self.eos]

    def known(self, text: str, max_len: int | None = None) -> tuple[list[str], list[int]]:
        """A user's text as (tokens, ids), at most ``max_len``; an empty text, one without
        tokens, or one whose every token is unknown is a UserError."""
        if not text.strip():
            raise UserError("empty text (no words)")
        tokens = self.tokenize(text)[:max_len]
        if not tokens:
            raise UserError(f"{text[:60]!r} has no words")
        ids = [self.stoi.get(t, self.unk) for t in tokens]
        if all(i == self.unk for i in ids):
            raise UserError(f"every word of {text[:60]!r} is unknown to this model's vocabulary")
        self.say_unknown(tokens)
        return tokens, ids

    def unknown_tokens(self, tokens: Iterable[str]) -> list[str]:
        """The distinct tokens the vocabulary does not know, in order of appearance."""
        return list(dict.fromkeys(t for t in tokens if t not in self.stoi))

    def say_unknown(self, tokens: Iterable[str]) -> None:
        """Note on stderr (once per set of words) which tokens are read as <unk>."""
        unknown = self.unknown_tokens(tokens)
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:10]) + (
                f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            note_once(f"not in the model's vocabulary, read as {UNK}: {shown}")

    def batch(self, texts: list[str], max_len: int | None = None) -> torch.Tensor:
        """(B, T) int64 ids, padded with <pad> to the longest."""
        rows = [self.encode(t, max_len) for t in texts]
        out = torch.full((len(rows), max(map(len, rows))), self.pad, dtype=torch.int64)
        for i, r in enumerate(rows):
            out[i, : len(r)] = torch.tensor(r)
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Ids back to text, stopping at </s>."""
        words = []
        for i in ids:
            if int(i) == self.eos:
                break
            words.append(self.itos[int(i)])
        return self.join(words)

    def unknown_share(self, text: str) -> float:
        """Share of a text's tokens the vocabulary does not know."""
        toks = self.tokenize(text)
        return sum(t not in self.stoi for t in toks) / max(1, len(toks))

    def save(self, path: str | Path) -> None:
        write_json(path, {"level": self.level, "tokens": self.itos})

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        try:
            saved = json.loads(Path(path).read_text(encoding="utf-8"))
            tokens, level = saved["tokens"], saved.get("level", "word")
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise UserError(f"cannot read {path}: {e}") from None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise UserError(f"{path}: 'tokens' must be a list of strings")
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            raise UserError(f"{path} does not start with {', '.join(SPECIALS)}")
        if len(set(tokens)) != len(tokens):
            raise UserError(f"{path} lists a token twice")
        return cls(tokens[len(SPECIALS):], level)
