"""What an adversarial attack does to an image classifier: success rate, the size of the change
and the confidence before and after (``models.adversarial`` makes the images).

Success, untargeted: an image the classifier got right is now classified as something else
(images it already got wrong are left out of the rate). Targeted: the image, whose label is not
the target, is now classified as the target. From noise: uniform noise pushed within ``eps``
toward the target; success when the classifier calls it the target.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import OptionError
from ..models.adversarial import perturb


@torch.no_grad()
def _probs(model, x: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    return torch.cat([model.logits(x[i:i + batch]).float().softmax(1)
                      for i in range(0, len(x), batch)])


def attack_images(model, x: torch.Tensor, labels: torch.Tensor | None, method: str = "pgd",
                  eps: float = 0.1, target: int | None = None, steps: int = 20,
                  seed: int = 0, batch: int = 256) -> dict[str, Any]:
    """Attack images ``x`` (N, C, H, W in [0, 1]) with true ``labels`` (N,) (None: from
    noise, which needs a ``target``). Returns the adversarial images, per-item predictions,
    confidences and change sizes, and the summary: ``success_rate`` over the ``attacked``
    items, mean L-infinity and L2 sizes (pixel units), mean confidence in the predicted class
    before and after, clean and adversarial accuracy."""
    classes = len(model.config.classes)
    if target is not None and not 0 <= target < classes:
        raise OptionError("target", f"must be a class index below {classes}, got {target}")
    if labels is None and target is None:
        raise OptionError("target", "is needed to attack noise (which class should it become?)")
    g = torch.Generator().manual_seed(seed)
    wanted = None if target is None else torch.full((len(x),), target)
    truth = labels if labels is not None else wanted
    adv = torch.cat([perturb(model, x[i:i + batch], truth[i:i + batch], eps, method,
                             None if wanted is None else wanted[i:i + batch], steps,
                             generator=g) for i in range(0, len(x), batch)])
    before, after = _probs(model, x), _probs(model, adv)
    pred0, pred1 = before.argmax(1), after.argmax(1)
    if target is not None:
        attacked = (labels != target) if labels is not None else torch.ones(len(x), dtype=bool)
        success = pred1 == target
    else:
        attacked = pred0 == labels
        success = pred1 != labels
    delta = (adv - x).flatten(1)
    n = int(attacked.sum())
    out: dict[str, Any] = {
        "method": method, "eps": eps, "steps": 1 if method == "fgsm" else steps,
        "target": target, "n": len(x), "attacked": n,
        "success_rate": round(float(success[attacked].float().mean()), 4) if n else None,
        "linf_mean": round(float(delta.abs().amax(1).mean()), 5),
        "l2_mean": round(float(delta.norm(dim=1).mean()), 4),
        "confidence_before": round(float(before.max(1).values.mean()), 4),
        "confidence_after": round(float(after.max(1).values.mean()), 4),
        "images": x, "adversarial": adv, "predicted_before": pred0, "predicted_after": pred1,
        "success": success & attacked,
    }
    if labels is not None:
        out["accuracy_before"] = round(float((pred0 == labels).float().mean()), 4)
        out["accuracy_after"] = round(float((pred1 == labels).float().mean()), 4)
    if target is not None:
        out["target_confidence_after"] = round(float(after[:, target].mean()), 4)
    return out
