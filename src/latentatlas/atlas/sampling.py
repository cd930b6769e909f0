"""Drawing latent samples: from the prior, or from a Gaussian fitted to the codes."""

from __future__ import annotations

import torch

from ..models.protocol import LatentModel


def sample(model: LatentModel, n: int, *, source: str = "prior",
           codes: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
    """Draw ``n`` latent vectors (n, D).

    ``source="prior"``: z ~ N(0, I), right for a VAE. ``source="fitted"``: z ~ N(m, S) with the
    mean and covariance of ``codes`` (encoded training data), the way to sample a plain AE.
    """
    gen = torch.Generator().manual_seed(seed)
    d = model.latent_dim
    if source == "prior":
        return torch.randn(n, d, generator=gen)
    if source != "fitted":
        raise ValueError(f"source must be 'prior' or 'fitted', got {source!r}")
    if codes is None or len(codes) < 2:
        raise ValueError("source='fitted' needs the codes of at least two items")
    codes = codes.double()
    mean = codes.mean(0)
    cov = torch.cov(codes.T).reshape(d, d) + 1e-6 * torch.eye(d, dtype=torch.float64)
    chol = torch.linalg.cholesky(cov)
    eps = torch.randn(n, d, generator=gen, dtype=torch.float64)
    return (mean + eps @ chol.T).float()
