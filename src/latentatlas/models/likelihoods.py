"""Observation models p(x | z) for images: each gives -log p(x | z) in nats per item.

The decoder emits ``outputs`` unconstrained values per pixel (``out``, (B, outputs * C, H, W)):
one for most likelihoods, two for a location-scale one with a per-pixel scale (the location's
channels first, then the scale's). Each likelihood turns that into a negative log-likelihood
summed over pixels, into the mean image ``E[x | z]``, and into draws x ~ p(x | z).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LIKELIHOODS = ("bernoulli", "gaussian", "laplace", "continuous-bernoulli")
SCALED = ("gaussian", "laplace")  # the likelihoods that take an ``obs_scale``
# a per-pixel scale lives in [SCALE_MIN, SCALE_MAX] pixel units: bounded below so a pixel that
# is always 0 (FashionMNIST's background) cannot drive its density to infinity
SCALE_MIN, SCALE_MAX = 0.01, 1.0


class Likelihood(nn.Module):
    """Base class: ``nll(out, x)`` -> (B,) nats per item; ``mean(out)`` -> the expected image;
    ``sample(out, generator)`` -> one draw x ~ p(x | z) per item, (B, C, H, W)."""

    name = ""
    outputs = 1  # decoder values per pixel

    def nll(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def mean(self, out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, out: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def scale(self, out: torch.Tensor) -> torch.Tensor | None:
        """Each pixel's scale (sigma or b, pixel units), (B, C, H, W); None if it has none."""
        return None


def _uniform(out: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """U(0, 1) noise shaped like ``out``, drawn on the CPU so a seed gives the same images
    everywhere."""
    return torch.rand(out.shape, generator=generator).to(out)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits summed over all but the first dimension, (B,) nats:
    softplus(l) - x l, the same value as ``F.binary_cross_entropy_with_logits``; written out
    because that fused op has no batching rule, so under ``torch.vmap`` (a sweep's stacked
    step) it ran three times slower than these plain elementwise ops."""
    return F.softplus(logits).flatten(1).sum(1) - (x * logits).flatten(1).sum(1)


class Bernoulli(Likelihood):
    """x in [0, 1] scored as Bernoulli probabilities: binary cross-entropy on the logits."""

    name = "bernoulli"

    def nll(self, out, x):
        return bernoulli_nll(out, x)

    def mean(self, out):
        return torch.sigmoid(out)

    def sample(self, out, generator=None):
        return (_uniform(out, generator) < torch.sigmoid(out)).to(out)


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
        return bernoulli_nll(out, x) - cb_log_norm(out).flatten(1).sum(1)

    def mean(self, out):
        lam = torch.sigmoid(out)
        d = lam - 0.5
        near = d.abs() < 1e-2
        t = torch.where(near, torch.full_like(lam, 0.25), lam)
        # E[x] = lambda / (2 lambda - 1) + 1 / (2 artanh(1 - 2 lambda)); 2 artanh(1-2l) = -logits
        exact = t / (2 * t - 1) + 1.0 / torch.where(near, torch.ones_like(out), -out)
        return torch.where(near, 0.5 + d / 3.0, exact)

    def sample(self, out, generator=None):
        # inverse CDF: F(x) = (lambda^x (1 - lambda)^(1 - x) - (1 - lambda)) / (2 lambda - 1),
        # so x = log1p(u (2 lambda - 1) / (1 - lambda)) / logit(lambda); uniform near 1/2
        u = _uniform(out, generator)
        lam = torch.sigmoid(out)
        near = (lam - 0.5).abs() < 1e-3
        safe = torch.where(near, torch.ones_like(out), out.clamp(-60.0, 60.0))
        exact = torch.log1p(u * torch.expm1(safe)) / safe  # (2l - 1) / (1 - l) = e^logit - 1
        return torch.where(near, u, exact).clamp(0.0, 1.0)


class _LocationScale(Likelihood):
    """Location sigmoid(out) per pixel; its scale one number shared by all pixels (a float,
    fixed, or "learned") or, with "per-pixel", a second decoder output per pixel squashed into
    [SCALE_MIN, SCALE_MAX] (log-uniformly, so the bound is smooth)."""

    def __init__(self, scale: float | str = 0.1):
        super().__init__()
        self.per_pixel = scale == "per-pixel"
        if self.per_pixel:
            self.outputs = 2
            return
        learned = scale == "learned"
        init = math.log(0.1 if learned else float(scale))
        self.log_scale = nn.Parameter(torch.tensor(init), requires_grad=learned)

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """out -> (location logits, log scale), each (B, C, H, W) or broadcastable."""
        if not self.per_pixel:
            return out, self.log_scale
        loc, raw = out.chunk(2, dim=1)
        lo, hi = math.log(SCALE_MIN), math.log(SCALE_MAX)
        return loc, lo + (hi - lo) * torch.sigmoid(raw)

    def mean(self, out):
        return torch.sigmoid(self._split(out)[0])

    def scale(self, out):
        loc, s = self._split(out)
        return torch.exp(s).expand_as(loc)

    def nll(self, out, x):
        loc, s = self._split(out)
        return self._nll(x - torch.sigmoid(loc), s).flatten(1).sum(1)

    def sample(self, out, generator=None):
        loc, s = self._split(out)
        return torch.sigmoid(loc) + torch.exp(s) * self._noise(loc, generator)

    def _nll(self, r: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Per-pixel -log p for residual r and log scale s."""
        raise NotImplementedError

    def _noise(self, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Standardised noise shaped like ``like``."""
        raise NotImplementedError


class Gaussian(_LocationScale):
    """Normal(sigmoid(out), sigma^2) per pixel."""

    name = "gaussian"

    def _nll(self, r, s):
        return 0.5 * (r * torch.exp(-s)) ** 2 + s + 0.5 * math.log(2 * math.pi)

    def _noise(self, like, generator):
        return torch.randn(like.shape, generator=generator).to(like)


class Laplace(_LocationScale):
    """Laplace(sigmoid(out), b) per pixel."""

    name = "laplace"

    def _nll(self, r, s):
        return r.abs() * torch.exp(-s) + s + math.log(2.0)

    def _noise(self, like, generator):
        u = _uniform(like, generator).clamp_min(1e-7) - 0.5  # inverse CDF of the standard Laplace
        return -torch.sign(u) * torch.log1p(-2 * u.abs())


def make_likelihood(name: str, scale: float | str = 0.1) -> Likelihood:
    """Build a likelihood by name; ``scale`` (a float, "learned" or "per-pixel") applies to
    gaussian and laplace."""
    if name == "bernoulli":
        return Bernoulli()
    if name == "continuous-bernoulli":
        return ContinuousBernoulli()
    if name == "gaussian":
        return Gaussian(scale)
    if name == "laplace":
        return Laplace(scale)
    raise ValueError(f"unknown likelihood {name!r}; known: {', '.join(LIKELIHOODS)}")
