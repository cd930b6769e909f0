"""Pixel attributions for an image classifier, the same call shape and result as for texts.

    explain_image(model, image, method, target=None, **params) -> Attribution  (scores (H, W))

- ``saliency``: the largest |gradient| of the target logit over the channels of each pixel
  (Simonyan et al. 2014);
- ``gradxinput``: gradient x pixel value, summed over channels (signed);
- ``ig``: integrated gradients from the black image, captum's implementation, all ``steps``
  in one batch;
- ``occlusion``: the drop in the target probability when a segment is set to black, every
  segment in one batch, each pixel scored by its segment;
- ``lime``: our batched LIME over the segments as the features: ``samples`` images with a
  random half of the segments blacked out (as the lime package draws them), their target
  probabilities in batches, the kernel on the cosine distance (``kernel_width``, 0.25 as lime's
  image explainer) and a ridge fit; each pixel gets its segment's coefficient;
- ``kernelshap``: KernelSHAP over the segments, a dropped segment black as for LIME: at most
  ``samples`` coalitions (``core.shapley_coalitions``), their target probabilities in batches,
  and the Shapley kernel's regression constrained so the segments' values sum to the image's
  probability minus the black image's; each pixel gets its segment's value.

Segments (``segments``) are ``patch`` x ``patch`` squares, or ``n_segments`` superpixels:
SLIC-style k-means over each pixel's intensities and its position (weighted by
``compactness``), started from a regular grid, so nearby pixels of similar intensity group.

Black (0) is the "absent" value: fashion-mnist's background.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import OptionError, UserError
from .core import (
    IMAGE_METHODS,
    TEXT_ONLY,
    Attribution,
    class_probabilities,
    kernelshap_fit,
    lime_fit,
    resolve_target,
    shapley_coalitions,
)


def check_image(model, image: torch.Tensor) -> torch.Tensor:
    """A (C, H, W) float image in [0, 1] of the model's shape, or a UserError."""
    shape = tuple(model.config.image_shape)
    if image.dim() == 2:
        image = image[None]
    if tuple(image.shape) != shape:
        raise UserError(f"the image is {'x'.join(map(str, image.shape))}; this model takes "
                        f"{'x'.join(map(str, shape))} (channels x height x width)")
    if not torch.isfinite(image).all():
        raise UserError("the image has NaN or infinite pixels")
    return image.float()


