"""How many latent dimensions does a VAE use, and does it grow with the model? The study behind
docs/results.md, "Active units across sizes and seeds".

    python scripts/units_study.py table [--epochs 20] [--budget 5] [--n-train 20000] [--retrain]

Source 004 trained a small and a large VAE (20 latent dimensions each) on Fashion-MNIST and saw
the small one use about 5 dimensions and the large one 9-10; our shoe study, one seed each, saw
the reverse (13 against 6). Here ``latentatlas.sweep`` trains ten seeds of each of four sizes
(784-64-20, 784-256-20, 784-400-20, 784-1024-512-20; batch 128, Adam 1e-3, constant) under
runs/units/, and every epoch's metrics count the units each model uses on the test images by
both usual criteria: active units (Var over the images of the posterior mean above 0.01) and
units whose average KL to the prior is above 0.1 nat. With a constant learning rate and no KL
annealing, a model's state after ``--budget`` epochs is exactly what a run of that many epochs
would end with, so one sweep gives both epoch budgets. Reports each size and budget's mean and
95% t-interval over the seeds, the differences between sizes with Welch intervals, writes
runs/units/table.json and draws docs/figures/active-units.png. 2 torch threads; run it alone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats
from study import table_main

import latentatlas
from latentatlas.plotting import pyplot, save_figure

ROOT = Path("runs/units")
FIGURE = Path("docs/figures/active-units.png")
SIZES = [(64,), (256,), (400,), (1024, 512)]
SEEDS = list(range(10))
CRITERIA = {"active_units": "Var of the mean > 0.01", "kl_units": "KL > 0.1 nat"}


def name(hidden: tuple[int, ...]) -> str:
    return "x".join(map(str, hidden))


def interval(values: list[float]) -> dict[str, float]:
    """Mean and 95% t-interval over seeds."""
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
    return {"mean": round(float(v.mean()), 2), "lo": round(float(v.mean() - half), 2),
            "hi": round(float(v.mean() + half), 2), "min": float(v.min()), "max": float(v.max())}


def welch(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of b minus mean of a, its 95% Welch interval and the two-sided p-value."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(b.mean() - a.mean())
    if va + vb == 0:
        return {"diff": round(diff, 2), "lo": round(diff, 2), "hi": round(diff, 2),
                "p": 0.0 if diff else 1.0}
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    p = 2 * stats.t.sf(abs(diff) / math.sqrt(va + vb), df)
    return {"diff": round(diff, 2), "lo": round(diff - half, 2), "hi": round(diff + half, 2),
            "p": float(f"{p:.2g}")}


def train(epochs: int, n_train: int, retrain: bool) -> dict:
    """The sweep's summary, training it unless runs/units already holds one of these settings."""
    summary_path = ROOT / "sweep.json"
    if summary_path.is_file() and not retrain:
        summary = json.loads(summary_path.read_text())
        done = {(tuple(r["hidden"]), r["seed"], r["epochs"]) for r in summary["runs"]}
        if done == {(h, s, epochs) for h in SIZES for s in SEEDS} \
                and summary["data"]["n_train"] == n_train:
            return summary
    return latentatlas.sweep("vae", "fashion-mnist", ROOT, seeds=SEEDS, hidden=SIZES,
                             epochs=epochs, n_train=n_train, n_test=5000, latent_dim=20,
                             force=True, log=print)


def table(epochs: int, budget: int, n_train: int, retrain: bool) -> dict:
    summary = train(epochs, n_train, retrain)
    budgets = sorted({budget, epochs})
    per: dict[str, dict[int, dict[str, list[float]]]] = {}
    for row in summary["runs"]:
        history = latentatlas.Run.open(row["run"]).metrics
        cell = per.setdefault(name(tuple(row["hidden"])), {})
        for b in budgets:
            record = history[b - 1]
            for key in (*CRITERIA, "loss", "kl"):
                cell.setdefault(b, {}).setdefault(key, []).append(record[f"test_{key}"])
    rows = [{"hidden": size, "epochs": b, "seeds": len(values["loss"]),
             **{key: interval(values[key]) for key in (*CRITERIA, "loss", "kl")},
             "values": {key: values[key] for key in CRITERIA}}
            for size, cells in per.items() for b, values in cells.items()]
    small, large = name(SIZES[0]), name(SIZES[-1])
    contrasts = {f"{b} epochs, {key}: {pair[1]} minus {pair[0]}":
                 welch(per[pair[0]][b][key], per[pair[1]][b][key])
                 for b in budgets for key in CRITERIA
                 for pair in ((small, large), ("400", large))}
    draw(rows, budgets)
    return {"data": summary["data"], "train": {k: summary["train"][k] for k in
                                               ("epochs", "batch_size", "lr", "lr_schedule")},
            "latent_dim": 20, "budgets": budgets, "rows": rows, "contrasts": contrasts,
            "figure": str(FIGURE), "markdown": markdown(rows)}


def markdown(rows: list[dict]) -> str:
    lines = ["| hidden | epochs | test loss | active units (Var > 0.01) | units with KL > 0.1 nat "
             "| KL (nats) |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        cells = [f"{r[k]['mean']:.2f} [{r[k]['lo']:.2f}, {r[k]['hi']:.2f}]"
                 for k in ("loss", *CRITERIA, "kl")]
        lines.append(f"| {r['hidden']} | {r['epochs']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw(rows: list[dict], budgets: list[int]) -> None:
    """Units used against model size, one panel per criterion, one line per budget: the mean
    with its 95% interval, and every seed as a dot."""
    plt = pyplot()
    sizes = list(dict.fromkeys(r["hidden"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, (key, label) in zip(axes, CRITERIA.items(), strict=True):
        for j, b in enumerate(budgets):
            shift = (j - (len(budgets) - 1) / 2) * 0.18
            cells = [next(r for r in rows if r["hidden"] == s and r["epochs"] == b)
                     for s in sizes]
            xs = np.arange(len(sizes)) + shift
            means = [c[key]["mean"] for c in cells]
            err = [[c[key]["mean"] - c[key]["lo"] for c in cells],
                   [c[key]["hi"] - c[key]["mean"] for c in cells]]
            ax.errorbar(xs, means, yerr=err, marker="o", capsize=3, label=f"{b} epochs")
            for x, c in zip(xs, cells, strict=True):
                v = c["values"][key]
                ax.scatter(x + np.linspace(-0.05, 0.05, len(v)), v, s=6, alpha=0.4,
                           color=ax.lines[-1].get_color())
        ax.set_xticks(range(len(sizes)), [f"784-{s.replace('x', '-')}-20" for s in sizes],
                      fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("latent units used (of 20)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, FIGURE, dpi=110)


def main() -> None:
    table_main("units_study.py", __doc__, ROOT,
               lambda a: table(a.epochs, a.budget, a.n_train, a.retrain),
               epochs={"type": int, "default": 20},
               budget={"type": int, "default": 5, "help": "the shorter epoch budget"},
               n_train={"type": int, "default": 20000})


if __name__ == "__main__":
    main()
