import numpy as np
import pytest

from latentatlas.data import grammar
from latentatlas.data.text import WORDNET_DIR, fortunes, load_text, read_lines, wordnet_examples
from latentatlas.data.vocab import Vocab, detokenize, tokenize
from latentatlas.errors import UserError


def test_tokenize():
    assert tokenize("He said: \"Don't go!\" -- 42 times.") == [
        "he", "said", ":", '"', "don't", "go", "!", '"', "-", "-", "42", "times", "."]
    assert detokenize(["<s>", "a", "b", "</s>", "<pad>"]) == "a b"


def test_vocab_build_encode_decode_and_save(tmp_path):
    v = Vocab.build(["the cat sat", "the dog sat", "the end"], min_count=2)
    assert v.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"] and v.itos[4:] == ["the", "sat"]
    ids = v.encode("The cat sat")
    assert ids == [v.bos, v.stoi["the"], v.unk, v.stoi["sat"], v.eos]
    assert v.decode(ids[1:]) == "the <unk> sat"
    batch = v.batch(["the", "the sat sat"])
    assert batch.shape == (2, 5) and int(batch[0, -1]) == v.pad
    v.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").itos == v.itos
    assert v.unknown_share("cat dog") == 1.0
    assert len(Vocab.build(["a b c d e f"], max_size=6)) == 6
    with pytest.raises(UserError, match="no tokens"):
        Vocab.build(["", "  "])


def test_grammar_factors_are_in_the_sentences_and_accepted():
    texts, f = grammar.generate(2000, seed=3)
    assert all(grammar.accepts(t) for t in texts)
    for t, subj, place, tense in zip(texts, f["subject"], f["place"], f["tense"], strict=True):
        words = t.split()
        assert words[0] == subj and words[3] == place
        assert (words[5] == "felt") == (tense == "past")
    energy = np.array(f["energy"])
    high = np.array([any(w in grammar.HIGH_ENERGY for w in t.split()) for t in texts])
    assert energy[high].mean() > energy[~high].mean() + 0.2  # energy shifts word choice
    for bad in ("he run in paris and feels calm .", "they runs in rome and feel calm .",
                "he ran in paris and feels calm .", "she ran to paris and felt calm ."):
        assert not grammar.accepts(bad), bad


def test_the_clauses_grammar_checks_agreement_across_the_relative_clause():
    texts, f = grammar.generate_clauses(2000, seed=3)
    assert all(grammar.accepts_clauses(t) for t in texts)
    assert not any(grammar.accepts(t) for t in texts[:50])  # another language
    for t, number, relative, attractor in zip(texts, f["number"], f["relative"],
                                              f["attractor"], strict=True):
        head = t.split()[1]
        assert head.endswith("s") == (number == "plural") and ("that" in t) == relative
        assert (attractor == "none") == (not relative)
    # both attractor numbers occur with both head numbers: the trap is really set
    pairs = {(n, a) for n, a in zip(f["number"], f["attractor"], strict=True)}
    assert {("singular", "plural"), ("plural", "singular")} <= pairs
    for bad in ("the dog that chased some cats run in paris .",   # agrees with the attractor
                "the dogs that saw a cat run in rome and sings loudly .",  # second verb
                "a dogs runs in paris .", "some dog runs in rome .",       # determiners
                "the dog runs in paris and",                               # cut short
                "the dog that chased runs in paris ."):                    # no object
        assert not grammar.accepts_clauses(bad), bad
    assert grammar.accepts_clauses("some dogs that saw a cat run in rome and sing loudly .")
    data = load_text("clauses", n_train=300, n_test=30)
    assert len(data.train) == 300 and data.train_labels[0] in ("singular", "plural")


def test_grammar_dataset_is_deterministic_and_carries_context():
    a, b = load_text("grammar", n=500, seed=1), load_text("grammar", n=500, seed=1)
    assert a.train == b.train and len(a.train) + len(a.test) == 500
    assert a.train_context is not None and a.train_factors["subject"][0] in grammar.SUBJECTS


def test_user_file_with_tsv_columns(tmp_path):
    f = tmp_path / "reviews.tsv"
    f.write_text("great song\tpos\t0.9\nsad song\tneg\t0.1\n\nslow song\tneg\t0.2\n")
    texts, labels, context = read_lines(f)
    assert texts == ["great song", "sad song", "slow song"] and labels == ["pos", "neg", "neg"]
    assert np.allclose(context, [0.9, 0.1, 0.2])
    d = load_text(f"text:{f}")
    assert sorted(d.train + d.test) == sorted(texts) and d.classes is not None


