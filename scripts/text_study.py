"""The text quality checks of docs/results.md, end to end through the CLI and the Python API.

1. wordnet: a sentence VAE must not collapse (KL > 1 nat per sentence, >= 2 active units); its
   NLL bound is reported beside a plain LSTM language model of the same size.
2. grammar: the share of homotopy intermediates the grammar accepts, sentence VAE vs a plain
   sequence autoencoder trained the same way.
3. grammar: an LM conditioned on energy; do its log-odds words at energy 1 vs 0 recover the
   words the grammar ties to high and low energy?
4. grammar:he=0.6,she=0.2,they=0.2: does the audit recover the planted pronoun skew, in the data
   and in what a model trained on it generates?

    python scripts/text_study.py [--wordnet-epochs 10] [--grammar-epochs 8] [--out DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from latentatlas import load
from latentatlas.atlas.sentences import homotopy
from latentatlas.cli import main as cli
from latentatlas.data import availability, grammar
from latentatlas.data.text import load_text

SKEW = {"he": 0.6, "she": 0.2, "they": 0.2}
TEXT_MODEL = ["--hidden", "256", "--embed-dim", "128", "--cell", "lstm"]


def run(*args: str) -> dict:
    print(f"$ latentatlas {shlex.join(args)}", file=sys.stderr, flush=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli([*args, "--json"])
    if status != 0:
        sys.exit(status)
    return json.loads(out.getvalue())


def wordnet(root: Path, epochs: int) -> dict:
    vae, lm = str(root / "wn-vae"), str(root / "wn-lm")
    common = ["--data", "wordnet", "--epochs", str(epochs), "--max-len", "24", *TEXT_MODEL,
              "--force", "--quiet"]
    t0 = time.perf_counter()
    run("train", "--model", "text-vae", "--latent-dim", "16", "--word-dropout", "0.3",
        "--anneal-steps", "2000", *common, "--out", vae)
    run("train", "--model", "lm", *common, "--out", lm)
    v, m = run("eval", vae), run("eval", lm)
    return {
        "command": "python scripts/text_study.py",
        "epochs": epochs, "minutes": round((time.perf_counter() - t0) / 60, 1),
        "vae": {"nll_bound": v["loss"], "recon": v["recon"], "kl": v["kl"],
                "active_units": int(v["active_units"]), "perplexity_bound": v["perplexity"]},
        "lm": {"nll": m["nll"], "perplexity": m["perplexity"]},
        "tokens_per_sentence": m["tokens"],
        "not_collapsed": v["kl"] > 1.0 and v["active_units"] >= 2,
        "homotopy": run("interpolate", vae, "--a", "it had taken years to believe",
                        "--b", "but it was all lies at the end", "--steps", "8")["rows"],
        "samples": run("sample", vae, "-n", "8")["texts"],
    }


def grammaticality(run_dir: str, pairs: int, steps: int, seed: int = 0) -> float:
    """Share of homotopy intermediates (endpoints' decodes excluded) the grammar accepts."""
    model = load(run_dir)
    test = load_text("grammar", seed=0).test
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(test), (pairs, 2), generator=g).tolist()
    ok = total = 0
    for i, j in idx:
        rows = homotopy(model, test[i], test[j], steps)
        for _, text in rows[2:-2]:
            ok += grammar.accepts(text)
            total += 1
    return ok / total


def grammar_checks(root: Path, epochs: int) -> dict:
    out: dict = {}
    common = ["--data", "grammar", "--epochs", str(epochs), "--latent-dim", "8",
              "--hidden", "128", "--embed-dim", "64", "--anneal-steps", "1000", "--force",
              "--quiet"]
    for model in ("text-vae", "text-ae"):
        r = str(root / f"grammar-{model}")
        run("train", "--model", model, *common, "--out", r)
        ev = run("eval", r)
        out[model] = {"recon": ev["recon"], "kl": ev["kl"],
                      "active_units": int(ev["active_units"]),
                      "grammatical_intermediates": round(grammaticality(r, 200, 7), 4),
                      "reconstructs_exactly": round(_exact(r), 4)}
    lm = str(root / "grammar-energy-lm")
    run("train", "--model", "lm", "--data", "grammar", "--condition", "energy", "--hidden",
        "128", "--embed-dim", "64", "--epochs", str(epochs), "--force", "--quiet",
        "--out", lm)
    words = run("words", lm, "--contexts", "0.0", "1.0", "--words", "10000", "--top", "8")
    low, high = words["contexts"]
    out["energy_lm"] = {
        "top8_at_1.0": [d["word"] for d in high["distinctive"]],
        "top8_at_0.0": [d["word"] for d in low["distinctive"]],
        "precision_high": sum(d["word"] in grammar.HIGH_ENERGY
                              for d in high["distinctive"]) / 8,
        "precision_low": sum(d["word"] in grammar.LOW_ENERGY for d in low["distinctive"]) / 8,
    }
    skewed = str(root / "grammar-skewed-lm")
    spec = "grammar:" + ",".join(f"{k}={v}" for k, v in SKEW.items())
    run("train", "--model", "lm", "--data", spec, "--hidden", "128", "--embed-dim", "64",
        "--epochs", str(epochs), "--force", "--quiet", "--out", skewed)
    audit = run("audit", "--run", skewed, "-n", "2000")
    pron = audit["families"]["pronouns"]
    out["audit"] = {"planted": SKEW, "data": pron["data"]["groups"],
                    "generated": pron["generated"]["groups"],
                    "data_recovers_skew": all(
                        pron["data"]["groups"][g]["share_ci95"][0] <= p
                        <= pron["data"]["groups"][g]["share_ci95"][1] for g, p in [
                            ("male", SKEW["he"]), ("female", SKEW["she"]),
                            ("neutral", SKEW["they"])])}
    return out


def _exact(run_dir: str, n: int = 500) -> float:
    """Share of test sentences the model reconstructs word for word from the posterior mean."""
    from latentatlas.atlas.sentences import decode_texts, encode_texts

    model = load(run_dir)
    test = load_text("grammar", seed=0).test[:n]
    decoded = decode_texts(model, encode_texts(model, test))
    return sum(a == b for a, b in zip(test, decoded, strict=True)) / len(test)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--wordnet-epochs", type=int, default=10)
    p.add_argument("--grammar-epochs", type=int, default=8)
    p.add_argument("--skip-wordnet", action="store_true")
    p.add_argument("--out", default="runs/text-study")
    a = p.parse_args()
    torch.set_num_threads(2)
    root = Path(a.out)
    root.mkdir(parents=True, exist_ok=True)
    results: dict = {"grammar": grammar_checks(root, a.grammar_epochs)}
    if not a.skip_wordnet:
        if not availability("wordnet").startswith("missing"):
            results["wordnet"] = wordnet(root, a.wordnet_epochs)
        else:
            results["wordnet"] = f"skipped: {availability('wordnet')}"
    text = json.dumps(results, indent=1)
    (root / "results.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
