"""Text analyses on run directories: what the CLI calls for generate, words and audit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from ..data.text import load_text
from ..errors import UserError
from ..fileio import write_atomic
from ..models.rundir import load, load_run_data, run_kind
from .audit import audit, load_terms
from .generation import generate_texts, parse_context, parse_contexts
from .words import log_odds, word_counts


@torch.no_grad()
def continue_prompt(model, prompt: str, n: int = 1, words: int = 20,
                    context: torch.Tensor | None = None, seed: int = 0,
                    **decoding: Any) -> list[str]:
    """``n`` continuations of ``prompt`` by a language model (sampling unless ``decoding``
    says otherwise), each at most ``words`` tokens past the prompt, prompt included."""
    decoding["method"] = decoding.get("method") or "sample"
    _, ids = model.vocab.known(prompt)
    gen = torch.Generator().manual_seed(seed)
    rows = model.generate(n, None if context is None else context.expand(n), max_len=words,
                          generator=gen, prompt=ids, **decoding)
    start = model.vocab.decode(ids)
    return [f"{start} {model.vocab.decode(r.tolist())}".strip() for r in rows]


def sample_texts(run: str | Path, n: int | None = 10, words: int | None = None,
                 context: str | None = None, seed: int = 0, **decoding: Any) -> list[str]:
    """Texts from a language model under ``context`` (a value or category as given on the
    command line), or from a sentence VAE's prior: ``n`` of them, or enough for ``words``."""
    model = load(run)
    count = {"words": words} if words else {"n": n or 10}
    return generate_texts(model, context=parse_context(model, context), seed=seed, **count,
                          **decoding)


def prompt_run(run: str | Path, prompt: str, n: int = 1, words: int = 20,
               context: str | None = None, seed: int = 0, attention: bool = False,
               **decoding: Any):
    """A run's language model continuing ``prompt``: ``n`` texts, or with ``attention`` the
    trace of an attn-lm's weights behind each generated token (``explain.attention``)."""
    model = load(run)
    ctx = parse_context(model, context)
    decoding["method"] = decoding.get("method") or "sample"
    if attention:
        from ..explain.attention import generate_with_attention

        return generate_with_attention(model, prompt, words, context=ctx, seed=seed,
                                       **decoding)
    return continue_prompt(model, prompt, n, words, ctx, seed, **decoding)


def contexts_like_data(run: str | Path, model, n: int, seed: int = 0) -> torch.Tensor | None:
    """``n`` contexts drawn from the run's own training data (so the generated mix matches
    the data's), or None for a model without a condition."""
    cfg = model.config
    if getattr(cfg, "condition", "none") == "none":
        return None
    _, values, _ = load_run_data(run).condition(cfg.condition_name)
    pick = torch.randint(len(values), (n,), generator=torch.Generator().manual_seed(seed))
    return torch.cat([parse_context(model, values[i]) for i in pick.tolist()])


def audit_run(data: str | None = None, run: str | Path | None = None,
              terms: str | Path | None = None, n: int = 2000, seed: int = 0,
              **decoding: Any) -> dict[str, Any]:
    """The audit (``text.audit``) of a text dataset (``data``, default the run's own) and, with
    a ``run``, of ``n`` texts it generates under contexts drawn like its training data."""
    if data is None and run is None:
        raise UserError("give a dataset `data`, a `run`, or both")
    term_groups = load_terms(terms)
    if run is not None and not run_kind(run).text:
        raise UserError(f"{run} is not a text run")
    dataset = load_text(data, seed=0) if data else load_run_data(run)
    texts = dataset.train + dataset.test
    labels = (dataset.train_labels + dataset.test_labels) if dataset.train_labels else None
    generated = None
    if run is not None:
        model = load(run)
        context = contexts_like_data(run, model, n, seed)
        generated = generate_texts(model, n=n, context=context, seed=seed, **decoding)
    result = audit(texts, labels, generated, term_groups)
    result["data"]["name"] = dataset.name
    if run is not None:
        result["run"] = str(run)
    return result


def distinctive_words(run: str | Path, contexts: list[str] | None = None, words: int = 10_000,
                      top: int = 15, stop_words: bool = True, prior: float | None = None,
                      seed: int = 0, **decoding: Any) -> dict[str, Any]:
    """The words a text model favours per context: for each, ``words`` generated content words,
    the most frequent and the most distinctive by weighted log-odds z-score against the other
    contexts (Monroe et al. 2008); one context is compared with the training data. The
    result's ``corpora`` and ``scores`` (not JSON) feed ``write_clouds``."""
    model = load(run)
    corpora = []
    for name, ctx in parse_contexts(model, contexts):
        texts = generate_texts(model, words=words, context=ctx, seed=seed, **decoding)
        corpora.append((name, word_counts(texts, stop_words)))
    if len(corpora) == 1:  # one corpus: what the model over- and under-produces vs its data
        corpora.append(("training data", word_counts(load_run_data(run).train, stop_words)))
    scores = log_odds([c for _, c in corpora], prior_strength=prior)
    result: dict[str, Any] = {"run": str(run), "words_per_context": words,
                              "stop_words_removed": stop_words, "contexts": []}
    for (name, counts), sc in zip(corpora, scores, strict=True):
        ranked = sorted(sc.items(), key=lambda kv: -kv[1]["z"])
        result["contexts"].append({
            "context": name, "words": sum(counts.values()),
            "frequent": [[w, c] for w, c in counts.most_common(top)],
            "distinctive": [{"word": w, "z": round(s["z"], 3), "delta": round(s["delta"], 4),
                             "count": s["count"]} for w, s in ranked[:top]]})
    return {**result, "corpora": corpora, "scores": scores}


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)[:60] or "context"


def write_clouds(folder: str | Path, corpora, scores, seed: int = 0) -> list[str]:
    """One PNG per generated context in ``folder``, each word sized by its positive log-odds
    z-score (by frequency when nothing stands out)."""
    from wordcloud import WordCloud

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for (name, counts), sc in zip(corpora, scores, strict=True):
        if name == "training data":
            continue
        weights = {w: s["z"] for w, s in sc.items() if s["z"] > 0}
        if not weights:
            weights = dict(counts.most_common(200))
        if not weights:
            continue
        cloud = WordCloud(width=800, height=400, background_color="white", random_state=seed,
                          max_words=200).generate_from_frequencies(weights)
        path = folder / f"words-{_safe_name(name)}.png"
        write_atomic(path, lambda p, c=cloud: c.to_image().save(p, format="PNG"))
        paths.append(str(path))
    return paths
