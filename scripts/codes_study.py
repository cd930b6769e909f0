"""Sentence codes that carry the sentence: the studies behind docs/results.md, "Sentence codes".

    python scripts/codes_study.py defaults   # grammar's defaults over seeds (word dropout)
    python scripts/codes_study.py grammar    # the homotopy claim, AE vs VAE, on grammar and
                                             # on the harder clauses
    python scripts/codes_study.py wordnet    # settings that reconstruct; rate-distortion table
    python scripts/codes_study.py fortunes   # fidelity by length on multi-sentence texts

Each part trains its models under runs/codes/ (a model already trained there is reused unless
--retrain), measures them through the Python API, writes runs/codes/PART.json, prints it, and
draws its figure into docs/figures/. 2 torch threads; run one part at a time, alone.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from study import run_part, trained_run

from latentatlas import Run, fit, load
from latentatlas.atlas import Knobs, run_codes
from latentatlas.atlas.sentences import homotopy_acceptance, knob_table
from latentatlas.atlas.workflow import sentence_fidelity
from latentatlas.data import grammar
from latentatlas.explorer.session import open_run
from latentatlas.models import rundir
from latentatlas.plotting import save_length_fidelity

ROOT = Path("runs/codes")
FIGURES = Path("docs/figures")

# grammar: today's defaults (GRU 256, latent 20), and the models that test the homotopy claim:
# one network (z fed to every decoder step) as a plain autoencoder, as a VAE on the annealed
# ELBO, and as a VAE held at 10 nats (a grammar sentence holds about 8.2 nats: log 3 subjects
# + log 2 tenses + log 2 sentiments + log 10 places + at most log 8 verbs + log 4 adjectives)
GRAMMAR_DEFAULTS = {"epochs": 15}
# the defaults over seeds, with the word dropout of before (0.25) and of now (0.5), text-vae
# and text-ae; and two variants: the old defaults annealing over 1,000 steps, the new ones with
# z at every decoder step
SEEDS = (0, 1, 2)
DEFAULT_CHOICES = {"word_dropout": (0.25, 0.5)}
GRAMMAR_DEFAULT_VARIANTS = {"gr-try-an1000": {"word_dropout": 0.25, "anneal_steps": 1000},
                            "gr-try-zall": {"word_dropout": 0.5, "z_every_step": True}}
GRAMMAR = {"epochs": 15, "z_every_step": True, "word_dropout": 0.25}
GRAMMAR_MODELS = {"gr-text-ae": ("text-ae", {}), "gr-text-vae": ("text-vae", {}),
                  "gr-text-vae-kl10": ("text-vae", {"kl_target": 10.0})}
# clauses, the harder grammar (agreement across a relative clause; about 13.1 nats a sentence)
CLAUSES_MODELS = {"cl-text-ae": ("text-ae", {}),
                  "cl-text-vae-kl16": ("text-vae", {"kl_target": 16.0}),
                  "cl-text-vae-kl24": ("text-vae", {"kl_target": 24.0})}
# wordnet: one network for every rate: GRU 256, a bidirectional encoder, z at every step,
# latent 64, word dropout 0.25, the adaptive softmax (auto for 15,493 words), 12 epochs
WORDNET = {"epochs": 12, "hidden": (256,), "latent_dim": 64, "z_every_step": True,
           "bidirectional": True, "word_dropout": 0.25, "max_len": 24}
WORDNET_MODELS = {  # name -> (kind, the options that differ)
    "wn-ae-oneway": ("text-ae", {"bidirectional": False, "word_dropout": 0.0}),
    "wn-ae": ("text-ae", {}),
    "wn-vae-elbo": ("text-vae", {}),
    "wn-vae-elbo-wd05": ("text-vae", {"word_dropout": 0.5}),
    "wn-vae-kl10": ("text-vae", {"kl_target": 10.0}),
    "wn-vae-kl25": ("text-vae", {"kl_target": 25.0}),
    "wn-vae-kl50": ("text-vae", {"kl_target": 50.0}),
    # the autoencoder regularised against the overfitting of wn-ae-30 below: word dropout 0.5
    # and a cosine learning rate over 30 epochs
    "wn-ae-reg": ("text-ae", {"word_dropout": 0.5, "epochs": 30, "lr_schedule": "cosine"}),
}
# the autoencoder and the 50-nat VAE trained on to 30 epochs: their 12-epoch runs, copied and
# resumed (the same network, data order and settings; 18 more epochs, constant learning rate);
# then the 30-epoch VAE resumed to 45 with the learning rate on a cosine over all 45 epochs
# (from a quarter of 1e-3 at epoch 30 down to 0): name -> (base, epochs, training changes)
LONGER = {"wn-ae-30": ("wn-ae", 30, {}), "wn-vae-kl50-30": ("wn-vae-kl50", 30, {}),
          "wn-vae-kl50-45": ("wn-vae-kl50-30", 45, {"lr_schedule": "cosine"})}
FORTUNES = {"epochs": 8, "hidden": (256,), "latent_dim": 64, "z_every_step": True,
            "bidirectional": True, "word_dropout": 0.25, "max_len": 64}


def trained(name: str, kind: str, data: str, retrain: bool, **options) -> str:
    """runs/codes/NAME, trained now unless it already holds a finished run."""
    return str(trained_run(ROOT, name, kind, data, retrain, **options))


def trained_longer(name: str, base: str, epochs: int, retrain: bool,
                   changes: dict | None = None) -> str:
    """runs/codes/NAME: runs/codes/BASE copied and resumed to ``epochs`` epochs, its training
    settings (``TrainConfig`` fields) changed by ``changes`` before it resumes."""
    out = ROOT / name
    if retrain or not (out / "model.safetensors").is_file() or \
            len(Run.open(out).metrics) < epochs:
        print(f"training {name}: {base} resumed to {epochs} epochs", file=sys.stderr, flush=True)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(ROOT / base, out)
        if changes:
            config = rundir.read_config(out)
            config["train"].update(changes)
            rundir.write_config(out, config)
        fit(out=out, resume=True, quiet=False, epochs=epochs)
    return str(out)


def defaults_part(retrain: bool) -> dict:
    """Grammar's defaults (15 epochs) over seeds: exact reconstructions of the 2,000 test
    sentences for text-vae (3 seeds) and text-ae (1), word dropout 0.25 against 0.5; then the
    VAE with one more change per variant (3 seeds each)."""
    rows: dict = {}
    for kind, seeds in (("text-vae", SEEDS), ("text-ae", SEEDS[:1])):
        for wd in DEFAULT_CHOICES["word_dropout"]:
            for seed in seeds:
                run = trained(f"seeds/{kind}-wd{wd}-s{seed}", kind, "grammar", retrain,
                              **GRAMMAR_DEFAULTS, word_dropout=wd, seed=seed)
                rows[f"{kind}, word dropout {wd}, seed {seed}"] = {
                    "run": run, **sentence_fidelity(run)["summary"]}
    for name, change in GRAMMAR_DEFAULT_VARIANTS.items():
        for seed in SEEDS if name != "gr-try-an1000" else SEEDS[:1]:
            run = trained(f"seeds/{name}-s{seed}", "text-vae", "grammar", retrain,
                          **GRAMMAR_DEFAULTS, **change, seed=seed)
            rows[f"text-vae, {change}, seed {seed}"] = {
                "run": run, **sentence_fidelity(run)["summary"]}
    return rows


def grammar_part(retrain: bool, pairs: int) -> dict:
    out: dict = {}
    for data, models, accepts in (("grammar", GRAMMAR_MODELS, grammar.accepts),
                                  ("clauses", CLAUSES_MODELS, grammar.accepts_clauses)):
        for name, (kind, extra) in models.items():
            run = trained(name, kind, data, retrain, **GRAMMAR, **extra)
            model = load(run)
            ev = Run.open(run).evaluate()
            row: dict = {"data": data, "settings": {"kind": kind, **GRAMMAR, **extra},
                         "recon": round(ev["recon"], 4), "kl": round(ev["kl"], 4),
                         "exact": sentence_fidelity(run)["summary"]["exact"]}
            test = Run.open(run).data("test")
            for path in ("lerp", "slerp"):
                row[path] = homotopy_acceptance(model, test, accepts, pairs=pairs, steps=9,
                                                path=path)
            out[name] = row
    return out


def wordnet_part(retrain: bool) -> dict:
    rows, by_len = {}, {}
    for name, (kind, extra) in WORDNET_MODELS.items():
        run = trained(name, kind, "wordnet", retrain, **{**WORDNET, **extra})
        f = sentence_fidelity(run)
        rows[name] = {"kind": kind, **extra, **f["summary"]}
        by_len[name] = f["by_length"]
    for name, (base, epochs, changes) in LONGER.items():
        f = sentence_fidelity(trained_longer(name, base, epochs, retrain, changes))
        rows[name] = {**rows[base], "epochs": epochs, **changes, **f["summary"]}
        by_len[name] = f["by_length"]
    save_length_fidelity(by_len, FIGURES / "fidelity-wordnet.png",
                         "wordnet test sentences: reconstruction by length")
    best = max((n for n in rows if rows[n]["kind"] == "text-vae"),
               key=lambda n: rows[n]["exact_in_vocab"]["share"])
    return {"settings": {k: list(v) if isinstance(v, tuple) else v for k, v in WORDNET.items()},
            "rate_distortion": rows, "by_length": by_len,
            "knob_table": knob_check(str(ROOT / best))}


def knob_check(run: str) -> dict:
    """The explorer's 3^5 x 5 = 1,215-decode knob table on ``run``: its time and how many of
    its sentences are mostly <unk> (half their words or more); and the explorer opening the
    run (codes cached by then): its time and the sentences it offers first."""
    model = load(run)
    knobs = Knobs(5).fit(run_codes(run, "train", model=model).mu)
    texts = Run.open(run).data("test")[:5]
    knob_table(model, knobs, texts)  # warm
    t = time.perf_counter()
    table = knob_table(model, knobs, texts)
    seconds = time.perf_counter() - t
    decodes = [d for item in table["items"] for d in item["decodes"]]
    mostly_unk = sum(d.split().count("<unk>") * 2 >= max(1, len(d.split())) for d in decodes)
    t = time.perf_counter()
    view = open_run(run, "wn")  # what the explorer does when it opens the run
    open_seconds = time.perf_counter() - t
    return {"run": run, "decodes": len(decodes), "seconds": round(seconds, 3),
            "share_not_mostly_unk": round(1 - mostly_unk / len(decodes), 4),
            "examples": table["items"][0]["decodes"][:6],
            "explorer_open_seconds": round(open_seconds, 2),
            "explorer_best": [b["text"] for b in view.best[:8]]}


def fortunes_part(retrain: bool) -> dict:
    run = trained("fortunes-vae", "text-vae", "fortunes", retrain, kl_target=50.0, **FORTUNES)
    f = sentence_fidelity(run)
    wn = sentence_fidelity(str(ROOT / "wn-vae-kl50"))
    save_length_fidelity({"fortunes (kl target 50)": f["by_length"],
                          "wordnet (kl target 50)": wn["by_length"]},
                         FIGURES / "fidelity-by-length.png",
                         "reconstruction by length: wordnet sentences vs fortunes")
    return {"settings": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in FORTUNES.items()}, "fortunes": f, "wordnet": wn}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("part", choices=["defaults", "grammar", "wordnet", "fortunes"])
    p.add_argument("--retrain", action="store_true")
    p.add_argument("--pairs", type=int, default=300, help="grammar: homotopy pairs")
    a = p.parse_args()
    run_part("codes_study.py", ROOT, a.part,
             {"defaults": lambda: defaults_part(a.retrain),
              "grammar": lambda: grammar_part(a.retrain, a.pairs),
              "wordnet": lambda: wordnet_part(a.retrain),
              "fortunes": lambda: fortunes_part(a.retrain)}[a.part])


if __name__ == "__main__":
    main()
