"""`train --sample-every N`: samples every N epochs, printed and logged, without changing what
is trained."""

import pytest

import latentatlas
from latentatlas.errors import OptionError

from .conftest import assert_one_error, cli

IMAGES = {"n_train": 256, "n_test": 64, "latent_dim": 2, "hidden": (32,), "precision": "fp32"}


def test_image_samples_every_n_epochs_leave_training_as_it_was(tmp_path):
    plain = latentatlas.fit("vae", "shapes", tmp_path / "plain", epochs=3, **IMAGES)
    sampled = latentatlas.fit("vae", "shapes", tmp_path / "s", epochs=3, sample_every=2,
                              **IMAGES)
    # the sampler draws under a forked RNG: the same noise, batches and weights as without
    assert [r["test_loss"] for r in sampled.metrics] == [r["test_loss"] for r in plain.metrics]
    assert [r.get("samples") for r in sampled.metrics] == [None, "samples/epoch-002.png", None]
    assert (tmp_path / "s" / "samples" / "epoch-002.png").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "s" / "samples").iterdir()) == ["epoch-002.png"]
    resumed = latentatlas.fit(out=tmp_path / "s", resume=True, epochs=4)
    assert resumed.metrics[-1]["samples"] == "samples/epoch-004.png"
    again = latentatlas.fit(out=tmp_path / "plain", resume=True, epochs=4, sample_every=1)
    assert again.metrics[-1]["samples"] == "samples/epoch-004.png"  # set on resume too


def test_language_model_samples_are_logged_texts_and_others_are_refused(tmp_path):
    run = latentatlas.fit("lm", "grammar", tmp_path / "lm", epochs=2, n_train=256, n_test=64,
                          sample_every=1)
    for record in run.metrics:
        texts = record["samples"]
        assert len(texts) == 4 and all(isinstance(t, str) and t for t in texts)
    with pytest.raises(OptionError, match="sample_every.*not text-classifier"):
        latentatlas.fit("text-classifier", "grammar", tmp_path / "tc", epochs=1, n_train=64,
                        n_test=32, sample_every=1)
    assert not (tmp_path / "tc").exists()


def test_sample_every_from_the_cli(tmp_path):
    p = cli("train", "--model", "lm", "--data", "grammar", "--epochs", "2", "--n-train", "256",
            "--n-test", "64", "--sample-every", "2", "--out", str(tmp_path / "lm"))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("  sample: ") == 4
    assert_one_error(cli("train", "--model", "lm", "--data", "grammar", "--sample-every", "0",
                         "--out", str(tmp_path / "x")), "sample-every")
    assert not (tmp_path / "x").exists()