def test_user_file_errors(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(UserError, match="empty corpus"):
        read_lines(tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        read_lines(tmp_path / "latin1.txt")
    (tmp_path / "long.txt").write_text("a " * 60_000 + "\nshort line\n")
    texts, _, _ = read_lines(tmp_path / "long.txt")
    assert len(texts[0]) <= 100_000 and "cut to" in capsys.readouterr().err
    (tmp_path / "ctx.tsv").write_text("a\tb\thigh\n")
    with pytest.raises(UserError, match="not a number"):
        read_lines(tmp_path / "ctx.tsv")


def test_fortunes_from_a_folder_of_fortune_files(tmp_path, monkeypatch):
    (tmp_path / "wisdom").write_text("Look before you leap.\n%\nHe who hesitates. Is lost.\n%\n")
    (tmp_path / "wisdom.dat").write_bytes(b"\x00\x01")
    (tmp_path / "jokes").write_text("Why? Because.\n%\n")
    texts, labels = fortunes(tmp_path)
    assert texts == ["Why? Because.", "Look before you leap.", "He who hesitates. Is lost."]
    assert labels == ["jokes", "wisdom", "wisdom"]
    texts, _ = fortunes(tmp_path, sentences=True)
    assert "Is lost." in texts and len(texts) == 5
    with pytest.raises(UserError, match="apt-get install fortunes"):
        fortunes(tmp_path / "none")
    monkeypatch.setattr("latentatlas.data.text.FORTUNES_DIR", tmp_path)
    assert len(load_text("fortunes").train + load_text("fortunes").test) == 3
    split = load_text("fortunes:sentences")
    assert len(split.train + split.test) == 5 and set(split.classes) == {"jokes", "wisdom"}


@pytest.mark.skipif(not (WORDNET_DIR / "data.verb").exists(),
                    reason="Debian package wordnet-base not installed")
def test_wordnet_example_sentences():
    examples = wordnet_examples()
    assert 45_000 < len(examples) < 52_000
    assert "She choked with emotion when she spoke about her deceased husband" in examples
    assert not any('"' in e for e in examples[:1000])
    with_glosses = wordnet_examples(glosses=True)
    assert "an entity that has physical existence" in with_glosses
    assert set(examples) < set(with_glosses)


def test_unknown_text_dataset():
    with pytest.raises(UserError, match="unknown text dataset"):
        load_text("poems")


def test_text_corpora_honour_data_dir(tmp_path):
    from latentatlas import Run

    from .conftest import cli

    folder = tmp_path / "corpora" / "fortunes"
    folder.mkdir(parents=True)
    (folder / "cats").write_text("".join(f"The cat number {i} sat.\n%\n" for i in range(30)))
    (folder / "dogs").write_text("".join(f"A dog called {i} ran.\n%\n" for i in range(30)))
    data = load_text("fortunes", data_dir=tmp_path / "corpora")
    assert data.classes == ["cats", "dogs"] and len(data.train) + len(data.test) == 60
    run = tmp_path / "run"
    p = cli("train", "--model", "text-ae", "--data", "fortunes", "--data-dir",
            str(tmp_path / "corpora"), "--latent-dim", "2", "--hidden", "8", "--embed-dim", "8",
            "--epochs", "1", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    assert Run.open(run).dataset.source == str(folder)  # the run reloads the same corpus


def test_negation_flips_the_sentiment_and_leaves_grammar_as_it_was():
    from latentatlas.data import grammar
    from latentatlas.data.text import load_text

    plain, _ = grammar.generate(300, seed=4)
    texts, factors = grammar.generate(300, seed=4, negation=0.5)
    assert grammar.generate(300, seed=4, negation=0.0)[0] == plain  # no draw added
    assert 100 < sum(factors["negated"]) < 200
    positive = {w for (s, _), ws in grammar.ADJECTIVES.items() if s == "positive" for w in ws}
    for text, negated, sentiment in zip(texts, factors["negated"], factors["sentiment"],
                                        strict=True):
        assert grammar.accepts(text)
        assert (" not " in text) == negated and text.split()[-3 - negated] in grammar.BE
        adjective_positive = text.split()[-2] in positive
        assert (sentiment == "positive") == (adjective_positive != negated)
    assert grammar.accepts("they run in rome and are not calm .")
    assert grammar.accepts("she ran in rome and was calm .")
    for wrong in ("she ran in rome and is not calm .",  # tense
                  "she runs in rome and are calm .",  # number
                  "they ran in rome and was calm .",
                  "she ran in rome and felt not calm ."):  # only a copula is negated
        assert not grammar.accepts(wrong), wrong
    data = load_text("negation", n_train=500, n_test=100)
    assert data.rules is not None and "not" in data.rules.truth("sentiment")
