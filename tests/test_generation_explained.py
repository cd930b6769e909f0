"""The attention language model (weights per generated token), prompts, character-level
models and their cells, and activation maximisation for a text classifier."""

import html
import json

import numpy as np
import pytest
import torch

import latentatlas
from latentatlas.data.vocab import Vocab
from latentatlas.explain.attention import generate_with_attention
from latentatlas.explain.cells import cell_activations, indicator
from latentatlas.models.lm import LanguageModel, LMConfig

from .conftest import cli


@pytest.mark.parametrize("cell,condition", [("lstm", "none"), ("gru", "scalar")])
def test_attention_lm_steps_match_the_teacher_forced_pass(cell, condition):
    torch.manual_seed(0)
    m = LanguageModel(LMConfig(vocab_size=30, embed_dim=8, hidden=16, cell=cell, window=4,
                               condition=condition, condition_name="e",
                               context_range=[0.0, 1.0])).eval()
    ids = torch.tensor([[2, 5, 6, 7, 8, 9, 10, 3]])
    ctx = torch.tensor([0.3]) if condition == "scalar" else None
    read, weights = m._read(ids[:, :-1], ctx)
    state, steps = m.decode_start(ctx, 1), []
    for t in ids[0, :-1]:
        logits, state = m.decode_step(t[None], state)
        steps.append(logits[0])
    torch.testing.assert_close(torch.stack(steps), m.out(read)[0], atol=1e-5, rtol=1e-5)
    assert weights.shape == (1, 7, 4)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 7))
    # a prompt primes the state: greedy decoding continues as the full pass predicts
    out = m.generate(1, ctx, method="greedy", prompt=[5, 6], max_len=3)[0]
    read2, _ = m._read(torch.tensor([[2, 5, 6]]), ctx)
    logits = m.out(read2)[0, -1].clone()
    logits[[0, 2]] = float("-inf")  # <pad> and <s> are never generated
    assert int(out[0]) == int(logits.argmax())


@pytest.fixture(scope="module")
def attn_lm(tmp_path_factory):
    run = tmp_path_factory.mktemp("attn") / "lm"
    p = cli("train", "--model", "attn-lm", "--data", "grammar", "--n-train", "2000",
            "--n-test", "200", "--hidden", "32", "--embed-dim", "16", "--window", "5",
            "--epochs", "2", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    return run


def test_generate_with_attention(attn_lm, tmp_path):
    model = latentatlas.load(attn_lm)
    assert model.config.window == 5
    trace = generate_with_attention(model, "she danced in", 8, seed=1)
    assert trace.prompt == ["she", "danced", "in"]
    assert trace.columns[:5] == ["<pad>"] * 4 + ["<s>"]
    assert trace.weights.shape == (len(trace.generated), len(trace.columns))
    np.testing.assert_allclose(trace.weights.sum(1), 1.0, atol=1e-5)
    for k, row in enumerate(trace.weights):  # each row lives on its window of 5 inputs
        nz = np.nonzero(row)[0]
        assert nz.min() >= k + 3 and nz.max() <= k + 3 + 4
    out = tmp_path / "heat.png"
    p = cli("generate", str(attn_lm), "--prompt", "she <i>danced</i> in", "--words", "6",
            "--attention", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout)
    assert len(result["weights"]) == len(result["generated"]) <= 6
    page = out.with_suffix(".html").read_text()
    assert out.is_file() and "<i>" not in page and html.escape("<pad>") in page
    plain = cli("generate", str(attn_lm), "--prompt", "she danced", "-n", "3", "--json")
    texts = json.loads(plain.stdout)["texts"]
    assert len(texts) == 3 and all(t.startswith("she danced") for t in texts)
    odd = cli("generate", str(attn_lm), "--prompt", "she zorbled quxly", "-n", "1")
    assert odd.returncode == 0, odd.stderr  # the unknown words are named, once
    assert odd.stderr.count("note:") == 1 and "'zorbled', 'quxly'" in odd.stderr
    for args, message in [(("--prompt", "zzz qqq", "--attention"), "unknown to this model"),
                          (("--prompt", "she", "--out", str(tmp_path / "h.png")),
                           "add --attention"),
                          (("--prompt", "she", "--attention", "--out",
                            str(tmp_path / "h.jpg")), ".png"),
                          (("--prompt", "", "--attention"), "no words")]:
        bad = cli("generate", str(attn_lm), *args)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)


