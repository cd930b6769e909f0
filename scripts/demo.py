"""`make demo`: train a small VAE on Fashion-MNIST (or shapes), then look at its latent space.

Each step is a `latentatlas` command, printed before it runs, so the demo doubles as a tour.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # for shoe_study beside this file

from latentatlas.cli import main  # noqa: E402
from latentatlas.data import availability  # noqa: E402

RUN = "runs/demo-small"
OUT = Path("runs/demo-small-figures")


def step(*args: str) -> None:
    print(f"\n$ latentatlas {shlex.join(args)}", flush=True)
    status = main(list(args))
    if status != 0:
        sys.exit(status)


def demo() -> None:
    data = "fashion-mnist"
    if availability(data).startswith("missing"):
        print("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); "
              "the demo uses the synthetic shapes data instead.")
        data = "shapes"
    OUT.mkdir(parents=True, exist_ok=True)
    step("data", "list")
    step("train", "--model", "vae", "--data", data, "--latent-dim", "20", "--size", "small",
         "--epochs", "5", "--out", RUN, "--force")
    step("eval", RUN, "--iw", "50")
    step("sample", RUN, "-n", "64", "--out", str(OUT / "samples.png"))
    step("reconstruct", RUN, "-n", "32", "--out", str(OUT / "reconstructions.png"))
    step("dims", RUN)
    step("knobs", RUN, "-k", "5")
    step("interpolate", RUN, "--a", "3", "--b", "17", "--steps", "10", "--method", "slerp",
         "--out", str(OUT / "interpolation.png"))
    step("grid", RUN, "--corners", "3,17,42,99", "--n", "8", "--out", str(OUT / "grid.png"))
    step("map", RUN, "--out", str(OUT / "map.png"))
    step("concept", RUN, "shoe-height", "--from", "edit", "--edit", "taller:2", "--pos",
         "label=Sneaker,Ankle_boot" if data == "fashion-mnist" else "label=boot")
    step("traverse", RUN, "--concept", "shoe-height", "--alphas", "-3:3:7",
         "--out", str(OUT / "shoe-height.png"))
    print(f"\nThe run is in {RUN}/; figures in {OUT}/. In Python: latentatlas.load({RUN!r})")
    text_tour()
    explain_tour(data)
    if data == "fashion-mnist":
        print("\nThe shoe study (5 epochs here; docs/results.md records 10):")
        import shoe_study

        results = shoe_study.study(5, Path("runs/shoes"))
        print(shoe_study.table(results))


def text_tour() -> None:
    """A sentence VAE and an energy-conditioned LM on the synthetic grammar (seconds each)."""
    vae, lm = "runs/demo-text-vae", "runs/demo-energy-lm"
    step("train", "--model", "text-vae", "--data", "grammar", "--latent-dim", "8",
         "--hidden", "128", "--epochs", "4", "--anneal-steps", "600", "--out", vae, "--force")
    step("reconstruct", vae, "--text", "she danced in paris and felt elated .")
    step("interpolate", vae, "--a", "he ran in oslo and felt thrilled .",
         "--b", "they sleep in lima and feel gloomy .", "--steps", "6")
    step("knobs", vae, "-k", "5", "--steps", "3", "--items", "5", "--out",
         str(OUT / "text-knobs.json"))
    step("train", "--model", "lm", "--data", "grammar", "--condition", "energy",
         "--hidden", "128", "--epochs", "4", "--out", lm, "--force")
    step("words", lm, "--contexts", "0.0", "1.0", "--words", "5000", "--top", "8",
         "--clouds", str(OUT / "clouds"))
    step("audit", "--data", "grammar:he=0.6,she=0.2,they=0.2", "--run", lm, "-n", "1000")


def explain_tour(data: str) -> None:
    """A small CNN and a grammar sentiment classifier, explained; an attention LM generating."""
    cnn, clf, alm = "runs/demo-cnn", "runs/demo-sentiment", "runs/demo-attn-lm"
    step("train", "--model", "image-classifier", "--data", data, "--epochs", "1",
         "--out", cnn, "--force")
    step("explain", cnn, "--index", "12", "--method", "all", "--samples", "500",
         "--out", str(OUT / "explain.png"))
    step("maximize", cnn, "--class", "Sneaker" if data == "fashion-mnist" else "boot",
         "--out", str(OUT / "maximize.png"))
    step("train", "--model", "text-classifier", "--data", "grammar", "--label", "sentiment",
         "--hidden", "64", "--embed-dim", "32", "--epochs", "2", "--out", clf, "--force")
    step("explain", clf, "--text", "she danced in paris and felt elated .", "--evaluate",
         "--out", str(OUT / "explain.html"))
    step("train", "--model", "attn-lm", "--data", "grammar", "--hidden", "64",
         "--window", "8", "--epochs", "2", "--out", alm, "--force")
    step("generate", alm, "--prompt", "she danced in", "--attention",
         "--out", str(OUT / "attention.png"))


if __name__ == "__main__":
    demo()
