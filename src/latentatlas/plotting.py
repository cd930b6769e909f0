"""Every figure the package writes: image grids (Pillow), and matplotlib figures (heatmaps, maps
of the data), each checked up front and saved atomically as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .errors import UserError
from .fileio import out_path, write_atomic


def png_path(path: str | Path, what: str = "figures") -> Path:
    """``path`` as a Path, or a UserError when it is not a .png in an existing folder."""
    return out_path(path, ".png", what)


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


def _short(label: str, width: int = 28) -> str:
    """A tick label of at most ``width`` characters, keeping its end (a run path's name)."""
    return plain(label if len(label) <= width else "..." + label[-(width - 3):])


def plain(text: str) -> str:
    """``text`` as matplotlib shows it literally: a ``$`` would start mathtext (and a lone one
    raises), so it is escaped."""
    return str(text).replace("$", r"\$")


def save_heatmap(matrix: list[list[float]], rows: list[str], cols: list[str],
                 path: str | Path, title: str = "") -> Path:
    """A labelled heatmap with each cell's value written in it (PNG)."""
    path = png_path(path, "heatmaps")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2, 0.6 * len(rows) + 1.5))
    im = ax.imshow(matrix, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(cols)), [_short(c) for c in cols], rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), [_short(r) for r in rows])
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="w", fontsize=8)
    fig.colorbar(im, ax=ax)
    ax.set_title(plain(title))
    fig.tight_layout()
    return save_figure(fig, path)


