"""What an attention language model read while it generated: a continuation of a prompt and,
for every generated token, the attention weights over its window of recent inputs (<pad> and
<s> included), as a heatmap (PNG) or an HTML table.

The model is causal, so the weights of one teacher-forced pass over the prompt and the
generated tokens are the weights it used while generating them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from ..models.decoding import BOS, EOS


@dataclass
class AttentionTrace:
    """Rows: the generated tokens; columns: every input token, from the <pad>s before <s>
    through the prompt and the generated tokens (each row is non-zero on its window only)."""

    prompt: list[str]
    generated: list[str]
    columns: list[str]
    weights: np.ndarray  # (len(generated), len(columns)), each row sums to 1

    def to_dict(self) -> dict:
        return {"prompt": self.prompt, "generated": self.generated, "columns": self.columns,
                "weights": np.round(self.weights, 5).tolist()}


def generate_with_attention(model, prompt: str, max_tokens: int, *,
                            context: torch.Tensor | None = None, method: str = "sample",
                            temperature: float = 1.0, beam: int = 4, seed: int = 0,
                            ban_unk: bool = False) -> AttentionTrace:
    """Continue ``prompt`` by up to ``max_tokens`` tokens (to </s>) and return the attention
    weights behind each generated token."""
    if not getattr(model.config, "window", 0):
        raise UserError("this language model has no attention; train an attn-lm")
    _, ids = model.vocab.known(prompt)
    gen = torch.Generator().manual_seed(seed)
    out = model.generate(1, context, method=method, temperature=temperature, beam=beam,
                         max_len=max_tokens, generator=gen, ban_unk=ban_unk, prompt=ids)[0]
    new = out.tolist()
    if EOS in new:
        new = new[: new.index(EOS) + 1]
    inputs = [BOS, *ids, *new[:-1]]
    weights = model.attention(torch.tensor([inputs]), context)[0].numpy()  # (T, W)
    w = model.config.window
    itos = model.vocab.itos
    columns = ["<pad>"] * (w - 1) + [itos[i] for i in inputs]
    rows = np.zeros((len(new), len(columns)))
    for k in range(len(new)):
        t = len(ids) + k  # the input position whose prediction is generated token k
        rows[k, t:t + w] = weights[t]
    return AttentionTrace([itos[i] for i in ids], [itos[i] for i in new], columns, rows)


def attention_png(trace: AttentionTrace, path, title: str = ""):
    """The heatmap: one row per generated token, one column per input token."""
    from ..plotting import plain, png_path, pyplot, save_figure

    path = png_path(path, "attention heatmaps")
    plt = pyplot()
    rows, cols = trace.weights.shape
    fig, ax = plt.subplots(figsize=(0.38 * cols + 2.0, 0.32 * rows + 1.8))
    im = ax.imshow(trace.weights, cmap="Reds", vmin=0, vmax=max(1e-9, trace.weights.max()),
                   aspect="auto")
    ax.set_xticks(range(cols), [plain(c) for c in trace.columns], rotation=60, ha="right",
                  fontsize=8)
    ax.set_yticks(range(rows), [plain(t) for t in trace.generated], fontsize=8)
    ax.set_xlabel("input tokens (the window each generated token attends over)")
    ax.set_ylabel("generated token")
    fig.colorbar(im, ax=ax, fraction=0.03)
    ax.set_title(plain(title or "attention while generating"), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def attention_html(trace: AttentionTrace, title: str = "") -> str:
    """The same heatmap as an HTML table; every token escaped, weights in each cell's title."""
    e = html.escape
    head = "".join(f"<th class='c'>{e(c)}</th>" for c in trace.columns)
    body = []
    top = max(1e-9, float(trace.weights.max()))
    for tok, row in zip(trace.generated, trace.weights, strict=True):
        cells = "".join(
            f"<td title='{v:.3f}' style='background:rgba(214,39,40,{v / top:.3f})'></td>"
            if v > 0 else "<td></td>" for v in row)
        body.append(f"<tr><th>{e(tok)}</th>{cells}</tr>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(title or 'attention')}</title><style>"
            "body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
            "td{width:1.6em;height:1.4em;border:1px solid #eee}th{font-weight:normal;"
            "padding:0 .4em;text-align:right}th.c{writing-mode:vertical-rl;"
            "transform:rotate(180deg);text-align:left;height:auto}</style></head><body>"
            f"<h1>{e(title or 'attention')}</h1><p>prompt: <b>{e(' '.join(trace.prompt))}</b>"
            f" &rarr; {e(' '.join(trace.generated))}</p>"
            f"<table><tr><th></th>{head}</tr>{''.join(body)}</table></body></html>")
