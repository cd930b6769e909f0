"""KernelSHAP: ours against the `shap` package's KernelExplainer, same model, inputs and budget.

    python benchmarks/shap_speed.py [--texts 10] [--images 10] [--samples 2048] [--threads 2]

Texts: a fortunes text classifier (trained here, 8 epochs, unless ``--text-run``), test texts
of 13 to 30 words (too many for every coalition to fit in the budget, so both sides sample).
Images: an image classifier on Fashion-MNIST (trained here, 2 epochs, unless
``--image-run``), the first test images, 4 x 4 squares as the 49 features. Both sides explain
the predicted class with the same masking (a masked word becomes <unk>, a masked square
black), the same number of model evaluations, and the same function scoring a batch of masks
(the package is handed ours, so the ratio measures the explainer, not the model); the package
runs with ``l1_reg=False`` (the plain kernel regression over every feature, what ours fits).
The package also runs with a plain batched scorer (the masked inputs through the model's
ordinary forward pass, what a user of the package writes), and each side's share of its time
spent in the model is measured. Prints JSON: seconds per explanation for each, the speed-ups,
the Spearman correlation between the two attribution vectors (median and minimum), each
side's Spearman correlation with a converged reference (ours with 16x the budget), and how far
each side's attributions are from summing to f(x) - f(all masked).
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
from latentatlas.explain import explain_image, explain_text
from latentatlas.explain.core import class_probabilities
from latentatlas.explain.images import patches
from latentatlas.explain.tokens import masked_probabilities, token_ids
from latentatlas.models import read_config
from latentatlas.models.decoding import UNK
from latentatlas.runs import Run


class Timed:
    """A scorer that adds up the seconds spent inside it."""

    def __init__(self, f):
        self.f, self.seconds = f, 0.0

    def __call__(self, masks):
        t = time.perf_counter()
        out = self.f(masks)
        self.seconds += time.perf_counter() - t
        return out


def compare(items, ours_fn, mask_fn, samples: int, reference: int) -> dict:
    """``ours_fn(item, samples) -> Attribution`` of the predicted class; ``mask_fn(item, target,
    plain) -> (n, f)`` with f scoring (S, n) 0/1 masks for that class (``plain``: a plain
    batched forward pass over the masked inputs, what a user of the package writes; else the
    scorer ours uses). Each item's explanations are timed alternately, which goes first
    swapping from item to item; each is also compared with a converged reference (ours with
    ``reference`` coalitions)."""
    import shap

    times: dict[str, list[float]] = {"ours": [], "shap": [], "shap_plain": []}
    model_share: dict[str, list[float]] = {"ours": [], "shap": []}
    rhos, ours_ref, shap_ref, gaps_ours, gaps_shap = [], [], [], [], []
    for i, item in enumerate(items):
        target = ours_fn(item, samples).target  # the class every side explains (not timed)
        n, f = mask_fn(item, target, False)
        _, f_plain = mask_fn(item, target, True)
        sides = ["ours", "shap", "shap_plain"]
        for side in sides if i % 2 == 0 else sides[::-1]:
            scorer = Timed(f_plain if side == "shap_plain" else f)
            t = time.perf_counter()
            if side == "ours":
                r = ours_fn(item, samples)
            else:
                explainer = shap.KernelExplainer(scorer, np.zeros((1, n)))
                got = np.asarray(explainer.shap_values(np.ones((1, n)), nsamples=samples,
                                                       l1_reg=False, silent=True)).reshape(-1)
                if side == "shap":
                    phi = got
            seconds = time.perf_counter() - t
            times[side].append(seconds)
            if side == "shap":
                model_share["shap"].append(scorer.seconds / seconds)
        probe = Timed(f)  # ours' model time: the same number of masks through the same scorer
        probe(np.random.default_rng(i).integers(0, 2, (r.params["samples"] + 1, n)))
        model_share["ours"].append(min(probe.seconds / times["ours"][-1], 1.0))
        ours = r.features()
        ref = ours_fn(item, reference).features()
        full, empty = float(f(np.ones((1, n)))[0]), float(f(np.zeros((1, n)))[0])
        gaps_ours.append(abs(ours.sum() - (r.probability - r.params["base"])))
        gaps_shap.append(abs(phi.sum() - (full - empty)))
        rhos.append(float(spearmanr(ours, phi).statistic))
        ours_ref.append(float(spearmanr(ours, ref).statistic))
        shap_ref.append(float(spearmanr(phi, ref).statistic))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"items": len(items), "ours_seconds_per_explanation": round(med["ours"], 4),
            "shap_seconds_per_explanation": round(med["shap"], 4),
            "shap_plain_scorer_seconds_per_explanation": round(med["shap_plain"], 4),
            "speedup": round(med["shap"] / med["ours"], 2),
            "speedup_vs_plain_scorer": round(med["shap_plain"] / med["ours"], 2),
            "model_share_of_time_ours": round(statistics.median(model_share["ours"]), 3),
            "model_share_of_time_shap": round(statistics.median(model_share["shap"]), 3),
            "spearman_median": round(statistics.median(rhos), 3),
            "spearman_min": round(min(rhos), 3),
            "reference_samples": reference,
            "spearman_to_reference_ours": round(statistics.median(ours_ref), 3),
            "spearman_to_reference_shap": round(statistics.median(shap_ref), 3),
            "ours_largest_efficiency_gap": float(f"{max(gaps_ours):.2e}"),
            "shap_largest_efficiency_gap": float(f"{max(gaps_shap):.2e}")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text-run", help="a text-classifier run (default: train one on fortunes)")
    p.add_argument("--image-run", help="an image-classifier run (default: train one)")
    p.add_argument("--texts", type=int, default=10)
    p.add_argument("--images", type=int, default=10)
    p.add_argument("--samples", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    root = tempfile.mkdtemp(prefix="latentatlas-bench-")
    text_run = a.text_run or fit("text-classifier", "fortunes", f"{root}/clf", hidden=(64,),
                                 embed_dim=64, epochs=8, max_len=40).path
    image_run = a.image_run or fit("image-classifier", "fashion-mnist", f"{root}/cnn",
                                   epochs=2).path
    out = {"benchmark": "shap_speed", "samples": a.samples, "threads": a.threads}

    model = load(text_run)
    data = load_text_spec(read_config(text_run)["data"])
    texts = [" ".join(tokenize(t)) for t in data.test if 13 <= len(tokenize(t)) <= 30]
    texts = texts[: a.texts]

    def text_masks(text: str, target: str, plain: bool):
        ids, tokens = token_ids(model, text)
        c = model.config.classes.index(target)

        def f(masks: np.ndarray) -> np.ndarray:
            keep = torch.from_numpy(np.asarray(masks) > 0.5)
            if not plain:  # ours: the masked copies share their RNN work
                return masked_probabilities(model, ids, keep)[:, c].double().numpy()
            rows = ids.repeat(len(keep), 1)
            rows[:, 1:len(tokens) + 1] = torch.where(keep, ids[0, 1:len(tokens) + 1], UNK)
            return class_probabilities(model, rows)[:, c].double().numpy()
        return len(tokens), f

    out["texts"] = {"run": str(text_run), **compare(
        texts, lambda t, s: explain_text(model, t, "kernelshap", samples=s), text_masks,
        a.samples, 16 * a.samples)}

    cnn = load(image_run)
    images = Run.open(image_run).dataset.test_x[: a.images]
    seg = torch.from_numpy(patches(tuple(images.shape[2:]), 4))

    def image_masks(image: torch.Tensor, target: str, plain: bool):
        c = cnn.config.classes.index(target)

        def f(masks: np.ndarray) -> np.ndarray:
            keep = torch.from_numpy(np.asarray(masks)).float()
            return class_probabilities(cnn, image[None] * keep[:, seg][:, None])[:, c] \
                .double().numpy()
        return int(seg.max()) + 1, f

    out["images"] = {"run": str(image_run), **compare(
        list(images), lambda x, s: explain_image(cnn, x, "kernelshap", samples=s),
        image_masks, a.samples, 16 * a.samples)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
