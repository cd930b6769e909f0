import math

import pytest
import torch
from torch import distributions as D

from latentatlas.models.likelihoods import SCALE_MAX, SCALE_MIN, cb_log_norm, make_likelihood

torch.manual_seed(0)
OUT = torch.randn(4, 1, 5, 5) * 3
X01 = torch.rand(4, 1, 5, 5)


def test_bernoulli_matches_torch_on_binary_data():
    x = (X01 > 0.5).float()
    ref = D.Bernoulli(logits=OUT).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(make_likelihood("bernoulli").nll(OUT, x), -ref, atol=1e-4)


def test_continuous_bernoulli_matches_torch():
    ref = D.ContinuousBernoulli(logits=OUT).log_prob(X01).flatten(1).sum(1)
    assert torch.allclose(make_likelihood("continuous-bernoulli").nll(OUT, X01), -ref, atol=1e-3)


def test_continuous_bernoulli_is_stable_at_one_half():
    logits = torch.tensor([-1e-3, -1e-6, 0.0, 1e-6, 1e-3, 0.05], dtype=torch.float64)
    log_c = cb_log_norm(logits)
    assert torch.isfinite(log_c).all()
    assert abs(float(log_c[2]) - math.log(2.0)) < 1e-12
    lam = torch.sigmoid(logits[-1])
    exact = torch.log(2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam))
    assert abs(float(log_c[-1] - exact)) < 1e-9
    grad_logits = logits.clone().requires_grad_()
    cb_log_norm(grad_logits).sum().backward()
    assert torch.isfinite(grad_logits.grad).all()


def test_continuous_bernoulli_mean():
    lik = make_likelihood("continuous-bernoulli")
    out = torch.tensor([-4.0, -0.5, -1e-4, 0.0, 1e-4, 0.5, 4.0])
    assert torch.allclose(lik.mean(out), D.ContinuousBernoulli(logits=out).mean, atol=1e-4)


@pytest.mark.parametrize("scale", [0.1, 0.5])
def test_gaussian_and_laplace_match_torch(scale):
    mean = torch.sigmoid(OUT)
    g = make_likelihood("gaussian", scale).nll(OUT, X01)
    assert torch.allclose(g, -D.Normal(mean, scale).log_prob(X01).flatten(1).sum(1), atol=1e-3)
    lap = make_likelihood("laplace", scale).nll(OUT, X01)
    assert torch.allclose(lap, -D.Laplace(mean, scale).log_prob(X01).flatten(1).sum(1), atol=1e-3)


def test_learned_scale_is_trained_and_fixed_is_not():
    learned = make_likelihood("gaussian", "learned")
    learned.nll(OUT, X01).sum().backward()
    assert learned.log_scale.requires_grad and learned.log_scale.grad is not None
    fixed = make_likelihood("gaussian", 0.2)
    assert not fixed.log_scale.requires_grad


@pytest.mark.parametrize("name,dist", [("gaussian", D.Normal), ("laplace", D.Laplace)])
def test_per_pixel_scale_is_a_second_output_bounded_and_matches_torch(name, dist):
    raw = torch.randn(4, 1, 5, 5) * 20  # far outside the bounds before the squash
    lik = make_likelihood(name, "per-pixel")
    out = torch.cat([OUT, raw], dim=1)
    scale = lik.scale(out)
    assert lik.outputs == 2 and scale.shape == X01.shape
    assert float(scale.min()) >= SCALE_MIN * (1 - 1e-6)
    assert float(scale.max()) <= SCALE_MAX * (1 + 1e-6)
    assert float(scale.max() / scale.min()) > 10  # the pixels do get different scales
    ref = dist(torch.sigmoid(OUT), scale).log_prob(X01).flatten(1).sum(1)
    assert torch.allclose(lik.nll(out, X01), -ref, rtol=1e-5, atol=1e-3)
    assert torch.allclose(lik.mean(out), torch.sigmoid(OUT))
    # a pixel the location fits exactly gains from a smaller scale, down to the floor only
    flat = torch.zeros(1, 2, 1, 1)
    flat[0, 1] = -50.0
    x = torch.full((1, 1, 1, 1), 0.5)
    floor = dist(torch.tensor(0.5), torch.tensor(SCALE_MIN)).log_prob(torch.tensor(0.5))
    assert float(lik.nll(flat, x)) == pytest.approx(-float(floor),
                                                    rel=1e-4)


@pytest.mark.parametrize("name,scale", [("bernoulli", 0.1), ("continuous-bernoulli", 0.1),
                                        ("gaussian", 0.2), ("laplace", 0.2),
                                        ("gaussian", "per-pixel")])
def test_draws_follow_the_likelihood_and_repeat_with_a_seed(name, scale):
    """x ~ p(x | z): the draws' mean is the likelihood's mean (and their spread its scale)."""
    lik = make_likelihood(name, scale)
    logits = torch.tensor([-2.0, -0.3, 0.0, 0.7, 3.0]).view(1, 5, 1, 1)
    out = torch.cat([logits, torch.full_like(logits, -1.0)], 1) if lik.outputs == 2 else logits
    out = out.expand(20000, -1, -1, -1)
    draws = lik.sample(out, torch.Generator().manual_seed(0))
    again = lik.sample(out, torch.Generator().manual_seed(0))
    assert draws.shape == (20000, 5, 1, 1) and torch.equal(draws, again)
    assert torch.allclose(draws.mean(0), lik.mean(out[:1])[0], atol=0.02)
    if lik.scale(out) is not None:
        sd = lik.scale(out[:1])[0] * (math.sqrt(2) if name == "laplace" else 1)
        assert torch.allclose(draws.std(0), sd, rtol=0.05)
    if name == "continuous-bernoulli":
        ref = D.ContinuousBernoulli(logits=logits[0]).variance
        assert torch.allclose(draws.var(0), ref, rtol=0.05)


def test_unknown_likelihood():
    with pytest.raises(ValueError, match="unknown likelihood"):
        make_likelihood("poisson")
