"""The text commands end to end on small grammar runs: train, reconstruct, sample, interpolate,
knobs, words, audit, and their bad input."""

import json

import pytest
from PIL import Image

import latentatlas
from latentatlas.data import grammar

from .conftest import cli

TINY = ["--hidden", "64", "--embed-dim", "32", "--batch-size", "64", "--threads", "1",
        "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-runs")
    vae, lm = root / "vae", root / "lm"
    p = cli("train", "--model", "text-vae", "--data", "grammar", "--latent-dim", "6",
            "--epochs", "5", "--anneal-steps", "600", *TINY, "--out", str(vae))
    assert p.returncode == 0, p.stderr
    p = cli("train", "--model", "lm", "--data", "grammar", "--condition", "energy",
            "--epochs", "6", *TINY, "--out", str(lm))
    assert p.returncode == 0, p.stderr
    return vae, lm


def run_json(*args):
    p = cli(*args, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_training_records_text_metrics_and_the_lm_its_condition(runs):
    vae, lm = runs
    rec = [json.loads(x) for x in (vae / "metrics.jsonl").read_text().splitlines()][-1]
    assert {"test_perplexity", "test_active_units", "test_kl", "train_kl_weight"} <= set(rec)
    assert 1 < rec["test_perplexity"] < 4  # the vocabulary has 55 tokens
    model = latentatlas.load(lm)
    assert model.config.condition == "scalar" and model.config.context_range == [0.0, 1.0]
    ev = run_json("eval", str(lm))
    assert ev["n_test"] == 2000 and ev["perplexity"] < 3 and "nll" in ev


def test_reconstruct_sample_and_homotopy_of_a_sentence_vae(runs):
    vae, _ = runs
    r = run_json("reconstruct", str(vae), "--text", "he ran in paris and felt calm .",
                 "--samples", "2")
    row = r["reconstructions"][0]
    assert row["input"] == "he ran in paris and felt calm ." and len(row["samples"]) == 2
    assert row["mean"] and "<s>" not in row["mean"]
    s = run_json("sample", str(vae), "-n", "7")
    assert len(s["texts"]) == 7
    beam = run_json("sample", str(vae), "-n", "3", "--decode", "beam", "--beam", "3")
    assert len(beam["texts"]) == 3
    h = run_json("interpolate", str(vae), "--a", "he ran in paris and felt calm .",
                 "--b", "3", "--steps", "6")
    names = [x["name"] for x in h["rows"]]
    assert names[0] == "s0" and names[1] == "z0" and names[-2] == "z1" and names[-1] == "s1"
    assert len(names) == 8 and h["method"] == "lerp"
    plain = cli("interpolate", str(vae), "--a", "0", "--b", "1", "--steps", "3")
    assert plain.returncode == 0 and plain.stdout.splitlines()[0].startswith("s0")


def test_knob_table_decodes_every_setting_and_the_centre_is_the_reconstruction(runs, tmp_path):
    vae, _ = runs
    out = tmp_path / "knobs.json"
    r = run_json("knobs", str(vae), "-k", "5", "--steps", "3", "--items", "5", "--out",
                 str(out))
    assert r["decodes"] == 3 ** 5 * 5
    table = json.loads(out.read_text())
    assert table["steps"] == [-2.0, 0.0, 2.0] and len(table["items"]) == 5
    assert all(len(item["decodes"]) == 243 for item in table["items"])
    texts = [x for item in table["items"] for x in ("--text", item["text"])]
    means = run_json("reconstruct", str(vae), *texts)["reconstructions"]
    for item, mean in zip(table["items"], means, strict=True):  # offset 0: the item itself
        assert item["decodes"][121] == mean["mean"]
    assert len({d for item in table["items"] for d in item["decodes"]}) > 5  # knobs do work


def test_energy_lm_samples_words_and_favours_the_grammar_energy_words(runs, tmp_path):
    _, lm = runs
    hi = run_json("sample", str(lm), "--context", "1.0", "--words", "300")
    assert sum(len(t.split()) for t in hi["texts"]) >= 300
    w = run_json("words", str(lm), "--contexts", "0.0", "1.0", "--words", "6000", "--top", "6",
                 "--clouds", str(tmp_path / "clouds"))
    low, high = w["contexts"]
    assert sum(d["word"] in grammar.HIGH_ENERGY for d in high["distinctive"]) >= 4
    assert sum(d["word"] in grammar.LOW_ENERGY for d in low["distinctive"]) >= 4
    assert all(d["z"] > 0 for d in high["distinctive"])
    assert not {"and", "in", "he"} & {f[0] for f in high["frequent"]}  # stop words dropped
    for path in w["clouds"]:
        with Image.open(path) as im:
            assert im.size == (800, 400)


def test_audit_recovers_a_planted_pronoun_skew_and_reports_generated_text(runs):
    _, lm = runs
    a = run_json("audit", "--data", "grammar:he=0.6,she=0.2,they=0.2")
    groups = a["families"]["pronouns"]["data"]["groups"]
    for g, p in (("male", 0.6), ("female", 0.2), ("neutral", 0.2)):
        lo, hi = groups[g]["share_ci95"]
        assert lo <= p <= hi and hi - lo < 0.03
    r = a["families"]["pronouns"]["data"]["ratios"]["male/female"]
    assert r["ci95"][0] < 3.0 < r["ci95"][1]
    g = run_json("audit", "--run", str(lm), "-n", "300")
    gen = g["families"]["pronouns"]["generated"]
    assert g["generated"]["texts"] == 300 and gen["mentions"] > 200
    assert "male" in g["families"]["pronouns"]["difference"]


def test_custom_terms_and_text_bad_input(runs, tmp_path):
    vae, lm = runs
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps({"moods": {"up": ["thrilled", "elated"],
                                           "down": ["tired", "gloomy"]}}))
    a = run_json("audit", "--data", "grammar", "--terms", str(terms))
    assert set(a["families"]) == {"moods"}
    bad_terms = tmp_path / "bad.json"
    bad_terms.write_text('{"moods": ["up"]}')
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    cases = [
        (("sample", str(lm), "--context", "1.5"), "outside the range"),
        (("sample", str(lm)), "give a --context"),
        (("sample", str(vae), "--context", "1"), "not conditioned"),
        (("reconstruct", str(vae), "--text", "zzz qqq xxx"), "unknown"),
        (("interpolate", str(lm), "--a", "he ran", "--b", "she sat"), "no latent space"),
        (("audit", "--data", "grammar", "--terms", str(bad_terms)), "must map"),
        (("audit", "--data", "grammar:he=-1"), "negative"),
        (("train", "--model", "text-vae", "--data", f"text:{empty}", "--out",
          str(tmp_path / "e")), "empty corpus"),
        (("train", "--model", "lm", "--data", f"text:{latin}", "--out",
          str(tmp_path / "l")), "not UTF-8"),
        (("train", "--model", "lm", "--data", "grammar", "--condition", "mood", "--out",
          str(tmp_path / "m")), "no context 'mood'"),
        (("sample", str(vae), "--temperature", "0"), "temperature"),
        (("knobs", str(vae), "--items", "2"), "go together"),
    ]
    for args, message in cases:
        p = cli(*args)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], \
            (args, p.stderr)
    assert not (tmp_path / "e").exists() and not (tmp_path / "l").exists()


