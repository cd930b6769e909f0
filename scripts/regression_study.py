"""Regression that outputs a distribution: the study behind docs/results.md, "Regression with
one input and many answers".

    python scripts/regression_study.py PART     # PART: inverse-sine or arm

Trains the three heads on the set with today's defaults (`train --model regressor`,
`--model regressor --variance`, `--model mdn`) under runs/regression/, measures each through
the Python API (test NLL in nats per item, squared error, the on-data rate of one sampled
answer per test input and of the point answer), writes runs/regression/PART.json and draws
docs/figures/regression-PART.png (the lecture's picture: data, the squared-error fit, the
mixture's samples). 2 torch threads; run it alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from study import run_part, trained_run

from latentatlas import Run
from latentatlas.plotting import save_answers

ROOT = Path("runs/regression")
FIGURES = Path("docs/figures")
MODELS = {"squared error": ("regressor", {}),
          "predicted variance": ("regressor", {"variance": True}),
          "mixture density network": ("mdn", {})}


def part(data: str, retrain: bool) -> dict:
    rows, panels = {}, {}
    for label, (kind, options) in MODELS.items():
        run = Run.open(trained_run(ROOT, f"{data}-{kind}{'-variance' if options else ''}",
                                   kind, data, retrain, quiet=True, **options))
        ev = run.evaluate()
        res = run.answers(seed=0)
        rows[label] = {"run": str(run.path), "kind": kind, **options,
                       "model": run.config["model"], "epochs": len(run.metrics),
                       "nll": ev["nll"], "mse": ev["mse"],
                       "on_data_rate": round(res["on_data_rate"], 4),
                       "on_data_rate_point": round(res["on_data_rate_point"], 4)}
        panels[label] = res
    test = Run.open(rows["squared error"]["run"]).dataset
    save_answers(panels, (test.test_x, test.test_y), FIGURES / f"regression-{data}.png",
                 (test.x_names, test.y_names),
                 f"{data}: {len(test.test_x):,} test inputs, one sampled answer each")
    return {"data": data, "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["inverse-sine", "arm"])
    p.add_argument("--retrain", action="store_true")
    a = p.parse_args()
    run_part("regression_study.py", ROOT, a.part, lambda: part(a.part, a.retrain))


if __name__ == "__main__":
    main()
