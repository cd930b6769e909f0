"""Adversarial examples and adversarial training: the study behind docs/results.md,
"Adversarial examples".

    python scripts/attack_study.py curve      # success against eps, FGSM and PGD, beside ART
    python scripts/attack_study.py training   # standard vs PGD-trained: clean and robust
                                              # accuracy, and what their saliency maps show
    python scripts/attack_study.py words      # word substitutions on grammar sentiment
                                              # classifiers: hotflip against random swaps

The image parts train under runs/attack/ (a model already trained there is reused unless
--retrain): an image classifier on fashion-mnist (the default CNN, 3 epochs on N_TRAIN images)
and the same trained on PGD images (eps 0.1, 7 steps). The words part trains three text
classifiers on grammar's sentiment: the default one (3 epochs on 18,000 sentences), a small
one (hidden 16, 5 epochs on 2,000) and the small one after 1 epoch, and attacks the first
1,000 test sentences (``explain.workflow.attack_run``). Measures go through the Python API
(``explain.adversarial.attack_images``, ``explain.faithfulness.deletion_insertion``) on the
first test images; results in runs/attack/PART.json, figures in docs/figures/. 2 torch
threads; run it alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from study import run_part, trained_run

from latentatlas import Run, load
from latentatlas.explain import explain
from latentatlas.explain.adversarial import attack_images
from latentatlas.explain.faithfulness import deletion_insertion
from latentatlas.plotting import save_attack

ROOT = Path("runs/attack")
FIGURES = Path("docs/figures")
N_TRAIN, EPOCHS, EPS_TRAIN = 20_000, 3, 0.1
MODELS = {"standard": {}, "pgd-trained": {"adversarial": "pgd", "eps": EPS_TRAIN,
                                         "attack_steps": 7}}
EPSILONS = (0.01, 0.02, 0.05, 0.1, 0.2)


def model_run(name: str, retrain: bool) -> Run:
    return Run.open(trained_run(ROOT, f"cnn-{name}", "image-classifier", "fashion-mnist",
                                retrain, n_train=N_TRAIN, epochs=EPOCHS, **MODELS[name]))


def art_pgd_rate(model, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int) -> float:
    """The Adversarial Robustness Toolbox's PGD success rate on the same images."""
    from art.attacks.evasion import ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, t):
            return self.m.logits(t)

    clf = PyTorchClassifier(Logits(), torch.nn.CrossEntropyLoss(), tuple(x.shape[1:]),
                            len(model.config.classes), clip_values=(0.0, 1.0))
    pgd = ProjectedGradientDescent(clf, norm=np.inf, eps=eps, eps_step=2.5 * eps / steps,
                                   max_iter=steps, num_random_init=1, batch_size=256,
                                   verbose=False)
    before = torch.from_numpy(clf.predict(x.numpy())).argmax(1)
    after = torch.from_numpy(clf.predict(pgd.generate(x.numpy(), y=y.numpy()))).argmax(1)
    right = before == y
    return round(float((after[right] != y[right]).float().mean()), 4)


def curve_part(retrain: bool, n: int = 1000) -> dict:
    run = model_run("standard", retrain)
    model, data = load(run.path), run.dataset
    x, y = data.test_x[:n], data.test_y[:n]
    rows = []
    for eps in EPSILONS:
        for method in ("fgsm", "pgd"):
            r = attack_images(model, x, y, method, eps, steps=20)
            rows.append({"eps": eps, "method": method, "success_rate": r["success_rate"],
                         "accuracy_after": r["accuracy_after"], "l2_mean": r["l2_mean"],
                         "confidence_after": r["confidence_after"]})
        rows[-1]["art_pgd_success_rate"] = art_pgd_rate(model, x, y, eps, 20)
    shown = attack_images(model, x[:8], y[:8], "pgd", 0.05)
    names = list(model.config.classes)
    save_attack(shown["images"], shown["adversarial"],
                [names[i] for i in shown["predicted_before"]],
                [names[i] for i in shown["predicted_after"]], FIGURES / "attack-pgd.png",
                title="PGD, eps 0.05 (20 steps), the standard CNN")
    clean = attack_images(model, x, y, "fgsm", 0.01)
    return {"run": str(run.path), "n": n, "accuracy": clean["accuracy_before"],
            "confidence": clean["confidence_before"], "rows": rows}


def training_part(retrain: bool, n: int = 1000, saliency_items: int = 100) -> dict:
    out = {}
    for name in MODELS:
        run = model_run(name, retrain)
        model, data = load(run.path), run.dataset
        x, y = data.test_x[:n], data.test_y[:n]
        row = {"run": str(run.path), "train_seconds": round(sum(r["seconds"] for r in
                                                                 run.metrics), 1)}
        for eps in (0.05, 0.1):
            r = attack_images(model, x, y, "pgd", eps, steps=20)
            row["clean_accuracy"] = r["accuracy_before"]
            row[f"robust_accuracy_eps{eps}"] = r["accuracy_after"]
        deletion, insertion = [], []
        for i in range(saliency_items):  # how faithful the input-gradient map is
            a = explain(model, x[i], "saliency")
            curves = deletion_insertion(model, x[i], a)
            deletion.append(curves["deletion_auc"])
            insertion.append(curves["insertion_auc"])
        row["saliency_deletion_auc"] = round(float(np.mean(deletion)), 4)
        row["saliency_insertion_auc"] = round(float(np.mean(insertion)), 4)
        out[name] = row
    return out


TEXT_MODELS = {"default": {"epochs": 3},
               "small": {"epochs": 5, "hidden": (16,), "embed_dim": 16, "n_train": 2000},
               "undertrained": {"epochs": 1, "hidden": (16,), "embed_dim": 16,
                                "n_train": 2000}}
WORD_EPS = (0.125, 0.25, 0.5)


def words_part(retrain: bool, n: int = 1000) -> dict:
    from collections import Counter

    from latentatlas.data.grammar import word_roles
    from latentatlas.explain.workflow import attack_run

    roles, out = word_roles(), {}
    for name, options in TEXT_MODELS.items():
        path = trained_run(ROOT, f"sentiment-{name}", "text-classifier", "grammar", retrain,
                           quiet=True, label="sentiment", **options)
        rows = []
        for swaps in ("same-role", "any"):
            for eps in WORD_EPS:
                for method in ("hotflip", "random"):
                    r = attack_run(path, method, eps, n, swaps=swaps)
                    swapped = Counter(roles.get(old, "other") for i in
                                      r["success"].nonzero()[:, 0].tolist()
                                      for old, _ in r["swapped"][i])
                    rows.append({"swaps": swaps, "eps": eps, "method": method,
                                 "success_rate": r["success_rate"],
                                 "words_changed_mean": r["words_changed_mean"],
                                 "confidence_after": r["confidence_after"],
                                 "roles_swapped_in_successes": dict(swapped.most_common()),
                                 "example": next(({"text": r["texts"][i],
                                                   "adversarial": r["adversarial_texts"][i]}
                                                  for i in r["success"].nonzero()[:, 0]
                                                  .tolist()), None)})
        out[name] = {"run": str(path), "accuracy": r["accuracy_before"],
                     "confidence": r["confidence_before"], "attacked": r["attacked"],
                     "rows": rows}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["curve", "training", "words"])
    p.add_argument("--retrain", action="store_true")
    a = p.parse_args()
    run_part("attack_study.py", ROOT, a.part,
             {"curve": lambda: curve_part(a.retrain),
              "training": lambda: training_part(a.retrain),
              "words": lambda: words_part(a.retrain)}[a.part])


if __name__ == "__main__":
    main()
