"""Sentence codes that carry the sentence: the adaptive softmax, the rate target, and the
fidelity measures (exact reconstructions, token accuracy, BLEU, by length, the best ones)."""

import json

import pytest
import torch

import latentatlas
from latentatlas.atlas.fidelity import (
    best_reconstructed,
    by_length,
    corpus_bleu,
    sentence_scores,
    summarise,
)
from latentatlas.errors import OptionError
from latentatlas.models.softmax import (
    AdaptiveSoftmax,
    FullSoftmax,
    resolve_softmax,
)
from latentatlas.models.text import BOS, PAD, SentenceVAE, TextModelConfig

from .conftest import assert_one_error, cli

SENTENCES = ["the cat sat on the mat .", "a dog ran far away today .", "birds sing .",
             "my old friend came home late last night ."]


@pytest.fixture(scope="module")
def memorised(tmp_path_factory):
    """A plain autoencoder that has learned four sentences by heart (its test split holds
    the same four), so every fidelity measure has a known right answer."""
    root = tmp_path_factory.mktemp("codes")
    corpus = root / "c.txt"
    corpus.write_text("\n".join(SENTENCES * 60) + "\n")
    run = root / "ae"
    p = cli("train", "--model", "text-ae", "--data", f"text:{corpus}", "--latent-dim", "4",
            "--hidden", "48", "--embed-dim", "16", "--word-dropout", "0", "--epochs", "6",
            "--batch-size", "16", "--lr", "0.01", "--threads", "1", "--quiet", "--out",
            str(run))
    assert p.returncode == 0, p.stderr
    return run


def test_both_output_layers_score_tokens_as_their_distribution_does():
    torch.manual_seed(0)
    states, targets = torch.randn(50, 32), torch.randint(0, 3000, (50,))
    for layer in (FullSoftmax(32, 3000), AdaptiveSoftmax(32, 3000)):
        logp = torch.log_softmax(layer(states), -1)
        assert logp.shape == (50, 3000)
        expected = -logp[torch.arange(50), targets]
        assert torch.allclose(layer.token_nll(states, targets), expected, atol=1e-4)
    # the adaptive layer's scores are already normalised log-probabilities
    adaptive = AdaptiveSoftmax(32, 3000)
    assert torch.allclose(adaptive(states).logsumexp(-1), torch.zeros(50), atol=1e-4)


def test_greedy_picks_are_the_argmax_of_the_whole_distribution():
    torch.manual_seed(0)
    states = torch.randn(400, 32) * 3
    adaptive = AdaptiveSoftmax(32, 3000)
    with torch.no_grad():  # make the rarer clusters win the head for some rows, not all
        adaptive.layer.head.bias[1000:] += 9.0
    for layer in (FullSoftmax(32, 3000), adaptive):
        for banned in ([0, 2], [0, 1, 2]):
            scores = layer(states).detach()
            scores[:, banned] = float("-inf")
            assert torch.equal(layer.greedy(states, banned), scores.argmax(-1))
    picks = adaptive.greedy(states, [0, 2])
    assert 0 < int((picks >= 1000).sum()) < 400  # head words and rarer words both won


def test_greedy_decoding_through_the_output_layer_matches_decoding_by_scores():
    torch.manual_seed(0)
    model = SentenceVAE(TextModelConfig(vocab_size=1500, hidden=32, embed_dim=16,
                                        latent_dim=4, max_len=8, softmax="adaptive"))
    with torch.no_grad():
        model.out.layer.head.bias[1000:] += 3.0
    z = torch.randn(64, 4) * 2
    from latentatlas.models.decoding import generate
    for ban_unk in (False, True):
        by_scores = generate(model.decode_step, model.decode_start(z), 9, ban_unk=ban_unk)
        assert torch.equal(model.decode(z, ban_unk=ban_unk), by_scores)


def test_softmax_choice_follows_the_vocabulary_size():
    assert resolve_softmax("auto", 4999) == "full"
    assert resolve_softmax("auto", 5000) == "adaptive"
    assert resolve_softmax("full", 20000) == "full"
    with pytest.raises(OptionError, match="adaptive needs more than"):
        resolve_softmax("adaptive", 60)


def test_an_adaptive_sentence_vae_trains_saves_and_reloads(tmp_path):
    corpus = tmp_path / "big.txt"  # 1,500 words seen twice each: a vocabulary to split
    words = [f"w{i}" for i in range(1500)]
    lines = [" ".join(words[(7 * k + j) % 1500] for j in range(6)) for k in range(500)]
    corpus.write_text("\n".join(lines * 2) + "\n")
    run = tmp_path / "vae"
    p = cli("train", "--model", "text-vae", "--data", f"text:{corpus}", "--softmax",
            "adaptive", "--latent-dim", "4", "--hidden", "32", "--embed-dim", "16",
            "--epochs", "2", "--threads", "1", "--quiet", "--out", str(run), "--json")
    assert p.returncode == 0, p.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["softmax"] == "adaptive"
    history = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    model = latentatlas.load(run)
    assert isinstance(model.out, AdaptiveSoftmax)
    assert len(model.decode(torch.zeros(3, 4))) == 3
    rec = cli("reconstruct", str(run), "-n", "2", "--json")
    assert rec.returncode == 0, rec.stderr


