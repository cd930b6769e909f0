"""The shoe study, reproduced and extended: does "taller" also mean "brighter"?

Two VAEs with 20 latent dimensions on Fashion-MNIST, a small (784-400-20) and a large
(784-1024-512-20) one. For each: count the active units; find the shoe-height direction from
shoes and the same shoes made two pixels taller (and a shoe-brightness direction the same way);
walk along shoe-height on a real shoe while measuring every identifier; measure its leakage into
brightness; then take brightness out three ways (Gram-Schmidt, the failed attempt of the notes;
the identifier normal; LEACE) and measure again. Every step is a `latentatlas` command.

    python scripts/shoe_study.py [--epochs 10] [--out runs/shoes]

Writes runs/shoes/{small,large} (the runs), runs/shoes/figures/*.png and runs/shoes/study.json,
and prints the table that docs/results.md records.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
from pathlib import Path

from latentatlas.cli import main as cli
from latentatlas.data import availability

SHOES = "label=Sneaker,Ankle_boot"
SIZES = {"small": "400", "large": "1024,512"}


def run(*args: str, capture: bool = False) -> dict | None:
    print(f"$ latentatlas {shlex.join(args)}", flush=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if capture else contextlib.nullcontext():
        status = cli(list(args))
    if status != 0:
        sys.exit(status)
    return json.loads(out.getvalue()) if capture else None


def study(epochs: int, root: Path) -> dict:
    figures = root / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    results = {}
    for size, hidden in SIZES.items():
        r = str(root / size)
        run("train", "--data", "fashion-mnist", "--latent-dim", "20", "--hidden", hidden,
            "--epochs", str(epochs), "--out", r, "--force", "--quiet")
        dims = run("dims", r, "--json", capture=True)
        height = run("concept", r, "shoe-height", "--from", "edit", "--edit", "taller:2",
                     "--pos", SHOES, "--json", capture=True)
        run("concept", r, "shoe-brightness", "--from", "edit", "--edit", "brighter:40",
            "--pos", SHOES, "--json", capture=True)
        walk = run("traverse", r, "--concept", "shoe-height", "--index", "0", "--alphas",
                   "-3:3:7", "--out", str(figures / f"shoe-height-{size}.png"), "--json",
                   capture=True)
        untangled = run("disentangle", r, "--concept", "shoe-height", "--keep",
                        "shoe-brightness", "--json", capture=True)
        run("entangle", r, "--concepts", "shoe-height,shoe-brightness", "--out",
            str(figures / f"entangle-{size}.png"), "--json", capture=True)
        evaluation = run("eval", r, "--json", capture=True)
        results[size] = {
            "hidden": hidden, "test_loss": evaluation["loss"],
            "active_units": dims["active_units"], "total_kl": dims["total_kl"],
            "edit_consistency": height["scores"]["consistency"],
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
