"""How alike two sets of codes of the same items are: CKA (linear, RBF, debiased) and SVCCA.

All functions take (items x dims) arrays with the same items in the same order; the widths may
differ. Scores lie in [0, 1] (debiased CKA can dip slightly below 0 for unrelated codes).
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def _as64(x: ArrayLike) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim != 2:
        raise ValueError(f"expected an (items x dims) array, got shape {tuple(t.shape)}")
    return t.double()


def _check(x: torch.Tensor, y: torch.Tensor) -> None:
    if len(x) != len(y):
        raise ValueError(f"the two code sets hold different item counts: {len(x)} and {len(y)}")
    if len(x) < 4:
        raise ValueError("need at least 4 items")


def _linear_terms(x: torch.Tensor, y: torch.Tensor, debiased: bool) -> tuple[float, float, float]:
    """HSIC(x, y), HSIC(x, x), HSIC(y, y) for linear kernels, without n x n matrices."""
    n = len(x)
    if not debiased:
        x, y = x - x.mean(0), y - y.mean(0)
        return ((y.T @ x) ** 2).sum().item(), ((x.T @ x) ** 2).sum().item(), \
            ((y.T @ y) ** 2).sum().item()

    def hsic_u(a: torch.Tensor, b: torch.Tensor) -> float:
        # unbiased estimator (Song et al. 2012) on K = a a^T, L = b b^T with zeroed diagonals
        ka, kb = (a * a).sum(1), (b * b).sum(1)  # diagonals
        tr = ((b.T @ a) ** 2).sum() - (ka * kb).sum()  # tr(K~ L~)
        k1 = a @ a.sum(0) - ka  # K~ 1
        l1 = b @ b.sum(0) - kb
        s_k, s_l = k1.sum(), l1.sum()
        return float((tr + s_k * s_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (k1 @ l1))
                     / (n * (n - 3)))

    return hsic_u(x, y), hsic_u(x, x), hsic_u(y, y)


def _rbf_gram(x: torch.Tensor, sigma: float | None) -> torch.Tensor:
    d2 = torch.cdist(x, x).pow(2)
    if sigma is None:  # the median distance between items (Kornblith et al. 2019)
        sigma = float(d2[~torch.eye(len(x), dtype=torch.bool)].sqrt().median())
    return torch.exp(-d2 / (2 * max(sigma, 1e-12) ** 2))


def _gram_terms(k: torch.Tensor, g: torch.Tensor, debiased: bool) -> tuple[float, float, float]:
    """HSIC terms from two Gram matrices ``k`` and ``g`` (n x n)."""
    n = len(k)
    if not debiased:
        h = torch.eye(n, dtype=k.dtype) - 1.0 / n
        kc, lc = h @ k @ h, h @ g @ h
        return float((kc * lc).sum()), float((kc * kc).sum()), float((lc * lc).sum())

    def hsic_u(a: torch.Tensor, b: torch.Tensor) -> float:
        a, b = a.clone(), b.clone()
        a.fill_diagonal_(0)
        b.fill_diagonal_(0)
        a1, b1 = a.sum(1), b.sum(1)
        return float(((a * b).sum() + a1.sum() * b1.sum() / ((n - 1) * (n - 2))
                      - 2.0 / (n - 2) * (a1 @ b1)) / (n * (n - 3)))

    return hsic_u(k, g), hsic_u(k, k), hsic_u(g, g)


def cka(x: ArrayLike, y: ArrayLike, kernel: str = "linear", debiased: bool = False,
        sigma: float | None = None, max_items: int = 4000, seed: int = 0) -> float:
    """Centered kernel alignment (Kornblith et al. 2019) between two codings of the same items.

    ``kernel``: "linear" (computed in feature space, any number of items) or "rbf" (Gram
    matrices; above ``max_items`` items a seeded subset is used; ``sigma`` defaults to the
    median distance). ``debiased``: the unbiased HSIC estimator, near 0 for unrelated codes
    even with few items, where plain CKA stays well above 0.
    """
    x, y = _as64(x), _as64(y)
    _check(x, y)
    if kernel == "linear":
        xy, xx, yy = _linear_terms(x, y, debiased)
    elif kernel == "rbf":
        if len(x) > max_items:
            idx = torch.from_numpy(np.random.default_rng(seed).permutation(len(x))[:max_items])
            x, y = x[idx], y[idx]
        xy, xx, yy = _gram_terms(_rbf_gram(x, sigma), _rbf_gram(y, sigma), debiased)
    else:
        raise ValueError(f"kernel must be linear or rbf, got {kernel!r}")
    denom = (max(xx, 0.0) * max(yy, 0.0)) ** 0.5
    return xy / denom if denom > 0 else 0.0


def svcca(x: ArrayLike, y: ArrayLike, keep: float = 0.99) -> float:
    """SVCCA (Raghu et al. 2017): keep the top singular directions of each coding that explain
    ``keep`` of its variance, then the mean canonical correlation between the two subspaces."""
    x, y = _as64(x), _as64(y)
    _check(x, y)

    def reduce(a: torch.Tensor) -> torch.Tensor:
        a = a - a.mean(0)
        u, s, _ = torch.linalg.svd(a, full_matrices=False)
        share = (s**2).cumsum(0) / (s**2).sum().clamp_min(1e-300)
        k = int((share < keep).sum()) + 1
        return u[:, :k]  # orthonormal basis of the kept subspace (items x k)

    qx, qy = reduce(x), reduce(y)
    rho = torch.linalg.svdvals(qx.T @ qy).clamp(0.0, 1.0)
    return float(rho.mean())


def shuffled_null(score, x: ArrayLike, y: ArrayLike, repeats: int = 5, seed: int = 0,
                  **kwargs) -> float:
    """The mean ``score`` after breaking the pairing of items: what unrelated codes get."""
    y = _as64(y)
    rng = np.random.default_rng([seed, 0x5F])
    return float(np.mean([score(x, y[torch.from_numpy(rng.permutation(len(y)))], **kwargs)
                          for _ in range(repeats)]))
