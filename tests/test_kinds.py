"""The registry of kinds, the run format, ``fit`` and ``Run``, and how the CLI names options."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import torch

import latentatlas
from latentatlas import Run, fit
from latentatlas.errors import OptionError, UserError
from latentatlas.models import kinds as registry
from latentatlas.models.kinds import KINDS, Kind, upgrade_format0

from .conftest import cli

FIXTURES = Path(__file__).parent / "fixtures" / "format0"
TINY = dict(n_train=300, n_test=64, hidden=(16,), latent_dim=2, epochs=1)


def test_each_kind_stores_its_own_name(tmp_path):
    run = fit("vae", "shapes", tmp_path / "v", **TINY)
    config = json.loads((tmp_path / "v" / "config.json").read_text())
    assert config["format"] == 1 and config["kind"] == "vae"
    assert "kind" not in config["model"] and config["model"]["variational"] is True
    assert run.kind is KINDS["vae"] and run.config["train"]["precision"] in ("fp32", "bf16")
    ae = fit("text-ae", "grammar", tmp_path / "t", n_train=300, hidden=(16,), embed_dim=8,
             latent_dim=2, max_len=16, epochs=1)
    assert json.loads((tmp_path / "t" / "config.json").read_text())["kind"] == "text-ae"
    assert ae.model.is_variational is False and ae.kind.text and ae.kind.latent


@pytest.mark.parametrize("name,kind,variational", [("vae", "vae", True),
                                                   ("text-ae", "text-ae", False),
                                                   ("attn-lm", "attn-lm", None)])
def test_runs_written_before_format_1_still_load(name, kind, variational):
    """The fixtures were written by the code before the registry (kinds image-vae, text-vae
    with variational false, lm with a window); they load as today's kinds, same outputs."""
    expected = json.loads((FIXTURES / "expected.json").read_text())
    run = Run.open(FIXTURES / name)
    assert run.kind.name == kind and run.config["format"] == 1
    assert run.config["model"].get("variational") is variational
    model = run.model
    with torch.no_grad():
        if name == "vae":
            got = float(model.decode(torch.tensor([[0.5, -0.5]])).sum())
            assert got == pytest.approx(expected["vae_decode_sum"], abs=1e-3)
        elif name == "text-ae":
            from latentatlas.atlas.sentences import encode_texts

            mu = encode_texts(model, ["she danced in paris and felt elated ."])[0]
            assert mu.tolist() == pytest.approx(expected["text_ae_mu"], abs=1e-4)
        else:
            ids = model.vocab.batch(["she danced in paris and felt elated ."],
                                    model.config.max_len)
            assert float(model.loss(ids)["loss"]) == pytest.approx(expected["attn_lm_loss"],
                                                                   abs=1e-3)
    assert json.loads((FIXTURES / name / "config.json").read_text()).get("format") is None


def test_old_runs_work_from_the_cli(tmp_path):
    old = tmp_path / "vae"
    shutil.copytree(FIXTURES / "vae", old)
    p = cli("info", str(old), "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["kind"] == "vae"
    assert cli("dims", str(old)).returncode == 0


def test_upgrade_names_every_old_kind():
    assert upgrade_format0("image-vae", {"kind": "ae", "arch": "mlp"}) == (
        "ae", {"arch": "mlp", "variational": False})
    assert upgrade_format0("text-vae", {"variational": True})[0] == "text-vae"
    assert upgrade_format0("lm", {"window": 0})[0] == "lm"
    assert upgrade_format0("lm", {"window": 8})[0] == "attn-lm"


def test_a_newer_format_is_refused_by_name(tmp_path):
    run = tmp_path / "new"
    shutil.copytree(FIXTURES / "vae", run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "format": 7}))
    with pytest.raises(UserError, match="run format 7"):
        Run.open(run)
    p = cli("info", str(run))
    assert p.returncode == 2 and "format 7" in p.stderr and len(p.stderr.splitlines()) == 1
    (run / "config.json").write_text(json.dumps({**config, "kind": ["vae"]}))
    with pytest.raises(UserError, match="'kind' must be a string"):
        Run.open(run)


# ---- a toy kind, added with one registry entry ------------------------------------------

@dataclass
class ToyConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


class ToyAE(torch.nn.Module):
    """A linear autoencoder: the smallest model the atlas can use."""

    is_variational = False

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        c, h, w = config.image_shape
        self.enc = torch.nn.Linear(c * h * w, config.latent_dim)
        self.dec = torch.nn.Linear(config.latent_dim, c * h * w)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x):
        return self.enc(x.flatten(1)), None

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).view(-1, *self.config.image_shape)

    def forward(self, x):
        loss = torch.nn.functional.binary_cross_entropy(self.decode(self.encode(x)[0]), x,
                                                        reduction="sum") / len(x)
        return {"loss": loss, "recon": loss, "kl": loss * 0}