def test_character_vocabulary_round_trip(tmp_path):
    v = Vocab.build(['He said "hi".', "Ok!"], level="char")
    assert v.level == "char" and v.tokenize("a b") == ["a", " ", "b"]
    ids = v.encode('He said "hi".')
    assert v.decode(ids[1:]) == 'He said "hi".'
    v.save(tmp_path / "vocab.json")
    again = Vocab.load(tmp_path / "vocab.json")
    assert again.level == "char" and again.itos == v.itos
    assert [s for _, s, _ in v.spans("ab c")] == [0, 1, 2, 3]


def test_character_lm_cells_follow_quotes(tmp_path):
    corpus = tmp_path / "quotes.txt"
    lines = [f'{w} said "{p} is near" and left.' for w in ("she", "they", "we")
             for p in ("paris", "rome", "oslo")] * 30
    corpus.write_text("\n".join(lines) + "\n")
    run = tmp_path / "clm"
    p = cli("train", "--model", "lm", "--tokens", "char", "--data", f"text:{corpus}",
            "--max-len", "60", "--hidden", "24", "--embed-dim", "8", "--epochs", "2",
            "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    model = latentatlas.load(run)
    text = 'we said "rome is near" and left.'
    spans, acts = cell_activations(model, text)
    assert len(spans) == len(text) and acts.shape == (len(text), 24)
    ind = indicator(text, spans, r'"[^"]*"')
    assert "".join(ch for (ch, _, _), v in zip(spans, ind, strict=True) if v) == '"rome is near"'
    sample = tmp_path / "sample.txt"
    sample.write_text(text + "\n")
    r = cli("cells", str(run), "--text", str(sample), "--find", '"[^"]*"', "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["tokens"] == len(text) + 1  # the newline is a character too
    s = cli("sample", str(run), "-n", "2", "--json")
    assert s.returncode == 0 and len(json.loads(s.stdout)["texts"]) == 2


def test_maximize_a_text_class(tmp_path):
    run = tmp_path / "clf"
    p = cli("train", "--model", "text-classifier", "--data", "grammar", "--label", "sentiment",
            "--n-train", "3000", "--n-test", "300", "--hidden", "32", "--embed-dim", "16",
            "--epochs", "3",
            "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    from latentatlas.explain.maximize import maximize_text

    model = latentatlas.load(run)
    for cls in ("negative", "positive"):
        r = maximize_text(model, cls, length=6, steps=150, seed=0)
        assert len(r.tokens) == 6 and all(t in model.vocab.stoi for t in r.tokens)
        assert r.relaxed_probability > 0.9 and r.relaxed_probability >= r.start_probability
    m = cli("maximize", str(run), "--class", "positive", "--from", "he ran in rome",
            "--steps", "50", "--json")
    assert m.returncode == 0, m.stderr
    assert json.loads(m.stdout)["params"]["length"] == 4
    bad = cli("maximize", str(run), "--neuron", "conv1:0")
    assert bad.returncode == 2 and "image classifiers" in bad.stderr


def test_cells_page_in_the_browser(browser, tmp_path):
    from latentatlas.explain.render import cells_html

    tokens = ["he", "said", '"', "<b>hi</b>", '"', "."]
    acts = np.zeros((len(tokens), 3))
    acts[:, 0] = [1, 1, -1, -1, -1, 1]  # cell 0: off inside the quote
    acts[:, 2] = [0, 0, 1, 1, 1, 0]  # cell 2: on inside it
    page = tmp_path / "cells.html"
    page.write_text(cells_html(tokens, acts, [(2, 0.99), (0, -0.95), (1, None)], "quotes"))
    tab = browser.new_page()
    tab.goto(page.as_uri())
    tab.wait_for_selector("body[data-ready='1']")
    spans = tab.locator("#text span")
    assert spans.count() == 6 and spans.nth(3).text_content() == "<b>hi</b>"  # text, not HTML

    def backgrounds():
        return [spans.nth(i).evaluate("e => e.style.background") for i in range(6)]

    first = backgrounds()  # cell 2, the first listed: red inside the quote, clear outside
    assert first[3] == "rgb(214, 39, 40)" and first[0].endswith(", 0)")  # full, none
    tab.select_option("#cell", "0")
    second = backgrounds()
    assert second != first and "31, 119, 180" in second[3]  # cell 0 is negative there
    tab.close()
