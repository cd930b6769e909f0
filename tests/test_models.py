import pytest
import torch
from torch import distributions as D

import latentatlas
from latentatlas.models import ImageModelConfig, ImageVAE, LatentModel


def make(**kw):
    torch.manual_seed(0)
    return ImageVAE(ImageModelConfig(**kw))


def test_canonical_preset_is_784_400_20():
    m = make()
    shapes = [tuple(p.shape) for p in m.parameters() if p.ndim == 2]
    assert shapes == [(400, 784), (40, 400), (400, 20), (784, 400)]


@pytest.mark.parametrize("arch,hidden", [("mlp", (64, 32)), ("conv", (8, 16, 32))])
def test_protocol_shapes(arch, hidden):
    m = make(arch=arch, hidden=hidden, latent_dim=5)
    assert isinstance(m, LatentModel)
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = m.encode(x)
    assert mu.shape == (3, 5) and logvar.shape == (3, 5)
    y = m.decode(mu).detach()
    assert y.shape == x.shape and 0 <= float(y.min()) and float(y.max()) <= 1


def test_kl_term_matches_torch_distributions():
    m = make(latent_dim=6)
    x = torch.rand(8, 1, 28, 28)
    mu, logvar = m.encode(x)
    q = D.Normal(mu, torch.exp(0.5 * logvar))
    ref = D.kl_divergence(q, D.Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(1).mean()
    assert torch.allclose(m.loss(x)["kl"], ref, atol=1e-5)


def test_loss_is_recon_plus_beta_kl():
    m = make(beta=4.0)
    out = m.loss(torch.rand(4, 1, 28, 28))
    assert torch.allclose(out["loss"], out["recon"] + 4.0 * out["kl"])


def test_autoencoder_has_no_logvar_and_no_kl():
    m = make(variational=False)
    mu, logvar = m.encode(torch.rand(2, 1, 28, 28))
    assert logvar is None and float(m.loss(torch.rand(2, 1, 28, 28))["kl"]) == 0.0


def test_importance_weighted_bound_tightens_with_k():
    m = make(latent_dim=4, hidden=(32,))
    x = (torch.rand(64, 1, 28, 28) > 0.5).float()
    torch.manual_seed(1)
    with torch.no_grad():
        elbo = -torch.stack([m.loss(x)["loss"] for _ in range(50)]).mean()
    torch.manual_seed(1)
    k1 = m.iw_log_likelihood(x, 1).mean()
    k100 = m.iw_log_likelihood(x, 100).mean()
    assert abs(float(k1 - elbo)) < 2.0  # k=1 is the ELBO (one-sample noise)
    assert float(k100) > float(k1)


@pytest.mark.parametrize("bad,match", [
    (dict(latent_dim=0), "latent_dim"), (dict(arch="rnn"), "arch"),
    (dict(arch="conv", hidden=(8, 8, 8), image_shape=(1, 30, 30)), "divisible by 4"),
    (dict(likelihood="poisson"), "likelihood"), (dict(obs_scale=-1.0), "obs_scale"),
])
def test_bad_configs_are_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        ImageModelConfig(**bad).validate()


def test_wrap_a_users_model():
    enc = torch.nn.Linear(10, 3)
    dec = torch.nn.Linear(3, 10)
    model = latentatlas.wrap(enc, dec, latent_dim=3)
    assert isinstance(model, LatentModel)
    mu, logvar = model.encode(torch.randn(4, 10))
    assert mu.shape == (4, 3) and logvar is None
    assert model.decode(mu).shape == (4, 10)
    bad = latentatlas.wrap(enc, dec, latent_dim=5)
    with pytest.raises(ValueError, match=r"expected \(batch, 5\)"):
        bad.encode(torch.randn(4, 10))
