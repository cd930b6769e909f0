"""A map of the data: 2-D coordinates for the codes (the figure: ``plotting.save_code_map``)."""

from __future__ import annotations

import numpy as np
import torch


def embed_2d(codes: torch.Tensor, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """(N, D) codes -> (N, 2) coordinates and the method used.

    ``auto``: the raw axes for a 2-D latent, else UMAP when umap-learn is installed, else PCA.
    A 1-D latent, or fewer than 3 items, gets PCA's axes padded with zeros (a line, a point).
    """
    x = codes.double().numpy()
    if method == "auto" and (x.shape[1] < 2 or len(x) < 3):
        method = "pca"
    if method == "auto":
        if x.shape[1] == 2:
            method = "raw"
        else:
            try:
                import umap  # noqa: F401

                method = "umap"
            except ImportError:
                method = "pca"
    if method == "raw":
        if x.shape[1] != 2:
            raise ValueError("raw axes need a 2-D latent")
        return x, "raw"
    if method == "pca":
        from sklearn.decomposition import PCA

        k = min(2, x.shape[1], len(x) - 1)
        xy = np.zeros((len(x), 2))
        if k >= 1:
            xy[:, :k] = PCA(n_components=k, svd_solver="full").fit_transform(x)
        return xy, "pca"
    if method == "umap":
        import umap

        return umap.UMAP(random_state=seed).fit_transform(x), "umap"
    raise ValueError(f"method must be auto, raw, pca or umap, got {method!r}")


def linear_map_2d(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, str]:
    """A linear 2-D view of (N, D) codes that any new code can be placed on: ``(mean (D,),
    axes (2, D), method)`` with ``xy = (z - mean) @ axes.T``. The raw axes for a 2-D latent,
    else the top two principal axes (each signed so its largest loading is positive); a 1-D
    latent or too few items leave the missing axes zero."""
    z = codes.double()
    n, d = z.shape
    if d == 2:
        return torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64), "raw"
    mean = z.mean(0)
    axes = torch.zeros(2, d, dtype=torch.float64)
    if n >= 2:
        _, _, vt = torch.linalg.svd(z - mean, full_matrices=False)
        k = min(2, vt.shape[0], n - 1)
        top = vt[:k]
        sign = torch.sign(top.gather(1, top.abs().argmax(1, keepdim=True)))
        axes[:k] = top * torch.where(sign == 0, 1.0, sign)
    return mean, axes, "pca"
