"""Paths through latent space: lerp, slerp, and bilinear grids between four corners."""

from __future__ import annotations

import torch


def lerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Straight line from z0 to z1 (D,) in ``steps`` points, endpoints included: (steps, D)."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype).unsqueeze(1)
    out = (1 - t) * z0 + t * z1
    out[0], out[-1] = z0, z1  # exact endpoints, free of rounding
    return out


def slerp(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    """Spherical path from z0 to z1: (steps, D), endpoints exact.

    The direction moves along the great circle between z0/|z0| and z1/|z1| at constant angular
    speed and the norm moves linearly from |z0| to |z1|. Under a Gaussian prior most mass lies
    near a shell of radius sqrt(D); a straight line cuts through the low-density middle, this path
    stays on the shell (White 2016). Nearly parallel endpoints fall back to lerp.
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    n0, n1 = z0.norm(), z1.norm()
    if n0 == 0 or n1 == 0:
        return lerp(z0, z1, steps)
    u0, u1 = z0 / n0, z1 / n1
    omega = torch.arccos((u0 @ u1).clamp(-1.0, 1.0))
    if omega < 1e-4 or torch.pi - omega < 1e-4:  # parallel or opposite: no unique great circle
        return lerp(z0, z1, steps)
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype).unsqueeze(1)
    direction = (torch.sin((1 - t) * omega) * u0 + torch.sin(t * omega) * u1) / torch.sin(omega)
    out = direction * ((1 - t) * n0 + t * n1)
    out[0], out[-1] = z0, z1
    return out


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int,
                method: str = "slerp") -> torch.Tensor:
    """``lerp`` or ``slerp`` by name."""
    if method == "lerp":
        return lerp(z0, z1, steps)
    if method == "slerp":
        return slerp(z0, z1, steps)
    raise ValueError(f"method must be lerp or slerp, got {method!r}")


def grid(corners: torch.Tensor, n: int) -> torch.Tensor:
    """Bilinear grid between four corner codes (top-left, top-right, bottom-left, bottom-right).

    (4, D) -> (n, n, D); grid[0, 0], grid[0, -1], grid[-1, 0], grid[-1, -1] are the corners.
    """
    if corners.shape[0] != 4:
        raise ValueError(f"need 4 corners, got {corners.shape[0]}")
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    tl, tr, bl, br = corners
    s = torch.linspace(0.0, 1.0, n, dtype=corners.dtype)
    u, v = s.view(n, 1, 1), s.view(1, n, 1)  # u: down the rows, v: across the columns
    out = (1 - u) * ((1 - v) * tl + v * tr) + u * ((1 - v) * bl + v * br)
    out[0, 0], out[0, -1], out[-1, 0], out[-1, -1] = tl, tr, bl, br
    return out