def patches(shape: tuple[int, int], patch: int) -> np.ndarray:
    """(H, W) int array: the index of each pixel's ``patch`` x ``patch`` square, row by row."""
    h, w = shape
    if patch < 1 or patch > min(h, w):
        raise OptionError("patch", f"must be between 1 and {min(h, w)}, got {patch}")
    cols = -(-w // patch)
    return (np.arange(h)[:, None] // patch) * cols + np.arange(w)[None, :] // patch


def superpixels(image: torch.Tensor, n_segments: int, compactness: float = 0.3
                ) -> np.ndarray:
    """(H, W) int array of about ``n_segments`` superpixels of a (C, H, W) image, numbered in
    reading order (deterministic: k-means started from a regular grid)."""
    from sklearn.cluster import KMeans

    c, h, w = image.shape
    if not 2 <= n_segments <= h * w // 4:
        raise OptionError("n_segments", f"must be between 2 and {h * w // 4}, got {n_segments}")
    gy = max(1, round(h * (n_segments / (h * w)) ** 0.5))
    gx = max(1, round(n_segments / gy))
    step = ((h * w) / (gy * gx)) ** 0.5
    rows, cols = np.mgrid[0:h, 0:w]
    pos = compactness * np.stack([rows.ravel(), cols.ravel()], 1) / step
    feats = np.concatenate([image.reshape(c, -1).T.double().numpy(), pos], 1)
    cy = ((np.arange(gy) + 0.5) * h / gy).astype(int)
    cx = ((np.arange(gx) + 0.5) * w / gx).astype(int)
    init = feats[(cy[:, None] * w + cx[None, :]).ravel()]
    labels = KMeans(len(init), init=init, n_init=1).fit_predict(feats)
    _, first = np.unique(labels, return_index=True)
    renumber = np.empty(labels.max() + 1, dtype=np.int64)
    renumber[labels[np.sort(first)]] = np.arange(len(first))
    return renumber[labels].reshape(h, w)


def explain_image(model, image: torch.Tensor, method: str, target: str | None = None, *,
                  steps: int = 50, samples: int = 1000, kernel_width: float = 0.25,
                  segments: str = "patches", patch: int = 4, n_segments: int = 50,
                  seed: int = 0) -> Attribution:
    """Attribute the model's ``target`` class (default: its prediction) to the pixels."""
    if method in TEXT_ONLY:
        raise OptionError("method", f"{method} is for text classifiers; images take "
                                    f"{', '.join(IMAGE_METHODS)}")
    if method not in IMAGE_METHODS:
        raise OptionError("method", f"{method!r} is unknown; one of {', '.join(IMAGE_METHODS)}")
    model.eval()
    x = check_image(model, image)[None]
    probs = class_probabilities(model, x)[0]
    c = resolve_target(model, target, probs)
    params: dict = {}
    if method in ("saliency", "gradxinput"):
        xg = x.clone().requires_grad_(True)
        g = torch.autograd.grad(model.logits(xg)[0, c], xg)[0][0]
        scores = g.abs().amax(0) if method == "saliency" else (g * x[0]).sum(0)
    elif method == "ig":
        from captum.attr import IntegratedGradients

        attr = IntegratedGradients(model.logits).attribute(
            x, baselines=torch.zeros_like(x), target=c, n_steps=steps,
            internal_batch_size=steps)
        scores = attr[0].sum(0).detach()
        params = {"steps": steps, "baseline": "black image"}
    else:
        if segments == "patches":
            seg_np = patches(tuple(x.shape[2:]), patch)
            params = {"segments": "patches", "patch": patch}
        elif segments == "superpixels":
            seg_np = superpixels(x[0], n_segments)
            params = {"segments": "superpixels", "n_segments": int(seg_np.max()) + 1}
        else:
            raise OptionError("segments", f"must be patches or superpixels, got {segments!r}")
        seg = torch.from_numpy(seg_np)
        n = int(seg.max()) + 1
        if method == "occlusion":
            keep = 1 - torch.eye(n)
            drop = probs[c] - class_probabilities(model, _masked(x, seg, keep))[:, c]
            scores = drop[seg]
            params["replacement"] = "black"
        elif method == "kernelshap":
            masks, weights = shapley_coalitions(n, samples, seed)
            keep = torch.from_numpy(np.vstack([masks, np.zeros((1, n))])).float()
            y = class_probabilities(model, _masked(x, seg, keep))[:, c].double().numpy()
            phi = kernelshap_fit(masks, weights, y[:-1], float(probs[c]), float(y[-1]))
            scores = torch.from_numpy(phi)[seg]
            params.update({"samples": len(masks), "seed": seed, "base": float(y[-1])})
        else:
            rng = np.random.default_rng(seed)
            masks = rng.integers(0, 2, size=(samples, n)).astype(np.float64)
            masks[0] = 1
            y = class_probabilities(model, _masked(x, seg, torch.from_numpy(masks).float()))[:, c]
            coef = lime_fit(masks, y.double().numpy(), kernel_width)
            scores = torch.from_numpy(coef)[seg]
            params.update({"samples": samples, "kernel_width": kernel_width, "seed": seed})
    classes = model.config.classes
    return Attribution(None, scores.detach().double().numpy(), classes[c],
                       classes[int(probs.argmax())], float(probs[c]), method, params,
                       segments=seg_np if method in ("occlusion", "lime", "kernelshap")
                       else None)


def _masked(x: torch.Tensor, seg: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) image, (H, W) square index per pixel, (S, n) 0/1 keep per square ->
    (S, C, H, W) images with the dropped squares black."""
    return x * keep[:, seg][:, None]
