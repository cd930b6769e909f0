"""Walking along a concept: decode z + alpha * v and measure every identifier on the way.

The slope of an identifier is its least-squares change per unit alpha, per starting item.
Leakage of a concept aimed at identifier T into identifier O compares the systematic effects,
the slopes averaged over the starting items, each standardised by the identifier's standard
deviation over decoded test items:

    leakage(O) = |mean_i slope_O,i| / sd_O  /  (|mean_i slope_T,i| / sd_T)

(the ratio of averages, finite when a single item barely moves along T). The spread of the
per-item slopes, mean_i |slope_i|, is reported beside it: a direction can push some items one
way and others the other way, which no linear correction removes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..models.protocol import LatentModel
from .properties import PROPERTIES, measure


def parse_alphas(text: str) -> torch.Tensor:
    """``START:STOP:COUNT`` (e.g. ``-3:3:7``) or a comma list (``-2,0,2``) -> (A,) values."""
    from ..errors import OptionError

    try:
        if ":" in text:
            start, stop, count = text.split(":")
            values = torch.linspace(float(start), float(stop), int(count))
        else:
            values = torch.tensor([float(t) for t in text.split(",") if t.strip()])
    except ValueError:
        raise OptionError("alphas", f"takes START:STOP:COUNT or a comma list, got {text!r}") \
            from None
    if len(values) < 2:
        raise OptionError("alphas", f"needs at least 2 values, got {text!r}")
    return values


@torch.no_grad()
def traverse(model: LatentModel, z0: torch.Tensor, v: torch.Tensor,
             alphas: torch.Tensor) -> torch.Tensor:
    """Decode z0 + alpha * v for every start (N, D) and alpha (A,): -> (N, A, C, H, W)."""
    n, d = z0.shape
    z = z0.unsqueeze(1) + alphas.view(1, -1, 1) * v.view(1, 1, d)  # (N, A, D)
    images = model.decode(z.reshape(-1, d))
    return images.reshape(n, len(alphas), *images.shape[1:])


Identifier = Callable[[torch.Tensor], torch.Tensor]


def _measure_all(images: torch.Tensor, names: list[str] | None,
                 extra: dict[str, Identifier] | None) -> dict[str, torch.Tensor]:
    values = measure(images, names)
    for name, identify in (extra or {}).items():
        values[name] = identify(images).float()
    return values


def slopes_per_item(images: torch.Tensor, alphas: torch.Tensor, names: list[str] | None = None,
                    extra: dict[str, Identifier] | None = None) -> dict[str, torch.Tensor]:
    """(N, A, C, H, W) traversal images -> {identifier: (N,) slope per unit alpha}.

    ``names``: built-in properties (default all); ``extra``: trained identifiers by name.
    """
    n, a = images.shape[:2]
    values = _measure_all(images.reshape(n * a, *images.shape[2:]), names, extra)
    t = alphas - alphas.mean()
    return {k: (v.view(n, a) * t).sum(1) / (t * t).sum() for k, v in values.items()}


@dataclass
class Effect:
    """A concept's measured effect: mean |slope| per identifier and the identifiers' spread."""

    mean_abs_slope: dict[str, float]  # identifier units per unit alpha
    mean_slope: dict[str, float]
    sd: dict[str, float]  # identifier sd over decoded reference items

    def standardised(self) -> dict[str, float]:
        """Systematic effect per identifier: |mean slope| / sd, per unit alpha."""
        return {k: abs(self.mean_slope[k]) / max(self.sd[k], 1e-12) for k in self.sd}

    def leakage(self, target: str) -> dict[str, float]:
        """Standardised effect on each other identifier relative to the target's (empty when
        the concept does not move its target at all: leakage is then undefined)."""
        s = self.standardised()
        if not s[target] > 0:
            return {}
        return {k: s[k] / s[target] for k in s if k != target}


@torch.no_grad()
def measure_effect(model: LatentModel, starts: torch.Tensor, v: torch.Tensor,
                   alphas: torch.Tensor, reference: torch.Tensor,
                   names: list[str] | None = None,
                   extra: dict[str, Identifier] | None = None) -> Effect:
    """Traverse ``v`` from every start code and summarise each identifier's slope.

    ``reference``: decoded images (e.g. reconstructions of test items) that set each
    identifier's standard deviation. ``extra``: trained identifiers measured beside the
    built-in properties.
    """
    names = list(PROPERTIES) if names is None else names
    per_item = slopes_per_item(traverse(model, starts, v, alphas), alphas, names, extra)
    ref = _measure_all(reference, names, extra)
    return Effect(
        mean_abs_slope={k: float(s.abs().mean()) for k, s in per_item.items()},
        mean_slope={k: float(s.mean()) for k, s in per_item.items()},
        sd={k: float(r.std()) for k, r in ref.items()},
    )
