"""The latent space of a sentence model: encode texts, decode codes in batches, homotopies
between two sentences (Bowman et al. 2016, Table 3) and the sentences under every knob setting.
"""

from __future__ import annotations

import torch

from .interpolate import interpolate
from .knobs import Knobs, knob_positions


def token_ids(model, texts: list[str], given: bool = True) -> torch.Tensor:
    """Texts -> (N, T) ids in the model's vocabulary. Texts a user ``given`` must hold a known
    word (a code of only <unk> says nothing about the text) and their unknown words are named;
    texts of a dataset split are taken as they are (rare words are <unk> by design)."""
    if given:
        for text in texts:  # the checks every typed text gets (explain, generate: the same)
            model.vocab.known(text, model.config.max_len)
    return model.vocab.batch(texts, model.config.max_len)


@torch.no_grad()
def encode_texts(model, texts: list[str], given: bool = True) -> torch.Tensor:
    """Texts -> (N, D) posterior means (``given``: as ``token_ids``)."""
    return model.encode(token_ids(model, texts, given))[0]


@torch.no_grad()
def decode_texts(model, z: torch.Tensor, *, method: str = "greedy", temperature: float = 1.0,
                 beam: int = 4, batch_size: int = 4096, seed: int = 0,
                 ban_unk: bool = False) -> list[str]:
    """(N, D) codes -> N sentences, decoded in batches of ``batch_size``; ``ban_unk`` never
    emits <unk>."""
    gen = torch.Generator().manual_seed(seed)
    out: list[str] = []
    for i in range(0, len(z), batch_size):
        ids = model.decode(z[i:i + batch_size], method=method, temperature=temperature,
                           beam=beam, generator=gen, ban_unk=ban_unk)
        out += [model.vocab.decode(row) for row in ids.tolist()]
    return out


def homotopy(model, a: str, b: str, steps: int, path: str = "lerp",
             **decoding) -> list[tuple[str, str]]:
    """Rows (name, sentence): s0 (the input), the ``steps`` decodes from z0 to z1 along a
    ``path`` ("lerp" or "slerp"), s1. ``decoding``: ``decode_texts``' options."""
    z = encode_texts(model, [a, b])
    codes = interpolate(z[0], z[1], steps, path)
    decoded = decode_texts(model, codes, **decoding)
    names = ["z0", *[f"z{t:.2f}"[:5] for t in torch.linspace(0, 1, steps)[1:-1].tolist()],
             "z1"]
    return [("s0", a), *zip(names, decoded, strict=True), ("s1", b)]


def knob_table(model, knobs: Knobs, texts: list[str], steps: int = 3, span: float = 2.0,
               batch_size: int = 4096, ban_unk: bool = False, given: bool = False) -> dict:
    """Every knob combination for each text, decoded greedily in batches: steps**k x items
    sentences, knob 0 varying slowest (the table a static slider page looks up)."""
    z = encode_texts(model, texts, given)
    values, codes = knob_positions(knobs, z, steps, span)
    flat = decode_texts(model, codes.reshape(-1, codes.shape[-1]), batch_size=batch_size,
                        ban_unk=ban_unk)
    per = len(values)
    return {
        "knobs": knobs.components_.shape[0], "steps": torch.linspace(-span, span,
                                                                      steps).tolist(),
        "order": "row-major over knob values, knob 0 slowest",
        "explained_variance_ratio": [round(float(r), 5)
                                     for r in knobs.explained_variance_ratio_],
        "items": [{"text": t, "decodes": flat[i * per:(i + 1) * per]}
                  for i, t in enumerate(texts)],
    }


@torch.no_grad()
def reconstruct_texts(model, texts: list[str], samples: int = 0, seed: int = 0,
                      given: bool = True, **decoding) -> list[dict]:
    """Each text with its decode from the posterior mean and, with ``samples`` > 0 and a VAE,
    the decodes of that many codes drawn from q(z|x): [{"input", "mean", "samples"?}]. Texts of
    a split (``given`` False) may hold only unknown words: they are read as <unk>."""
    decoding["method"] = decoding.get("method") or "greedy"
    mu, logvar = model.encode(token_ids(model, texts, given))
    means = decode_texts(model, mu, **decoding)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for i, text in enumerate(texts):
        row: dict = {"input": text, "mean": means[i]}
        if samples > 0 and logvar is not None:
            eps = torch.randn(samples, mu.shape[1], generator=gen)
            row["samples"] = decode_texts(model, mu[i] + torch.exp(0.5 * logvar[i]) * eps,
                                          **decoding)
        rows.append(row)
    return rows
