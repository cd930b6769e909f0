"""Does the classifier read "not"? The study behind docs/results.md, "Negation".

    python scripts/negation_study.py table [--n 200] [--epochs 3] [--retrain]

Source 002 shows LIME on a sentiment model that misreads a negation. Here the truth is known:
the ``negation`` dataset says every feeling with a copula and negates half of them ("she ran in
rome and was not elated ." is negative), so a sentence's sentiment rests on two words, the
adjective and "not", which is the only word that marks the negation.
Two text classifiers of one architecture (bi-GRU 64, embeddings 32, attention pooling, 3
epochs) under runs/negation/: one trained on ``negation``, one on plain ``grammar``, which
never saw a copula or a negation (to it "was" and "not" are <unk>). On ``--n`` negated and
``--n`` plain test sentences of ``negation``: each model's accuracy, and for LIME,
KernelSHAP, integrated gradients, gradient x input and occlusion the precision of the top 2
tokens against the truth (the share of {adjective, "not"} among them; plain sentences: is the
adjective the top token), and the rank of "not" among the tokens. Writes
runs/negation/table.json. 2 torch threads; run it alone.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from study import table_main, trained_run

from latentatlas import Run
from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.explain import explain_text
from latentatlas.explain.core import class_probabilities

ROOT = Path("runs/negation")
METHODS = ("lime", "kernelshap", "ig", "gradxinput", "occlusion")
ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}


def table(n: int, epochs: int, retrain: bool) -> dict:
    options = {"label": "sentiment", "hidden": (64,), "embed_dim": 32, "epochs": epochs}
    runs = {"trained with negations": trained_run(ROOT, "negation", "text-classifier",
                                                  "negation", retrain, **options),
            "trained without": trained_run(ROOT, "plain", "text-classifier", "grammar",
                                           retrain, **options)}
    data = load_text("negation")
    negated = [t for t in data.test if " not " in t][:n]
    plain = [t for t in data.test if " not " not in t][:n]
    truth = dict(zip(data.test, data.test_labels, strict=True))
    rows = []
    for name, path in runs.items():
        run = Run.open(path)
        model = run.model
        row = {"model": name, "run": str(path),
               "test_accuracy_own_data": round(run.metrics[-1]["test_accuracy"], 4)}
        classes = model.config.classes
        for label, texts in (("negated", negated), ("plain", plain)):
            probs = class_probabilities(model, model.vocab.batch(texts, model.config.max_len))
            preds = [classes[i] for i in probs.argmax(1).tolist()]
            row[f"accuracy_{label}"] = round(
                sum(p == truth[t] for p, t in zip(preds, texts, strict=True)) / len(texts), 4)
        for method in METHODS:
            top2, not_rank, top1 = [], [], []
            for t in negated:
                r = explain_text(model, t, method)
                words = t.split()
                order = list(r.top(len(words)))
                top2.append(sum(words[i] in ADJECTIVES | {"not"} for i in order[:2]) / 2)
                not_rank.append(order.index(words.index("not")) + 1)
            for t in plain:
                r = explain_text(model, t, method)
                top1.append(t.split()[r.top(1)[0]] in ADJECTIVES)
            row[method] = {"negated_top2_precision": round(statistics.mean(top2), 3),
                           "negated_not_median_rank": statistics.median(not_rank),
                           "plain_top1_precision": round(statistics.mean(top1), 3)}
        rows.append(row)
    return {"sentences": {"negated": len(negated), "plain": len(plain)}, "rows": rows,
            "markdown": markdown(rows)}


def markdown(rows: list[dict]) -> str:
    lines = ["| model | accuracy, negated | accuracy, plain | "
             + " | ".join(f"{m}: top-2 precision (rank of not)" for m in METHODS) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in METHODS) + " |"]
    for r in rows:
        cells = [f"{r[m]['negated_top2_precision']:.3f} ({r[m]['negated_not_median_rank']:g})"
                 for m in METHODS]
        lines.append(f"| {r['model']} | {r['accuracy_negated']:.3f} | {r['accuracy_plain']:.3f}"
                     f" | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    table_main("negation_study.py", __doc__, ROOT, lambda a: table(a.n, a.epochs, a.retrain),
               n={"type": int, "default": 200}, epochs={"type": int, "default": 3})


if __name__ == "__main__":
    main()
