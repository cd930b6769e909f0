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
    if data == "fashion-mnist":
        print("\nThe shoe study (5 epochs here; docs/results.md records 10):")
        import shoe_study

        results = shoe_study.study(5, Path("runs/shoes"))
        print(shoe_study.table(results))


if __name__ == "__main__":
    demo()
