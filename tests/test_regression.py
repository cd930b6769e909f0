"""Regression that outputs a distribution: the one-to-many sets with known truth, the squared
error, predicted-variance and mixture density heads, and their on-data rates."""

import json
import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

import latentatlas
from latentatlas.data.pairs import ARM, forward_kinematics, load_pairs, on_data
from latentatlas.models.regression import Regressor, RegressorConfig

from .conftest import assert_one_error, cli


@pytest.mark.parametrize("name", ["inverse-sine", "arm"])
def test_each_set_knows_its_right_answers(name):
    data = load_pairs(name, seed=3, n_train=2000, n_test=500)
    again = load_pairs(name, seed=3, n_train=2000, n_test=500)
    assert torch.equal(data.train_x, again.train_x) and torch.equal(data.test_y, again.test_y)
    assert not torch.equal(data.train_x, load_pairs(name, seed=4, n_train=2000).train_x)
    assert data.on_data(data.train_x, data.train_y).all()
    assert data.on_data(data.test_x, data.test_y).all()
    # the answers of other inputs are mostly wrong
    assert data.on_data(data.test_x, data.test_y.roll(1, 0)).float().mean() < 0.5


def test_the_arm_has_two_answers_and_their_average_reaches_neither():
    data = load_pairs("arm", n_train=1000, n_test=10)
    t1, t2 = data.train_y[:, 0], data.train_y[:, 1]
    a, b = ARM
    # the other elbow: mirror the bend, turn the shoulder by twice the forearm's offset angle
    other = torch.stack([t1 + 2 * torch.atan2(b * torch.sin(t2), a + b * torch.cos(t2)), -t2], 1)
    assert torch.allclose(forward_kinematics(other), data.train_x, atol=1e-5)
    assert on_data("arm", data.train_x, other).all()
    assert not on_data("arm", data.train_x, (data.train_y + other) / 2).any()


def test_the_mixture_nll_is_the_mixture_density_of_torch_distributions():
    torch.manual_seed(0)
    model = Regressor(RegressorConfig(x_dim=2, y_dim=2, hidden=(16,), head="mixture",
                                      components=3))
    x, y = torch.randn(50, 2), torch.randn(50, 2)
    log_pi, mu, log_s = model.params(x)
    reference = MixtureSameFamily(Categorical(logits=log_pi),
                                  Independent(Normal(mu, log_s.exp()), 1))
    assert torch.allclose(model.nll(x, y), -reference.log_prob(y), atol=1e-5)
    gaussian = Regressor(RegressorConfig(x_dim=2, y_dim=2, hidden=(16,), head="gaussian",
                                         variance_head="softplus"))
    _, mu, log_s = gaussian.params(x)
    assert torch.allclose(gaussian.nll(x, y),
                          -Normal(mu[:, 0], log_s[:, 0].exp()).log_prob(y).sum(1), atol=1e-5)


def test_far_answers_give_finite_losses_and_gradients():
    torch.manual_seed(0)
    for head, k in (("gaussian", 1), ("mixture", 5)):
        model = Regressor(RegressorConfig(x_dim=1, y_dim=1, head=head, components=k))
        with torch.no_grad():  # scales as small as the head allows, answers far away
            model.out.bias.fill_(-50.0)
        loss = model(torch.randn(8, 1), torch.full((8, 1), 1e4))["loss"]
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_samples_follow_the_predicted_mixture():
    torch.manual_seed(0)
    model = Regressor(RegressorConfig(x_dim=1, y_dim=1, hidden=(8,), head="mixture",
                                      components=2))
    with torch.no_grad():  # weights 0.25 / 0.75, means -3 / +3, scales e^-3
        model.out.weight.zero_()
        model.out.bias.copy_(torch.tensor([0.0, math.log(3.0), -3.0, 3.0, -6.0, -6.0]))
    s = model.sample(torch.zeros(1, 1), 4000, generator=torch.Generator().manual_seed(1))
    assert s.shape == (1, 4000, 1)
    share = float((s > 0).float().mean())
    assert abs(share - 0.75) < 0.03
    assert float((s.abs() - 3).abs().max()) < 0.5  # every sample on one of the two branches
    assert torch.allclose(model.predict(torch.zeros(1, 1)), torch.tensor([[3.0]]))


def test_an_mdn_lands_on_the_branches_where_squared_error_falls_between(tmp_path):
    common = {"n_train": 3000, "n_test": 1000, "epochs": 25, "batch_size": 100, "lr": 3e-3}
    mse = latentatlas.fit("regressor", "inverse-sine", tmp_path / "mse", **common).metrics[-1]
    mdn = latentatlas.fit("mdn", "inverse-sine", tmp_path / "mdn", components=4,
                          **common).metrics[-1]
    assert mse["test_on_data_rate"] < 0.5 < 0.7 < mdn["test_on_data_rate"]
    assert mdn["test_nll"] < mse["test_nll"] - 0.3  # nats per item


def test_train_and_eval_from_the_cli(tmp_path):
    out = tmp_path / "mdn"
    p = cli("train", "--model", "mdn", "--data", "arm", "--components", "3", "--epochs", "2",
            "--n-train", "400", "--n-test", "100", "--out", out, "--quiet")
    assert p.returncode == 0, p.stderr
    p = cli("eval", out, "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert 0.0 <= result["on_data_rate"] <= 1.0 and math.isfinite(result["nll"])
    p = cli("train", "--model", "regressor", "--variance", "--data", "inverse-sine",
            "--epochs", "1", "--n-train", "200", "--n-test", "50", "--out", tmp_path / "var",
            "--quiet")
    assert p.returncode == 0, p.stderr
    assert latentatlas.Run.open(tmp_path / "var").config["model"]["head"] == "gaussian"
    p = cli("sample", out, "--x", "0.5,0.2", "-n", "3", "--json")
    assert p.returncode == 0, p.stderr
    assert len(json.loads(p.stdout)["answers"][0]["samples"]) == 3
    assert_one_error(cli("sample", out, "--per-class"), "--per-class")
    assert_one_error(cli("sample", out, "--x", "0.5"), "2 numbers")


@pytest.mark.parametrize("args,words", [
    (["--model", "regressor", "--components", "3", "--data", "arm"], ["components"]),
    (["--model", "mdn", "--variance", "--data", "arm"], ["variance"]),
    (["--model", "mdn", "--data", "fashion-mnist"], ["regression set"]),
    (["--model", "vae", "--data", "inverse-sine"], ["regression set"]),
    (["--model", "mdn", "--data", "arm", "--latent-dim", "4"], ["latent"]),
])
def test_bad_regression_options_are_one_error_line(tmp_path, args, words):
    out = tmp_path / "bad"
    assert_one_error(cli("train", *args, "--epochs", "1", "--out", out), *words)
    assert not out.exists()
