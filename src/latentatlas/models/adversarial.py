"""Adversarial examples for image classifiers: the fast gradient sign method and projected
gradient descent in the L-infinity ball, the perturbations that turn a sneaker into a bag.

    FGSM (Goodfellow et al. 2015):  x' = clip(x + eps * sign(grad_x loss))
    PGD  (Madry et al. 2018):       from a uniform random start in the eps-ball, ``steps`` steps
                                    x' <- clip(proj_eps(x' + alpha * sign(grad_x loss)))

Untargeted attacks climb the cross-entropy of the true label; targeted ones (``target``) descend
the cross-entropy of the target class. Images live in [0, 1] and stay there. Everything here is
batched (one gradient per step for the whole batch) and leaves the model's weights and mode as
they were (its gradients are not touched: only the input's are computed). The engine keeps
these so a classifier can train on them (adversarial training); ``explain.adversarial`` reports
on them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import OptionError

METHODS = ("fgsm", "pgd")


def _input_grad(model, x: torch.Tensor, labels: torch.Tensor,
                target: torch.Tensor | None) -> torch.Tensor:
    """The gradient of the attack's objective (to climb) with respect to the images."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model.logits(x).float()
        objective = (F.cross_entropy(logits, labels, reduction="sum") if target is None
                     else -F.cross_entropy(logits, target, reduction="sum"))
        (grad,) = torch.autograd.grad(objective, x)
    return grad


def perturb(model, x: torch.Tensor, labels: torch.Tensor, eps: float, method: str = "pgd",
            target: torch.Tensor | None = None, steps: int = 20,
            step_size: float | None = None, random_start: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Adversarial images (B, C, H, W) within ``eps`` (L-infinity, pixel units of [0, 1]) of
    ``x``: one signed-gradient step (``fgsm``) or ``steps`` projected ones of ``step_size``
    (default 2.5 eps / steps, Madry et al.) from a random start (``pgd``)."""
    if method not in METHODS:
        raise OptionError("method", f"must be fgsm or pgd, got {method!r}")
    if not 0 < eps <= 1:
        raise OptionError("eps", f"must lie in (0, 1] (pixel units), got {eps}")
    if steps < 1:
        raise OptionError("steps", f"must be at least 1, got {steps}")
    x = x.detach()
    if method == "fgsm":
        return (x + eps * _input_grad(model, x, labels, target).sign()).clamp(0, 1)
    alpha = step_size if step_size is not None else 2.5 * eps / steps
    adv = x
    if random_start:
        noise = torch.rand(x.shape, generator=generator, device=x.device) * 2 - 1
        adv = (x + eps * noise).clamp(0, 1)
    for _ in range(steps):
        adv = adv + alpha * _input_grad(model, adv, labels, target).sign()
        adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()
