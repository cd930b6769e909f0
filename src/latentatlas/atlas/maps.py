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
