"""A text classifier to explain: embeddings, a bidirectional GRU or LSTM, attention pooling (or
mean pooling), one linear layer to the classes.

    loss = cross-entropy(logits, label)          nats per text

``logits_from_embeddings`` runs everything after the embedding lookup, so gradient methods can
differentiate with respect to the (continuous) embeddings of the tokens.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .decoding import PAD


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
            raise ValueError(f"--cell must be gru or lstm, got {self.cell!r}")

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
        if self.score is not None:
            s = self.score(states)[..., 0].float().masked_fill(~mask, float("-inf"))
            weights = torch.softmax(s, -1)
        else:
            weights = mask.float() / mask.float().sum(1, keepdim=True).clamp_min(1)
        pooled = (weights[..., None].to(states.dtype) * states).sum(1)
        return self.out(pooled).float(), weights

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        return self.logits_from_embeddings(self.embed(ids), ids != PAD)[0]

    def loss(self, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.logits(ids)
        loss = F.cross_entropy(logits, labels)
        return {"loss": loss, "accuracy": (logits.argmax(1) == labels).float().mean()}

    def forward(self, ids: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss(ids, labels)
