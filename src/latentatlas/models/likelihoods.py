"""Observation models p(x | z) for images: each gives -log p(x | z) in nats per item.

The decoder emits one unconstrained value per pixel (``out``). Each likelihood turns that into
a negative log-likelihood summed over pixels, and into the mean image ``E[x | z]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian", "laplace", "continuous-bernoulli")


class Likelihood(nn.Module):
    """Base class: ``nll(out, x)`` -> (B,) nats per item; ``mean(out)`` -> the expected image."""

    name = ""

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class Bernoulli(Likelihood):
    """x in [0, 1] scored as Bernoulli probabilities: binary cross-entropy on the logits."""

    name = "bernoulli"

    def nll(self, out, x):
        bce = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        return bce.flatten(1).sum(1)

    def mean(self, out):
        return torch.sigmoid(out)


def cb_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(lambda) of the continuous Bernoulli, lambda = sigmoid(logits) (Loaiza-Ganem 2019).

    C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda), which is 0/0 at lambda = 1/2; there we
    use the Taylor series log 2 + (4/3) d^2 + (104/45) d^4 with d = lambda - 1/2.
    """
    lam = torch.sigmoid(logits)
    d = lam - 0.5
    near = d.abs() < 1e-2
    safe_t = torch.where(near, torch.full_like(d, 0.1), 1.0 - 2.0 * lam)  # 1 - 2 lambda
    # 2 artanh(t) = log((1 + t) / (1 - t)) = log(1 - lambda) - log(lambda) = -logits
    exact = torch.log(torch.where(near, torch.ones_like(d), -logits / safe_t))
    taylor = math.log(2.0) + (4.0 / 3.0) * d**2 + (104.0 / 45.0) * d**4
    return torch.where(near, taylor, exact)


class ContinuousBernoulli(Likelihood):
    """The properly normalised density for x in [0, 1]: BCE minus log C(lambda)."""

    name = "continuous-bernoulli"

    def nll(self, out, x):
        bce = F.binary_cross_entropy_with_logits(out, x, reduction="none")
        return (bce - cb_log_norm(out)).flatten(1).sum(1)

    def mean(self, out):
        lam = torch.sigmoid(out)
        d = lam - 0.5
        near = d.abs() < 1e-2
        t = torch.where(near, torch.full_like(lam, 0.25), lam)
        # E[x] = lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda)); 2 artanh(1-2l) = -logits
        exact = t / (2 * t - 1) + 1.0 / torch.where(near, torch.ones_like(out), -out)
        return torch.where(near, 0.5 + d / 3.0, exact)


class _LocationScale(Likelihood):
    """Mean sigmoid(out) per pixel with one scale shared by all pixels, fixed or learned."""

    def __init__(self, scale: float | str = 0.1):
        super().__init__()
        learned = scale == "learned"
        init = math.log(0.1 if learned else float(scale))
        self.log_scale = nn.Parameter(torch.tensor(init), requires_grad=learned)

    def mean(self, out):
        return torch.sigmoid(out)


class Gaussian(_LocationScale):
    """Normal(sigmoid(out), sigma^2) per pixel."""

    name = "gaussian"

    def nll(self, out, x):
        s = self.log_scale
        z = (x - torch.sigmoid(out)) * torch.exp(-s)
        return (0.5 * z**2 + s + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


class Laplace(_LocationScale):
    """Laplace(sigmoid(out), b) per pixel."""

    name = "laplace"

    def nll(self, out, x):
        s = self.log_scale
        z = (x - torch.sigmoid(out)).abs() * torch.exp(-s)
        return (z + s + math.log(2.0)).flatten(1).sum(1)


def make_likelihood(name: str, scale: float | str = 0.1) -> Likelihood:
    """Build a likelihood by name; ``scale`` (a float or "learned") applies to gaussian/laplace."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "continuous-bernoulli":
        return ContinuousBernoulli()
    if name == "gaussian":
        return Gaussian(scale)
    if name == "laplace":
        return Laplace(scale)
    raise ValueError(f"unknown likelihood {name!r}; known: {', '.join(LIKELIHOODS)}")
