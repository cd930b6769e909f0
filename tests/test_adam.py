"""Our Adam is torch.optim.Adam(fused=True) bit for bit, its state loads both ways, and
training never imports torch._dynamo (which torch.optim does on its first step: seconds per
process)."""

import copy
import subprocess
import sys

import torch

from latentatlas.train.adam import Adam


def _steps(model, opt, x, n=6):
    for _ in range(n):
        opt.zero_grad()
        model(x).pow(2).sum().backward()
        opt.step()


def test_the_same_updates_and_state_as_torch_fused_adam():
    torch.manual_seed(0)
    ours = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    theirs = copy.deepcopy(ours)
    x = torch.randn(16, 5)
    options = {"lr": 1e-2, "betas": (0.5, 0.999), "weight_decay": 1e-2}
    a = Adam(ours.parameters(), **options)
    b = torch.optim.Adam(theirs.parameters(), fused=True, **options)
    _steps(ours, a, x)
    _steps(theirs, b, x)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
    # each loads the other's state and both go on identically
    a2 = Adam(ours.parameters())
    a2.load_state_dict(b.state_dict())
    b2 = torch.optim.Adam(theirs.parameters(), fused=True)
    b2.load_state_dict(a.state_dict())
    assert a2.param_groups[0]["betas"] == (0.5, 0.999)
    _steps(ours, a2, x, 3)
    _steps(theirs, b2, x, 3)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)
    assert float(a2.state[next(ours.parameters())]["step"]) == 9


def test_a_state_of_other_parameters_is_refused():
    a = Adam([torch.zeros(3, requires_grad=True)])
    b = Adam([torch.zeros(3, requires_grad=True), torch.zeros(2, requires_grad=True)])
    try:
        a.load_state_dict(b.state_dict())
    except ValueError as e:
        assert "another set of parameters" in str(e)
    else:
        raise AssertionError("loaded the state of two parameters into one")


def test_training_and_sweeping_never_import_dynamo(tmp_path):
    code = (
        "import sys, latentatlas\n"
        f"latentatlas.fit('vae', 'shapes', r'{tmp_path / 'r'}', epochs=1, n_train=128, "
        "n_test=32, latent_dim=2)\n"
        f"latentatlas.sweep('vae', 'shapes', r'{tmp_path / 's'}', seeds=[0, 1], epochs=1, "
        "n_train=128, n_test=32, latent_dim=2)\n"
        "print('torch._dynamo' in sys.modules, 'sklearn' in sys.modules)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "False"]
