"""Many models at once: a sweep's runs are ordinary runs, and each matches its seed trained
alone (exactly for an autoencoder, which draws no noise; in distribution for a VAE)."""

import json
from pathlib import Path

import pytest
import torch

import latentatlas

from .conftest import assert_one_error, cli

SMALL = {"n_train": 512, "n_test": 128, "latent_dim": 3, "batch_size": 64}


def _flags(**options) -> list[str]:
    return [f"--{k.replace('_', '-')}={v}" for k, v in options.items()]


def test_an_autoencoder_in_a_sweep_is_the_one_trained_alone(tmp_path):
    summary = latentatlas.sweep("ae", "shapes", tmp_path / "sw", seeds=[3, 5],
                                hidden=[(32,)], epochs=2, **SMALL)
    assert [r["seed"] for r in summary["runs"]] == [3, 5]
    for row in summary["runs"]:
        alone = latentatlas.fit("ae", "shapes", tmp_path / f"alone-{row['seed']}",
                                seed=row["seed"], hidden=(32,), epochs=2, precision="fp32",
                                **SMALL)
        swept = latentatlas.load(row["run"])
        # the same init, batches and updates; the batched matmuls round differently in the
        # last bits, and Adam, which divides by the gradient's own size, can turn that into
        # a difference of up to about one step (lr 1e-3) where a gradient is near zero
        for (k, v), (_, w) in zip(alone.model.state_dict().items(),
                                  swept.state_dict().items(), strict=True):
            assert float((v - w).abs().max()) < 3e-3, k
        assert row["test_loss"] == pytest.approx(alone.metrics[-1]["test_loss"], rel=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="trains on a GPU")
def test_an_autoencoder_swept_on_the_gpu_ends_as_on_the_cpu(tmp_path):
    runs = {device: latentatlas.sweep("ae", "shapes", tmp_path / device, seeds=[3, 5],
                                      hidden=[(32,)], epochs=2, device=device,
                                      **SMALL)["runs"]
            for device in ("cpu", "cuda")}
    for on_cpu, on_gpu in zip(runs["cpu"], runs["cuda"], strict=True):
        # the same init, batches and updates; other kernels round otherwise in the last bits
        assert on_gpu["test_loss"] == pytest.approx(on_cpu["test_loss"], rel=1e-3)
        config = json.loads((Path(on_gpu["run"]) / "config.json").read_text())
        assert config["train"]["device"] == "cuda"


def test_sweep_runs_are_ordinary_loadable_and_resume_alone(tmp_path):
    out = tmp_path / "sw"
    summary = latentatlas.sweep("vae", "shapes", out, seeds=[0, 1, 2],
                                hidden=[(32,), (16, 8)], epochs=2, **SMALL)
    assert json.loads((out / "sweep.json").read_text()) == summary
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert names == [f"h{h}-s{s}" for h in ("16x8", "32") for s in (0, 1, 2)]
    losses = {}
    for row in summary["runs"]:
        run = latentatlas.Run.open(row["run"])
        assert run.config["train"]["seed"] == row["seed"] and len(run.metrics) == 2
        assert run.config["train"]["precision"] == "fp32"
        assert list(run.config["model"]["hidden"]) == row["hidden"]
        losses.setdefault(tuple(row["hidden"]), []).append(row["test_loss"])
    assert len(set(losses[(32,)])) == 3  # three seeds, three different models
    resumed = latentatlas.fit(out=out / "h32-s1", resume=True, epochs=3)
    assert [r["epoch"] for r in resumed.metrics] == [1, 2, 3]
    # a VAE matches its lone twin in distribution: the same seed alone lands among the sweep's
    alone = latentatlas.fit("vae", "shapes", tmp_path / "alone", seed=1, hidden=(32,),
                            epochs=2, precision="fp32", **SMALL)
    spread = max(losses[(32,)]) - min(losses[(32,)])
    assert abs(alone.metrics[-1]["test_loss"] - losses[(32,)][1]) < max(3 * spread, 1.0)


