"""Writing figures: PNG paths checked up front, matplotlib figures saved atomically."""

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
