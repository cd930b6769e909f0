"""Small image datasets: scikit-learn's bundled 8x8 digits and a user's folder of images."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..fileio import note_once
from .base import ImageData

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
MAX_PIXELS = 4096 * 4096  # per image; larger ones are refused before they are decoded


def _split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng([seed, 0xD1]).permutation(n)
    n_test = max(1, round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Scale (N, C, H, W) images to (N, C, size, size) with antialiased bilinear filtering."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                         align_corners=False).clamp_(0.0, 1.0)


def load_digits(image_size: int | None = None, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 8x8 digits (levels 0..16 scaled to [0, 1]), 1/6 held out as test."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = torch.from_numpy((bunch.images / 16.0).astype(np.float32)).unsqueeze(1)
    if image_size is not None:
        x = resize(x, image_size)
    y = torch.from_numpy(bunch.target.astype(np.int64))
    tr, te = _split(len(x), 1 / 6, seed)
    return ImageData(
        name="digits", train_x=x[tr], test_x=x[te], train_y=y[tr], test_y=y[te],
        classes=[str(d) for d in range(10)], source="scikit-learn (bundled)",
    )


def _read_labels(folder: Path) -> dict[str, str]:
    path = folder / "labels.csv"
    if not path.is_file():
        return {}
    labels = {}
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text (byte {e.start}); convert it first") from None
    for i, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or (i == 1 and [c.strip().lower() for c in row[:2]] == ["file", "label"]):
            continue
        if len(row) < 2:
            raise UserError(f"{path}:{i}: expected 'file,label'")
        labels[row[0].strip()] = row[1].strip()
    return labels


def load_folder(path: str | Path, image_size: int | None = None, seed: int = 0) -> ImageData:
    """A folder of PNG/JPEG images, optional ``labels.csv`` (file,label); 1/6 held out as test.

    All images take the mode most of them have: one channel when most are grayscale, RGB when
    most (or half) are in colour; the others are converted and named once on stderr. Images of
    different sizes need ``image_size``.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(path)
    if not folder.is_dir():
        raise UserError(f"images:{path}: no such folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < 2:
        raise UserError(f"images:{path}: need at least 2 PNG or JPEG files, found {len(files)}")
    pics = []
    for p in files:
        try:
            with Image.open(p) as im:  # reads the header only: the size before any pixels
                if im.width * im.height > MAX_PIXELS:
                    raise UserError(f"image {p} is {im.width}x{im.height} pixels, over the "
                                    f"{MAX_PIXELS:,} this loader decodes (a decompression "
                                    "bomb, or resize it first)")
                im.load()
                pics.append(im.copy())
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as e:
            raise UserError(f"cannot read image {p}: {e}") from None
    colour = [im.mode not in ("L", "1", "I", "I;16", "LA") for im in pics]
    mode = "RGB" if 2 * sum(colour) >= len(pics) else "L"  # the majority's (a tie: colour)
    odd = [p.name for p, c in zip(files, colour, strict=True) if c != (mode == "RGB")]
    if odd:
        note_once(f"images:{path}: {len(odd)} of {len(pics)} images "
                  f"({', '.join(odd[:3])}{' ...' if len(odd) > 3 else ''}) are "
                  f"{'grayscale' if mode == 'RGB' else 'in colour'}; all are read as "
                  f"{'RGB' if mode == 'RGB' else 'grayscale'}, as most are")
    sizes = {im.size for im in pics}
    if image_size is None and len(sizes) > 1:
        (a, b) = sorted(sizes)[:2]
        raise UserError(
            f"images:{path}: images of mixed sizes ({a[0]}x{a[1]} and {b[0]}x{b[1]}); "
            "pass `image_size` N to resize them"
        )
    arrays = []
    for im in pics:
        im = im.convert(mode)
        if image_size is not None and im.size != (image_size, image_size):
            im = im.resize((image_size, image_size), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))
    x = torch.from_numpy(np.stack(arrays))
    labels = _read_labels(folder)
    classes = y = None
    if labels:
        unknown = [p.name for p in files if p.name not in labels]
        if unknown:
            raise UserError(f"{folder / 'labels.csv'} has no label for {unknown[0]}")
        classes = sorted({labels[p.name] for p in files})
        y = torch.tensor([classes.index(labels[p.name]) for p in files], dtype=torch.int64)
    tr, te = _split(len(x), 1 / 6, seed)
    return ImageData(
        name=f"images:{path}", train_x=x[tr], test_x=x[te],
        train_y=None if y is None else y[tr], test_y=None if y is None else y[te],
        classes=classes, source=str(folder),
    )
