"""Single RNN cells that track something readable (Karpathy et al. 2015's cell that is on inside
a quotation): every cell's activation over a text, and cells ranked by how well they follow an
indicator built from a regular expression (1 on tokens inside a match, 0 elsewhere).
"""

from __future__ import annotations

import re

import numpy as np
import torch

from ..errors import OptionError, UserError
from ..models.decoding import BOS, UNK


@torch.no_grad()
def cell_activations(model, text: str, context: torch.Tensor | None = None
                     ) -> tuple[list[tuple[str, int, int]], np.ndarray]:
    """A language model read over ``text``: (tokens with spans, (T, H) activations), the cell
    state c_t for an LSTM, the hidden state h_t for a GRU, after reading each token."""
    spans = model.vocab.spans(text)
    if not spans:
        raise UserError("the text has no tokens")
    ids = [model.vocab.stoi.get(t, UNK) for t, _, _ in spans]
    n_h = 2 if model.config.cell == "lstm" else 1
    _, state = model.decode_step(torch.tensor([BOS]), model.decode_start(context, 1))
    acts = []
    for i in ids:
        _, state = model.decode_step(torch.tensor([i]), state)
        acts.append(state[n_h - 1][0].numpy().copy())  # c_t of an LSTM (h, c), h_t of a GRU
    return spans, np.stack(acts)


def indicator(text: str, spans: list[tuple[str, int, int]], pattern: str) -> np.ndarray:
    """1.0 for each token lying inside a match of ``pattern`` (case-insensitive), else 0.0."""
    try:
        regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
    except re.error as e:
        raise OptionError("find", f"{pattern!r} is not a valid regular expression: {e}") from None
    lowered = text.lower()  # the offsets token_spans gives are into the lower-cased text
    inside = np.zeros(len(lowered) + 1, dtype=bool)
    for m in regex.finditer(lowered):
        inside[m.start():m.end()] = True
    return np.array([float(inside[s:e].all()) for _, s, e in spans])


def rank_cells(acts: np.ndarray, target: np.ndarray) -> list[tuple[int, float]]:
    """Cells by |Pearson correlation| with ``target`` over the tokens, strongest first."""
    if target.std() == 0:
        raise UserError("the pattern matches all of the text or none of it: nothing to correlate")
    a = acts - acts.mean(0)
    t = target - target.mean()
    denom = np.sqrt((a ** 2).sum(0) * (t ** 2).sum()) + 1e-12
    r = (a * t[:, None]).sum(0) / denom
    order = np.argsort(-np.abs(r), kind="stable")
    return [(int(c), float(r[c])) for c in order]
