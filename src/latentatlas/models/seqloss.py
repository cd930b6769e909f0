"""The next-token loss shared by the text models, computed only where there is a token.

Sentences are padded to the longest one in the dataset; projecting every padded position onto
the vocabulary would spend most of an epoch on <pad>. So a batch is first cut to its own longest
sentence, and only the real positions' states are projected (the (H x V) output layer is most
of a text model's compute).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .decoding import PAD


def trim(ids: torch.Tensor) -> torch.Tensor:
    """(B, T) ids -> (B, T') with T' the batch's longest sentence (trailing <pad> columns cut)."""
    used = (ids != PAD).any(0).nonzero()
    return ids[:, : int(used[-1]) + 1] if len(used) else ids


def sentence_nll(project: torch.nn.Module, states: torch.Tensor,
                 targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over the batch of each sentence's summed next-token NLL (nats per sentence), and
    the mean number of target tokens per sentence.

    ``states`` (B, T, H) are the decoder's outputs before ``project``; ``targets`` (B, T).
    A ``project`` with a ``token_nll`` method (``models.softmax``) scores the tokens itself.
    """
    mask = targets != PAD
    if hasattr(project, "token_nll"):
        total = project.token_nll(states[mask], targets[mask]).sum()
    else:
        logits = project(states[mask]).float()  # (tokens, V): real positions only
        total = F.cross_entropy(logits, targets[mask], reduction="sum")
    b = len(targets)
    return total / b, mask.sum() / b
