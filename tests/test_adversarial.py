"""Adversarial examples: FGSM against a hand computation, PGD inside its ball, success that
grows with the budget, targeted and from-noise attacks, and the attack command."""

import json

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import latentatlas
from latentatlas.explain.adversarial import attack_images
from latentatlas.explain.workflow import attack_run
from latentatlas.models.adversarial import perturb

from .conftest import assert_one_error, cli


class Linear(nn.Module):
    """logits = W x + b over flattened images: the input gradient is known in closed form."""

    def __init__(self, classes: int = 3, shape=(1, 4, 4)):
        super().__init__()
        self.config = type("C", (), {"classes": [str(i) for i in range(classes)],
                                     "image_shape": shape})()
        self.lin = nn.Linear(shape[0] * shape[1] * shape[2], classes)

    def logits(self, x):
        return self.lin(x.flatten(1))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("attack") / "clf"
    return latentatlas.fit("image-classifier", "shapes", out, n_train=1500, n_test=200,
                           hidden=(8, 8, 32), epochs=3, batch_size=64).path


def test_fgsm_is_the_sign_of_the_hand_computed_gradient():
    torch.manual_seed(0)
    model = Linear()
    x, y = torch.rand(5, 1, 4, 4) * 0.6 + 0.2, torch.tensor([0, 1, 2, 0, 1])
    p = F.softmax(model.logits(x), 1)
    grad = (p - F.one_hot(y, 3).float()) @ model.lin.weight  # d CE / d x, per item
    expected = (x + 0.1 * grad.sign().view_as(x)).clamp(0, 1)
    assert torch.allclose(perturb(model, x, y, 0.1, "fgsm"), expected)
    target = torch.full((5,), 2)  # targeted: down the target's cross-entropy
    grad_t = (p - F.one_hot(target, 3).float()) @ model.lin.weight
    assert torch.allclose(perturb(model, x, y, 0.1, "fgsm", target=target),
                          (x - 0.1 * grad_t.sign().view_as(x)).clamp(0, 1))
    assert all(q.grad is None for q in model.parameters())  # the weights are not touched


def test_pgd_stays_in_its_ball_and_in_the_pixel_range():
    torch.manual_seed(0)
    model = Linear()
    x, y = torch.rand(16, 1, 4, 4), torch.randint(3, (16,))
    for eps in (0.03, 0.3):
        adv = perturb(model, x, y, eps, "pgd", steps=10, generator=torch.Generator().manual_seed(0))
        assert (adv - x).abs().max() <= eps + 1e-6
        assert adv.min() >= 0 and adv.max() <= 1
    with pytest.raises(latentatlas.errors.OptionError, match="eps"):
        perturb(model, x, y, 0.0)


def test_success_grows_with_the_budget_and_pgd_beats_fgsm(run):
    model = latentatlas.load(run)
    data = latentatlas.Run.open(run).dataset
    x, y = data.test_x[:200], data.test_y[:200]
    rate = {(m, e): attack_images(model, x, y, m, e, steps=20)["success_rate"]
            for m in ("fgsm", "pgd") for e in (0.02, 0.3)}
    assert rate[("pgd", 0.02)] < rate[("pgd", 0.3)]
    assert rate[("fgsm", 0.3)] <= rate[("pgd", 0.3)]
    assert rate[("pgd", 0.3)] > 0.9
    clean = attack_images(model, x, y, "pgd", 0.3)
    assert clean["accuracy_before"] > 0.5 and clean["accuracy_after"] < 0.1


def test_targeted_and_noise_attacks_reach_the_target(run):
    r = attack_run(run, "pgd", 0.3, n=100, target="ellipse", steps=30)
    names = latentatlas.load(run).config.classes
    assert r["target_class"] == "ellipse" and r["success_rate"] > 0.8
    hit = [after == "ellipse" for after, ok in zip(r["classes_after"], r["success"].tolist(),
                                                    strict=True) if ok]
    assert hit and all(hit)
    noise = attack_run(run, "pgd", 0.3, n=30, target=names[1], noise=True, steps=30)
    assert noise["source"] == "noise" and noise["success_rate"] > 0.8
    assert noise["target_confidence_after"] > 0.5


