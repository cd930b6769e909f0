import numpy as np
import pytest
import torch

from latentatlas.data import load_dataset
from latentatlas.data.shapes import RANGES, render


@pytest.fixture(scope="module")
def shapes():
    return load_dataset("shapes", seed=3, n_train=4000, n_test=500)


def test_same_seed_same_pixels():
    a = load_dataset("shapes", seed=1, n_train=50, n_test=10)
    b = load_dataset("shapes", seed=1, n_train=50, n_test=10)
    c = load_dataset("shapes", seed=2, n_train=50, n_test=10)
    assert torch.equal(a.train_x, b.train_x) and not torch.equal(a.train_x, c.train_x)


def test_factors_match_the_pixels(shapes):
    x, f = shapes.train_x[:, 0], shapes.train_factors
    on = x > 0
    rows, cols = on.any(2), on.any(1)
    assert torch.equal(rows.sum(1), f["height"]), "drawn height differs from the factor"
    assert torch.equal(cols.sum(1), f["width"])
    assert torch.equal(cols.float().argmax(1), f["x"])
    bottom = 27 - rows.flip(1).float().argmax(1)
    assert torch.equal(bottom, f["y"])
    levels = (x.amax((1, 2)) * 255).round().long()
    assert torch.equal(levels, f["brightness"])


def test_rectangles_fill_their_box(shapes):
    f = shapes.train_factors
    rect = f["kind"] == 1
    area = (shapes.train_x[rect, 0] > 0).sum((1, 2))
    assert torch.equal(area, f["height"][rect] * f["width"][rect])


def test_factors_cover_their_ranges_and_are_independent(shapes):
    f = shapes.train_factors
    names = list(RANGES)
    for k, (lo, hi) in RANGES.items():
        assert int(f[k].min()) == lo and int(f[k].max()) == hi
    m = np.stack([f[k].numpy() for k in names]).astype(float)
    corr = np.corrcoef(m)
    off_diag = np.abs(corr - np.eye(len(names)))
    assert off_diag.max() < 0.06  # 4,000 items: |r| of independent factors is ~0.016 sd


def test_taller_means_one_more_row_only():
    f = {k: torch.tensor([v]) for k, v in
         dict(kind=3, height=10, width=12, brightness=200, x=4, y=25).items()}
    base = render(f)
    taller = render({**f, "height": torch.tensor([11])})
    grown = (taller > 0).any(3).sum() - (base > 0).any(3).sum()
    assert int(grown) == 1 and torch.equal(base.amax(), taller.amax())


def test_labels_are_the_kind(shapes):
    assert torch.equal(shapes.train_y, shapes.train_factors["kind"])
    assert shapes.classes == ["ellipse", "rectangle", "triangle", "boot"]
