"""Single items named on a command line: a test-set index or an image file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import UserError
from .base import ImageData


def load_image_file(path: str | Path, shape: tuple[int, int, int],
                    resize: bool = True) -> torch.Tensor:
    """Read one PNG/JPEG as a (C, H, W) float image in [0, 1], converted to ``shape`` (an
    image of another size is resized, or a UserError without ``resize``)."""
    from PIL import Image, UnidentifiedImageError

    c, h, w = shape
    try:
        with Image.open(path) as im:
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h) and not resize:
                raise UserError(f"{path} is {im.size[0]}x{im.size[1]} pixels; this model takes "
                                f"{w}x{h} images")
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"cannot read image {path}: {e}") from None
    return torch.from_numpy(a[None] if a.ndim == 2 else a.transpose(2, 0, 1).copy())


def resolve_items(specs: list[str], data: ImageData) -> torch.Tensor:
    """Each spec is an index into the test split or a path to an image: -> (n, C, H, W)."""
    out = []
    n = len(data.test_x)
    for spec in specs:
        spec = spec.strip()
        if spec.lstrip("-").isdigit():
            i = int(spec)
            if not 0 <= i < n:
                raise UserError(f"item {i} is out of range: the test split has {n} items "
                                f"(0..{n - 1})")
            out.append(data.test_x[i])
        elif Path(spec).is_file():
            out.append(load_image_file(spec, data.image_shape))
        else:
            raise UserError(f"item {spec!r} is neither a test-set index nor an image file")
    return torch.stack(out)