def grid_array(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> one uint8 (rows*H, cols*W[, 3]) tiling, white padding."""
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.float32)
    arr = images.detach().float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
    for i in range(n):
        r, q = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        canvas[y:y + h, x:x + w] = arr[i]
    out = (canvas * 255 + 0.5).astype(np.uint8)
    return out[..., 0] if c == 1 else out


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None,
              scale: int = 2) -> Path:
    """Save images as a PNG grid (each pixel ``scale`` x ``scale``), atomically."""
    from PIL import Image

    path = png_path(path, "image grids")
    img = Image.fromarray(grid_array(images, nrow))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    try:
        write_atomic(path, lambda p: img.save(p, format="PNG"))
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def save_image_rows(rows: list[tuple[str, torch.Tensor]], path: str | Path,
                    title: str = "") -> Path:
    """Labelled strips of images (PNG): each row a label and its images (values clipped to
    [0, 1]); rows with fewer images leave their end blank."""
    path = png_path(path)
    plt = pyplot()
    strips = [grid_array(images.clamp(0, 1), len(images)) for _, images in rows]
    width = max(s.shape[1] for s in strips)
    fig, axes = plt.subplots(len(rows), 1, figsize=(width / 45 + 2.5, 0.75 * len(rows) + 0.6),
                             squeeze=False)
    for ax, (label, _), strip in zip(axes[:, 0], rows, strips, strict=True):
        ax.imshow(strip, cmap="gray" if strip.ndim == 2 else None, vmin=0, vmax=255,
                  extent=(0, strip.shape[1], strip.shape[0], 0))
        ax.set_xlim(0, width)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(_short(label, 36), rotation=0, ha="right", va="center", fontsize=8)
        for side in ax.spines.values():
            side.set_visible(False)
    if title:
        fig.suptitle(plain(title), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def save_code_map(xy: np.ndarray, path: str | Path, labels: torch.Tensor | None = None,
             classes: list[str] | None = None, title: str = "",
             manifold: np.ndarray | None = None) -> Path:
    """A map of the data (PNG): the (N, 2) points ``xy`` coloured by label, with a decoded
    manifold panel (an image array) beside it when given."""
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
            ax.scatter(xy[sel, 0], xy[sel, 1], s=2, alpha=0.6, color=cmap(c % cmap.N),
                       label=plain(name))
        ax.legend(markerscale=5, fontsize=8, loc="best")
    ax.set_title(plain(title))
    if manifold is not None:
        axes[0, 1].imshow(manifold, cmap="gray", vmin=0, vmax=255)
        axes[0, 1].set_title("decoded latent grid")
        axes[0, 1].axis("off")
    fig.tight_layout()
    return save_figure(fig, path)


def save_length_fidelity(series: dict[str, list[dict]], path: str | Path,
                         title: str = "") -> Path:
    """Exact-match share and token accuracy by sentence length (``atlas.fidelity.by_length``
    rows, one series per model or dataset), with their 95% intervals, as two panels (PNG)."""
    path = png_path(path)
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in series.items():
        x = range(len(rows))
        for ax, key, value in ((axes[0], "exact", "share"), (axes[1], "token_accuracy",
                                                              "mean")):
            y = [r[key][value] for r in rows]
            lo = [v - r[key]["ci95"][0] for v, r in zip(y, rows, strict=True)]
            hi = [r[key]["ci95"][1] - v for v, r in zip(y, rows, strict=True)]
            ax.errorbar(list(x), y, yerr=[lo, hi], marker="o", capsize=3, label=plain(name))
            ax.set_xticks(list(x), [f"{r['words']}\n(n={r['n']})" for r in rows], fontsize=8)
    for ax, label in ((axes[0], "exact reconstructions (share)"),
                      (axes[1], "token accuracy (share in place)")):
        ax.set_ylim(0, 1)
        ax.set_xlabel("sentence length (words)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(plain(title))
    fig.tight_layout()
    return save_figure(fig, path)


def save_point_clouds(clouds: dict[str, np.ndarray], path: str | Path,
                      title: str = "") -> Path:
    """Panels of (N, 2) point clouds side by side (PNG), each drawn with tiny translucent dots
    so that 100,000 points show their density."""
    path = png_path(path)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(clouds), figsize=(5.5 * len(clouds), 5.5), squeeze=False)
    for ax, (name, xy) in zip(axes[0], clouds.items(), strict=True):
        ax.scatter(xy[:, 0], xy[:, 1], s=0.3, alpha=0.15, color="black", linewidths=0)
        ax.set_title(plain(name), fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
    if title:
        fig.suptitle(plain(title))
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


def save_path_comparison(strips: dict[str, torch.Tensor], measures: dict[str, list[dict]],
                         path: str | Path, title: str = "") -> Path:
    """Interpolation strips one above the other (each (S, C, H, W)), and beside them the
    classifier's confidence and the Fréchet classifier distance along each kind of path
    (``measures``: name -> ``atlas.quality.path_quality`` rows) (PNG)."""
    path = png_path(path)
    plt = pyplot()
    fig = plt.figure(figsize=(13, 2.2 * max(len(strips), 2)))
    grid = fig.add_gridspec(len(strips), 3, width_ratios=[2.2, 1, 1])
    for i, (name, strip) in enumerate(strips.items()):
        ax = fig.add_subplot(grid[i, 0])
        ax.imshow(grid_array(strip, len(strip)), cmap="gray", vmin=0, vmax=255)
        ax.set_title(plain(name), fontsize=9, loc="left")
        ax.axis("off")
    for col, (key, label) in enumerate((("confidence", "classifier confidence"),
                                        ("frechet_classifier_distance",
                                         "Fréchet classifier distance to the test set"))):
        ax = fig.add_subplot(grid[:, col + 1])
        for name, rows in measures.items():
            ax.plot([r["t"] for r in rows], [r[key] for r in rows], marker="o",
                    label=plain(name))
        ax.set_xlabel("position along the path")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(plain(title))
    fig.tight_layout()
    return save_figure(fig, path)


def save_answers(panels: dict[str, dict], data: tuple[torch.Tensor, torch.Tensor],
                 path: str | Path, names: tuple[list[str], list[str]] = (["x"], ["y"]),
                 title: str = "") -> Path:
    """A regression set and models' answers, a panel per model (PNG): the data in grey, each
    sampled answer coloured by whether it is right (green) or not (red), the point answers in
    blue beneath them. 1-D x and y: y over x; otherwise the answers' first two dimensions
    (for the arm, elbow over shoulder). ``panels``: name -> ``Run.answers`` result;
    ``data``: (x, y)."""
    path = png_path(path)
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.4), squeeze=False)
    x, y = data
    one_d = x.shape[1] == 1 and y.shape[1] == 1

    def plane(inputs: torch.Tensor, answers: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        if one_d:
            return inputs[:, 0].numpy(), answers[:, 0].numpy()
        return answers[:, 0].numpy(), answers[:, 1].numpy()

    for ax, (name, a) in zip(axes[0], panels.items(), strict=True):
        ax.scatter(*plane(x, y), s=2, color="0.75", linewidths=0, label="data")
        ax.scatter(*plane(a["inputs"], a["points"]), s=6, color="tab:blue", linewidths=0,
                   label="point answer")  # under the samples (a squared-error model's match)
        n = a["samples"].shape[1]
        inputs = a["inputs"].repeat_interleave(n, 0)
        answers, right = a["samples"].flatten(0, 1), a["on_data"].flatten()
        for mask, colour, label in ((right, "tab:green", "sample, right"),
                                    (~right, "tab:red", "sample, wrong")):
            if mask.any():
                ax.scatter(*plane(inputs[mask], answers[mask]), s=3, color=colour,
                           linewidths=0, label=label)
        ax.set_title(plain(f"{name}: {a['on_data_rate']:.0%} of samples right"), fontsize=10)
        ax.set_xlabel(names[0][0] if one_d else names[1][0])
        ax.set_ylabel(names[1][0] if one_d else names[1][1])
    axes[0][0].legend(fontsize=7, markerscale=4, loc="best")
    if title:
        fig.suptitle(plain(title))
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)


def save_attack(images: torch.Tensor, adversarial: torch.Tensor, before: list[str],
                after: list[str], path: str | Path, columns: int = 8, title: str = "") -> Path:
    """An attack's first ``columns`` items (PNG): a row of originals with their predicted
    classes, a row of the perturbations (x10, around mid grey), a row of the adversarial
    images with their new predictions."""
    path = png_path(path)
    plt = pyplot()
    k = min(columns, len(images))
    rows = (("original", images[:k], before), ("change x10", 0.5 + 10 * (adversarial[:k]
            - images[:k]), None), ("adversarial", adversarial[:k], after))
    fig, axes = plt.subplots(3, k, figsize=(1.5 * k, 5.0), squeeze=False)
    for r, (name, batch, names) in enumerate(rows):
        for i in range(k):
            ax = axes[r][i]
            img = batch[i].clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy()
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if names is not None:
                ax.set_title(_short(names[i], 14), fontsize=8)
            if i == 0:
                ax.set_ylabel(name, fontsize=8)
    if title:
        fig.suptitle(plain(title), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path, dpi=110)
