"""Generator zoo I: the studies behind docs/results.md, "GANs, inversion, random networks".

    python scripts/gan_study.py quality    # VAE vs GAN samples in one table (Fréchet classifier
                                           # distance, precision, recall, class coverage);
                                           # inversion error; latent vs pixel paths
    python scripts/gan_study.py collapse   # a generator against a fixed or a weak critic vs a
                                           # GAN: class coverage over training
    python scripts/gan_study.py random     # the untrained generator networks' figures

Models are trained under runs/gan/ (reused unless --retrain) on fashion-mnist, measured through
the Python API; each part writes runs/gan/PART.json, prints it, and draws its figures into
docs/figures/. 2 torch threads; run one part at a time, alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from study import run_part, trained_run

from latentatlas import Run, load
from latentatlas.atlas.quality import class_coverage, classifier_features, frechet_distance
from latentatlas.atlas.workflow import (
    interpolation_strip,
    random_conv_study,
    random_net_study,
    sample_images,
)
from latentatlas.data import load_dataset
from latentatlas.models.gan import GAN, GANConfig
from latentatlas.models.inversion import invert
from latentatlas.plotting import (
    pyplot,
    save_figure,
    save_grid,
    save_path_comparison,
    save_point_clouds,
)
from latentatlas.runs import reference_classifier

ROOT = Path("runs/gan")
FIGURES = Path("docs/figures")
MODELS = {  # name -> (kind, options)
    "vae-conv": ("vae", {"arch": "conv", "epochs": 10, "latent_dim": 20}),
    "gan-mlp": ("gan", {"arch": "mlp", "epochs": 10, "latent_dim": 20}),
    "dcgan": ("gan", {"arch": "conv", "epochs": 5, "latent_dim": 20, "hidden": (32,)}),
}


def trained(name: str, retrain: bool) -> str:
    kind, options = MODELS[name]
    return str(trained_run(ROOT, name, kind, "fashion-mnist", retrain, **options))


def quality_part(retrain: bool) -> dict:
    rows, inversion, paths = {}, {}, {}
    test = load_dataset("fashion-mnist").test_x
    for name in MODELS:
        run = Run.open(trained(name, retrain))
        q = run.sample_quality(10_000)
        options = {k: list(v) if isinstance(v, tuple) else v
                   for k, v in MODELS[name][1].items()}
        rows[name] = {"kind": run.kind.name, "options": options,
                      **{k: q[k] for k in ("frechet_classifier_distance", "precision",
                                           "recall", "coverage", "missing_classes")}}
        rows["real training images"] = {"kind": "data", **q["real_train"]}
        model = load(run.path)
        x = test[:200]
        t = time.perf_counter()
        r = invert(model, x, starts=4, steps=200)
        seconds = time.perf_counter() - t
        inversion[name] = {"items": len(x), "starts": 4, "steps": 200,
                           "encoder_mse": round(float(r.encoder_error.mean()), 5),
                           "inverted_mse": round(float(r.error.mean()), 5),
                           "won_by_encoder_start": round(float((r.start == 0).double().mean()),
                                                         3),
                           "seconds_per_image": round(seconds / len(x), 4)}
        c = run.path_comparison(pairs=500, steps=9)
        paths[name] = {"latent": c["latent"], "pixel": c["pixel"]}
        if name in ("vae-conv", "dcgan"):
            strips = {f"{space}: test 0 to test 7": interpolation_strip(
                run.path, "0", "7", 9, "slerp", space=space) for space in ("latent", "pixel")}
            save_path_comparison(strips, paths[name], FIGURES / f"paths-{name}.png",
                                 f"{name}: latent (slerp) vs pixel paths, 500 test pairs")
            samples, _ = sample_images(run.path, 64)
            save_grid(samples, FIGURES / f"samples-{name}.png")
    return {"quality": rows, "inversion": inversion, "paths": paths}


def _collapse_run(variant: str, data, clf, real_pred, classes, steps: int, every: int,
                  seed: int = 0) -> list[dict]:
    """Train a fresh MLP GAN's generator under ``variant``'s critic schedule; every ``every``
    steps, the class coverage and Fréchet classifier distance of 2,000 samples."""
    torch.manual_seed(seed)
    model = GAN(GANConfig(arch="mlp", z_dim=20))
    opts = {name: torch.optim.Adam(params, lr=2e-4, **kw)
            for name, (params, kw) in model.optimizer_groups().items()}
    state = {"step": 0}

    def update(name: str, loss: torch.Tensor) -> None:
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()

    def step(name: str, loss: torch.Tensor) -> None:  # the variant's schedule of updates
        critic_turn = {"GAN": True, "weak critic": state["step"] % 20 == 0,
                       "fixed critic": False}[variant]
        if name == "generator" or (name == "critic" and critic_turn):
            update(name, loss)

    def critic_only(name: str, loss: torch.Tensor) -> None:
        if name == "critic":
            update(name, loss)

    x = data.train_x
    g = torch.Generator().manual_seed(seed)
    if variant == "fixed critic":  # a critic trained against the untrained generator, frozen
        for _ in range(300):
            model.train_step((x[torch.randint(len(x), (64,), generator=g)],), critic_only)
    real_f, _ = classifier_features(clf, data.test_x)
    curve = []
    for s in range(steps + 1):
        if s % every == 0:
            model.eval()
            with torch.no_grad():
                fake = model.decode(model.prior(2000, torch.Generator().manual_seed(1)))
            f, probs = classifier_features(clf, fake)
            cov = class_coverage(probs.argmax(1), real_pred, classes)
            curve.append({"step": s, "coverage": cov["coverage"],
                          "largest_class_share": max(cov["class_share"].values()),
                          "frechet_classifier_distance": round(frechet_distance(real_f, f), 3)})
            model.train()
        if s < steps:
            state["step"] = s
            model.train_step((x[torch.randint(len(x), (64,), generator=g)],), step)
    return curve


def collapse_part(retrain: bool, steps: int = 2000, every: int = 250) -> dict:
    data = load_dataset("fashion-mnist")
    clf = reference_classifier(Run.open(trained("vae-conv", retrain))).model
    real_pred = classifier_features(clf, data.test_x)[1].argmax(1)
    classes = list(clf.config.classes)
    curves = {v: _collapse_run(v, data, clf, real_pred, classes, steps, every)
              for v in ("fixed critic", "weak critic", "GAN")}
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, curve in curves.items():
        axes[0].plot([c["step"] for c in curve], [c["coverage"] for c in curve], marker="o",
                     label=name)
        axes[1].plot([c["step"] for c in curve], [c["largest_class_share"] for c in curve],
                     marker="o", label=name)
    axes[0].set_title("class coverage of 2,000 samples")
    axes[1].set_title("share of the most frequent class")
    for ax in axes:
        ax.set_xlabel("generator steps (batch 64)")
        ax.legend()
    fig.tight_layout()
    save_figure(fig, FIGURES / "gan-collapse.png")
    return {"steps": steps, "every": every, "curves": curves}


def random_part() -> dict:
    out = {}
    clouds = {}
    for act, init in (("relu", "glorot"), ("tanh", "glorot"), ("relu", "normal")):
        r = random_net_study(12, 100, act, init, 100_000, 0)
        clouds[f"12 x 100 {act}, {init}"] = r.pop("outputs")
        r.pop("inputs")
        out[f"{act}-{init}"] = r
    save_point_clouds(clouds, FIGURES / "random-net.png",
                      "100,000 Gaussian points through untrained networks")
    for deconv in (False, True):
        r = random_conv_study(64, 28, 1, 128, "relu", "glorot", deconv, 0)
        save_grid(r.pop("images"), FIGURES / f"random-conv{'-deconv' if deconv else ''}.png")
        out[f"conv{'-deconv' if deconv else ''}"] = r
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["quality", "collapse", "random"])
    p.add_argument("--retrain", action="store_true")
    a = p.parse_args()
    run_part("gan_study.py", ROOT, a.part,
             {"quality": lambda: quality_part(a.retrain),
              "collapse": lambda: collapse_part(a.retrain),
              "random": random_part}[a.part])


if __name__ == "__main__":
    main()
