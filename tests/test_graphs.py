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


def _fit_gan(out, graph: str, device: str = "cpu", **config):
    data = load_dataset("shapes", n_train=300, n_test=64)
    torch.manual_seed(0)
    model = GAN(GANConfig(**{"arch": "mlp", "z_dim": 4, "hidden": (16, 32), **config}))
    history = train(model, data.train_x, data.test_x, out,
                    TrainConfig(epochs=2, batch_size=64, lr=2e-4, cuda_graph=graph,
                                device=device, precision="fp32", quiet=True),
                    {"kind": "gan", "model": model.config.to_dict(), "data": DATA})
    return model, history


@pytest.mark.parametrize("config", [{}, {"arch": "conv", "width": 8, "hidden": ()},
                                    {"loss": "hinge", "encoder": False}])
def test_a_gan_graph_shaped_trains_exactly_as_its_ordinary_steps(tmp_path, config):
    graphed, h_graph = _fit_gan(tmp_path / "on", "on", **config)
    plain, h_plain = _fit_gan(tmp_path / "off", "off", **config)
    assert json.loads((tmp_path / "on" / "config.json").read_text())["train"]["cuda_graph"] \
        == "on"
    _same_weights(graphed, plain)
    strip = ("seconds", "items_per_s")
    assert [{k: v for k, v in r.items() if k not in strip} for r in h_graph] == \
           [{k: v for k, v in r.items() if k not in strip} for r in h_plain]


def test_on_refuses_a_model_whose_step_is_not_graph_safe(tmp_path):
    from latentatlas.models.text import SentenceVAE, TextModelConfig

    model = SentenceVAE(TextModelConfig(vocab_size=20, max_len=8))
    ids = torch.randint(4, 20, (32, 8))
    with pytest.raises(OptionError, match="cuda_graph.*cuda_graph_safe"):
        train(model, ids, ids[:8], tmp_path / "t",
              TrainConfig(epochs=1, cuda_graph="on", device="cpu", quiet=True),
              {"kind": "text-vae", "model": {}, "data": DATA})
    assert not (tmp_path / "t").exists()


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="captures a CUDA graph")
def test_captured_gan_step_trains_like_the_launched_one_on_cuda(tmp_path):
    graphed, h_graph = _fit_gan(tmp_path / "on", "on", device="cuda", arch="conv", width=8,
                                hidden=())
    plain, h_plain = _fit_gan(tmp_path / "off", "off", device="cuda", arch="conv", width=8,
                              hidden=())
    config = json.loads((tmp_path / "on" / "config.json").read_text())
    assert config["train"]["cuda_graph"] == "on"
    for a, b in zip(h_graph, h_plain, strict=True):  # same losses, up to the noise draws
        for k in ("train_critic", "train_generator", "train_encoder"):
            assert abs(a[k] - b[k]) < 0.1 * abs(b[k]) + 0.05, k
    for k, v in graphed.state_dict().items():
        assert torch.isfinite(v.float()).all(), k
