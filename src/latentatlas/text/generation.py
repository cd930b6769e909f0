"""Generating texts from a run: a language model under a context, or a sentence VAE from its
prior, in batches, until a number of sentences or of words is reached."""

from __future__ import annotations

import torch

from ..data.base import class_index
from ..errors import UserError
from ..progress import progress
from .words import content_words


def parse_context(model, value: str | float | None) -> torch.Tensor | None:
    """A context given on the command line -> the model's (1,) context tensor.

    A scalar must lie in the range seen in training; a category must be one of the training
    categories; a model without a condition takes none.
    """
    cfg = getattr(model, "config", None)
    condition = getattr(cfg, "condition", "none")
    if condition == "none":
        if value is not None:
            raise UserError("this model is not conditioned on a context; drop the `context`")
        return None
    name = cfg.condition_name or "context"
    if value is None:
        raise UserError(f"this model is conditioned on {name!r}; give a `context`")
    if condition == "category":
        return torch.tensor([class_index(cfg.categories, str(value), name)])
    try:
        x = float(value)
    except ValueError:
        raise UserError(f"{name} must be a number, got {value!r}") from None
    lo, hi = cfg.context_range
    tol = 1e-6 * max(1.0, hi - lo)
    if not lo - tol <= x <= hi + tol:
        raise UserError(f"{name} {x:g} is outside the range the model was trained on "
                        f"[{lo:g}, {hi:g}]")
    return torch.tensor([x])


def parse_contexts(model, values: list[str] | None) -> list[tuple[str, torch.Tensor | None]]:
    """Each ``--contexts`` value with its tensor (a single ``None`` for an unconditioned
    model)."""
    if not values:
        return [("all", parse_context(model, None))]
    return [(str(v), parse_context(model, v)) for v in values]


@torch.no_grad()
def generate_texts(model, *, n: int | None = None, words: int | None = None,
                   context: torch.Tensor | None = None, method: str | None = None,
                   temperature: float = 1.0, beam: int = 4, seed: int = 0,
                   batch_size: int = 512, ban_unk: bool = False) -> list[str]:
    """``n`` texts, or as many as it takes to reach ``words`` words, from a language model
    (under ``context``; sampling by default) or a sentence VAE (z from the prior N(0, I),
    greedy by default)."""
    if (n is None) == (words is None):
        raise ValueError("give exactly one of n and words")
    if (n is not None and n < 1) or (words is not None and words < 1):
        raise UserError("the number of sentences or words must be at least 1")
    if context is not None and context.numel() > 1 and (n is None or len(context) != n):
        raise ValueError("per-text contexts need n and one context per text")
    gen = torch.Generator().manual_seed(seed)
    is_lm = hasattr(model, "generate")
    method = method or ("sample" if is_lm else "greedy")
    texts: list[str] = []
    total = 0
    with progress(words or n, "generating", "word" if words else "text") as bar:
        while True:
            start = len(texts)
            b = batch_size if n is None else min(batch_size, n - start)
            if is_lm:
                c = None if context is None else (
                    context[start:start + b] if context.numel() > 1 else context.expand(b))
                ids = model.generate(b, c, method=method, temperature=temperature, beam=beam,
                                     generator=gen, ban_unk=ban_unk)
            else:
                z = torch.randn(b, model.latent_dim, generator=gen)
                ids = model.decode(z, method=method, temperature=temperature, beam=beam,
                                   generator=gen, ban_unk=ban_unk)
            batch_words = 0
            for row in ids.tolist():
                text = model.vocab.decode(row)
                texts.append(text)
                batch_words += len(content_words(text, stop_words=False))
                if words is not None and total + batch_words >= words:
                    return texts
            total += batch_words
            bar.update(batch_words if words is not None else len(ids))
            if n is not None and len(texts) >= n:
                return texts
            if batch_words == 0:
                raise UserError(f"{b} generated texts held no words; is the model trained?")
