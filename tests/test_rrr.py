"""Decoy images and right-for-the-right-reasons training (Ross et al. 2017)."""

import torch

import latentatlas
from latentatlas.data import load_dataset
from latentatlas.data.decoy import PATCH, corners_mask, decoy_values

from .conftest import assert_one_error, cli


def test_decoy_squares_give_the_class_away_in_training_only():
    base = load_dataset("shapes", n_train=300, n_test=60)
    decoy = load_dataset("shapes:decoy", n_train=300, n_test=60)
    assert torch.equal(decoy.test_x, base.test_x) and torch.equal(decoy.train_y, base.train_y)
    corners = corners_mask(tuple(base.image_shape[1:])).bool()
    changed = (decoy.train_x != base.train_x)[:, 0]
    assert not changed[:, ~corners].any()  # nothing outside the corners moves
    value = decoy_values(decoy.train_y, len(decoy.classes))
    h, w = base.image_shape[1:]
    for i in range(len(decoy.train_x)):
        squares = [decoy.train_x[i, 0, r:r + PATCH, c:c + PATCH]
                   for r in (0, h - PATCH) for c in (0, w - PATCH)]
        assert sum(bool((s == value[i]).all()) for s in squares) >= 1


def _corner_gradient_share(model, x: torch.Tensor) -> float:
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.log_softmax(model.logits(x), 1).sum(), x)
    g = g.abs()[:, 0]
    return float((g * corners_mask(tuple(x.shape[2:]))).sum() / g.sum())


def test_rrr_takes_the_gradient_off_the_masked_pixels(tmp_path):
    opts = {"n_train": 2000, "n_test": 200, "epochs": 3, "hidden": (8, 16, 32), "lr": 3e-3,
            "precision": "fp32"}
    plain = latentatlas.fit("image-classifier", "shapes:decoy", tmp_path / "plain", **opts)
    rrr = latentatlas.fit("image-classifier", "shapes:decoy", tmp_path / "rrr",
                          rrr="corners:4", **opts)
    assert rrr.config["model"]["rrr"] == "corners:4"
    assert "train_rrr_penalty" in rrr.metrics[-1]
    x = load_dataset("shapes:decoy", n_train=2000, n_test=200).train_x[:200]
    # measured: 16% of the plain model's gradient mass on the corners, 0.3% with the penalty
    with_penalty, without = _corner_gradient_share(rrr.model, x), \
        _corner_gradient_share(plain.model, x)
    assert with_penalty < 0.25 * without, (with_penalty, without)


def test_rrr_options_are_checked(tmp_path):
    for spec in ("corners:0", "corners:x", "mask.jpg"):
        assert_one_error(cli("train", "--model", "image-classifier", "--data", "shapes",
                             "--rrr", spec, "--out", str(tmp_path / "x")), "--rrr")
    assert_one_error(cli("train", "--model", "vae", "--data", "shapes", "--rrr", "corners:2",
                         "--out", str(tmp_path / "x")), "--rrr")
    assert not (tmp_path / "x").exists()


def test_a_png_mask_is_read_when_training_starts_and_not_needed_to_load(tmp_path):
    from PIL import Image

    mask = torch.zeros(28, 28, dtype=torch.uint8)
    mask[:4, :4] = 255
    png = tmp_path / "mask.png"
    Image.fromarray(mask.numpy()).save(png)
    run = latentatlas.fit("image-classifier", "shapes:decoy", tmp_path / "r", rrr=str(png),
                          epochs=1, n_train=256, n_test=64, hidden=(4, 4, 8))
    assert run.metrics[-1]["train_rrr_penalty"] >= 0
    png.unlink()
    assert latentatlas.load(tmp_path / "r").config.rrr == str(png)  # loads without the file
    assert_one_error(cli("train", "--model", "image-classifier", "--data", "shapes", "--rrr",
                         str(png), "--out", str(tmp_path / "x")), str(png))
    assert not (tmp_path / "x").exists()
