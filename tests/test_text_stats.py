import math
from collections import Counter

import pytest

from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.errors import UserError
from latentatlas.stats import wilson
from latentatlas.text import audit, content_words, log_odds, word_counts
from latentatlas.text.audit import count_terms, load_terms, ratio_ci


def test_content_words_drop_stop_words_punctuation_numbers_and_unk():
    assert content_words("He ran 42 miles, and <unk> felt GREAT!") == ["ran", "miles", "felt",
                                                                       "great"]
    assert content_words("he ran", stop_words=False) == ["he", "ran"]


def test_log_odds_by_hand_and_its_direction():
    a = Counter({"storm": 30, "calm": 5, "sea": 50})
    b = Counter({"storm": 5, "calm": 30, "sea": 50})
    sa, sb = log_odds([a, b])
    assert sa["storm"]["z"] > 2 and sb["storm"]["z"] < -2 and sb["calm"]["z"] > 2
    assert sa["storm"]["z"] == pytest.approx(-sb["storm"]["z"])
    assert abs(sa["sea"]["z"]) < 1e-9  # equal counts, equal totals: no difference
    # Monroe et al. eq. 16 and 20 for "storm", prior = pooled counts (alpha0 = 170)
    aw, a0, n = 35.0, 170.0, 85
    delta = math.log((30 + aw) / (n + a0 - 30 - aw)) - math.log((5 + aw) / (n + a0 - 5 - aw))
    assert sa["storm"]["delta"] == pytest.approx(delta)
    assert sa["storm"]["z"] == pytest.approx(delta / math.sqrt(1 / (30 + aw) + 1 / (5 + aw)))
    # a weaker prior lets the difference show more
    weak = log_odds([a, b], prior_strength=10)[0]
    assert weak["storm"]["z"] > sa["storm"]["z"]
    assert log_odds([Counter(), Counter()]) == [{}, {}]


def test_log_odds_recover_the_grammar_energy_words_from_the_data():
    data = load_text("grammar", n=6000)
    energy = data.train_context
    hi = [t for t, e in zip(data.train, energy, strict=True) if e > 0.8]
    lo = [t for t, e in zip(data.train, energy, strict=True) if e < 0.2]
    s_hi, s_lo = log_odds([word_counts(hi), word_counts(lo)])
    top_hi = sorted(s_hi, key=lambda w: -s_hi[w]["z"])[:8]
    top_lo = sorted(s_lo, key=lambda w: -s_lo[w]["z"])[:8]
    assert set(top_hi) <= grammar.HIGH_ENERGY and set(top_lo) <= grammar.LOW_ENERGY


def test_wilson_and_ratio_intervals():
    lo, hi = wilson(60, 100)  # the textbook example: 0.503 to 0.690
    assert lo == pytest.approx(0.5020, abs=1e-3) and hi == pytest.approx(0.6906, abs=1e-3)
    assert wilson(0, 0) == (0.0, 1.0) and wilson(0, 50)[0] == 0.0
    r, (lo, hi) = ratio_ci(300, 100)
    assert r == 3.0 and lo < 3.0 < hi
    assert math.log(hi / r) == pytest.approx(1.959964 * math.sqrt(1 / 300 + 1 / 100))
    assert ratio_ci(4, 0)[0] == pytest.approx(9.0)  # half a count added to both


def test_count_terms_matches_whole_tokens_and_phrases():
    terms = {"who": {"m": ["he", "his"], "f": ["she", "her"]},
             "where": {"city": ["new york", "paris"]}}
    counts, tokens = count_terms(["He saw her in New York.", "the shed, his hat; paris"],
                                 terms)
    assert counts == {"who": {"m": 2, "f": 1}, "where": {"city": 2}}  # "shed" is not "she"
    assert tokens == 14


def test_audit_compares_generated_with_data_and_reports_the_makeup():
    data = ["he ran ."] * 60 + ["she sat ."] * 40
    gen = ["he ran ."] * 90 + ["she sat ."] * 10
    r = audit(data, ["a"] * 70 + ["b"] * 30, gen)
    assert r["data"]["makeup"] == [{"label": "a", "count": 70, "share": 0.7},
                                   {"label": "b", "count": 30, "share": 0.3}]
    p = r["families"]["pronouns"]
    assert p["data"]["groups"]["male"]["share"] == 0.6
    assert p["generated"]["groups"]["male"]["share"] == 0.9
    d = p["difference"]["male"]
    assert d["share_change"] == pytest.approx(0.3) and d["ci95"][0] > 0  # a real amplification
    from latentatlas.text.audit import format_audit

    shown = format_audit(r)  # the change and its interval are in the plain output too
    assert "male" in shown and "+30.0 points [" in shown and "more often than in the data" in shown
    assert p["data"]["groups"]["male"]["per_1k_tokens"] == pytest.approx(200.0)
    with pytest.raises(UserError, match="no texts"):
        audit([])


def test_load_terms_validates(tmp_path):
    assert load_terms(None)["pronouns"]["female"][0] == "she"
    f = tmp_path / "t.json"
    f.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        load_terms(f)
    f.write_text('{"x": {"a": []}}')
    with pytest.raises(UserError, match="must map"):
        load_terms(f)
    with pytest.raises(UserError, match="cannot read"):
        load_terms(tmp_path / "missing.json")


def test_grammar_skew_spec():
    d = load_text("grammar:he=3,she=1", n=4000)
    who = Counter(d.train_factors["subject"] + d.test_factors["subject"])
    assert who["they"] == 0 and 0.72 < who["he"] / 4000 < 0.78
    with pytest.raises(UserError, match="unknown subject"):
        load_text("grammar:it=1")
