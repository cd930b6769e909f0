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


@torch.no_grad()
def homotopy_acceptance(model, texts: list[str], accepts, pairs: int = 200, steps: int = 9,
                        path: str = "lerp", seed: int = 0) -> dict:
    """The share of sentences an acceptor takes at each position along homotopies between
    ``pairs`` random pairs of distinct ``texts`` (Bowman et al. 2016's claim: a VAE's
    intermediate sentences stay grammatical where an autoencoder's need not).

    Each pair's endpoints are encoded to their posterior means, joined by a ``path`` ("lerp"
    or "slerp") of ``steps`` codes (endpoints included), and every code is decoded greedily.
    ``accepts(text) -> bool`` is the judge (e.g. ``data.grammar.accepts``). Returns per
    position t: the share accepted with its 95% Wilson interval; the same over the
    intermediates (positions 1..steps-2) taken together; and how often the endpoints' own
    decodes reproduce the inputs (a model that cannot reconstruct its endpoints cannot test
    the claim)."""
    from ..stats import wilson

    if len(texts) < 2:
        raise ValueError("a homotopy needs at least two distinct texts")
    gen = torch.Generator().manual_seed(seed)
    chosen: list[tuple[int, int]] = []
    while len(chosen) < pairs:
        i, j = torch.randint(len(texts), (2,), generator=gen).tolist()
        if texts[i] != texts[j]:
            chosen.append((i, j))
    ends = [texts[k] for pair in chosen for k in pair]
    z = encode_texts(model, ends, given=False).view(pairs, 2, -1)
    codes = torch.stack([interpolate(a, b, steps, path) for a, b in z])  # (pairs, steps, D)
    decoded = decode_texts(model, codes.reshape(pairs * steps, -1))
    ok = torch.tensor([bool(accepts(t)) for t in decoded]).view(pairs, steps)
    vocab, cut = model.vocab, model.config.max_len
    read = [vocab.decode(vocab.encode(t, cut)[1:]) for t in ends]  # as the model reads them
    exact = [decoded[p * steps + (steps - 1) * e] == read[2 * p + e]
             for p in range(pairs) for e in (0, 1)]

    def share(k: int, n: int) -> dict:
        lo, hi = wilson(k, n)
        return {"share": round(k / n, 4), "ci95": [round(lo, 4), round(hi, 4)]}

    middle = ok[:, 1:-1]
    return {"pairs": pairs, "steps": steps, "path": path,
            "positions": [round(t, 4) for t in torch.linspace(0, 1, steps).tolist()],
            "accepted": [share(int(ok[:, s].sum()), pairs) for s in range(steps)],
            "intermediates": share(int(middle.sum()), middle.numel()),
            "endpoints_reconstructed": share(sum(exact), len(exact)),
            "examples": [decoded[p * steps:(p + 1) * steps] for p in range(min(3, pairs))]}
