"""Figures for concepts: the entanglement heatmap."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..fileio import write_atomic


def save_heatmap(matrix: list[list[float]], rows: list[str], cols: list[str],
                 path: str | Path, title: str = "") -> Path:
    """A labelled heatmap with each cell's value written in it (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"--out {path}: heatmaps are written as .png")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: folder {path.parent} does not exist")
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
    try:
        write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=100))
    finally:
        plt.close(fig)
    return path
