"""An LSTM (or GRU) language model, optionally conditioned on a context.

    loss(x | c) = -sum_t log p(x_t | x_<t, c)                       nats per sentence

With ``condition="scalar"`` every word embedding is concatenated with the context value (a
song's "energy" in [0, 1], say); with ``condition="category"`` with a learned embedding of the
context's category. The training range of a scalar and the list of categories are kept in the
config, so generation can refuse a context the model never saw.

With ``window = W > 0`` (``--model attn-lm``, as textgenrnn) the next token is predicted from a
weighted average of the last W LSTM states, the weights a softmax of a learned score of each
state; a sentence is read after W - 1 <pad> tokens, so early windows hold <pad> states. The
weights are returned for every predicted token (``attention``): what the model read to say it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from ..errors import OptionError
from .decoding import BOS, PAD, generate, rnn_step
from .seqloss import sentence_nll, trim

CONDITIONS = ("none", "scalar", "category")


@dataclass
class LMConfig:
    vocab_size: int
    embed_dim: int = 128
    hidden: int = 256
    cell: str = "lstm"
    condition: str = "none"  # "none", "scalar" or "category"
    condition_name: str = ""  # what the context is called in the data ("energy", "category")
    categories: list[str] = field(default_factory=list)
    context_range: list[float] = field(default_factory=list)  # [lo, hi] seen in training
    category_dim: int = 16
    max_len: int = 32  # tokens per sentence, <s> and </s> excluded
    window: int = 0  # attention over the last ``window`` states (0: none)

    def validate(self) -> None:
        if self.vocab_size < 5:
            raise ValueError(f"the vocabulary is too small ({self.vocab_size} tokens)")
        if self.cell not in ("gru", "lstm"):
            raise OptionError("cell", f"must be gru or lstm, got {self.cell!r}")
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {self.condition!r}")
        if self.condition == "category" and len(self.categories) < 2:
            raise ValueError("a category condition needs at least 2 categories")
        if self.window < 0:
            raise ValueError(f"the attention window must be >= 0, got {self.window}")

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def context_width(self) -> int:
        return {"none": 0, "scalar": 1, "category": self.category_dim}[self.condition]


class LanguageModel(nn.Module):
    """(B, T) token ids (<s> ... </s> <pad>...) and an optional (B,) context -> next-token NLL."""

    is_variational = False

    def __init__(self, config: LMConfig):
        super().__init__()
        config.validate()
        self.config = config
        rnn = nn.GRU if config.cell == "gru" else nn.LSTM
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD)
        if config.condition == "category":
            self.category = nn.Embedding(len(config.categories), config.category_dim)
        self.rnn = rnn(config.embed_dim + config.context_width, config.hidden, batch_first=True)
        self.score = nn.Linear(config.hidden, 1) if config.window else None
        self.out = nn.Linear(config.hidden, config.vocab_size)

    def context_vector(self, context: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """(N,) context values (floats) or category indices (ints) -> (N, C), or None."""
        c = self.config.condition
        if c == "none":
            return None
        if context is None:
            raise ValueError(f"this model is conditioned on {self.config.condition_name!r}; "
                             "give a context")
        if c == "scalar":
            return context.float().reshape(n, 1)
        return self.category(context.long().reshape(n))

    def _inputs(self, tokens: torch.Tensor, cvec: torch.Tensor | None) -> torch.Tensor:
        e = self.embed(tokens)
        if cvec is not None:
            e = torch.cat([e, cvec[:, None, :].expand(-1, e.shape[1], -1).to(e.dtype)], -1)
        return e

    def _attend(self, states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, W - 1 + T, H) states -> the (B, T, H) weighted average of each position's last W
        states and the (B, T, W) weights (oldest first)."""
        w = self.config.window
        scores = self.score(states)[..., 0].float().unfold(1, w, 1)  # (B, T, W)
        weights = torch.softmax(scores, -1)
        windows = states.unfold(1, w, 1)  # (B, T, H, W), a view
        return torch.einsum("bthw,btw->bth", windows, weights.to(states.dtype)), weights

    def _read(self, inputs: torch.Tensor, context: torch.Tensor | None
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, T) input tokens -> (B, T, H) what the output layer reads (the states, or their
        attention averages) and the attention weights (or None)."""
        if self.config.window:
            pads = inputs.new_full((len(inputs), self.config.window - 1), PAD)
            inputs = torch.cat([pads, inputs], 1)
        out, _ = self.rnn(self._inputs(inputs, self.context_vector(context, len(inputs))))
        return self._attend(out) if self.config.window else (out, None)

    def loss(self, ids: torch.Tensor, context: torch.Tensor | None = None
             ) -> dict[str, torch.Tensor]:
        """Next-token NLL, nats per sentence (mean over the batch), and tokens per sentence."""
        ids = trim(ids)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        out, _ = self._read(inputs, context)
        nll, tokens = sentence_nll(self.out, out, targets)
        return {"loss": nll, "nll": nll, "tokens": tokens}

    @torch.no_grad()
    def attention(self, inputs: torch.Tensor, context: torch.Tensor | None = None
                  ) -> torch.Tensor:
        """(B, T) input tokens (<s> first) -> (B, T, W) attention weights: row t is what the
        model read to predict the token after input t, over inputs t - W + 1 .. t (<pad> before
        the start)."""
        if not self.config.window:
            raise ValueError("this language model has no attention (train an attn-lm)")
        return self._read(inputs, context)[1]

    def forward(self, ids: torch.Tensor, context: torch.Tensor | None = None):
        return self.loss(ids, context)

    def epoch_metrics(self, terms: dict[str, float], *data: torch.Tensor) -> dict[str, float]:
        """Test perplexity per token."""
        return {"perplexity": math.exp(min(terms["nll"] / max(terms["tokens"], 1e-9), 700.0))}

    def decode_start(self, context: torch.Tensor | None, n: int) -> tuple[torch.Tensor, ...]:
        """The state before <s>: (h[, c][, context vector][, the last W - 1 states])."""
        h = torch.zeros(n, self.config.hidden, device=self.out.weight.device)
        cvec = self.context_vector(context, n)
        hs = (h, torch.zeros_like(h)) if self.config.cell == "lstm" else (h,)
        extra = () if cvec is None else (cvec,)
        if self.config.window:  # read the W - 1 <pad> tokens a sentence starts after
            pads = torch.full((n, self.config.window - 1), PAD, device=h.device)
            states, last = self.rnn(self._inputs(pads, cvec), tuple(x[None] for x in hs)
                                    if len(hs) == 2 else hs[0][None])
            last = last if isinstance(last, tuple) else (last,)
            hs = tuple(x[0] for x in last)
            extra = (*extra, states)
        return (*hs, *extra)

    def decode_step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """One step: (N,) tokens -> (N, V) next-token logits and the new state."""
        n_h = 2 if self.config.cell == "lstm" else 1
        hs, rest = state[:n_h], state[n_h:]
        cvec = rest[0] if self.config.condition != "none" else None
        o, hs = rnn_step(self.rnn, self._inputs(tokens[:, None], cvec), hs)
        if not self.config.window:
            return self.out(o), (*hs, *rest)
        window = torch.cat([rest[-1], o[:, None]], 1)  # (N, W, H)
        read, _ = self._attend(window)
        return self.out(read[:, 0]), (*hs, *rest[:-1], window[:, 1:])

    def prime(self, state: tuple[torch.Tensor, ...], tokens: list[int]):
        """The state after reading <s> and ``tokens`` but their last (which ``generate`` feeds
        first): -> (state, that last token)."""
        n = len(state[0])
        for t in [BOS, *tokens[:-1]]:
            _, state = self.decode_step(torch.full((n,), t, device=state[0].device), state)
        return state, tokens[-1]

    @torch.no_grad()
    def generate(self, n: int, context: torch.Tensor | None = None, *, method: str = "sample",
                 temperature: float = 1.0, beam: int = 4, max_len: int | None = None,
                 generator: torch.Generator | None = None, ban_unk: bool = False,
                 prompt: list[int] | None = None) -> torch.Tensor:
        """``n`` sentences as (n, L) ids (batched), each under its row of ``context`` (n,),
        continuing the token ids of ``prompt`` if given (the prompt is not in the result)."""
        max_len = max_len or self.config.max_len + 1
        state, first = self.decode_start(context, n), BOS
        if prompt:
            state, first = self.prime(state, prompt)
        return generate(self.decode_step, state, max_len, method=method,
                        temperature=temperature, beam=beam, generator=generator,
                        ban_unk=ban_unk, first=first)


__all__ = ["BOS", "LMConfig", "LanguageModel"]