def test_kl_target_trains_on_the_distance_to_the_rate():
    torch.manual_seed(0)
    model = SentenceVAE(TextModelConfig(vocab_size=30, hidden=32, embed_dim=16, latent_dim=4,
                                        max_len=6, kl_target=3.0))
    ids = torch.tensor([[BOS, 5, 6, 7, 3, PAD], [BOS, 8, 3, PAD, PAD, PAD]])
    terms = model.loss(ids)
    assert torch.allclose(terms["loss"], terms["recon"] + (terms["kl"] - 3.0).abs(),
                          atol=1e-5)
    assert float(terms["kl_weight"]) == 1.0  # no annealing with a target
    model.eval()
    ev = model.loss(ids)  # evaluation reports the true bound
    assert torch.allclose(ev["loss"], ev["recon"] + ev["kl"])
    for bad, message in (({"kl_target": -1.0}, "above 0"),
                         ({"kl_target": 2.0, "free_bits": 0.5}, "not both"),
                         ({"kl_target": 2.0, "variational": False}, "needs a text-vae")):
        with pytest.raises(OptionError, match=message):
            TextModelConfig(vocab_size=30, **bad).validate()


def test_a_higher_rate_target_gives_codes_that_carry_more(tmp_path):
    args = ["train", "--model", "text-vae", "--data", "grammar", "--n-train", "1200",
            "--n-test", "200", "--latent-dim", "8", "--hidden", "48", "--embed-dim", "16",
            "--epochs", "3", "--threads", "1", "--quiet"]
    kl = {}
    for target in (1, 6):
        out = tmp_path / f"t{target}"
        p = cli(*args, "--kl-target", str(target), "--out", str(out))
        assert p.returncode == 0, p.stderr
        kl[target] = latentatlas.Run.open(out).evaluate()["kl"]
    assert abs(kl[1] - 1) < 1.0 and abs(kl[6] - 6) < 2.0, kl


def test_the_rate_target_is_refused_where_it_means_nothing(tmp_path):
    common = ["train", "--data", "grammar", "--n-train", "100", "--epochs", "1", "--quiet"]
    for model, words in (("text-ae", ("--kl-target", "text-vae")),
                         ("lm", ("--kl-target", "text-vae"))):
        p = cli(*common, "--model", model, "--kl-target", "5", "--out", str(tmp_path / model))
        assert_one_error(p, *words)
        assert not (tmp_path / model).exists()
    p = cli(*common, "--model", "text-vae", "--kl-target", "5", "--free-bits", "1",
            "--out", str(tmp_path / "both"))
    assert_one_error(p, "not both")
    for flag in (["--softmax", "adaptive"], ["--bidirectional"]):
        p = cli("train", "--data", "shapes", "--n-train", "64", "--epochs", "1", *flag,
                "--out", str(tmp_path / "image"))
        assert_one_error(p, flag[0], "text-vae")


