"""How many latent dimensions a model really uses: active units and per-unit KL."""

from __future__ import annotations

from dataclasses import dataclass

import torch

ACTIVITY_THRESHOLD = 0.01  # Burda et al. 2015


@dataclass
class UnitStats:
    """Per latent unit: variance over the data of its posterior mean, and its average KL."""

    activity: torch.Tensor  # (D,) Var_x[E_q(z|x) z_d]
    kl: torch.Tensor | None  # (D,) mean over x of KL(q(z_d|x) || N(0, 1)), nats; None for an AE
    threshold: float = ACTIVITY_THRESHOLD

    @property
    def active(self) -> torch.Tensor:
        """(D,) bool: activity above the threshold."""
        return self.activity > self.threshold

    @property
    def n_active(self) -> int:
        return int(self.active.sum())

    def order(self) -> torch.Tensor:
        """Unit indices, most active first."""
        return torch.argsort(self.activity, descending=True)


def unit_stats(mu: torch.Tensor, logvar: torch.Tensor | None = None,
               threshold: float = ACTIVITY_THRESHOLD) -> UnitStats:
    """Activity (Burda et al. 2015: a unit is active when Var_x(mu_d) > 0.01) and KL per unit.

    ``mu``, ``logvar``: (N, D) posterior parameters of N items.
    """
    if mu.ndim != 2 or len(mu) < 2:
        raise ValueError("need the codes of at least 2 items, shape (N, D)")
    mu = mu.double()
    activity = mu.var(0, unbiased=True)
    kl = None
    if logvar is not None:
        lv = logvar.double()
        kl = (0.5 * (mu.pow(2) + lv.exp() - 1.0 - lv)).mean(0)
    return UnitStats(activity=activity.float(), kl=None if kl is None else kl.float(),
                     threshold=threshold)
