"""Does attention follow the salient words? The study behind docs/results.md, "Attention and
salience".

    python scripts/attention_study.py table [--n 300] [--retrain]

Source 002 asks whether a text model's attention simply tracks the words that stand out
(high TF-IDF). Three attention models under runs/attention/: an attention-pooled text
classifier on fortunes (its category, the fortune file), one on grammar (sentiment), and an
attn-lm on grammar (window 8). For ``--n`` test texts of each corpus, every token's attention
(the classifier's pooling weight; for the attn-lm the total weight the token receives over
all the predictions that can see it, teacher-forced), its TF-IDF weight (count in the text x
smoothed idf over the training texts, as scikit-learn's: ln((1 + N) / (1 + df)) + 1), and for
the classifiers the magnitude of its integrated-gradients attribution to the predicted class.
Reported: Spearman's rho within each text (mean over texts, 95% bootstrap interval over
texts, 2,000 resamples) and over all tokens pooled; a scatter figure
docs/figures/attention-salience.png. Writes runs/attention/table.json. 2 torch threads.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr
from study import table_main, trained_run

from latentatlas import Run
from latentatlas.data.text import load_text
from latentatlas.explain import explain_text
from latentatlas.explain.tokens import token_ids
from latentatlas.models.decoding import BOS, PAD
from latentatlas.plotting import pyplot, save_figure

ROOT = Path("runs/attention")
FIGURE = Path("docs/figures/attention-salience.png")


def idf_table(texts: list[str], tokenize) -> tuple[dict[str, float], float]:
    """Smoothed idf of every token of ``texts`` and the idf of an unseen token."""
    df = Counter(t for text in texts for t in set(tokenize(text)))
    n = len(texts)
    return {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}, math.log(1 + n) + 1


def classifier_attention(model, text: str) -> tuple[list[str], np.ndarray]:
    ids, tokens = token_ids(model, text)
    with torch.no_grad():
        _, weights = model.logits_from_embeddings(model.embed(ids), ids != PAD)
    return tokens, weights[0, 1:len(tokens) + 1].double().numpy()  # without <s> and </s>


def lm_attention(model, text: str) -> tuple[list[str], np.ndarray]:
    """Each token's total attention over the predictions made after reading it (teacher
    forcing: the inputs are <s> and the text)."""
    tokens, ids = model.vocab.known(text, model.config.max_len)
    inputs = torch.tensor([[BOS, *ids]])
    weights = model.attention(inputs)[0]  # (T, W): row t reads inputs t - W + 1 .. t
    w = model.config.window
    received = np.zeros(inputs.shape[1])
    for t in range(inputs.shape[1]):
        for k in range(w):
            src = t - w + 1 + k
            if src >= 0:
                received[src] += float(weights[t, k])
    return tokens, received[1:]


def bootstrap(values: list[float], rng) -> tuple[float, float]:
    v = np.asarray(values)
    means = v[rng.integers(0, len(v), (2000, len(v)))].mean(1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def study_model(name: str, run: Run, corpus: str, n: int, rng) -> dict:
    data = load_text(corpus)
    model = run.model
    idf, unseen = idf_table(data.train, model.vocab.tokenize)
    texts = [t for t in data.test if 4 <= len(model.vocab.tokenize(t)) <= 40][:n]
    is_lm = run.kind.name == "attn-lm"
    per_text: dict[str, list[float]] = {"tfidf": [], "ig": []}
    pooled: dict[str, list[np.ndarray]] = {"attention": [], "tfidf": [], "ig": []}
    for text in texts:
        tokens, att = lm_attention(model, text) if is_lm else classifier_attention(model, text)
        counts = Counter(tokens)
        tfidf = np.array([counts[t] * idf.get(t, unseen) for t in tokens])
        pooled["attention"].append(att)
        pooled["tfidf"].append(tfidf)
        if len(set(att)) > 1 and len(set(tfidf)) > 1:
            per_text["tfidf"].append(float(spearmanr(att, tfidf).statistic))
        if not is_lm:
            ig = np.abs(explain_text(model, text, "ig").scores)
            pooled["ig"].append(ig)
            if len(set(ig)) > 1:
                per_text["ig"].append(float(spearmanr(att, ig).statistic))
    out = {"model": name, "run": str(run.path), "corpus": corpus, "texts": len(texts),
           "tokens": int(sum(len(a) for a in pooled["attention"]))}
    att_all = np.concatenate(pooled["attention"])
    for key in ("tfidf", "ig"):
        if not per_text[key]:
            continue
        lo, hi = bootstrap(per_text[key], rng)
        out[key] = {"mean_within_text_rho": round(float(np.mean(per_text[key])), 3),
                    "ci95": [round(lo, 3), round(hi, 3)], "texts": len(per_text[key]),
                    "pooled_rho": round(float(spearmanr(att_all, np.concatenate(pooled[key]))
                                              .statistic), 3)}
    out["_points"] = {k: np.concatenate(v).tolist() for k, v in pooled.items() if v}
    return out


def table(n: int, retrain: bool) -> dict:
    common = {"hidden": (64,), "embed_dim": 32}
    runs = {
        "classifier, fortunes": (trained_run(ROOT, "fortunes-clf", "text-classifier", "fortunes",
                                             retrain, epochs=8, max_len=40, **common),
                                 "fortunes"),
        "classifier, grammar": (trained_run(ROOT, "grammar-clf", "text-classifier", "grammar",
                                            retrain, label="sentiment", epochs=3, **common),
                                "grammar"),
        "attn-lm, grammar": (trained_run(ROOT, "grammar-attn-lm", "attn-lm", "grammar", retrain,
                                         window=8, epochs=3, **common), "grammar"),
    }
    rng = np.random.default_rng(0)
    rows = [study_model(name, Run.open(path), corpus, n, rng)
            for name, (path, corpus) in runs.items()]
    draw(rows)
    for r in rows:
        r.pop("_points")
    return {"rows": rows, "figure": str(FIGURE), "markdown": markdown(rows)}


def markdown(rows: list[dict]) -> str:
    lines = ["| model | texts (tokens) | attention vs TF-IDF: rho within a text [95% CI] | "
             "pooled | attention vs abs(IG): rho within a text [95% CI] | pooled |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = []
        for key in ("tfidf", "ig"):
            s = r.get(key)
            cells += ([f"{s['mean_within_text_rho']:+.3f} [{s['ci95'][0]:+.3f}, "
                       f"{s['ci95'][1]:+.3f}]", f"{s['pooled_rho']:+.3f}"] if s else ["", ""])
        lines.append(f"| {r['model']} | {r['texts']} ({r['tokens']:,}) | " + " | ".join(cells)
                     + " |")
    return "\n".join(lines)


def draw(rows: list[dict]) -> None:
    plt = pyplot()
    panels = [(r, key) for r in rows for key in ("tfidf", "ig") if key in r["_points"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2))
    for ax, (r, key) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.scatter(r["_points"][key], r["_points"]["attention"], s=3, alpha=0.25)
        ax.set_xlabel("TF-IDF" if key == "tfidf" else "|integrated gradients|", fontsize=8)
        ax.set_ylabel("attention", fontsize=8)
        ax.set_title(f"{r['model']}\nrho {r[key]['mean_within_text_rho']:+.2f} within texts",
                     fontsize=8)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, FIGURE, dpi=110)


def main() -> None:
    table_main("attention_study.py", __doc__, ROOT, lambda a: table(a.n, a.retrain),
               n={"type": int, "default": 300})


if __name__ == "__main__":
    main()
