"""Which words distinguish texts generated under different contexts.

The weighted log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008,
"Fightin' Words", section 3.5): for word w in corpus i against corpus j, with counts y, totals n,
and a prior alpha_w = alpha0 * (background frequency of w),

    delta_w = log((y_wi + a_w) / (n_i + a0 - y_wi - a_w))
              - log((y_wj + a_w) / (n_j + a0 - y_wj - a_w))
    var_w  ~= 1 / (y_wi + a_w) + 1 / (y_wj + a_w),     z_w = delta_w / sqrt(var_w)

so frequent words need a real difference to score high, and rare words do not dominate.
"""

from __future__ import annotations

import math
from collections import Counter

from ..data.vocab import tokenize


def content_words(text: str, stop_words: bool = True) -> list[str]:
    """The words of a text without punctuation, numbers and (by default) English stop words
    (scikit-learn's list)."""
    words = [t for t in tokenize(text.replace("<unk>", " ")) if t.replace("'", "").isalpha()]
    if not stop_words:
        return words
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # scikit-learn takes 3 s

    return [w for w in words if w not in ENGLISH_STOP_WORDS]


def word_counts(texts: list[str], stop_words: bool = True) -> Counter:
    return Counter(w for t in texts for w in content_words(t, stop_words))


def log_odds(counts: list[Counter], prior_strength: float | None = None,
             background: Counter | None = None) -> list[dict[str, dict[str, float]]]:
    """For each corpus against all the others pooled: {word: {"delta", "z", "count"}}.

    ``background`` (default: all corpora together) sets the prior's shape;
    ``prior_strength`` alpha0 (default: the background's size, as in Monroe et al.'s example).
    """
    background = background if background is not None else sum(counts, Counter())
    total_bg = sum(background.values())
    if total_bg == 0:
        return [{} for _ in counts]
    a0 = float(prior_strength if prior_strength is not None else total_bg)
    results = []
    for i, ci in enumerate(counts):
        cj = sum((c for j, c in enumerate(counts) if j != i), Counter())
        ni, nj = sum(ci.values()), sum(cj.values())
        scores: dict[str, dict[str, float]] = {}
        for w in set(ci) | set(cj):
            aw = a0 * background.get(w, 0) / total_bg
            if aw <= 0:
                continue
            yi, yj = ci.get(w, 0), cj.get(w, 0)
            delta = (math.log((yi + aw) / (ni + a0 - yi - aw))
                     - math.log((yj + aw) / (nj + a0 - yj - aw)))
            z = delta / math.sqrt(1.0 / (yi + aw) + 1.0 / (yj + aw))
            scores[w] = {"delta": delta, "z": z, "count": yi}
        results.append(scores)
    return results
