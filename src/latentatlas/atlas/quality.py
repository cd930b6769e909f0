"""How good a generator's samples are, measured in a classifier's feature space.

There is no Inception network here (and none fits 28x28 grey clothing), so the Fréchet
distance is computed in the dense-layer features of the project's own image classifier trained
on the same dataset: the "Fréchet classifier distance" (FCD), named so that nobody mistakes it
for a published FID. The measures:

- ``frechet_classifier_distance``: |m_r - m_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)) between
  Gaussians fitted to real and generated features (Heusel et al. 2017, in these features);
- ``precision`` / ``recall`` (Kynkäänniemi et al. 2019, k = 3): the share of generated samples
  inside the union of the real samples' k-NN balls (fidelity), and of real samples inside the
  generated ones' (diversity);
- ``coverage``: the share of classes the classifier finds in the samples at least
  ``COVERED`` x their share of the real data (mode collapse shows as missing classes), with
  the class histogram beside it.

The same function scores a VAE's samples, so the two kinds compare in one table; the real test
split scored against the real training split gives each measure's floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

COVERED = 0.2  # a class counts as covered at a fifth of its share of the real data or more
K_NEAREST = 3


@torch.no_grad()
def classifier_features(classifier: torch.nn.Module, x: torch.Tensor,
                        batch_size: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(dense-layer features (N, F), class probabilities (N, K)) of images in [0, 1]."""
    classifier.eval()
    feats, probs = [], []
    for c in x.split(batch_size):
        a = classifier.activations(c)
        feats.append(a["dense"].double())
        probs.append(a["logits"].softmax(1))
    return torch.cat(feats), torch.cat(probs)


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to feature sets a (N, F) and b (M, F)."""
    a, b = a.double(), b.double()
    ma, mb = a.mean(0), b.mean(0)
    sa, sb = torch.cov(a.T), torch.cov(b.T)
    # Tr (Sa Sb)^(1/2) = sum of sqrt of the eigenvalues of Sa^(1/2) Sb Sa^(1/2) (symmetric)
    w, v = torch.linalg.eigh(sa)
    root = (v * w.clamp_min(0).sqrt()) @ v.T
    middle = torch.linalg.eigvalsh(root @ sb @ root).clamp_min(0).sqrt().sum()
    return float((ma - mb).pow(2).sum() + sa.trace() + sb.trace() - 2 * middle)


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # the 0th neighbour is the point itself


def _inside(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor,
            batch: int = 1024) -> torch.Tensor:
    """Whether each point lies in at least one ball (centre, radius)."""
    out = []
    for c in points.split(batch):
        out.append((torch.cdist(c, centres) <= radii[None]).any(1))
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor,
                     k: int = K_NEAREST) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of ``fake`` against
    ``real`` feature sets."""
    real, fake = real.float(), fake.float()
    precision = _inside(fake, real, _knn_radii(real, k)).double().mean()
    recall = _inside(real, fake, _knn_radii(fake, k)).double().mean()
    return float(precision), float(recall)


def class_coverage(pred: torch.Tensor, real_pred: torch.Tensor,
                   classes: list[str]) -> dict[str, Any]:
    """The predicted-class histogram of samples beside the real data's, and ``coverage``: the
    share of classes with at least ``COVERED`` x their real share."""
    k = len(classes)
    share = torch.bincount(pred, minlength=k).double() / max(len(pred), 1)
    real = torch.bincount(real_pred, minlength=k).double() / max(len(real_pred), 1)
    covered = (share >= COVERED * real) & (real > 0)
    return {"coverage": round(float(covered.sum() / (real > 0).sum()), 4),
            "missing_classes": [c for c, ok, r in zip(classes, covered, real, strict=True)
                                if not ok and r > 0],
            "class_share": {c: round(float(s), 4) for c, s in zip(classes, share, strict=True)}}


def sample_quality(classifier: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                   classes: list[str], pr_items: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Every measure of the module docstring for images ``fake`` against images ``real``
    (both (N, C, H, W) in [0, 1]); precision and recall on ``pr_items`` of each (seeded)."""
    fr, pr = classifier_features(classifier, real)
    ff, pf = classifier_features(classifier, fake)
    rng = np.random.default_rng(seed)
    ir = torch.from_numpy(rng.permutation(len(fr))[:pr_items])
    jf = torch.from_numpy(rng.permutation(len(ff))[:pr_items])
    precision, recall = precision_recall(fr[ir], ff[jf])
    return {"frechet_classifier_distance": round(frechet_distance(fr, ff), 4),
            "precision": round(precision, 4), "recall": round(recall, 4),
            **class_coverage(pf.argmax(1), pr.argmax(1), classes), "n_real": len(real),
            "n_samples": len(fake)}


@torch.no_grad()
def path_quality(classifier: torch.nn.Module, real: torch.Tensor,
                 paths: torch.Tensor) -> list[dict[str, float]]:
    """Along P interpolation paths of S images each, (P, S, C, H, W): for each position, the
    classifier's mean confidence (its largest class probability) and the Fréchet classifier
    distance of the P images there to ``real``. A path that stays on the data manifold keeps
    both near their values at the ends."""
    fr, _ = classifier_features(classifier, real)
    out = []
    for s in range(paths.shape[1]):
        f, probs = classifier_features(classifier, paths[:, s])
        conf = probs.max(1).values
        out.append({"t": round(s / max(paths.shape[1] - 1, 1), 4),
                    "confidence": round(float(conf.mean()), 4),
                    "frechet_classifier_distance": round(frechet_distance(fr, f), 4)})
    return out
