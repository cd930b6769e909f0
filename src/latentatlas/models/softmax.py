"""A text model's output layer over its vocabulary: the full softmax, or the adaptive softmax
(Grave et al. 2017, "Efficient softmax approximation for GPUs").

Projecting every decoder state onto a 15,000-word vocabulary is most of a word model's
compute. The adaptive softmax scores only the ``ADAPTIVE_CUTOFFS[0]`` most frequent words (and
one entry per rarer cluster) at full width; a rarer word's cluster is scored through a
narrower projection (width / 4, then / 16), and only for the tokens that belong to it. The
vocabulary is sorted by frequency (``data.vocab``), which is the order the clusters need.
On wordnet's 15,493 words it computes a batch's loss and gradients 14x faster than the full
softmax on this project's 2-core CPU (docs/results.md, "Sentence codes").

Both layers map states (..., H) to next-token scores (..., V) that a softmax turns into the
model's distribution (the adaptive layer gives log-probabilities, the full one logits), and
both give ``token_nll(states, targets)``, each target token's NLL in nats (training sums it),
and ``greedy(states, banned)``, the most probable token but the ``banned`` ids. The adaptive
layer's greedy pick scores only the head for a row whose best head entry is a word, which is
exact: a rarer word's log-probability is its cluster's head entry plus a non-positive term.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import OptionError

SOFTMAXES = ("full", "adaptive")
ADAPTIVE_CUTOFFS = (1000, 4000)  # head: the 1,000 most frequent tokens; then 3,000; the rest
AUTO_ADAPTIVE_FROM = 5000  # "auto" picks the adaptive softmax for vocabularies this large


def resolve_softmax(requested: str, vocab_size: int) -> str:
    """"auto" -> "adaptive" for a vocabulary of AUTO_ADAPTIVE_FROM tokens or more, else
    "full"; an explicit choice is kept (an OptionError for an adaptive softmax over a
    vocabulary too small to split)."""
    if requested == "auto":
        return "adaptive" if vocab_size >= AUTO_ADAPTIVE_FROM else "full"
    if requested not in SOFTMAXES:
        raise OptionError("softmax", f"must be auto, full or adaptive, got {requested!r}")
    if requested == "adaptive" and vocab_size <= ADAPTIVE_CUTOFFS[0] + 1:
        raise OptionError("softmax", f"adaptive needs more than {ADAPTIVE_CUTOFFS[0] + 1} "
                          f"tokens; this vocabulary has {vocab_size}")
    return requested


class FullSoftmax(nn.Linear):
    """The plain output layer: logits = W h + b over the whole vocabulary."""

    def token_nll(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, H) states, (N,) targets -> (N,) NLL (nats)."""
        return F.cross_entropy(self(states).float(), targets, reduction="none")

    def greedy(self, states: torch.Tensor, banned: list[int]) -> torch.Tensor:
        """(N, H) states -> (N,) the most probable token ids but ``banned``."""
        logits = self(states).float()
        logits[:, banned] = float("-inf")
        return logits.argmax(-1)


class AdaptiveSoftmax(nn.Module):
    """The adaptive softmax over a frequency-sorted vocabulary."""

    def __init__(self, hidden: int, vocab_size: int):
        super().__init__()
        cutoffs = [c for c in ADAPTIVE_CUTOFFS if c < vocab_size - 1]
        self.layer = nn.AdaptiveLogSoftmaxWithLoss(hidden, vocab_size, cutoffs, div_value=4.0,
                                                   head_bias=True)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        """(..., H) -> (..., V) log-probabilities."""
        flat = states.reshape(-1, states.shape[-1]).float()
        return self.layer.log_prob(flat).reshape(*states.shape[:-1], -1)

    def token_nll(self, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """(N, H) states, (N,) targets -> (N,) NLL (nats), each cluster scored only for its
        own tokens."""
        return -self.layer(states.float(), targets).output

    def greedy(self, states: torch.Tensor, banned: list[int]) -> torch.Tensor:
        """(N, H) states -> (N,) the most probable token ids but ``banned`` (which must lie in
        the head): where the head's best entry is a word, that word; elsewhere (its best entry
        is a cluster) the whole distribution is scored for that row."""
        states = states.float()
        head = self.layer.head(states)
        head[:, banned] = float("-inf")
        picks = head.argmax(-1)
        rows = (picks >= self.layer.shortlist_size).nonzero()[:, 0]
        if len(rows):
            logp = self.layer.log_prob(states[rows])
            logp[:, banned] = float("-inf")
            picks[rows] = logp.argmax(-1)
        return picks


def output_layer(hidden: int, vocab_size: int, softmax: str) -> nn.Module:
    """The output layer a config names ("full" or "adaptive")."""
    if softmax == "adaptive":
        return AdaptiveSoftmax(hidden, vocab_size)
    return FullSoftmax(hidden, vocab_size)
