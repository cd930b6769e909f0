"""Right for the right reasons on decoy Fashion-MNIST: the study behind docs/results.md,
"Right for the right reasons".

    python scripts/rrr_study.py table [--epochs 3] [--n-train 20000] [--retrain]

Three image classifiers (the default CNN) under runs/rrr/: one on clean fashion-mnist (the
reference), one on ``fashion-mnist:decoy`` (a square in a random corner of every training
image whose grey level gives the class away), and one on the same decoy images trained with
``--rrr corners:4`` (Ross et al. 2017: the input gradients on the four corners penalised).
Measured on 2,000 test images: accuracy on the clean images; on the images with the true
class's square (what training looked like); with a misleading square (another class's grey
level, in a random corner: decoy MNIST's test); and the share of each attribution's mass
(|input gradient| and |integrated gradients|, 200 images with the true square) that falls
on the square. Writes runs/rrr/table.json. 2 torch threads; run it alone.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import torch
from study import table_main, trained_run

from latentatlas import Run
from latentatlas.data.decoy import add_decoy, corners_mask
from latentatlas.explain import explain_image
from latentatlas.explain.core import class_probabilities

ROOT = Path("runs/rrr")


def accuracy(model, x: torch.Tensor, y: torch.Tensor) -> float:
    return round(float((class_probabilities(model, x).argmax(1) == y).float().mean()), 4)


def table(epochs: int, n_train: int, retrain: bool) -> dict:
    common = {"epochs": epochs, "n_train": n_train, "n_test": 2000}
    runs = {"clean data": trained_run(ROOT, "clean", "image-classifier", "fashion-mnist",
                                      retrain, **common),
            "decoy data": trained_run(ROOT, "decoy", "image-classifier", "fashion-mnist:decoy",
                                      retrain, **common),
            "decoy data, --rrr corners:4": trained_run(
                ROOT, "decoy-rrr", "image-classifier", "fashion-mnist:decoy", retrain,
                rrr="corners:4", **common)}
    test = Run.open(runs["clean data"]).dataset
    x, y = test.test_x, test.test_y
    k = len(test.classes)
    g = torch.Generator().manual_seed(1)
    true_square = add_decoy(x, y, k, g)
    wrong = (y + torch.randint(1, k, y.shape, generator=g)) % k  # any other class
    misleading = add_decoy(x, wrong, k, g)
    corners = corners_mask(tuple(x.shape[2:]))
    rows = []
    for name, path in runs.items():
        run = Run.open(path)
        model = run.model
        row = {"model": name, "run": str(path), "seconds_per_epoch": round(
            statistics.mean(r["seconds"] for r in run.metrics), 2),
               "accuracy_clean": accuracy(model, x, y),
               "accuracy_true_square": accuracy(model, true_square, y),
               "accuracy_misleading_square": accuracy(model, misleading, y)}
        for method in ("saliency", "ig"):
            shares = []
            for image in true_square[:200]:
                s = torch.from_numpy(explain_image(model, image, method).scores).abs()
                shares.append(float((s * corners).sum() / s.sum().clamp_min(1e-12)))
            row[f"{method}_mass_on_corners"] = round(statistics.mean(shares), 4)
        rows.append(row)
    share = float(corners.mean())
    return {"test_images": len(x), "corner_area_share": round(share, 4), "rows": rows,
            "markdown": markdown(rows, share)}


def markdown(rows: list[dict], share: float) -> str:
    lines = ["| model | accuracy, clean test | with the true square | with a misleading square "
             f"| saliency mass on the corners ({share:.1%} of the pixels) | IG mass on the "
             "corners | s per epoch |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['accuracy_clean']:.3f} | "
                     f"{r['accuracy_true_square']:.3f} | {r['accuracy_misleading_square']:.3f} | "
                     f"{r['saliency_mass_on_corners']:.3f} | {r['ig_mass_on_corners']:.3f} | "
                     f"{r['seconds_per_epoch']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    table_main("rrr_study.py", __doc__, ROOT, lambda a: table(a.epochs, a.n_train, a.retrain),
               epochs={"type": int, "default": 3}, n_train={"type": int, "default": 20000})


if __name__ == "__main__":
    main()
