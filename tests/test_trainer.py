import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from latentatlas.data import load_dataset
from latentatlas.errors import OptionError, UserError
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.train import TrainConfig, prepare_run_dir, train

from .conftest import REPO


def _fit(out, epochs, resume=False, data=None):
    data = data or load_dataset("shapes", n_train=600, n_test=100)
    torch.manual_seed(0)
    cfg = ImageModelConfig(hidden=(64,), latent_dim=4)
    model = ImageVAE(cfg)
    history = train(model, data.train_x, data.test_x, out,
                    TrainConfig(epochs=epochs, batch_size=64, quiet=True),
                    {"kind": "vae", "model": cfg.to_dict(),
                     "data": {"name": "shapes", "n_train": 600, "n_test": 100}},
                    resume=resume)
    return model, history


def test_two_epochs_equal_one_plus_resume_one(tmp_path):
    straight, h2 = _fit(tmp_path / "a", 2)
    _fit(tmp_path / "b", 1)
    resumed, h11 = _fit(tmp_path / "b", 2, resume=True)
    for (k, v), (_, w) in zip(straight.state_dict().items(), resumed.state_dict().items(),
                              strict=True):
        assert torch.equal(v, w), k
    for a, b in zip(h2, h11, strict=True):
        assert a["train_loss"] == b["train_loss"] and a["test_loss"] == b["test_loss"]


def test_metrics_lines_have_the_documented_fields(tmp_path):
    _fit(tmp_path / "r", 2)
    lines = (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["epoch"] for r in records] == [1, 2]
    for r in records:
        assert {"train_loss", "train_recon", "train_kl", "test_loss", "test_recon", "test_kl",
                "seconds", "items_per_s"} <= set(r)
        assert abs(r["test_loss"] - r["test_recon"] - r["test_kl"]) < 1e-3
        assert r["seconds"] > 0 and r["items_per_s"] > 0
    assert records[1]["test_loss"] < records[0]["test_loss"]


def test_existing_out_needs_resume_or_force(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    with pytest.raises(UserError, match="`resume`.*`force`"):
        prepare_run_dir(tmp_path / "run", resume=False, force=False)
    prepare_run_dir(tmp_path / "run", resume=False, force=True)
    assert list((tmp_path / "run").iterdir()) == []


def _train_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "latentatlas", "train", "--data", "shapes",
            "--n-train", "8000", "--n-test", "200", "--hidden", "64", "--latent-dim", "4",
            "--batch-size", "8", "--epochs", "2", "--threads", "1", "--quiet", "--out",
            str(out), *extra]


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() < end, "training did not reach the first checkpoint"
        time.sleep(0.02)