def test_sweep_from_the_cli(tmp_path):
    out = tmp_path / "cli"
    p = cli("sweep", "--data", "shapes", "--seeds", "0..1", "--hidden", "16,8x8",
            "--latent-dim", "2", "--epochs", "1", "--n-train", "256", "--n-test", "64",
            "--device", "cpu", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["runs"]
    config = json.loads((out / "h16-s0" / "config.json").read_text())
    assert config["train"]["device"] == "cpu"
    assert [(r["hidden"], r["seed"]) for r in rows] == [([16], 0), ([16], 1), ([8, 8], 0),
                                                         ([8, 8], 1)]
    assert cli("info", rows[3]["run"]).returncode == 0
    assert_one_error(cli("sweep", "--data", "shapes", "--seeds", "1,1", "--out",
                         str(tmp_path / "x")), "seeds")
    assert_one_error(cli("sweep", "--data", "shapes", "--seeds", "a", "--out",
                         str(tmp_path / "x")), "seeds")
    assert not (tmp_path / "x").exists()
    (out / "h16-s1" / "model.safetensors").unlink()  # a clash in the middle: nothing changes
    before = sorted(p.name for p in (out / "h16-s0").iterdir())
    assert_one_error(cli("sweep", "--data", "shapes", "--seeds", "0..1", "--hidden", "16",
                         "--epochs", "1", "--n-train", "256", "--n-test", "64", "--out",
                         str(out)), "already exists")
    assert sorted(p.name for p in (out / "h16-s0").iterdir()) == before


def test_every_epoch_counts_the_units_a_vae_uses_as_dims_does(tmp_path):
    """The per-epoch unit counts (the study of how many dimensions a model uses reads them)
    agree with `dims` on the saved model: the same test images, the same criteria."""
    from latentatlas.atlas.workflow import unit_table

    summary = latentatlas.sweep("vae", "shapes", tmp_path / "sw", seeds=[0, 1], hidden=[(32,)],
                                epochs=2, **{**SMALL, "latent_dim": 6})
    for row in summary["runs"]:
        table = unit_table(row["run"])
        assert row["test_active_units"] == table["active_units"]
        assert row["test_kl_units"] == sum(u["kl"] > 0.1 for u in table["units"])
        history = latentatlas.Run.open(row["run"]).metrics
        assert all(0 <= r["test_kl_units"] <= 6 for r in history)
    ae = latentatlas.sweep("ae", "shapes", tmp_path / "ae", seeds=[0], hidden=[(8,)], epochs=1,
                           **SMALL)
    assert "test_active_units" not in ae["runs"][0]  # a plain AE has no posterior to count


def test_a_sweep_resumes_together_where_it_stopped(tmp_path):
    straight = latentatlas.sweep("ae", "shapes", tmp_path / "a", seeds=[3, 5], hidden=[(32,)],
                                 epochs=2, **SMALL)
    latentatlas.sweep("ae", "shapes", tmp_path / "b", seeds=[3, 5], hidden=[(32,)], epochs=1,
                      **SMALL)
    p = cli("sweep", "--model", "ae", "--data", "shapes", "--seeds", "3,5", "--hidden", "32",
            "--epochs", "2", *_flags(**SMALL),
            "--resume", "--out", str(tmp_path / "b"), "--json")
    assert p.returncode == 0, p.stderr
    resumed = json.loads(p.stdout)
    for a, b in zip(straight["runs"], resumed["runs"], strict=True):
        assert b["epochs"] == 2
        assert a["test_loss"] == b["test_loss"]  # an autoencoder draws no noise: exact
        for (k, v), (_, w) in zip(latentatlas.load(a["run"]).state_dict().items(),
                                  latentatlas.load(b["run"]).state_dict().items(), strict=True):
            assert torch.equal(v, w), k
        history = [json.loads(x) for x in (Path(b["run"]) / "metrics.jsonl").read_text()
                   .splitlines()]
        assert [r["epoch"] for r in history] == [1, 2]
    # other settings, or a run that stands elsewhere: one error line, nothing changed
    assert_one_error(cli("sweep", "--model", "ae", "--data", "shapes", "--seeds", "3,5",
                         "--hidden", "16", "--epochs", "3", "--resume", "--out",
                         str(tmp_path / "b")), "no run to resume")
    assert_one_error(cli("sweep", "--model", "ae", "--data", "shapes", "--seeds", "3,5",
                         "--hidden", "32", "--epochs", "3",
                         *_flags(**{**SMALL, "latent_dim": 4}), "--resume", "--out",
                         str(tmp_path / "b")),
                     "another model")
    latentatlas.fit(resume=True, out=tmp_path / "b" / "h32-s3", epochs=3)
    before = (tmp_path / "b" / "h32-s5" / "metrics.jsonl").read_text()
    assert_one_error(cli("sweep", "--model", "ae", "--data", "shapes", "--seeds", "3,5",
                         "--hidden", "32", "--epochs", "4",
                         *_flags(**SMALL),
                         "--resume", "--out", str(tmp_path / "b")), "h32-s3 epoch 3")
    assert (tmp_path / "b" / "h32-s5" / "metrics.jsonl").read_text() == before
