import json

import pytest
import torch
from safetensors.torch import load_file

import latentatlas
from latentatlas.models.text import (
    BOS,
    PAD,
    UNK,
    SentenceVAE,
    TextModelConfig,
    kl_weight,
    word_dropout,
)

from .conftest import cli


def test_kl_annealing_schedules():
    assert kl_weight(0, "linear", 100) == 0.0 and kl_weight(50, "linear", 100) == 0.5
    assert kl_weight(500, "linear", 100) == 1.0
    assert kl_weight(50, "logistic", 100) == pytest.approx(0.5)
    assert kl_weight(0, "logistic", 100) < 0.01 < 0.99 < kl_weight(100, "logistic", 100)
    assert kl_weight(0, "none", 100) == 1.0


def test_word_dropout_replaces_decoder_inputs_with_unk_and_spares_bos_and_pad():
    torch.manual_seed(0)
    inputs = torch.tensor([[BOS, 10, 11, 12, 13, 14, PAD, PAD]] * 500)
    dropped = word_dropout(inputs, 0.3)
    changed = dropped != inputs
    assert bool((dropped[changed] == UNK).all())  # the token ids change, not the embeddings
    assert not bool(changed[:, 0].any()) and not bool(changed[:, 6:].any())
    assert 0.25 < float(changed[:, 1:6].float().mean()) < 0.35
    assert torch.equal(word_dropout(inputs, 0.0), inputs)


def test_sentence_vae_shapes_loss_and_greedy_decoding():
    torch.manual_seed(0)
    model = SentenceVAE(TextModelConfig(vocab_size=30, hidden=32, embed_dim=16, latent_dim=4,
                                        max_len=6))
    ids = torch.tensor([[BOS, 5, 6, 7, 3, PAD], [BOS, 8, 3, PAD, PAD, PAD]])
    mu, logvar = model.encode(ids)
    assert mu.shape == (2, 4) and logvar.shape == (2, 4)
    terms = model.loss(ids)
    assert torch.allclose(terms["loss"], terms["recon"] + kl_weight(0, "logistic", 2000)
                          * terms["kl"], atol=1e-5)
    assert int(model.step) == 1  # annealing advances per training step
    model.eval()
    ev = model.loss(ids)
    assert torch.allclose(ev["loss"], ev["recon"] + ev["kl"]) and int(model.step) == 1
    out = model.decode(mu)
    assert out.shape == (2, 7) and out.dtype == torch.int64
    # the encoder ignores padding: extra <pad> columns give the same code
    padded = torch.cat([ids, torch.zeros(2, 3, dtype=torch.int64)], 1)
    assert torch.allclose(model.encode(padded)[0], mu, atol=1e-6)


def test_text_vae_trains_resumes_exactly_and_loads_with_its_vocab(tmp_path):
    args = ["train", "--model", "text-vae", "--data", "grammar", "--n-train", "600",
            "--n-test", "60", "--latent-dim", "4", "--hidden", "32", "--batch-size", "32",
            "--anneal-steps", "20", "--threads", "1", "--quiet"]
    assert cli(*args, "--epochs", "2", "--out", str(tmp_path / "a")).returncode == 0
    assert cli(*args, "--epochs", "1", "--out", str(tmp_path / "b")).returncode == 0
    p = cli(*args, "--epochs", "2", "--resume", "--out", str(tmp_path / "b"))
    assert p.returncode == 0, p.stderr
    wa = load_file(str(tmp_path / "a" / "model.safetensors"))
    wb = load_file(str(tmp_path / "b" / "model.safetensors"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    model = latentatlas.load(tmp_path / "a")
    assert len(model.vocab) == model.config.vocab_size and "paris" in model.vocab.stoi
    records = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert {"train_kl_weight", "test_recon", "test_kl"} <= set(records[-1])
    ev = json.loads(cli("eval", str(tmp_path / "a"), "--json").stdout)
    assert ev["n_test"] == 60 and ev["recon"] > 0


def test_reconstructing_a_split_reads_unknown_only_sentences_as_unk(tmp_path):
    """A test sentence whose every word is rare stays in the table (as <unk>s) instead of
    stopping the command; a sentence the user types still gets the error."""
    corpus = tmp_path / "c.txt"
    lines = ["the cat sat on the mat ."] * 40 + [f"zq{i}x wv{i}k" for i in range(40)]
    corpus.write_text("\n".join(lines) + "\n")
    run = tmp_path / "ae"
    p = cli("train", "--model", "text-ae", "--data", f"text:{corpus}", "--latent-dim", "2",
            "--hidden", "16", "--embed-dim", "8", "--epochs", "1", "--threads", "1", "--quiet",
            "--out", str(run))
    assert p.returncode == 0, p.stderr
    p = cli("reconstruct", str(run), "-n", "8", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["reconstructions"]
    assert len(rows) == 8 and any(r["input"].startswith("zq") for r in rows)
    bad = cli("reconstruct", str(run), "--text", "zq999x wv999k")
    assert bad.returncode == 2 and "unknown" in bad.stderr
