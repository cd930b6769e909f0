"""Drawing latent samples: from the prior, or from a Gaussian fitted to the codes."""

from __future__ import annotations

import torch

from ..models.protocol import LatentModel


def sample(model: LatentModel, n: int, *, source: str = "prior",
           codes: torch.Tensor | None = None, seed: int = 0,
           labels: torch.Tensor | None = None) -> torch.Tensor:
    """Draw ``n`` latent vectors (n, D).

    ``source="prior"``: the model's prior: ``model.prior(n, generator, labels)`` where it has
    one (a GAN's, whose conditional codes end in a one-hot class: ``labels``, (n,) class
    indices, or uniform), else z ~ N(0, I), right for a VAE. ``source="fitted"``: z ~ N(m, S)
    with the mean and covariance of ``codes`` (encoded training data), the way to sample a
    plain AE.
    """
    gen = torch.Generator().manual_seed(seed)
    d = model.latent_dim
    if source == "prior":
        prior = getattr(model, "prior", None)
        if prior is not None:
            return prior(n, gen, labels)
        if labels is not None:
            raise ValueError("labels need a class-conditional model")
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
