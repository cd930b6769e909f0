"""Is an explanation right? Three checks for token and pixel attributions.

- ``stability``: rerun a method with several seeds; the mean Spearman correlation, over every
  pair of runs, of the scores on the union of their top-k features (tokens, pixels, or an
  image's squares for occlusion and LIME; 1.0 for deterministic methods).
- ``deletion_insertion``: replace tokens by <unk> in the order the attribution ranks them and
  follow the target probability (deletion: from the full text; insertion: from all-<unk>, putting
  tokens back). The areas under the curves (mean over the n + 1 points, in [0, 1]): a faithful
  attribution gives a low deletion area and a high insertion area. For an image, pixels are set
  to black (deletion) or put back on a black image (insertion), in ``points`` - 1 equal steps.
- ``randomization``: the model-randomisation sanity check of Adebayo et al. (2018): the same
  method on a copy of the model with re-initialised weights; the Spearman correlation between the
  two attributions should be far from 1 (an explanation that ignores the weights is no
  explanation of the model).
"""

from __future__ import annotations

import copy
from itertools import combinations

import numpy as np
import torch
from scipy.stats import spearmanr

from ..models.decoding import UNK
from .attribute import explain
from .core import Attribution, class_probabilities
from .images import check_image
from .tokens import token_ids


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(spearmanr(a, b).statistic)


def stability(model, item, method: str, runs: int = 5, k: int = 10,
              target: str | None = None, **params) -> dict:
    """Mean pairwise rank correlation of ``runs`` explanations (of a text or an image) with
    seeds 0..runs-1."""
    results = [explain(model, item, method, target, seed=s, **params) for s in range(runs)]
    rhos = []
    for a, b in combinations(results, 2):
        fa, fb = a.features(), b.features()
        top = sorted(set(np.argsort(-fa)[:k]) | set(np.argsort(-fb)[:k]))
        rhos.append(_rho(fa[top], fb[top]))
    return {"runs": runs, "k": k, "mean_spearman": round(float(np.mean(rhos)), 4) if rhos
            else 1.0, "min_spearman": round(float(np.min(rhos)), 4) if rhos else 1.0}


@torch.no_grad()
def deletion_insertion(model, item, attribution: Attribution, points: int = 29) -> dict:
    """Target probability as tokens (pixels) are deleted (or inserted) in attribution order."""
    if not isinstance(item, str):
        return _image_curves(model, item, attribution, points)
    text = item
    ids, tokens = token_ids(model, text)
    c = model.config.classes.index(attribution.target)
    order = attribution.top(len(tokens))
    n = len(tokens)
    deleted = ids.repeat(n + 1, 1)
    inserted = ids.repeat(n + 1, 1)
    inserted[:, 1:n + 1] = UNK
    for step in range(1, n + 1):
        pos = [p + 1 for p in order[:step]]
        deleted[step:, pos[-1]] = UNK
        inserted[step:, pos[-1]] = ids[0, pos[-1]]
    return _curves(class_probabilities(model, deleted)[:, c].numpy(),
                   class_probabilities(model, inserted)[:, c].numpy())


def _image_curves(model, image: torch.Tensor, attribution: Attribution, points: int) -> dict:
    x = check_image(model, image)
    c = model.config.classes.index(attribution.target)
    n = x.shape[1] * x.shape[2]
    order = torch.tensor(attribution.top(n))
    rank = torch.empty(n, dtype=torch.int64)
    rank[order] = torch.arange(n)
    counts = torch.linspace(0, n, points).round().long()
    # (points, H*W): True where a pixel is among the first ``count`` in attribution order
    first = (rank[None, :] < counts[:, None]).view(points, 1, *x.shape[1:])
    deleted = x[None] * ~first
    inserted = x[None] * first
    return _curves(class_probabilities(model, deleted)[:, c].numpy(),
                   class_probabilities(model, inserted)[:, c].numpy())


def _curves(d: np.ndarray, i: np.ndarray) -> dict:
    return {"deletion_auc": round(float(d.mean()), 4), "insertion_auc": round(float(i.mean()), 4),
            "deletion_curve": [round(float(v), 4) for v in d],
            "insertion_curve": [round(float(v), 4) for v in i]}


def randomization(model, item, method: str, target: str | None = None, seed: int = 0,
                  **params) -> dict:
    """Spearman correlation between the attribution of the model and of a re-initialised copy
    (same target class), for a text or an image."""
    original = explain(model, item, method, target, seed=seed, **params)
    shuffled = copy.deepcopy(model)
    torch.manual_seed(seed + 12345)
    for module in shuffled.modules():
        if module is not shuffled and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    random = explain(shuffled, item, method, original.target, seed=seed, **params)
    return {"spearman_vs_randomized_model": round(_rho(original.scores.ravel(),
                                                       random.scores.ravel()), 4)}