def test_bleu_matches_hand_counts():
    assert corpus_bleu([[1, 2, 3, 4]], [[1, 2, 3, 4]]) == 1.0
    assert corpus_bleu([[1, 2]], [[3, 4]]) == 0.0
    # hypothesis 1 2 3 4 5 6 against 1 2 3 4 9 9: precisions 4/6, 3/5, 2/4, 1/3, no brevity
    # penalty (same length)
    expected = (4 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert corpus_bleu([[1, 2, 3, 4, 5, 6]], [[1, 2, 3, 4, 9, 9]]) == pytest.approx(expected)
    # a short hypothesis pays the brevity penalty exp(1 - 8 / 4)
    short = corpus_bleu([[1, 2, 3, 4]], [[1, 2, 3, 4, 5, 6, 7, 8]])
    assert short == pytest.approx(2.718281828 ** (1 - 2))


def test_fidelity_of_a_model_that_knows_its_sentences(memorised):
    model = latentatlas.load(memorised)
    texts = SENTENCES + ["the cat sat on the zebra ."]  # "zebra" is unknown
    scores = sentence_scores(model, texts)
    assert scores["exact"][:4] == [True] * 4, scores["decoded"]
    assert scores["in_vocab"] == [True] * 4 + [False]
    assert scores["length"] == [7, 7, 3, 9, 7]
    s = summarise(scores)
    assert s["exact_in_vocab"]["share"] == 1.0 and s["exact_in_vocab"]["n"] == 4
    assert s["token_accuracy_in_vocab"]["mean"] == 1.0 and s["kl"] == 0.0
    # the teacher-forced NLL at the mean is the one evaluation reports for an autoencoder
    ev = latentatlas.Run.open(memorised).evaluate()
    test = latentatlas.Run.open(memorised).data("test")
    assert summarise(sentence_scores(model, test))["recon"] == pytest.approx(ev["recon"],
                                                                            rel=1e-3)
    unknown_only = summarise(sentence_scores(model, texts[4:]))  # no in-vocabulary sentence
    assert unknown_only["exact_in_vocab"]["n"] == 0
    assert unknown_only["token_accuracy_in_vocab"]["mean"] is None
    json.dumps(unknown_only, allow_nan=False)  # valid JSON: no NaN
    rows = by_length(scores)
    assert [r["words"] for r in rows] == ["1-4", "5-8", "9-12"]
    assert [r["n"] for r in rows] == [1, 3, 1]


def test_best_sentences_rank_exact_matches_first_then_nll():
    scores = {"length": [3, 5, 6, 2], "exact": [False, True, True, True],
              "recon": [0.1, 2.0, 1.0, 0.5], "token_accuracy": [0.5, 1, 1, 1],
              "decoded": ["x", "b", "c", "d"]}
    texts = ["a", "b", "c", "d"]
    assert [r["input"] for r in best_reconstructed(scores, texts, 4)] == ["d", "c", "b", "a"]
    assert [r["input"] for r in best_reconstructed(scores, texts, 2, min_words=3)] == [
        "c", "b"]


def test_fidelity_and_best_from_the_cli(memorised, tmp_path, tiny_run):
    p = cli("fidelity", str(memorised), "--json", "--out", str(tmp_path / "f.png"))
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert result["summary"]["exact"]["share"] == 1.0
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    shown = cli("fidelity", str(memorised))
    assert "exact reconstructions      1.000" in shown.stdout
    best = cli("reconstruct", str(memorised), "--best", "2", "--min-words", "5", "--json")
    assert best.returncode == 0, best.stderr
    rows = json.loads(best.stdout)["best"]
    assert len(rows) == 2 and all(r["exact"] for r in rows)
    assert all(len(r["input"].split()) >= 5 for r in rows)
    assert_one_error(cli("fidelity", str(tiny_run)), "fidelity needs a text-vae")
    assert_one_error(cli("reconstruct", str(memorised), "--best", "2", "--text", "birds"),
                     "--text")


def test_the_explorer_offers_the_sentences_a_model_reconstructs_best(memorised):
    from latentatlas.explorer.session import open_run

    best = open_run(memorised, "ae").describe()["best"]
    assert best and all(b["exact"] for b in best)
    assert all(len(b["text"].split()) >= 4 and b["text"] in SENTENCES for b in best)


def test_homotopy_acceptance_counts_each_position(memorised):
    from latentatlas.atlas.sentences import homotopy_acceptance

    model = latentatlas.load(memorised)
    texts = SENTENCES[:3]
    known = set(SENTENCES)
    result = homotopy_acceptance(model, texts, lambda t: t in known, pairs=20, steps=5)
    assert result["endpoints_reconstructed"]["share"] == 1.0
    assert result["accepted"][0]["share"] == 1.0 and result["accepted"][-1]["share"] == 1.0
    assert len(result["accepted"]) == 5 and result["positions"][2] == 0.5
    lo, hi = result["intermediates"]["ci95"]
    assert 0 <= lo <= result["intermediates"]["share"] <= hi <= 1
    # a judge that takes nothing takes nothing anywhere
    none = homotopy_acceptance(model, texts, lambda t: False, pairs=5, steps=3)
    assert all(a["share"] == 0.0 for a in none["accepted"])


def test_a_bidirectional_encoder_reads_both_ends_and_ignores_padding():
    torch.manual_seed(0)
    for cell in ("gru", "lstm"):
        model = SentenceVAE(TextModelConfig(vocab_size=30, hidden=16, embed_dim=8,
                                            latent_dim=3, cell=cell, bidirectional=True))
        ids = torch.tensor([[BOS, 5, 6, 7, 3, PAD], [BOS, 8, 3, PAD, PAD, PAD]])
        mu, logvar = model.encode(ids)
        assert mu.shape == (2, 3) and logvar.shape == (2, 3)
        padded = torch.cat([ids, torch.zeros(2, 4, dtype=torch.int64)], 1)
        assert torch.allclose(model.encode(padded)[0], mu, atol=1e-6)
        # the first word changes the code through the backward state too
        other = ids.clone()
        other[0, 1] = 9
        assert not torch.allclose(model.encode(other)[0][0], mu[0])
