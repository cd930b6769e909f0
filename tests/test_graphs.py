"""The graph-shaped training step (train.graphs): on CPU the same step runs uncaptured, and
must train exactly as the ordinary one; on CUDA (the lent GPU machine) it is captured."""

import json

import pytest
import torch

from latentatlas.data import load_dataset
from latentatlas.errors import OptionError
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.models.gan import GAN, GANConfig
from latentatlas.train import TrainConfig, train

from .conftest import assert_one_error, cli_process

DATA = {"name": "shapes", "n_train": 600, "n_test": 100}


def _fit(out, graph: str, epochs: int = 2, resume: bool = False, device: str = "cpu",
         precision: str = "fp32", schedule: str = "cosine", **model):
    data = load_dataset("shapes", n_train=600, n_test=100)
    torch.manual_seed(0)
    cfg = ImageModelConfig(**{"hidden": (64,), "latent_dim": 4, **model})
    net = ImageVAE(cfg)
    # 600 items in batches of 64: nine graphed steps and a ragged tenth, every epoch
    history = train(net, data.train_x, data.test_x, out,
                    TrainConfig(epochs=epochs, batch_size=64, lr_schedule=schedule,
                                cuda_graph=graph, device=device, precision=precision,
                                quiet=True),
                    {"kind": "vae", "model": cfg.to_dict(), "data": DATA}, resume=resume)
    return net, history


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(v, w), k


@pytest.mark.parametrize("model", [{}, {"arch": "conv", "hidden": (8, 16, 32)},
                                   {"variational": False}])
def test_the_graph_shaped_step_trains_exactly_as_the_ordinary_one(tmp_path, model):
    graphed, h_graph = _fit(tmp_path / "on", "on", **model)
    plain, h_plain = _fit(tmp_path / "off", "off", **model)
    _same_weights(graphed, plain)
    for a, b in zip(h_graph, h_plain, strict=True):
        assert {k: v for k, v in a.items() if k not in ("seconds", "items_per_s")} == \
               {k: v for k, v in b.items() if k not in ("seconds", "items_per_s")}
    assert h_graph[1]["test_loss"] < h_graph[0]["test_loss"]
    config = json.loads((tmp_path / "on" / "config.json").read_text())
    assert config["train"]["cuda_graph"] == "on"
    assert json.loads((tmp_path / "off" / "config.json").read_text())["train"]["cuda_graph"] \
        == "off"


def test_graph_shaped_run_resumes_exactly(tmp_path):
    # (a cosine schedule is stretched over the new total on resume: constant here)
    straight, _ = _fit(tmp_path / "a", "on", epochs=2, schedule="constant")
    _fit(tmp_path / "b", "on", epochs=1, schedule="constant")
    resumed, _ = _fit(tmp_path / "b", "on", epochs=2, resume=True, schedule="constant")
    _same_weights(straight, resumed)


def test_auto_uses_no_graph_on_cpu(tmp_path):
    _fit(tmp_path / "r", "auto", epochs=1)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["train"]["cuda_graph"] == "off"


def test_on_refuses_a_model_whose_step_is_not_graph_safe(tmp_path):
    data = load_dataset("shapes", n_train=64, n_test=16)
    model = GAN(GANConfig(arch="mlp", image_shape=(1, 28, 28), z_dim=4, hidden=(8, 16)))
    with pytest.raises(OptionError, match="cuda_graph.*several players"):
        train(model, data.train_x, data.test_x, tmp_path / "g",
              TrainConfig(epochs=1, cuda_graph="on", device="cpu", quiet=True),
              {"kind": "gan", "model": {}, "data": DATA})
    assert not (tmp_path / "g").exists()


def test_cli_on_for_a_text_model_is_one_error_line(tmp_path):
    proc = cli_process("train", "--model", "text-vae", "--data", "negation", "--epochs", "1",
                       "--cuda-graph", "on", "--out", str(tmp_path / "t"))
    assert_one_error(proc, "cuda_graph", "cuda_graph_safe")
    assert not (tmp_path / "t").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="captures a CUDA graph")
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_captured_step_trains_like_the_launched_one_on_cuda(tmp_path, precision):
    graphed, h_graph = _fit(tmp_path / "on", "on", device="cuda", precision=precision)
    plain, h_plain = _fit(tmp_path / "off", "off", device="cuda", precision=precision)
    # same steps; only the noise draws may come from other offsets of the RNG stream
    for a, b in zip(h_graph, h_plain, strict=True):
        assert abs(a["test_loss"] - b["test_loss"]) < 0.02 * b["test_loss"]
        assert abs(a["train_loss"] - b["train_loss"]) < 0.02 * b["train_loss"]
    for (k, v), (_, w) in zip(graphed.state_dict().items(), plain.state_dict().items(),
                              strict=True):
        assert torch.isfinite(v).all() and not torch.equal(v, torch.zeros_like(v)), k
        assert (v - w).abs().max() < 0.1, k
