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
