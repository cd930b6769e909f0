import os
import pickle

import pytest
import torch

import latentatlas
from latentatlas.errors import UserError
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.models import rundir as runfile


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    cfg = ImageModelConfig(hidden=(32,), latent_dim=3)
    model = ImageVAE(cfg)
    runfile.write_config(tmp_path, {"kind": "vae", "model": cfg.to_dict()})
    runfile.save_weights(model, tmp_path / runfile.WEIGHTS)
    return tmp_path, model


def test_load_returns_the_same_model_in_eval_mode(saved):
    path, model = saved
    loaded = latentatlas.load(path)
    assert not loaded.training
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(loaded.encode(x)[0], model.encode(x)[0])


def test_truncated_weights_are_a_clear_error(saved):
    path, _ = saved
    w = path / runfile.WEIGHTS
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(UserError, match="model.safetensors.*truncated or corrupted"):
        latentatlas.load(path)


def test_a_pickle_is_never_executed(saved, tmp_path):
    path, _ = saved
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (path / runfile.WEIGHTS).write_bytes(pickle.dumps(Evil()))
    with pytest.raises(UserError):
        latentatlas.load(path)
    assert not marker.exists()


def test_mismatched_weights(saved):
    path, _ = saved
    other = ImageVAE(ImageModelConfig(hidden=(16,), latent_dim=3))
    runfile.save_weights(other, path / runfile.WEIGHTS)
    with pytest.raises(UserError, match="does not match"):
        latentatlas.load(path)


def test_not_a_run(tmp_path):
    with pytest.raises(UserError, match="not a run directory"):
        latentatlas.load(tmp_path)


def test_run_files_get_the_usual_permissions(saved):
    import os
    import stat

    path, _ = saved
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.json", "model.safetensors"):
        mode = stat.S_IMODE((path / name).stat().st_mode)
        assert mode == 0o666 & ~umask, oct(mode)


def test_a_write_cleans_the_temporary_files_of_killed_writers(tmp_path):
    import subprocess
    import sys

    from latentatlas.fileio import write_text

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".metrics.jsonl.{dead.stdout.strip()}.abc123.tmp"
    stale.write_text("half a write")
    live = tmp_path / f".metrics.jsonl.{os.getppid()}.def456.tmp"  # a writer still running
    live.write_text("in flight")
    write_text(tmp_path / "metrics.jsonl", "{}\n")
    assert not stale.exists() and live.exists()
    assert (tmp_path / "metrics.jsonl").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "metrics.jsonl"]


def test_a_damaged_metrics_line_is_named(tmp_path):
    from latentatlas.models.rundir import read_metrics

    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2, "loss"\n')
    with pytest.raises(UserError, match="metrics.jsonl, line 2, is not JSON"):
        read_metrics(tmp_path)


def test_a_loaded_model_decodes_to_plain_tensors_and_refuses_silent_training(tiny_run,
                                                                             tmp_path):
    from latentatlas.train import TrainConfig, train

    model = latentatlas.load(tiny_run)
    x = model.decode(torch.zeros(2, 3))
    assert not x.requires_grad and x.numpy().shape[0] == 2  # .numpy() works
    z = torch.zeros(1, 3, requires_grad=True)  # gradients with respect to inputs still flow
    model.decode(z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    data = torch.rand(8, *x.shape[1:])
    with pytest.raises(UserError, match="requires_grad_"):
        train(model, data, data, tmp_path / "r", TrainConfig(epochs=1, quiet=True), {})


def test_prepare_gives_what_fit_trains(tmp_path):
    from latentatlas.runs import prepare
    from latentatlas.train import train

    options = {"n_train": 256, "n_test": 64, "hidden": (16,), "latent_dim": 2, "epochs": 1,
               "seed": 3, "precision": "fp32"}
    model, train_data, test_data, cfg, run_config = prepare("vae", "shapes", **options)
    assert run_config["kind"] == "vae" and cfg.seed == 3 and cfg.epochs == 1
    train(model, train_data, test_data, tmp_path / "own", cfg, run_config)
    fitted = latentatlas.fit("vae", "shapes", tmp_path / "fit", **options)
    ours = latentatlas.load(tmp_path / "own")
    for (k, v), (_, w) in zip(ours.state_dict().items(), fitted.model.state_dict().items(),
                              strict=True):
        assert torch.equal(v, w), k
