"""The model protocol every analysis in Latent Atlas works with, and ``wrap`` for your own model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class LatentModel(Protocol):
    """A generative model with a latent space.

    ``encode(x) -> (mu, logvar)`` gives the posterior mean (B, D) and log-variance (B, D), or
    None for a deterministic autoencoder; ``decode(z) -> x`` gives the mean observation.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


class WrappedModel:
    """A user's pair of callables presented as a ``LatentModel``."""

    def __init__(self, encode: Callable, decode: Callable, latent_dim: int):
        if latent_dim < 1:
            raise ValueError(f"latent_dim must be at least 1, got {latent_dim}")
        self._encode, self._decode, self.latent_dim = encode, decode, int(latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self._encode(x)
        mu, logvar = out if isinstance(out, tuple | list) else (out, None)
        if mu.ndim != 2 or mu.shape[1] != self.latent_dim:
            raise ValueError(f"encode returned shape {tuple(mu.shape)}, "
                             f"expected (batch, {self.latent_dim})")
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self._decode(z)


def wrap(encode: Callable, decode: Callable, latent_dim: int) -> WrappedModel:
    """Turn ``encode`` (returning mu, or (mu, logvar)) and ``decode`` into a ``LatentModel``."""
    return WrappedModel(encode, decode, latent_dim)