def test_attack_from_the_cli(run, tmp_path):
    out = tmp_path / "a.png"
    p = cli("attack", run, "--method", "fgsm", "--eps", "0.1", "-n", "40", "--out", out,
            "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert 0 <= result["success_rate"] <= 1 and result["linf_mean"] <= 0.1 + 1e-6
    assert out.stat().st_size > 0
    assert_one_error(cli("attack", run, "--noise"), "target")
    assert_one_error(cli("attack", run, "--eps", "1.5"), "eps")
    assert_one_error(cli("attack", run, "--target", "nothing"), "nothing")


class _Logits(nn.Module):
    """The classifier as a plain module of logits, as the Adversarial Robustness Toolbox
    takes one."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.logits(x)


def test_our_attacks_match_the_adversarial_robustness_toolbox(run):
    np = pytest.importorskip("numpy")
    art_attacks = pytest.importorskip("art.attacks.evasion")
    from art.estimators.classification import PyTorchClassifier

    model = latentatlas.load(run)
    data = latentatlas.Run.open(run).dataset
    x, y = data.test_x[:200], data.test_y[:200]
    theirs = PyTorchClassifier(_Logits(model), nn.CrossEntropyLoss(), tuple(x.shape[1:]),
                               len(model.config.classes), clip_values=(0.0, 1.0))
    # FGSM is deterministic: the same images
    fgsm = art_attacks.FastGradientMethod(theirs, norm=np.inf, eps=0.05, batch_size=256)
    adv_theirs = torch.from_numpy(fgsm.generate(x.numpy(), y=y.numpy()))
    assert torch.allclose(perturb(model, x, y, 0.05, "fgsm"), adv_theirs, atol=1e-5)
    # PGD starts at random: the same success rate within a few points
    eps, steps = 0.05, 20
    pgd = art_attacks.ProjectedGradientDescent(theirs, norm=np.inf, eps=eps,
                                               eps_step=2.5 * eps / steps, max_iter=steps,
                                               num_random_init=1, batch_size=256, verbose=False)
    pred = torch.from_numpy(theirs.predict(pgd.generate(x.numpy(), y=y.numpy()))).argmax(1)
    ours = attack_images(model, x, y, "pgd", eps, steps=steps)
    right = ours["predicted_before"] == y
    theirs_rate = float((pred[right] != y[right]).float().mean())
    assert 0.05 < ours["success_rate"] < 0.95  # a budget where the two can differ
    assert abs(ours["success_rate"] - theirs_rate) < 0.06


def test_adversarial_training_buys_robust_accuracy(run, tmp_path):
    robust = latentatlas.fit("image-classifier", "shapes", tmp_path / "robust", n_train=1500,
                             n_test=200, hidden=(8, 8, 32), epochs=5, batch_size=64,
                             adversarial="pgd", eps=0.1, attack_steps=3)
    last = robust.metrics[-1]
    assert 0.0 <= last["test_robust_accuracy"] <= last["test_accuracy"]
    assert robust.config["model"]["adversarial"] == "pgd"
    data = robust.dataset
    x, y = data.test_x[:200], data.test_y[:200]
    after = {name: attack_images(latentatlas.load(path), x, y, "pgd", 0.1)["accuracy_after"]
             for name, path in (("standard", run), ("adversarial", robust.path))}
    assert after["adversarial"] > after["standard"] + 0.1  # measured: 0.45 against 0.29
    p = cli("train", "--model", "vae", "--data", "shapes", "--adversarial", "pgd", "--out",
            tmp_path / "no")
    assert_one_error(p, "adversarial")
