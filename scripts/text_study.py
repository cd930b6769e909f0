"""The text quality checks of docs/results.md, end to end through the Python API.

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
import json
import sys
import time
from pathlib import Path

import torch

from latentatlas import Run, fit, load
from latentatlas.atlas.sentences import homotopy
from latentatlas.atlas.workflow import sentence_homotopy
from latentatlas.data import availability, grammar
from latentatlas.data.text import load_text
from latentatlas.text import generate_texts
from latentatlas.text.workflow import audit_run, distinctive_words

SKEW = {"he": 0.6, "she": 0.2, "they": 0.2}
TEXT_MODEL = {"hidden": (256,), "embed_dim": 128, "cell": "lstm"}


def train(kind: str, data: str, out: str, **options) -> None:
    print(f"training {kind} on {data} -> {out}", file=sys.stderr, flush=True)
    fit(kind, data, out, force=True, **options)


def wordnet(root: Path, epochs: int) -> dict:
    vae, lm = str(root / "wn-vae"), str(root / "wn-lm")
    common = {"epochs": epochs, "max_len": 24, **TEXT_MODEL}
    t0 = time.perf_counter()
    train("text-vae", "wordnet", vae, latent_dim=16, word_dropout=0.3, anneal_steps=2000,
          **common)
    train("lm", "wordnet", lm, **common)
    v, m = Run.open(vae).evaluate(), Run.open(lm).evaluate()
    return {
        "command": "python scripts/text_study.py",
        "epochs": epochs, "minutes": round((time.perf_counter() - t0) / 60, 1),
        "vae": {"nll_bound": v["loss"], "recon": v["recon"], "kl": v["kl"],
                "active_units": int(v["active_units"]), "perplexity_bound": v["perplexity"]},
        "lm": {"nll": m["nll"], "perplexity": m["perplexity"]},
        "tokens_per_sentence": m["tokens"],
        "not_collapsed": v["kl"] > 1.0 and v["active_units"] >= 2,
        "homotopy": [{"name": n, "text": t} for n, t in sentence_homotopy(
            vae, "it had taken years to believe", "but it was all lies at the end", 8)],
        "samples": generate_texts(load(vae), n=8),
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
    common = {"epochs": epochs, "latent_dim": 8, "hidden": (128,), "embed_dim": 64,
              "anneal_steps": 1000}
    for model in ("text-vae", "text-ae"):
        r = str(root / f"grammar-{model}")
        train(model, "grammar", r, **common)
        ev = Run.open(r).evaluate()
        out[model] = {"recon": ev["recon"], "kl": ev["kl"],
                      "active_units": int(ev["active_units"]),
                      "grammatical_intermediates": round(grammaticality(r, 200, 7), 4),
                      "reconstructs_exactly": round(_exact(r), 4)}
    lm = str(root / "grammar-energy-lm")
    train("lm", "grammar", lm, condition="energy", hidden=(128,), embed_dim=64, epochs=epochs)
    words = distinctive_words(lm, ["0.0", "1.0"], words=10000, top=8)
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
    train("lm", spec, skewed, hidden=(128,), embed_dim=64, epochs=epochs)
    audit = audit_run(run=skewed, n=2000)
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
