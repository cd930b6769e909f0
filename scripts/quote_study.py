"""Is there a cell that tracks quotations? Karpathy et al. (2015) found one in a character-level
LSTM. We train a character-level LSTM language model on Debian's fortunes, then rank its cells
by correlation with "inside a double-quoted span" on held-out quoted fortunes.

The best cell is chosen on one half of the held-out texts and measured on the other, so the
figure is not inflated by picking the maximum of 256 correlations; the same procedure on an
untrained copy of the model (random weights) is the control. A logistic-regression probe on all
cells (fitted on the first half, ROC AUC on the second) asks whether the state encodes "inside
quotes" at all, in one cell or spread over many.

    python scripts/quote_study.py [--hidden 512] [--epochs 8] [--out runs/quote-study]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from latentatlas import Run, fit, load
from latentatlas.data.text import load_text
from latentatlas.explain.cells import cell_activations, indicator, rank_cells
from latentatlas.explain.render import cells_html
from latentatlas.explain.workflow import cell_table
from latentatlas.fileio import write_text

PATTERN = r'"[^"]*"'
TRAIN = {"tokens": "char", "max_len": 300, "embed_dim": 32, "batch_size": 64, "lr": 0.002,
         "threads": 2}


def pooled(model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Cell activations and the inside-quotes indicator over all ``texts``, concatenated."""
    acts, target = [], []
    for t in texts:
        spans, a = cell_activations(model, t)
        acts.append(a)
        target.append(indicator(t, spans, PATTERN))
    return np.concatenate(acts), np.concatenate(target)


def held_out(model, texts: list[str]) -> dict:
    half = len(texts) // 2
    acts_a, ind_a = pooled(model, texts[:half])
    acts_b, ind_b = pooled(model, texts[half:])
    cell, r_a = rank_cells(acts_a, ind_a)[0]
    r_b = float(np.corrcoef(acts_b[:, cell], ind_b)[0, 1])
    # the cell as a detector: halfway between its mean inside and outside quotes (half A)
    inside_a, outside_a = acts_a[ind_a == 1, cell].mean(), acts_a[ind_a == 0, cell].mean()
    threshold, sign = (inside_a + outside_a) / 2, np.sign(inside_a - outside_a)
    says = (acts_b[:, cell] - threshold) * sign > 0
    balanced = (says[ind_b == 1].mean() + (~says[ind_b == 0]).mean()) / 2
    top_b = rank_cells(acts_b, ind_b)[:3]
    scale = StandardScaler().fit(acts_a)
    probe = LogisticRegression(max_iter=2000).fit(scale.transform(acts_a), ind_a)
    auc = roc_auc_score(ind_b, probe.decision_function(scale.transform(acts_b)))
    return {"cell": cell, "r_selection_half": round(r_a, 4), "r_held_out_half": round(r_b, 4),
            "threshold": float(threshold), "sign": float(sign),
            "cell_balanced_accuracy_held_out": round(float(balanced), 4),
            "best_on_held_out_half": [[c, round(r, 4)] for c, r in top_b],
            "probe_auc_held_out": round(float(auc), 4),
            "chars": int(len(ind_a) + len(ind_b)),
            "share_inside_quotes": round(float(np.mean(np.concatenate([ind_a, ind_b]))), 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/quote-study")
    p.add_argument("--texts", type=int, default=200, help="held-out quoted fortunes to read")
    p.add_argument("--hidden", type=int, default=512, help="LSTM cells")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--retrain", action="store_true", help="train again even if the run exists")
    a = p.parse_args()
    torch.set_num_threads(2)
    run = Path(a.out) / f"char-lm-{a.hidden}"
    if a.retrain or not (run / "model.safetensors").is_file():
        fit("lm", "fortunes", run, hidden=(a.hidden,), epochs=a.epochs, force=True, **TRAIN)
    model = load(run)
    # held-out fortunes with balanced quotes, no longer than what the model was trained on
    test = [t for t in load_text("fortunes").test if 2 <= t.count('"') and t.count('"') % 2 == 0
            and len(t) <= model.config.max_len][: a.texts]
    trained = held_out(model, test)
    torch.manual_seed(0)
    opened = Run.open(run)
    untrained = opened.kind.build(opened.config["model"]).eval()
    untrained.vocab = model.vocab
    control = held_out(untrained, test)
    # the page: a few held-out fortunes read in one go, coloured by the quote cell
    sample = "\n".join(test[:6]) + "\n"  # the same held-out fortunes for every model
    page = Path(a.out) / f"cells-{a.hidden}.html"
    table = cell_table(model, sample, PATTERN)
    write_text(page, cells_html([t for t, _, _ in table["spans"]], table["activations"],
                                table["ranked"], f"{run.name}: quoted fortunes"))
    metrics = opened.metrics
    shown = next((t for t in test if 0 <= t.find('"') < 40), test[0])
    spans, acts = cell_activations(model, shown)
    c = trained["cell"]
    strip = "".join(ch if ch != "\n" else " " for ch, _, _ in spans)
    result = {
        "command": f"python scripts/quote_study.py --hidden {a.hidden} --epochs {a.epochs}",
        "run": str(run),
        "test_perplexity_per_char": round(metrics[-1]["test_perplexity"], 3),
        "held_out_texts": len(test), "pattern": PATTERN,
        "trained": trained, "untrained_control": control,
        "example": {"text": strip[:120],
                    "cell_says_inside": "".join(
                        "1" if (v - trained["threshold"]) * trained["sign"] > 0 else "0"
                        for v in acts[:120, c]),
                    "inside": "".join("1" if x else "0"
                                      for x in indicator(shown, spans, PATTERN)[:120])},
        "page": str(page)}
    print(json.dumps(result, indent=1))
    (Path(a.out) / f"study-{a.hidden}.json").write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
