"""--precision auto: chosen by timing the model's own steps, cached, recorded, and invisible to
the training it chooses for."""

import json

import pytest
import torch

import latentatlas
from latentatlas.models.image import ImageModelConfig, ImageVAE
from latentatlas.train.precision import auto_precision, choose, measure
from latentatlas.train.trainer import make_optimizers

CPU = torch.device("cpu")


@pytest.mark.parametrize("t32,t16,gap,expected", [
    (10.0, 6.0, 0.001, "bf16"),  # faster and agreeing
    (10.0, 9.8, 0.001, "fp32"),  # faster by less than the margin
    (10.0, 14.0, 0.001, "fp32"),  # slower (the Xeon without AMX)
    (10.0, 6.0, 0.05, "fp32"),  # faster but its loss disagrees
    (10.0, 6.0, float("nan"), "fp32"),  # a loss that is not a number
])
def test_choice_needs_speed_and_agreement(t32, t16, gap, expected):
    precision, reason = choose({"fp32_step_ms": t32, "bf16_step_ms": t16, "loss_gap": gap})
    assert precision == expected and reason
    failed = choose({"fp32_step_ms": t32, "bf16_step_ms": None, "loss_gap": None,
                     "bf16_error": "could not create a primitive"})
    assert failed == ("fp32", "bf16 does not run here: could not create a primitive")


def _vae():
    torch.manual_seed(0)
    return ImageVAE(ImageModelConfig(hidden=(64,), latent_dim=4))


def test_measuring_leaves_the_model_and_the_rng_as_they_were():
    model = _vae()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batch = (torch.rand(32, 1, 28, 28),)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    record = measure(model, batch, CPU, lambda m: make_optimizers(m, 1e-3), steps=2, rounds=2)
    assert torch.equal(torch.rand(3), expected)  # the caller's random stream is untouched
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert record["fp32_step_ms"] > 0 and record["bf16_step_ms"] > 0
    # the same seeded loss in both precisions: bf16 rounds, it does not change the model
    assert record["loss_gap"] < 0.02 and record["fp32_loss"] > 0


def test_the_choice_is_cached_per_model_shape(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTATLAS_CACHE", str(tmp_path))
    batch = (torch.rand(16, 1, 28, 28),)
    opts = lambda m: make_optimizers(m, 1e-3)  # noqa: E731
    first = auto_precision(_vae(), batch, CPU, opts)
    again = auto_precision(_vae(), batch, CPU, opts)
    assert not first["cached"] and again["cached"]
    assert {k: v for k, v in again.items() if k != "cached"} == \
        {k: v for k, v in first.items() if k != "cached"}
    wider = auto_precision(ImageVAE(ImageModelConfig(hidden=(96,), latent_dim=4)), batch, CPU,
                           opts)
    assert not wider["cached"]
    assert first["precision"] == choose(first)[0]
    assert len(list((tmp_path / "precision").glob("*.json"))) == 2


def test_auto_is_recorded_and_trains_as_the_precision_it_chose(tmp_path):
    opts = {"n_train": 256, "n_test": 64, "hidden": (32,), "latent_dim": 3, "epochs": 1,
            "batch_size": 64}
    auto = latentatlas.fit("vae", "shapes", tmp_path / "auto", precision="auto", **opts)
    train = json.loads((tmp_path / "auto" / "config.json").read_text())["train"]
    measured = train["precision_measured"]
    assert train["precision"] in ("fp32", "bf16")
    assert train["precision"] == choose(measured)[0] and measured["reason"]
    assert measured["device"] and measured["fp32_step_ms"] > 0
    same = latentatlas.fit("vae", "shapes", tmp_path / "fixed", precision=train["precision"],
                           **opts)
    assert "precision_measured" not in same.config["train"]
    for (k, v), (_, w) in zip(auto.model.state_dict().items(), same.model.state_dict().items(),
                              strict=True):
        assert torch.equal(v, w), k  # measuring did not move the weights or the RNG
    resumed = latentatlas.fit(out=tmp_path / "auto", resume=True, epochs=2)
    assert resumed.config["train"]["precision"] == train["precision"]
    assert resumed.config["train"]["precision_measured"] == measured  # kept, not measured again
