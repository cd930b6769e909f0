"""A map of the data: 2-D coordinates for the codes, and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..plotting import png_path, pyplot, save_figure


def embed_2d(codes: torch.Tensor, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """(N, D) codes -> (N, 2) coordinates and the method used.

    ``auto``: the raw axes for a 2-D latent, else UMAP when umap-learn is installed, else PCA.
    """
    x = codes.double().numpy()
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

        return PCA(n_components=2, svd_solver="full").fit_transform(x), "pca"
    if method == "umap":
        import umap

        return umap.UMAP(random_state=seed).fit_transform(x), "umap"
    raise ValueError(f"method must be auto, raw, pca or umap, got {method!r}")


def save_map(xy: np.ndarray, path: str | Path, labels: torch.Tensor | None = None,
             classes: list[str] | None = None, title: str = "",
             manifold: np.ndarray | None = None) -> Path:
    """Scatter ``xy`` coloured by label (PNG), with a decoded manifold panel when given."""
    path = png_path(path, "maps")
    plt = pyplot()
    panels = 2 if manifold is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 6), squeeze=False)
    ax = axes[0, 0]
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=2, alpha=0.5)
    else:
        lab = labels.numpy()
        cmap = plt.get_cmap("tab10" if lab.max() < 10 else "tab20")
        for c in np.unique(lab):
            name = classes[c] if classes and c < len(classes) else str(c)
            sel = lab == c
            ax.scatter(xy[sel, 0], xy[sel, 1], s=2, alpha=0.6, color=cmap(c % cmap.N), label=name)
        ax.legend(markerscale=5, fontsize=8, loc="best")
    ax.set_title(title)
    if manifold is not None:
        axes[0, 1].imshow(manifold, cmap="gray", vmin=0, vmax=255)
        axes[0, 1].set_title("decoded latent grid")
        axes[0, 1].axis("off")
    fig.tight_layout()
    return save_figure(fig, path)
