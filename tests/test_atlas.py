import math

import pytest
import torch

from latentatlas.atlas import Knobs, encode, grid, lerp, run_codes, slerp, unit_stats
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.models import rundir as runfile

torch.manual_seed(0)
Z0, Z1 = torch.randn(16), 3 * torch.randn(16)


@pytest.mark.parametrize("path", [lerp, slerp])
def test_endpoints_are_exact(path):
    p = path(Z0, Z1, 7)
    assert p.shape == (7, 16) and torch.equal(p[0], Z0) and torch.equal(p[-1], Z1)


def test_slerp_interpolates_norms_and_keeps_constant_angular_speed():
    p = slerp(Z0, Z1, 9)
    t = torch.linspace(0, 1, 9)
    assert torch.allclose(p.norm(dim=1), (1 - t) * Z0.norm() + t * Z1.norm(), atol=1e-4)
    u = p / p.norm(dim=1, keepdim=True)
    steps = torch.arccos((u[:-1] * u[1:]).sum(1).clamp(-1, 1))
    assert torch.allclose(steps, steps.mean().expand_as(steps), atol=1e-3)
    total = torch.arccos((Z0 / Z0.norm()) @ (Z1 / Z1.norm()))
    assert math.isclose(float(steps.sum()), float(total), rel_tol=1e-3)


def test_slerp_of_parallel_vectors_is_the_line():
    assert torch.allclose(slerp(Z0, 2 * Z0, 5), lerp(Z0, 2 * Z0, 5))


def test_grid_corners_and_midpoint():
    corners = torch.randn(4, 3)
    g = grid(corners, 5)
    assert torch.equal(g[0, 0], corners[0]) and torch.equal(g[0, -1], corners[1])
    assert torch.equal(g[-1, 0], corners[2]) and torch.equal(g[-1, -1], corners[3])
    assert torch.allclose(g[2, 2], corners.mean(0), atol=1e-6)


def test_an_ignored_unit_is_inactive():
    """An encoder whose unit 2 ignores the input (constant mean) has that unit inactive."""
    torch.manual_seed(0)
    model = ImageVAE(ImageModelConfig(hidden=(32,), latent_dim=4))
    with torch.no_grad():  # units 0, 1, 3 vary strongly; unit 2's mean is a constant
        model.to_stats.weight[:4].mul_(20.0)
        model.to_stats.weight[2].zero_()
        model.to_stats.bias[2] = 0.7
    codes = encode(model, torch.rand(500, 1, 28, 28))
    stats = unit_stats(codes.mu, codes.logvar)
    assert not bool(stats.active[2]) and float(stats.activity[2]) == 0.0
    assert stats.n_active == 3
    # KL per unit is the closed form averaged over items
    mu, lv = codes.mu.double(), codes.logvar.double()
    assert torch.allclose(stats.kl.double(), (0.5 * (mu**2 + lv.exp() - 1 - lv)).mean(0),
                          atol=1e-5)


def test_knobs_round_trip_on_the_fitted_subspace():
    torch.manual_seed(0)
    basis = torch.linalg.qr(torch.randn(10, 3))[0].T  # 3 orthonormal directions in 10-D
    codes = torch.randn(400, 3) * torch.tensor([3.0, 2.0, 1.0]) @ basis + 0.5
    knobs = Knobs(3).fit(codes)
    assert math.isclose(float(knobs.explained_variance_ratio_.sum()), 1.0, rel_tol=1e-4)
    values = knobs.transform(codes)
    assert torch.allclose(values.std(0), torch.ones(3), atol=1e-3)  # knobs in sd units
    assert torch.allclose(knobs.inverse_transform(values), codes, atol=1e-4)
    v = torch.randn(5, 3)
    assert torch.allclose(knobs.transform(knobs.inverse_transform(v)), v, atol=1e-4)


def test_knobs_reject_too_many():
    with pytest.raises(ValueError, match="k must be between"):
        Knobs(11).fit(torch.randn(50, 10))


def test_codes_are_cached_and_rebuilt_when_the_weights_change(tmp_path):
    from latentatlas.data import load_dataset

    torch.manual_seed(0)
    cfg = ImageModelConfig(hidden=(16,), latent_dim=3)
    model = ImageVAE(cfg)
    spec = {"name": "shapes", "n_train": 64, "n_test": 32}
    runfile.write_config(tmp_path, {"kind": "vae", "model": cfg.to_dict(), "data": spec})
    runfile.save_weights(model, tmp_path / runfile.WEIGHTS)
    first = run_codes(tmp_path, "test")
    cache = tmp_path / "atlas" / "codes-test.safetensors"
    assert cache.is_file() and first.mu.shape == (32, 3)
    stamp = cache.stat().st_mtime_ns
    again = run_codes(tmp_path, "test")
    assert torch.equal(again.mu, first.mu) and cache.stat().st_mtime_ns == stamp
    data = load_dataset("shapes", n_train=64, n_test=32)
    assert torch.equal(again.labels, data.test_y)
    with torch.no_grad():
        model.to_stats.bias.add_(1.0)
    runfile.save_weights(model, tmp_path / runfile.WEIGHTS)
    changed = run_codes(tmp_path, "test")
    assert torch.allclose(changed.mu, first.mu + 1.0, atol=1e-5)
