"""PCA knobs: a few directions that explain most of the variance of the codes.

Like the World Models VAE demo's sliders: knob i moves z along the i-th principal axis, in units
of that axis's standard deviation over the data.
"""

from __future__ import annotations

import torch


class Knobs:
    """``fit(codes)``, then ``transform(z) -> knob values`` and ``inverse_transform(values) -> z``.

    Knob values are in standard deviations of the data along each axis, so +-3 spans nearly all
    of it. Fitted state: ``components_`` (k, D), ``mean_`` (D,), ``scale_`` (k,),
    ``explained_variance_ratio_`` (k,), ``n_samples_`` (the codes fitted on).
    """

    def __init__(self, k: int = 5):
        self.k = k

    def fit(self, codes: torch.Tensor) -> Knobs:
        n, d = codes.shape
        if not 1 <= self.k <= min(n, d):
            raise ValueError(f"k must be between 1 and {min(n, d)} (items and latent "
                             f"dimensions), got {self.k}")
        from sklearn.decomposition import PCA  # imported when used: scikit-learn takes 3 s

        pca = PCA(n_components=self.k, svd_solver="full").fit(codes.double().numpy())
        self.components_ = torch.from_numpy(pca.components_).float()
        self.mean_ = torch.from_numpy(pca.mean_).float()
        self.scale_ = torch.from_numpy(pca.explained_variance_).float().sqrt().clamp_min(1e-12)
        self.explained_variance_ratio_ = torch.from_numpy(pca.explained_variance_ratio_).float()
        self.n_samples_ = n
        return self

    def transform(self, z: torch.Tensor) -> torch.Tensor:
        """(N, D) codes -> (N, k) knob values (standard deviations along each axis)."""
        return ((z - self.mean_) @ self.components_.T) / self.scale_

    def inverse_transform(self, values: torch.Tensor) -> torch.Tensor:
        """(N, k) knob values -> (N, D) codes on the fitted subspace through the mean."""
        return self.mean_ + (values * self.scale_) @ self.components_


def knob_positions(knobs: Knobs, z: torch.Tensor, steps: int, span: float = 2.0
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Every combination of knob offsets for each item, as in a precomputed slider demo.

    Each knob takes ``steps`` values evenly spaced in [-span, span] standard deviations, added to
    the item's own position along that knob (offset 0 is the item itself when ``steps`` is odd).
    Returns ``values`` (steps**k, k), knob 0 varying slowest, and ``codes``
    (n_items, steps**k, D).
    """
    if steps < 2:
        raise ValueError(f"steps must be at least 2, got {steps}")
    k = knobs.components_.shape[0]
    axis = torch.linspace(-span, span, steps)
    values = torch.cartesian_prod(*[axis] * k).reshape(-1, k)
    offsets = (values * knobs.scale_) @ knobs.components_  # (S^k, D)
    return values, z[:, None, :] + offsets[None]