def test_unknown_category_of_a_category_lm(tmp_path):
    tsv = tmp_path / "reviews.tsv"
    rows = [f"the {w} was {a} .\t{lab}\t{e}" for w, a, lab, e in [
        ("song", "loud", "rock", 0.9), ("tune", "soft", "folk", 0.1)] * 20]
    tsv.write_text("\n".join(rows) + "\n" + "x" * 100_001 + "\tfolk\t0.5\n")
    p = cli("train", "--model", "lm", "--data", f"text:{tsv}", "--condition", "category",
            "--epochs", "1", *TINY, "--out", str(tmp_path / "lm"))
    assert p.returncode == 0, p.stderr
    assert "warning:" in p.stderr and "cut to 100,000" in p.stderr
    bad = cli("sample", str(tmp_path / "lm"), "--context", "jazz")
    assert bad.returncode == 2 and "unknown category 'jazz'; known: folk, rock" in bad.stderr
    ok = run_json("sample", str(tmp_path / "lm"), "--context", "rock", "-n", "2")
    assert len(ok["texts"]) == 2
    e = cli("train", "--model", "lm", "--data", f"text:{tsv}", "--condition", "energy",
            "--epochs", "1", *TINY, "--out", str(tmp_path / "lm2"))
    assert e.returncode == 0, e.stderr  # the context column, under the name given
    bad = cli("sample", str(tmp_path / "lm2"), "--context", "2")
    assert bad.returncode == 2 and "energy 2 is outside" in bad.stderr
