"""Three ways to take concept B out of concept A's direction, to compare side by side.

- ``gram_schmidt``: remove from A its component along B's direction (the attempt in the notes
  we build on, which failed: the direction that *changes* B is not the one B's level sets are
  normal to, so moving along the result still changes B).
- ``normal_projection``: remove from A its component along the normal of B's identifier, the
  regression of measured B on the codes (conditional manipulation, as InterFaceGAN does with its
  attribute boundaries). Moving along the result keeps the linear prediction of B constant.
- ``leace``: apply the linear part of the LEACE eraser of B (Belrose et al. 2023, from the
  ``concept-erasure`` package), the oblique projection that removes all linear information
  about B from the codes with the least change in the covariance metric; it too leaves the
  linear prediction of B unchanged, but moves A less where the codes vary little.
"""

from __future__ import annotations

import torch

from ..errors import UserError

METHODS = ("gram-schmidt", "normal-projection", "leace")


def _unit(v: torch.Tensor) -> torch.Tensor:
    n = float(v.norm())
    if not n > 1e-9:
        raise UserError("nothing of the concept is left after removing the other: the two "
                        "directions coincide")
    return v / n


def gram_schmidt(a: torch.Tensor, others: list[torch.Tensor]) -> torch.Tensor:
    """``a`` minus its projection on span(others), renormalised."""
    basis: list[torch.Tensor] = []
    for b in others:
        for q in basis:
            b = b - (b @ q) * q
        if float(b.norm()) > 1e-9:
            basis.append(b / b.norm())
    out = a.double()
    for q in basis:
        out = out - (out @ q.double()) * q.double()
    return _unit(out).float()


def identifier_normal(codes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Least-squares coefficients of ``values`` (N,) on ``codes`` (N, D): B's normal."""
    x = codes.double() - codes.double().mean(0)
    y = values.double() - values.double().mean()
    beta = torch.linalg.lstsq(x, y.unsqueeze(1)).solution[:, 0]
    return beta.float()


def normal_projection(a: torch.Tensor, codes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``a`` with its component along B's identifier normal removed, renormalised."""
    return gram_schmidt(a, [identifier_normal(codes, values)])


def leace(a: torch.Tensor, codes: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``a`` mapped by the linear part of the LEACE eraser of ``values`` on ``codes``."""
    from concept_erasure import LeaceEraser

    eraser = LeaceEraser.fit(codes.double(), values.double().view(len(values), -1))
    return _unit(eraser.P @ a.double()).float()


def disentangle(a: torch.Tensor, b_direction: torch.Tensor, codes: torch.Tensor,
                values: torch.Tensor) -> dict[str, torch.Tensor]:
    """All three methods: {method: new unit direction}."""
    return {
        "gram-schmidt": gram_schmidt(a, [b_direction]),
        "normal-projection": normal_projection(a, codes, values),
        "leace": leace(a, codes, values),
    }
