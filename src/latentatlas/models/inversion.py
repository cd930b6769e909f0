"""Latent inversion: the code whose decode best matches an item, by optimisation.

A decoder-only model (a GAN) has no posterior to read a code from. ``invert`` finds one the
way Zhu et al. (2016, "Generative visual manipulation on the natural image manifold") and
Creswell & Bharath (2018) do: gradient descent on the code to minimise the squared pixel error
of its decode, from several starts (the model's own encoder's guess where it has one, then
draws from its prior), keeping each item's best. A small penalty on the code's squared norm
keeps the search near where the prior puts its mass (codes far outside it decode to images
the model never learned to make well). A conditional GAN's class part is searched as the
softmax of free logits, so it stays a distribution over classes.

Every item and start is optimised at once as one batch (their losses are independent and
Adam's steps are per coordinate, so batching changes nothing but the speed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..train.adam import Adam
from .protocol import LatentModel


@dataclass
class Inversion:
    """Codes (N, D) found for N items, each decode's mean squared error per pixel (N,) (pixel
    values in [0, 1]), that of the encoder's own guess where the model has an encoder
    (else None), and which start won for each item (0: the encoder's guess, if any)."""

    codes: torch.Tensor
    error: torch.Tensor
    encoder_error: torch.Tensor | None
    start: torch.Tensor


def _classes(model: LatentModel) -> int:
    return len(getattr(model, "classes", None) or [])


def _per_item_error(model: LatentModel, codes: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return (model.decode(codes) - x).pow(2).flatten(1).mean(1)


def invert(model: LatentModel, x: torch.Tensor, *, starts: int = 4, steps: int = 200,
           lr: float = 0.05, prior_weight: float = 1e-3, seed: int = 0,
           use_encoder: bool = True) -> Inversion:
    """Codes for images ``x`` (N, C, H, W) in [0, 1], by ``steps`` Adam steps from ``starts``
    starts per item (the first the model's ``encode`` guess when it has one and
    ``use_encoder``; the rest prior draws, seeded by ``seed``).

    Minimises mean squared pixel error + ``prior_weight`` * |z|^2 / D over the code."""
    if starts < 1 or steps < 0:
        raise ValueError(f"starts must be at least 1 and steps 0 or more, got {starts}, {steps}")
    if hasattr(model, "eval"):
        model.eval()
    n, k = len(x), _classes(model)
    d = model.latent_dim
    zd = d - k
    gen = torch.Generator().manual_seed(seed)
    guesses = []
    encoder_error = None
    if use_encoder and hasattr(model, "encode"):
        with torch.no_grad():
            guess = model.encode(x)[0].float()
            encoder_error = _per_item_error(model, guess, x)
        guesses.append(guess)
    while len(guesses) < starts:
        prior = getattr(model, "prior", None)
        draw = prior(n, gen) if prior is not None else torch.randn(n, d, generator=gen)
        guesses.append(draw.to(x.device))  # drawn on the CPU: the same starts on any device
    start = torch.stack(guesses)  # (S, N, D)
    s = len(start)
    z = start[..., :zd].reshape(s * n, zd).clone().requires_grad_(True)
    # class logits whose softmax is the start's class part (a one-hot: a clear preference)
    logits = (start[..., zd:].clamp_min(1e-4).log().reshape(s * n, k).clone()
              .requires_grad_(True))
    target = x.repeat(s, *([1] * (x.ndim - 1)))
    params = [z, logits] if k else [z]
    opt = Adam(params, lr=lr)

    def codes() -> torch.Tensor:
        return torch.cat([z, logits.softmax(1)], 1) if k else z

    for _ in range(steps):
        c = codes()
        err = _per_item_error(model, c, target)
        loss = (err + prior_weight * z.pow(2).mean(1)).sum()
        grads = torch.autograd.grad(loss, params)  # the model's weights are left alone
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        opt.step()
    with torch.no_grad():
        final = codes()
        err = _per_item_error(model, final, target).view(s, n)
        best = err.argmin(0)
        pick = torch.arange(n, device=best.device)
        return Inversion(final.view(s, n, d)[best, pick].detach(), err[best, pick],
                         encoder_error, best)
