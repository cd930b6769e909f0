"""A text classifier to explain: embeddings, a bidirectional GRU or LSTM, attention pooling (or
mean pooling), one linear layer to the classes.

    loss = cross-entropy(logits, label)          nats per text

``logits_from_embeddings`` runs everything after the embedding lookup, so gradient methods can
differentiate with respect to the (continuous) embeddings of the tokens. ``masked_logits``
scores many copies of one text with words replaced (LIME, occlusion) and shares the RNN's work
between copies that agree on a prefix (forward direction) or suffix (backward direction).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ..errors import OptionError
from .decoding import PAD, UNK


@dataclass
class TextClassifierConfig:
    vocab_size: int
    classes: list[str] = field(default_factory=list)
    label: str = "label"  # what the classes are: the label column or a factor's name
    embed_dim: int = 64
    hidden: int = 64
    cell: str = "gru"
    attention: bool = True
    max_len: int = 32

    def validate(self) -> None:
        if len(self.classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {len(self.classes)}")
        if self.cell not in ("gru", "lstm"):
            raise OptionError("cell", f"must be gru or lstm, got {self.cell!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class TextClassifier(nn.Module):
    """(B, T) token ids (<s> ... </s> <pad>...) -> (B, C) class logits."""

    is_variational = False

    def __init__(self, config: TextClassifierConfig):
        super().__init__()
        config.validate()
        self.config = config
        rnn = nn.GRU if config.cell == "gru" else nn.LSTM
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD)
        self.rnn = rnn(config.embed_dim, config.hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * config.hidden, 1) if config.attention else None
        self.out = nn.Linear(2 * config.hidden, len(config.classes))

    def logits_from_embeddings(self, emb: torch.Tensor, mask: torch.Tensor
                               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, E) embeddings and (B, T) bool mask of real tokens -> logits (B, C) and the
        pooling weights (B, T) (attention, or uniform over the real tokens)."""
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True,
                                        total_length=emb.shape[1])  # pads never read
        return self._pool(states, mask)

    def _pool(self, states: torch.Tensor, mask: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T, 2H) RNN states -> logits (B, C) and pooling weights (B, T)."""
        if self.score is not None:
            s = self.score(states)[..., 0].float().masked_fill(~mask, float("-inf"))
            weights = torch.softmax(s, -1)
        else:
            weights = mask.float() / mask.float().sum(1, keepdim=True).clamp_min(1)
        pooled = (weights[..., None].to(states.dtype) * states).sum(1)
        return self.out(pooled).float(), weights

    @torch.no_grad()
    def masked_logits(self, ids: torch.Tensor, keep: torch.Tensor,
                      replacement: int = UNK) -> torch.Tensor:
        """Logits of copies of one text ``ids`` (1, T) (<s> w_1 .. w_n </s>, no padding) in
        which the words where ``keep`` (U, n) is False are replaced by ``replacement``; equal
        to ``logits`` of those copies.

        Each direction of the RNN runs position by position over the distinct prefixes (the
        backward one over the distinct suffixes) of the copies' keep patterns: copies that agree
        so far share one state, so U random masks over n words cost about
        sum_t min(U, 2^t) cell steps instead of U * n.
        """
        u, n = keep.shape
        t_len = ids.shape[1]
        if t_len != n + 2:
            raise ValueError(f"ids hold {t_len} tokens; expected <s>, {n} words, </s>")
        bits = torch.ones(u, t_len, dtype=torch.int64)
        bits[:, 1:n + 1] = keep.long()
        emb = self.embed(ids[0])  # (T, E)
        other = self.embed.weight[replacement]
        lstm = isinstance(self.rnn, nn.LSTM)
        hid = self.config.hidden
        # everything after the RNN is linear in each state but for the softmax, so each
        # distinct state is projected once: its share of the logits and of the attention score
        logits = torch.zeros(u, t_len, len(self.config.classes))
        scores = torch.zeros(u, t_len)
        for d, (suffix, positions) in enumerate((("", range(t_len)),
                                                 ("_reverse", range(t_len - 1, -1, -1)))):
            w = [getattr(self.rnn, f"{k}_l0{suffix}") for k in ("weight_ih", "weight_hh",
                                                                "bias_ih", "bias_hh")]
            h = emb.new_zeros(1, hid)
            c = h.clone()
            uid = torch.zeros(u, dtype=torch.int64)  # each copy's distinct history so far
            found, index = [], torch.empty(u, t_len, dtype=torch.int64)
            offset = 0
            for t in positions:
                keys, uid = torch.unique(uid * 2 + bits[:, t], return_inverse=True)
                parent = keys // 2
                x = torch.where((keys % 2).bool()[:, None], emb[t], other)
                if lstm:
                    h, c = torch.lstm_cell(x, (h[parent], c[parent]), *w)
                else:
                    h = torch.gru_cell(x, h[parent], *w)
                found.append(h)
                index[:, t] = uid + offset
                offset += len(h)
            distinct = torch.cat(found)  # (distinct states, H)
            part = slice(d * hid, (d + 1) * hid)
            logits += (distinct @ self.out.weight[:, part].T)[index]
            if self.score is not None:
                scores += (distinct @ self.score.weight[0, part])[index]
        weights = torch.softmax(scores, -1)  # uniform for mean pooling (scores all 0)
        return (weights[..., None] * logits).sum(1) + self.out.bias

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        return self.logits_from_embeddings(self.embed(ids), ids != PAD)[0]

    def loss(self, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.logits(ids)
        loss = F.cross_entropy(logits, labels)
        return {"loss": loss, "accuracy": (logits.argmax(1) == labels).float().mean()}

    def forward(self, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss(ids, labels)
