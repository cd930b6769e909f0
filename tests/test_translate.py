import math

import pytest
import torch

from latentatlas.translate import (
    LinearMap,
    MLPMap,
    ProcrustesMap,
    cka,
    relative_agreement,
    shuffled_null,
    svcca,
)

torch.manual_seed(0)
X = torch.randn(300, 10) @ torch.randn(10, 10)  # correlated features
Q = torch.linalg.qr(torch.randn(10, 10))[0]  # a random orthogonal matrix


@pytest.fixture(autouse=True)
def _seeded():
    """Every test draws the same random numbers whatever ran before it."""
    torch.manual_seed(1)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_cka_of_a_coding_with_itself_is_one(kernel, debiased):
    assert math.isclose(cka(X, X, kernel, debiased), 1.0, abs_tol=1e-9)


def test_cka_is_symmetric():
    y = torch.tanh(X @ torch.randn(10, 6))
    for kernel in ("linear", "rbf"):
        assert math.isclose(cka(X, y, kernel), cka(y, X, kernel), rel_tol=1e-9)


def test_cka_invariances():
    assert math.isclose(cka(X, X @ Q), 1.0, abs_tol=1e-9)  # orthogonal transform
    assert math.isclose(cka(X, 3.7 * X), 1.0, abs_tol=1e-9)  # isotropic scaling
    assert math.isclose(cka(X, X @ Q, "rbf"), 1.0, abs_tol=1e-9)
    stretch = torch.diag(torch.tensor([10.0] + [0.1] * 9))
    assert cka(X, X @ stretch) < 0.9  # a general linear map changes it


def test_debiased_cka_is_near_zero_for_independent_codes():
    a, b = torch.randn(60, 20), torch.randn(60, 20)
    assert cka(a, b) > 0.2  # the biased estimate is large with few items
    assert abs(cka(a, b, debiased=True)) < 0.05


def test_linear_cka_matches_the_gram_matrix_definition():
    gen = torch.Generator().manual_seed(3)
    y = X @ torch.randn(10, 4, generator=gen) + 0.5 * torch.randn(300, 4, generator=gen)
    xd, yd = X.double(), y.double()  # both sides in float64, as cka computes
    xc, yc = xd - xd.mean(0), yd - yd.mean(0)
    k, g = xc @ xc.T, yc @ yc.T
    ref = float((k * g).sum() / ((k * k).sum() * (g * g).sum()).sqrt())
    assert math.isclose(cka(X, y), ref, rel_tol=1e-9)


def test_svcca():
    assert math.isclose(svcca(X, X @ Q), 1.0, abs_tol=1e-6)
    assert svcca(torch.randn(2000, 5), torch.randn(2000, 5)) < 0.1


def test_shuffled_null_is_low_for_matched_codes():
    assert shuffled_null(cka, X, X @ Q) < 0.2 < cka(X, X @ Q)


def test_procrustes_recovers_a_rotation_exactly():
    m = ProcrustesMap().fit(X, X @ Q)
    assert torch.allclose(m.rotation_.float(), Q, atol=1e-5)
    assert m.score(X, X @ Q)["r2"] > 1 - 1e-9


def test_least_squares_from_20_to_32_dims():
    a = torch.randn(500, 20)
    w = torch.randn(20, 32)
    m = LinearMap().fit(a, a @ w)
    assert m.weight_.shape == (20, 32) and torch.allclose(m.weight_.float(), w, atol=1e-4)
    affine = LinearMap(affine=True).fit(a, a @ w + 5.0)
    assert affine.score(a, a @ w + 5.0)["r2"] > 0.999999


def test_procrustes_pads_unequal_widths():
    a = torch.randn(400, 8)
    b = torch.cat([a @ torch.linalg.qr(torch.randn(8, 8))[0], torch.zeros(400, 4)], 1)
    m = ProcrustesMap().fit(a, b)
    assert m.transform(a).shape == (400, 12) and m.score(a, b)["r2"] > 0.999


def test_mlp_map_learns_a_nonlinear_map():
    a = torch.randn(2000, 4)
    b = torch.stack([a[:, 0] * a[:, 1], torch.sin(2 * a[:, 2]), a[:, 3] ** 2], 1)
    m = MLPMap(hidden=64, epochs=200, patience=10).fit(a[:1600], b[:1600])
    linear = LinearMap(affine=True).fit(a[:1600], b[:1600]).score(a[1600:], b[1600:])["r2"]
    r2 = m.score(a[1600:], b[1600:])["r2"]
    assert r2 > 0.8 and linear < 0.2, (r2, linear)


def test_mlp_map_stops_early_when_nothing_is_learnable():
    a, b = torch.randn(1000, 4), torch.randn(1000, 3)
    m = MLPMap(hidden=64, epochs=200, patience=5).fit(a, b)
    assert m.epochs_run_ < 200  # stopped by patience, not by the epoch limit
    assert 0.8 < m.val_loss_ < 1.2  # standardised noise: nothing beats predicting the mean


def test_relative_representations_agree_across_a_rotation():
    idx = torch.arange(20)
    assert relative_agreement(X, X @ Q, idx) > 0.999
    assert relative_agreement(X, torch.randn(300, 10), idx) < 0.2


def test_bad_pairs():
    with pytest.raises(ValueError, match="different item counts"):
        cka(torch.randn(10, 2), torch.randn(11, 2))
    with pytest.raises(ValueError, match="paired codes"):
        LinearMap().fit(torch.randn(10, 2), torch.randn(9, 2))


@pytest.mark.parametrize("method", ["affine", "procrustes", "mlp"])
def test_a_fitted_map_round_trips_through_its_saved_state(method):
    from latentatlas.translate.maps import make_map, map_from_state, map_state

    y = torch.tanh(X @ torch.randn(10, 6))
    fitted = make_map(method).fit(X, y)
    again = map_from_state(*map_state(fitted))
    assert torch.equal(fitted.transform(X[:20]), again.transform(X[:20]))


def test_translate_saves_a_map_the_explorer_reads_back_until_a_run_changes(tmp_path):
    from latentatlas import Run, fit
    from latentatlas.explorer import Explorer
    from latentatlas.translate.workflow import load_translation_map, translate

    tiny = dict(n_train=300, n_test=64, hidden=(16,), epochs=1)
    a = fit("vae", "shapes", tmp_path / "a", latent_dim=2, **tiny).path
    b = fit("vae", "shapes", tmp_path / "b", latent_dim=3, seed=1, **tiny).path
    assert load_translation_map(a, b, "affine") is None
    r = translate(a, b, "affine")
    saved = load_translation_map(a, b, "affine")
    assert r["saved"].endswith("translate-b-affine.safetensors") and saved is not None
    explorer = Explorer([a, b])
    z = torch.randn(5, 2)
    assert torch.allclose(explorer.translation("a", "b").transform(z), saved.transform(z))
    assert torch.allclose(Run.open(a).translation_map(b).transform(z), saved.transform(z))
    assert translate(a, b, "affine", save=False).get("saved") is None
    few = translate(a, b, "affine", anchors=25)  # a variant: beside the full map, not over it
    assert few["saved"].endswith("translate-b-affine-anchors25-seed0.safetensors")
    assert torch.allclose(load_translation_map(a, b, "affine").transform(z), saved.transform(z))
    fit("vae", "shapes", b, latent_dim=3, seed=2, force=True, **tiny)  # B retrained
    assert load_translation_map(a, b, "affine") is None
