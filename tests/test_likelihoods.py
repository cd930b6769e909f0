import math

import pytest
import torch
from torch import distributions as D

from latentatlas.models.likelihoods import cb_log_norm, make_likelihood

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


def test_unknown_likelihood():
    with pytest.raises(ValueError, match="unknown likelihood"):
        make_likelihood("poisson")
