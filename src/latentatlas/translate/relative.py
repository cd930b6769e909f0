"""Relative representations (Moschella et al. 2023): each code as its cosine similarity to a
fixed set of anchor items, a coding that two models can share even when their axes differ."""

from __future__ import annotations

import torch


def relative(codes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """(N, D) codes and (K, D) anchor codes -> (N, K) cosine similarities."""
    a = torch.nn.functional.normalize(codes.double(), dim=1)
    b = torch.nn.functional.normalize(anchors.double(), dim=1)
    return (a @ b.T).float()


def relative_agreement(codes_a: torch.Tensor, codes_b: torch.Tensor,
                       anchor_idx: torch.Tensor) -> float:
    """Mean over items of the cosine between their relative representations in A and in B,
    with the same anchor items (indices into the codes) on both sides."""
    ra = relative(codes_a, codes_a[anchor_idx])
    rb = relative(codes_b, codes_b[anchor_idx])
    ra, rb = ra - ra.mean(0), rb - rb.mean(0)
    return float(torch.nn.functional.cosine_similarity(ra, rb, dim=1).mean())
