"""Anchors: ours against the `anchor-exp` package (Ribeiro's own), same classifier and texts.

    python benchmarks/anchors_compare.py [--texts 40] [--threshold 0.95] [--threads 2]

A grammar sentiment classifier (bi-GRU 64, 3 epochs, trained here unless ``--run``), whose
label the adjective alone sets, so the right anchor is known. Both sides use the same
perturbation (each word not in the anchor becomes unknown with probability 1/2: the
package's ``use_unk_distribution``, its mask a string our vocabulary reads as <unk>), the same
precision threshold, and their own search (ours: ``explain_text(..., "anchors")``; the
package: ``AnchorText.explain_instance`` with a spaCy blank English tokenizer, which splits
these texts at the same spaces). Each anchor is then scored by one referee: its precision on
2,000 fresh perturbed copies and its coverage 2^-|A|. Prints JSON: seconds per text for each
(alternating which goes first), the share of anchors that are exactly the adjective, the mean
size, precision and coverage, and how often the two anchors are the same set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time

import numpy as np
import torch

from latentatlas import fit, load
from latentatlas.data import grammar
from latentatlas.data.text import load_text
from latentatlas.explain import explain_text
from latentatlas.explain.tokens import masked_probabilities, token_ids

ADJECTIVES = {w for ws in grammar.ADJECTIVES.values() for w in ws}
MASK = "qqunknownqq"  # no word of the vocabulary: read as <unk>


def referee(model, text: str, positions: list[int], c: int, rng) -> float:
    """The anchor's precision on 2,000 fresh copies with every other word unknown w.p. 1/2."""
    ids, tokens = token_ids(model, text)
    keep = torch.from_numpy(rng.random((2000, len(tokens))) < 0.5)
    keep[:, positions] = True
    return float((masked_probabilities(model, ids, keep).argmax(1) == c).float().mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a grammar sentiment text-classifier run")
    p.add_argument("--texts", type=int, default=40)
    p.add_argument("--threshold", type=float, default=0.95)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    import spacy
    from anchor.anchor_text import AnchorText

    run = a.run or fit("text-classifier", "grammar", tempfile.mkdtemp() + "/clf",
                       label="sentiment", hidden=(64,), embed_dim=32, epochs=3).path
    model = load(run)
    classes = model.config.classes
    package = AnchorText(spacy.blank("en"), classes, use_unk_distribution=True,
                         mask_string=MASK)

    def predict(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            ids = model.vocab.batch(list(texts), model.config.max_len)
            return model.logits(ids).argmax(1).numpy()

    texts = load_text("grammar").test[: a.texts]
    rng = np.random.default_rng(0)
    np.random.seed(0)  # the package draws from numpy's global generator
    rows = {"ours": [], "package": []}
    same = 0
    for i, text in enumerate(texts):
        _, tokens = token_ids(model, text)
        c = int(predict([text])[0])  # the prediction both anchor
        got = {}
        for side in (("ours", "package") if i % 2 == 0 else ("package", "ours")):
            t = time.perf_counter()
            if side == "ours":
                r = explain_text(model, text, "anchors", threshold=a.threshold)
                positions = r.params["positions"]
            else:
                exp = package.explain_instance(text, predict, threshold=a.threshold)
                positions = sorted(exp.features())  # word indices, as spaCy split the text
            seconds = time.perf_counter() - t
            got[side] = positions
            words = [tokens[j] for j in positions]
            rows[side].append({"seconds": seconds, "size": len(positions),
                               "adjective": words == [w for w in tokens if w in ADJECTIVES],
                               "precision": referee(model, text, positions, c, rng),
                               "coverage": 0.5 ** len(positions)})
        same += got["ours"] == got["package"]
    out = {"benchmark": "anchors_compare", "run": str(run), "texts": len(texts),
           "threshold": a.threshold, "threads": a.threads, "same_anchor_share": same / len(texts)}
    for side, r in rows.items():
        out[side] = {"seconds_per_text": round(statistics.median(x["seconds"] for x in r), 4),
                     "anchor_is_the_adjective": round(sum(x["adjective"] for x in r) / len(r), 3),
                     "mean_size": round(statistics.mean(x["size"] for x in r), 2),
                     "mean_precision": round(statistics.mean(x["precision"] for x in r), 4),
                     "min_precision": round(min(x["precision"] for x in r), 4),
                     "mean_coverage": round(statistics.mean(x["coverage"] for x in r), 4)}
    out["speedup"] = round(out["package"]["seconds_per_text"] / out["ours"]["seconds_per_text"],
                           2)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
