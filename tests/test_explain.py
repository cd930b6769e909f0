"""Token attributions on a grammar sentiment classifier, where the true cause of the label is
known: the adjective."""

import html
import json

import numpy as np
import pytest

import latentatlas
from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.explain import METHODS, explain_text
from latentatlas.explain.tokens import lime_masks

from .conftest import cli

ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    run = tmp_path_factory.mktemp("explain") / "clf"
    p = cli("train", "--model", "text-classifier", "--data", "grammar", "--label", "sentiment",
            "--n-train", "4000", "--n-test", "400", "--hidden", "32", "--embed-dim", "32",
            "--epochs", "3", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    return run


def test_classifier_learns_the_sentiment(classifier):
    rec = [json.loads(x) for x in (classifier / "metrics.jsonl").read_text().splitlines()][-1]
    assert rec["test_accuracy"] > 0.95
    model = latentatlas.load(classifier)
    assert model.config.classes == ["negative", "positive"]


@pytest.mark.parametrize("method", METHODS)
def test_each_method_finds_the_adjective(classifier, method):
    model = latentatlas.load(classifier)
    texts = load_text("grammar", n=4000).test[:20]
    hits = 0
    for t in texts:
        r = explain_text(model, t, method, samples=1000)
        assert len(r.scores) == len(r.tokens) == len(t.split())
        assert r.prediction in ("negative", "positive") and 0 <= r.probability <= 1
        if method == "anchors":  # a set of words, not a ranking: see the test below
            continue
        hits += r.tokens[r.top(1)[0]] in ADJECTIVES
    # measured on 100 test sentences: saliency 0.58, every other method 1.0 (the unsigned
    # gradient norm marks sensitive tokens, not the evidence for the class)
    assert method == "anchors" or hits / len(texts) >= (0.4 if method == "saliency" else 0.9), \
        (method, hits)


def test_explaining_the_other_class_flips_signed_scores(classifier):
    model = latentatlas.load(classifier)
    text = "she danced in paris and felt elated ."
    pos = explain_text(model, text, "occlusion", "positive")
    neg = explain_text(model, text, "occlusion", "negative")
    assert pos.target == "positive" and neg.target == "negative"
    np.testing.assert_allclose(pos.scores, -neg.scores, atol=1e-5)  # two classes: p + q = 1


def test_lime_masks_and_determinism(classifier):
    m = lime_masks(6, 200, seed=3)
    assert m.shape == (200, 6) and m[0].all() and not m[1:].all(axis=1).any()
    assert m[1:].sum(1).min() >= 1  # never an empty text, as the lime package
    assert np.array_equal(m, lime_masks(6, 200, seed=3))
    model = latentatlas.load(classifier)
    a = explain_text(model, "he ran in rome and felt gloomy .", "lime", samples=500, seed=1)
    b = explain_text(model, "he ran in rome and felt gloomy .", "lime", samples=500, seed=1)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_explain_cli_writes_escaped_html_and_json(classifier, tmp_path):
    out = tmp_path / "e.html"
    text = "she <b>ran</b> in oslo and felt calm ."
    p = cli("explain", str(classifier), "--text", text, "--method", "all", "--samples", "500",
            "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert [e["method"] for e in result["explanations"]] == list(METHODS)
    page = out.read_text()
    assert "<b>ran</b>" not in page.split("</h1>")[1] and html.escape("<") in page
    for args, message in [
        (("--text", ""), "empty text"),
        (("--text", "zzz qqq"), "unknown to this model"),
        (("--text", "he ran .", "--target", "neutral"), "unknown class 'neutral'"),
        (("--text", "he ran .", "--out", str(tmp_path / "e.png")), ".html"),
    ]:
        bad = cli("explain", str(classifier), *args)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1


def test_stability_deletion_insertion_and_randomization(classifier):
    from latentatlas.explain.faithfulness import deletion_insertion, randomization, stability

    model = latentatlas.load(classifier)
    text = "they slept in cairo and felt thrilled ."
    det = stability(model, text, "occlusion", runs=3)
    assert det["mean_spearman"] == 1.0  # a deterministic method
    lime = stability(model, text, "lime", runs=3, samples=300)
    assert 0.3 < lime["mean_spearman"] <= 1.0
    r = explain_text(model, text, "occlusion")
    good = deletion_insertion(model, text, r)
    assert len(good["deletion_curve"]) == len(r.tokens) + 1
    assert good["deletion_curve"][0] == pytest.approx(r.probability, abs=1e-4)  # rounded
    flipped = type(r)(r.tokens, -r.scores, r.target, r.prediction, r.probability, r.method)
    bad = deletion_insertion(model, text, flipped)  # the reverse order: the least useful first
    assert good["deletion_auc"] < bad["deletion_auc"]
    assert good["insertion_auc"] > bad["insertion_auc"]
    rho = randomization(model, text, "gradxinput")["spearman_vs_randomized_model"]
    assert rho < 0.9  # the attribution depends on the trained weights


def test_explain_cli_stability_and_evaluate(classifier):
    p = cli("explain", str(classifier), "--text", "he sat in rome and felt furious .",
            "--method", "lime", "--samples", "300", "--stability", "3", "--evaluate", "--json")
    assert p.returncode == 0, p.stderr
    e = json.loads(p.stdout)["explanations"][0]
    assert {"stability", "deletion_auc", "insertion_auc",
            "spearman_vs_randomized_model"} <= set(e)


def test_indicator_and_cell_ranking_find_a_planted_cell():
    from latentatlas.data.vocab import token_spans
    from latentatlas.explain.cells import indicator, rank_cells

    text = 'He said "we ran" and left.'
    spans = token_spans(text)
    ind = indicator(text, spans, r'"[^"]*"')
    assert [t for (t, _, _), v in zip(spans, ind, strict=True) if v] == ['"', "we", "ran", '"']
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(len(spans), 8))
    acts[:, 5] = 2 * ind - 1 + 0.01 * rng.normal(size=len(spans))
    ranked = rank_cells(acts, ind)
    assert ranked[0][0] == 5 and ranked[0][1] > 0.99


def test_cells_cli(tmp_path):
    corpus = tmp_path / "quotes.txt"
    lines = [f'he said " {w} ran in {p} " and left .' for w in ("she", "they", "we")
             for p in ("paris", "rome", "oslo")] * 20
    corpus.write_text("\n".join(lines) + "\n")
    run = tmp_path / "lm"
    p = cli("train", "--model", "lm", "--data", f"text:{corpus}", "--hidden", "16",
            "--embed-dim", "8", "--epochs", "1", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    sample = tmp_path / "sample.txt"
    sample.write_text('he said " <b>she</b> ran in rome " and left .\n')
    out = tmp_path / "cells.html"
    r = cli("cells", str(run), "--text", str(sample), "--find", '"[^"]*"', "--top", "3",
            "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["cells"] == 16 and len(result["top"]) == 3
    assert abs(result["top"][0]["correlation"]) >= abs(result["top"][2]["correlation"])
    page = out.read_text()
    assert "<b>she</b>" not in page  # the text travels as escaped JSON
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9\n".encode("latin-1"))
    for args, message in [(("--find", "("), "not a valid regular expression"),
                          (("--find", "zzz"), "matches all of the text or none"),
                          ]:
        bad = cli("cells", str(run), "--text", str(sample), *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
    bad = cli("cells", str(run), "--text", str(latin))
    assert bad.returncode == 2 and "not UTF-8" in bad.stderr


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", [True, False])
def test_masked_logits_equal_the_plain_forward(cell, attention):
    import torch

    from latentatlas.models.classifier import TextClassifier, TextClassifierConfig

    torch.manual_seed(0)
    m = TextClassifier(TextClassifierConfig(vocab_size=40, classes=["a", "b", "c"],
                                            embed_dim=8, hidden=12, cell=cell,
                                            attention=attention)).eval()
    n = 9
    ids = torch.tensor([[2, *range(5, 5 + n), 3]])
    keep = torch.rand(300, n) > 0.5
    rows = ids.repeat(300, 1)
    rows[:, 1:n + 1] = torch.where(keep, ids[0, 1:n + 1], 1)  # <unk> where not kept
    with torch.no_grad():
        torch.testing.assert_close(m.masked_logits(ids, keep), m.logits(rows),
                                   atol=1e-5, rtol=1e-5)


def test_lime_dropping_words_is_still_available(classifier):
    model = latentatlas.load(classifier)
    text = "he ran in rome and felt gloomy ."
    drop = explain_text(model, text, "lime", samples=500, mask="drop")
    unk = explain_text(model, text, "lime", samples=500)
    assert drop.params["mask"] == "drop" and unk.params["mask"] == "unk"
    assert drop.tokens[drop.top(1)[0]] == unk.tokens[unk.top(1)[0]] == "gloomy"


def _exact_shapley(n: int, value) -> np.ndarray:
    """Shapley values by their definition: every coalition, weighted s! (n - s - 1)! / n!."""
    import itertools
    import math

    phi = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for s in range(n):
            w = math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
            for members in itertools.combinations(others, s):
                m = np.zeros(n)
                m[list(members)] = 1
                with_i = m.copy()
                with_i[i] = 1
                phi[i] += w * (value(with_i) - value(m))
    return phi


def test_kernelshap_is_exact_when_every_coalition_fits_and_always_efficient(classifier):
    import torch

    from latentatlas.explain.core import kernelshap_fit, shapley_coalitions
    from latentatlas.explain.tokens import masked_probabilities, token_ids

    rng = np.random.default_rng(0)
    table: dict = {}

    def game(m):  # a set function with every interaction
        return table.setdefault(tuple(m.astype(int)), rng.normal())

    masks, weights = shapley_coalitions(6, 100)
    assert len(masks) == 2**6 - 2
    phi = kernelshap_fit(masks, weights, np.array([game(m) for m in masks]),
                         game(np.ones(6)), game(np.zeros(6)))
    np.testing.assert_allclose(phi, _exact_shapley(6, game), atol=1e-10)

    model = latentatlas.load(classifier)
    short = "she danced in paris and felt elated ."
    r = explain_text(model, short, "kernelshap")
    ids, _ = token_ids(model, short)
    c = model.config.classes.index(r.target)

    def prob(m):
        return float(masked_probabilities(model, ids, torch.from_numpy(m[None] > 0))[0, c])

    np.testing.assert_allclose(r.scores, _exact_shapley(len(r.tokens), prob), atol=1e-5)
    # a text too long for every coalition: sampled, and still efficient
    long = "he ran in rome and felt gloomy and she sat in oslo and felt elated ."
    r = explain_text(model, long, "kernelshap", samples=300, seed=2)
    assert r.params["samples"] <= 300 and len(r.tokens) > 8
    assert r.scores.sum() == pytest.approx(r.probability - r.params["base"], abs=1e-4)
    again = explain_text(model, long, "kernelshap", samples=300, seed=2)
    np.testing.assert_array_equal(r.scores, again.scores)


def test_anchor_search_finds_the_words_that_hold_the_prediction():
    import math

    import torch

    from latentatlas.explain.anchors import find_anchor, kl_bernoulli, kl_bounds

    lo, hi = kl_bounds(0.9, 200, math.log(20))
    assert lo < 0.9 < hi and 200 * kl_bernoulli(0.9, lo) == pytest.approx(math.log(20), 1e-6)
    tokens = [f"w{i}" for i in range(8)]

    def both(keep: torch.Tensor) -> np.ndarray:  # holds exactly when words 2 and 5 are kept
        return (keep[:, 2] & keep[:, 5]).numpy()

    a = find_anchor(both, tokens, seed=1)
    assert sorted(a.positions) == [2, 5] and a.precision == 1.0
    assert a.words == [tokens[i] for i in a.positions]
    assert a.coverage == pytest.approx(0.25, abs=0.02) and a.samples > 0
    a = find_anchor(lambda keep: np.ones(len(keep), bool), tokens)
    assert a.positions == [] and a.coverage == 1.0  # nothing needed to hold it
    noisy = np.random.default_rng(0)

    def mostly(keep: torch.Tensor) -> np.ndarray:  # word 4 holds it 99% of the time
        return keep[:, 4].numpy() & (noisy.random(len(keep)) < 0.99)

    a = find_anchor(mostly, tokens)
    assert a.positions == [4] and a.precision > 0.95


def test_anchors_on_the_classifier_and_from_the_cli(classifier):
    """Every anchor holds its prediction on fresh perturbed copies (a referee's 2,000); on
    this classifier most are the adjective. (Not all: with half the words <unk> the model
    reads strangely, and then "and" alone can hold a negative prediction; measured on these
    20 sentences: 14 adjectives.)"""
    import torch

    from latentatlas.explain.tokens import masked_probabilities, token_ids

    model = latentatlas.load(classifier)
    texts = load_text("grammar", n=4000).test[:20]
    rng = np.random.default_rng(5)
    adjectives = 0
    for t in texts:
        r = explain_text(model, t, "anchors")
        ids, tokens = token_ids(model, t)
        keep = torch.from_numpy(rng.random((2000, len(tokens))) < 0.5)
        keep[:, r.params["positions"]] = True
        same = masked_probabilities(model, ids, keep).argmax(1) == model.config.classes.index(
            r.target)
        assert float(same.float().mean()) >= 0.93, (t, r.params)
        adjectives += r.params["anchor"][:1] == [w for w in tokens if w in ADJECTIVES]
        if r.params["anchor"]:
            assert r.tokens[r.top(1)[0]] == r.params["anchor"][0]
    assert adjectives >= 10
    p = cli("explain", str(classifier), "--text", texts[0], "--method", "anchors",
            "--threshold", "0.9")
    assert p.returncode == 0, p.stderr
    assert "anchor: " in p.stdout and "(precision " in p.stdout
