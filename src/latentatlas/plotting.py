"""Writing figures: PNG paths checked up front, matplotlib figures (and heatmaps) saved
atomically."""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .fileio import write_atomic


def png_path(path: str | Path, what: str = "figures") -> Path:
    """``path`` as a Path, or a UserError when it is not a .png in an existing folder."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"--out {path}: {what} are written as .png")
    if not path.parent.is_dir():
        raise UserError(f"--out {path}: folder {path.parent} does not exist")
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    """Save a matplotlib figure as PNG atomically, and close it."""
    try:
        write_atomic(path, lambda p: fig.savefig(p, format="png", dpi=dpi))
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        pyplot().close(fig)
    return path


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