@pytest.fixture
def toy_kind():
    kind = registry.register(Kind(
        "toy-ae", ToyAE, ToyConfig, "a linear autoencoder",
        configure=lambda o, data, vocab: ToyConfig(tuple(data.image_shape),
                                                    o.latent_dim).to_dict(),
        batch=lambda config, vocab, data, split: (
            data.train_x if split == "train" else data.test_x,),
        describe=lambda m: f"toy-ae latent {m['latent_dim']}",
        report=lambda r: f"epoch {r['epoch']} test {r['test_loss']:.2f}",
        latent=True, generates=True))
    yield kind
    del KINDS["toy-ae"]


def test_a_new_kind_is_one_registry_entry(toy_kind, tmp_path):
    lines: list[str] = []
    run = fit("toy-ae", "shapes", tmp_path / "toy", n_train=256, n_test=64, latent_dim=3,
              epochs=2, log=lines.append)
    assert lines[1].startswith("model: toy-ae latent 3") and lines[-1].startswith("epoch 2")
    assert run.kind is toy_kind and len(run.metrics) == 2
    assert run.codes("test").mu.shape == (64, 3)
    reopened = Run.open(tmp_path / "toy")
    assert isinstance(reopened.model, ToyAE)
    # the CLI asks the kind's flags: the atlas commands work, a classifier command refuses
    assert cli("dims", str(run.path), "--json").returncode == 0
    assert cli("sample", str(run.path), "-n", "4", "--out", str(tmp_path / "s.png")
               ).returncode == 0
    p = cli("explain", str(run.path), "--index", "0")
    assert p.returncode == 2 and "toy-ae" in p.stderr and "not a classifier" in p.stderr


# ---- fit and Run ----------------------------------------------------------------------------

def test_fit_and_run_api(tmp_path):
    run = fit("vae", "shapes", tmp_path / "r", **TINY)
    assert len(run.history) == 1 and run.metrics == run.history
    assert run.data("test").shape == (64, 1, 28, 28)
    codes = run.codes("test", save=False)
    assert codes.mu.shape == (64, 2) and not (run.path / "atlas").exists()
    assert run.codes("train").mu.shape == (300, 2) and (run.path / "atlas").is_dir()
    assert run.concepts == {}
    ev = run.evaluate(iw=5)
    assert ev["n_test"] == 64 and ev["iw_nll_k5"] < ev["loss"] + 5
    info = run.info()
    assert info["kind"] == "vae" and info["epochs"] == 1 and info["parameters"] > 0
    more = fit(None, None, tmp_path / "r", resume=True, epochs=2)
    assert len(more.metrics) == 2 and more.config["model"] == run.config["model"]


def test_fit_refuses_what_does_not_fit(tmp_path):
    with pytest.raises(UserError, match="unknown option latent"):
        fit("vae", "shapes", tmp_path / "a", latent=3)
    with pytest.raises(UserError, match="unknown model kind 'diffusion'"):
        fit("diffusion", "shapes", tmp_path / "a")
    with pytest.raises(OptionError, match="condition is for gan, lm, attn-lm models, not vae"):
        fit("vae", "shapes", tmp_path / "a", condition="energy")
    with pytest.raises(OptionError, match="^lr must be a positive number"):
        fit("vae", "shapes", tmp_path / "a", lr=-1.0, **TINY)
    with pytest.raises(OptionError, match="^data_seed must be 0 or more, got -1"):
        fit("vae", "shapes", tmp_path / "a", data_seed=-1)
    p = cli("train", "--data", "shapes", "--data-seed", "-1", "--out", str(tmp_path / "a"))
    assert p.returncode == 2 and p.stderr == "error: --data-seed must be 0 or more, got -1\n"
    assert not (tmp_path / "a").exists()
    run = fit("vae", "shapes", tmp_path / "b", **TINY)
    with pytest.raises(OptionError, match="holds a vae"):
        fit("lm", None, run.path, resume=True)


def test_library_errors_name_values_and_the_cli_names_flags(tmp_path):
    """One message, two spellings: the Python name in the API, the flag on the command line."""
    with pytest.raises(OptionError) as e:
        fit("vae", "shapes", tmp_path / "a", lr=-1.0, **TINY)
    assert str(e.value).startswith("lr must") and "--" not in str(e.value)
    p = cli("train", "--data", "shapes", "--lr", "-1", "--out", str(tmp_path / "a"))
    assert p.returncode == 2 and p.stderr.startswith("error: --lr must be a positive number")
    run = fit("vae", "shapes", tmp_path / "r", **TINY)
    p = cli("concept", str(run.path), "x", "--from", "groups")
    assert p.returncode == 2 and "--from groups needs a positive group --pos" in p.stderr
    p = cli("concept", str(run.path), "x", "--from", "property")
    assert "--from property needs a --property" in p.stderr
    p = cli("train", "--data", "shapes", "--model", "vae", "--condition", "energy", "--out",
            str(tmp_path / "c"))
    assert "error: --condition is for gan, lm, attn-lm models" in p.stderr


def test_the_package_exports_fit_and_run():
    assert latentatlas.fit is fit and latentatlas.Run is Run
    with pytest.raises(AttributeError):
        latentatlas.nothing  # noqa: B018
