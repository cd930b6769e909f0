"""The shoe study, reproduced and extended: does "taller" also mean "brighter"?

Two VAEs with 20 latent dimensions on Fashion-MNIST, a small (784-400-20) and a large
(784-1024-512-20) one. For each: count the active units; find the shoe-height direction from
shoes and the same shoes made two pixels taller (and a shoe-brightness direction the same way);
walk along shoe-height on a real shoe while measuring every identifier; measure its leakage into
brightness; then take brightness out three ways (Gram-Schmidt, the failed attempt of the notes;
the identifier normal; LEACE) and measure again, through the Python API.

    python scripts/shoe_study.py [--epochs 10] [--out runs/shoes]

Writes runs/shoes/{small,large} (the runs), runs/shoes/figures/*.png and runs/shoes/study.json,
and prints the table that docs/results.md records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentatlas import Run, fit
from latentatlas.atlas.workflow import unit_table
from latentatlas.concepts import parse_alphas
from latentatlas.concepts.workflow import (
    disentangle_concept,
    entanglement,
    fit_concept,
    traversal,
)
from latentatlas.data import availability
from latentatlas.plotting import save_grid, save_heatmap

SHOES = "label=Sneaker,Ankle_boot"
SIZES = {"small": (400,), "large": (1024, 512)}


def study(epochs: int, root: Path) -> dict:
    figures = root / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    results = {}
    for size, hidden in SIZES.items():
        r = root / size
        print(f"{size}: training a VAE, hidden {list(hidden)}, latent 20, {epochs} epochs",
              flush=True)
        fit("vae", "fashion-mnist", r, latent_dim=20, hidden=hidden, epochs=epochs, force=True)
        dims = unit_table(r)
        print(f"{size}: shoe height and brightness from paired edits; walk, leakage, "
              "disentangling", flush=True)
        height = fit_concept(r, "shoe-height", "edit", edit="taller:2", pos=SHOES)
        fit_concept(r, "shoe-brightness", "edit", edit="brighter:40", pos=SHOES)
        alphas = parse_alphas("-3:3:7")
        strip, walk = traversal(r, "shoe-height", "0", alphas)
        save_grid(strip, figures / f"shoe-height-{size}.png", nrow=len(alphas))
        untangled = disentangle_concept(r, "shoe-height", "shoe-brightness",
                                        parse_alphas("-2:2:5"))
        matrix = entanglement(r, ["shoe-height", "shoe-brightness"], parse_alphas("-2:2:5"))
        save_heatmap(matrix["standardised_effect"], matrix["concepts"], matrix["identifiers"],
                     figures / f"entangle-{size}.png", title="|mean slope| / sd per unit alpha")
        evaluation = Run.open(r).evaluate()
        results[size] = {
            "hidden": ",".join(map(str, hidden)), "test_loss": evaluation["loss"],
            "active_units": dims["active_units"], "total_kl": dims["total_kl"],
            "edit_consistency": height.scores["consistency"],
            "mean_slopes_per_alpha": walk["mean_slopes"],
            "leakage_into_brightness": walk["leakage"].get("brightness"),
            "disentangle": untangled["methods"],
        }
    return results


def table(results: dict) -> str:
    lines = ["| model | test loss | active units | height slope (px/alpha) | brightness slope "
             "(levels/alpha) | leakage into brightness | after Gram-Schmidt | after normal "
             "projection | after LEACE |", "|" + " --- |" * 9]
    for size, r in results.items():
        d = r["disentangle"]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(
            f"| {size} ({r['hidden']}) | {r['test_loss']:.2f} | {r['active_units']} | "
            f"{r['mean_slopes_per_alpha']['height']:+.2f} | "
            f"{255 * r['mean_slopes_per_alpha']['brightness']:+.2f} | "
            f"{fmt(d['original']['leakage'])} | {fmt(d['gram-schmidt']['leakage'])} | "
            f"{fmt(d['normal-projection']['leakage'])} | {fmt(d['leace']['leakage'])} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--out", default="runs/shoes")
    a = p.parse_args()
    if availability("fashion-mnist").startswith("missing"):
        print("the shoe study needs Fashion-MNIST: apt-get install dataset-fashion-mnist")
        return
    root = Path(a.out)
    results = study(a.epochs, root)
    (root / "study.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
