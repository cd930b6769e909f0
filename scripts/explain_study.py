"""Ground truth for the attribution methods: on `grammar`, the sentiment label is set by the
adjective alone, so each method's precision at 1 (is the top token the adjective?) is measured.

    python scripts/explain_study.py [--out runs/explain-study] [--n 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from latentatlas import load
from latentatlas.cli import main as cli
from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.explain import METHODS, explain_text

ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/explain-study")
    p.add_argument("--n", type=int, default=200, help="test sentences to explain")
    a = p.parse_args()
    torch.set_num_threads(2)
    run = str(Path(a.out) / "grammar-sentiment")
    args = ["train", "--model", "text-classifier", "--data", "grammar", "--label", "sentiment",
            "--hidden", "64", "--embed-dim", "32", "--epochs", "3", "--out", run, "--force",
            "--quiet"]
    if cli(args) != 0:
        raise SystemExit(2)
    model = load(run)
    texts = load_text("grammar").test[: a.n]
    result: dict = {"command": "python scripts/explain_study.py", "run": run,
                    "sentences": len(texts), "methods": {}}
    for method in METHODS:
        t = time.perf_counter()
        hits = sum(r.tokens[r.top(1)[0]] in ADJECTIVES
                   for r in (explain_text(model, x, method) for x in texts))
        result["methods"][method] = {
            "precision_at_1": round(hits / len(texts), 3),
            "ms_per_explanation": round((time.perf_counter() - t) / len(texts) * 1000, 2)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
