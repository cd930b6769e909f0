"""Figures for concepts: the entanglement heatmap."""

from __future__ import annotations

from pathlib import Path

from ..plotting import png_path, pyplot, save_figure


def save_heatmap(matrix: list[list[float]], rows: list[str], cols: list[str],
                 path: str | Path, title: str = "") -> Path:
    """A labelled heatmap with each cell's value written in it (PNG)."""
    path = png_path(path, "heatmaps")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2, 0.6 * len(rows) + 1.5))
    im = ax.imshow(matrix, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, ax=ax)
    ax.set_title(title)
    fig.tight_layout()
    return save_figure(fig, path)
