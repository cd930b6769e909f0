"""Speed of the explainers, each against a baseline in this one process.

LIME: ours against the `lime` package's LimeTextExplainer, same classifier, same sample count.

Both explain the same fortunes sentences with 5,000 samples; the package runs with
``bow=False`` (a feature per word position, a masked word replaced by a placeholder, which our
vocabulary reads as <unk>: as ours) and a classifier function that batches the texts it is
given. Prints seconds per explanation for each, the speed-up, and the Spearman correlation
between the two top-10 weight lists (over the union of their top-10 positions). The classifier's
forward pass over the masked copies is also timed alone, plain batched and with the copies
sharing their RNN prefixes/suffixes (``TextClassifier.masked_logits``), which must agree.

Integrated gradients (50 steps): captum with all steps in one batch (ours) against one step per
forward/backward pass; the attributions must agree.

    python benchmarks/explain_speed.py [--run RUN] [--texts 10] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import torch
from scipy.stats import spearmanr

from latentatlas import fit, load
from latentatlas.data.text import load_text_spec
from latentatlas.data.vocab import tokenize
from latentatlas.explain import explain_text
from latentatlas.explain.core import class_probabilities
from latentatlas.explain.tokens import lime_masks, masked_probabilities, token_ids
from latentatlas.models import read_config
from latentatlas.models.decoding import UNK


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a text-classifier run (default: train one on fortunes)")
    p.add_argument("--texts", type=int, default=10)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    from lime.lime_text import LimeTextExplainer

    run = a.run
    if run is None:
        run = tempfile.mkdtemp(prefix="latentatlas-bench-") + "/clf"
        fit("text-classifier", "fortunes", run, hidden=(64,), embed_dim=64, epochs=8,
            max_len=40)
    model = load(run)
    data = load_text_spec(read_config(run)["data"])
    texts = [t for t in data.test if 6 <= len(tokenize(t)) <= 30][: a.texts]

    def classifier_fn(strings: list[str]) -> np.ndarray:
        with torch.no_grad():
            ids = model.vocab.batch(strings, model.config.max_len)
            return torch.softmax(model.logits(ids), -1).numpy()

    # the package splits on its own pattern; give it our tokens joined by spaces
    package = LimeTextExplainer(bow=False, split_expression=r"\s+", random_state=0)
    ours_s, theirs_s, rhos = [], [], []
    for text in texts:
        joined = " ".join(tokenize(text))
        t = time.perf_counter()
        r = explain_text(model, joined, "lime", samples=a.samples)
        ours_s.append(time.perf_counter() - t)
        target = model.config.classes.index(r.target)
        t = time.perf_counter()
        exp = package.explain_instance(joined, classifier_fn, labels=(target,),
                                       num_features=len(r.tokens), num_samples=a.samples)
        theirs_s.append(time.perf_counter() - t)
        theirs = np.zeros(len(r.tokens))
        for pos, w in exp.as_map()[target]:
            theirs[pos] = w
        top = sorted(set(np.argsort(-r.scores)[:10]) | set(np.argsort(-theirs)[:10]))
        rhos.append(float(spearmanr(r.scores[top], theirs[top]).statistic))
    plain_s, shared_s, diffs = [], [], []
    for text in texts:
        ids, tokens = token_ids(model, " ".join(tokenize(text)))
        n = len(tokens)
        keep = torch.from_numpy(np.unique(lime_masks(n, a.samples, 0), axis=0)).bool()
        rows = ids.repeat(len(keep), 1)
        rows[:, 1:n + 1] = torch.where(keep, ids[0, 1:n + 1], UNK)
        t = time.perf_counter()
        plain = class_probabilities(model, rows)
        plain_s.append(time.perf_counter() - t)
        t = time.perf_counter()
        shared = masked_probabilities(model, ids, keep)
        shared_s.append(time.perf_counter() - t)
        diffs.append(float((plain - shared).abs().max()))
    from captum.attr import IntegratedGradients

    ig_batched, ig_single, ig_diff = [], [], []
    for text in texts:
        ids = model.vocab.batch([" ".join(tokenize(text))], model.config.max_len)
        emb = model.embed(ids).detach()
        mask = ids != 0

        def forward(e, mask=mask):
            return model.logits_from_embeddings(e, mask.expand(len(e), -1))[0]

        ig = IntegratedGradients(forward)
        out = {}
        for name, size, store in (("batched", 50, ig_batched), ("single", 1, ig_single)):
            t = time.perf_counter()
            out[name] = ig.attribute(emb, baselines=torch.zeros_like(emb), target=0,
                                     n_steps=50, internal_batch_size=size)
            store.append(time.perf_counter() - t)
        ig_diff.append(float((out["batched"] - out["single"]).abs().max()))
    result = {
        "benchmark": "explain_speed", "run": run, "texts": len(texts), "samples": a.samples,
        "threads": a.threads, "classes": len(model.config.classes),
        "ours_seconds_per_explanation": round(statistics.median(ours_s), 4),
        "lime_package_seconds_per_explanation": round(statistics.median(theirs_s), 4),
        "speedup": round(statistics.median(theirs_s) / statistics.median(ours_s), 2),
        "spearman_top10_median": round(statistics.median(rhos), 3),
        "spearman_top10_min": round(min(rhos), 3),
        "forward_plain_batched_seconds": round(statistics.median(plain_s), 4),
        "forward_shared_prefixes_seconds": round(statistics.median(shared_s), 4),
        "forward_speedup": round(statistics.median(plain_s) / statistics.median(shared_s), 2),
        "forward_max_abs_difference": float(f"{max(diffs):.2e}"),
        "ig_batched_seconds": round(statistics.median(ig_batched), 4),
        "ig_one_step_at_a_time_seconds": round(statistics.median(ig_single), 4),
        "ig_speedup": round(statistics.median(ig_single) / statistics.median(ig_batched), 2),
        "ig_max_abs_difference": float(f"{max(ig_diff):.2e}"),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