def _weights(run: Path) -> dict:
    return load_file(str(run / "model.safetensors"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    subprocess.run(_train_cmd(out), check=True, cwd=REPO, timeout=600)
    return _weights(out)


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_ctrl_c_saves_mid_epoch_and_resume_is_exact(tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = subprocess.Popen(_train_cmd(out), cwd=REPO, stderr=subprocess.PIPE, text=True)
    _wait_for(out / "metrics.jsonl", proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    with open(out / "checkpoint" / "state.safetensors", "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    position = json.loads(header["__metadata__"]["state"])
    assert position["epoch"] == 1 and position["batch"] > 0  # stopped inside epoch 2
    subprocess.run(_train_cmd(out, "--resume"), check=True, cwd=REPO, timeout=600)
    _assert_same(_weights(out), uninterrupted)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_sigkill_mid_epoch_resumes_from_last_checkpoint(tmp_path, uninterrupted):
    out = tmp_path / "run"
    proc = subprocess.Popen(_train_cmd(out), cwd=REPO)
    _wait_for(out / "metrics.jsonl", proc)
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    subprocess.run(_train_cmd(out, "--resume"), check=True, cwd=REPO, timeout=600)
    _assert_same(_weights(out), uninterrupted)
    # a write the kill interrupted left a temporary file; the resumed run's writes removed it
    assert not list(out.rglob(".*.tmp")), "a temporary file was left behind"


def test_sigkill_during_a_checkpoint_write_then_resume_is_exact(tmp_path, uninterrupted):
    """Killed while epoch 2's checkpoint is being written (its temporary file exists): epoch
    1's checkpoint is intact, --resume redoes epoch 2 exactly and removes the half write."""
    out = tmp_path / "run"
    ckpt = out / "checkpoint"
    proc = subprocess.Popen(_train_cmd(out), cwd=REPO)
    _wait_for(ckpt / "state.safetensors", proc)  # epoch 1's checkpoint is complete
    end = time.time() + 120
    while proc.poll() is None and time.time() < end:
        if any(name.endswith(".tmp") for name in os.listdir(ckpt)):
            os.kill(proc.pid, signal.SIGKILL)  # mid-write: the rename has not happened
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the write was not caught in progress"
    half = [p for p in ckpt.iterdir() if p.name.endswith(".tmp")]
    assert half, "the kill came after the write finished"
    subprocess.run(_train_cmd(out, "--resume"), check=True, cwd=REPO, timeout=600)
    _assert_same(_weights(out), uninterrupted)
    assert not any(p.exists() for p in half)  # the resumed run cleaned the stale write
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_resume_needs_a_checkpoint_and_force_needs_a_run(tmp_path):
    from latentatlas import fit

    run = fit("vae", "shapes", tmp_path / "run", n_train=256, n_test=64, hidden=(8,),
              latent_dim=2, epochs=1)
    weights = (run.path / "model.safetensors").read_bytes()
    metrics = (run.path / "metrics.jsonl").read_text()
    shutil.rmtree(run.path / "checkpoint")
    with pytest.raises(UserError, match="no checkpoint to resume from.*`force`.*`out`"):
        fit(None, None, run.path, resume=True, epochs=2)
    assert (run.path / "model.safetensors").read_bytes() == weights  # nothing overwritten
    assert (run.path / "metrics.jsonl").read_text() == metrics
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match="holds no run"):
        prepare_run_dir(home, resume=False, force=True)
    assert (home / "thesis.tex").read_text() == "years of work"
    (tmp_path / "empty").mkdir()
    prepare_run_dir(tmp_path / "empty", resume=False, force=True)  # an empty folder is fine


@pytest.mark.parametrize("likelihood,scale,arch,kind", [
    ("bernoulli", 0.1, "conv", "vae"), ("continuous-bernoulli", 0.1, "mlp", "vae"),
    ("gaussian", "learned", "mlp", "vae"), ("laplace", 0.2, "conv", "ae"),
    ("gaussian", "per-pixel", "conv", "vae"), ("laplace", "per-pixel", "mlp", "vae"),
])
def test_every_likelihood_and_arch_trains(tmp_path, likelihood, scale, arch, kind):
    data = load_dataset("shapes", n_train=256, n_test=64)
    hidden = (8, 16, 32) if arch == "conv" else (32,)
    torch.manual_seed(0)
    cfg = ImageModelConfig(variational=kind == "vae", arch=arch, hidden=hidden, latent_dim=3,
                           likelihood=likelihood, obs_scale=scale)
    model = ImageVAE(cfg)
    history = train(model, data.train_x, data.test_x, tmp_path / "r",
                    TrainConfig(epochs=3, batch_size=32, lr=3e-3, quiet=True),
                    {"kind": kind, "model": cfg.to_dict(), "data": {"name": "shapes"}})
    losses = [r["test_loss"] for r in history]
    assert all(map(math.isfinite, losses)) and losses[-1] < losses[0]
    if scale == "learned":
        assert model.likelihood.log_scale.item() != pytest.approx(math.log(0.1))
    if scale == "per-pixel":  # the decoder's second output: a scale for every pixel
        with torch.no_grad():
            sigma = model.likelihood.scale(model.decoder_output(torch.randn(8, 3)))
        assert sigma.shape == (8, *data.image_shape) and float(sigma.std()) > 0
        assert model.decode(torch.randn(8, 3)).shape == (8, *data.image_shape)
        assert math.isfinite(float(model.iw_log_likelihood(data.test_x[:8], 4).mean()))


def test_a_cosine_schedule_ends_near_zero_and_resumes_exactly(tmp_path):
    import latentatlas

    opts = {"n_train": 256, "n_test": 64, "hidden": (16,), "latent_dim": 2, "batch_size": 64,
            "lr_schedule": "cosine", "lr": 1e-2}
    straight = latentatlas.fit("vae", "shapes", tmp_path / "a", epochs=2, **opts)

    class Stop(Exception):
        pass

    def stop(record):  # the process ends after epoch 1 of a 2-epoch schedule
        raise Stop

    with pytest.raises(Stop):
        latentatlas.fit("vae", "shapes", tmp_path / "b", epochs=2, on_epoch=stop, **opts)
    resumed = latentatlas.fit(out=tmp_path / "b", resume=True)
    for (k, v), (_, w) in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    assert straight.config["train"]["lr_schedule"] == "cosine"
    # the last step's rate: 1e-2 * (1 + cos(pi * 7/8)) / 2, well under the constant's
    from safetensors import safe_open
    with safe_open(str(tmp_path / "a" / "checkpoint" / "state.safetensors"), "pt") as f:
        groups = json.loads(f.metadata()["state"])["param_groups"]
    assert abs(groups[0]["lr"] - 1e-2 * (1 + math.cos(math.pi * 7 / 8)) / 2) < 1e-9
    constant = latentatlas.fit("vae", "shapes", tmp_path / "c", epochs=2,
                               **{**opts, "lr_schedule": "constant"})
    assert not torch.equal(next(iter(constant.model.parameters())),
                           next(iter(straight.model.parameters())))
    with pytest.raises(OptionError, match="lr_schedule must be constant or cosine"):
        latentatlas.fit("vae", "shapes", tmp_path / "d", lr_schedule="step", **{
            k: v for k, v in opts.items() if k != "lr_schedule"})
