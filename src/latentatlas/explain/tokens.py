"""Token attributions for a text classifier, the same call shape as ``images`` (``attribute.
explain`` calls either), and LIME's sampling over word positions.

    explain_text(model, text, method, target=None, **params) -> Attribution

- ``saliency``: the L2 norm of the target logit's gradient at each token's embedding;
- ``gradxinput``: gradient x embedding, summed over the embedding (signed);
- ``ig``: integrated gradients from the all-<pad> (zero) embedding baseline, captum's
  implementation, all steps in one batch (``steps``, default 50);
- ``occlusion``: the drop in the target probability when the token is replaced by <unk>, all
  tokens in one batch (sharing the RNN's work, as LIME);
- ``lime``: our batched LIME: ``samples`` random masks over the word positions, a masked word
  replaced by <unk> (``mask="unk"``, as the lime package with ``bow=False``) or dropped from
  the text (``mask="drop"``); the target probability of every distinct masked text in batches;
  a weighted ridge fit with the exponential kernel on the cosine distance (``kernel_width``,
  default 25, as the lime package); the coefficients are the scores;
- ``kernelshap``: KernelSHAP (Lundberg & Lee 2017) over the word positions, masked as LIME
  masks them: at most ``samples`` coalitions (``core.shapley_coalitions``: all of them for a
  text of up to 12 words at the default 5,000, so the exact Shapley values), the target
  probability of each, and the Shapley kernel's regression constrained to sum to the full
  text's probability minus the all-masked text's (``params["base"]``);
- ``anchors``: the words that, kept, hold the target class (default: the prediction) while the
  others turn into <unk> at random (``anchors.find_anchor``, Ribeiro et al. 2018): an anchor
  of k words scores k for the word the search added first, down to 1 for the last, and 0 for
  the rest; ``params`` holds the anchor (in that order), its precision and coverage.

Scores are per token of the text (<s> and </s> excluded), higher = more for the target.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import OptionError
from ..models.decoding import BOS, EOS, PAD
from .core import (
    METHODS,
    Attribution,
    class_probabilities,
    distinct_rows,
    kernelshap_fit,
    lime_fit,
    resolve_target,
    shapley_coalitions,
)


def token_ids(model, text: str) -> tuple[torch.Tensor, list[str]]:
    """A text as the classifier reads it: (1, T) ids <s> ... </s> and its known tokens."""
    tokens, ids = model.vocab.known(text, model.config.max_len)
    return torch.tensor([[BOS, *ids, EOS]]), tokens


def masked_probabilities(model, ids: torch.Tensor, keep: torch.Tensor, batch: int = 4096
                  ) -> torch.Tensor:
    """Class probabilities of copies of ``ids`` with the words where ``keep`` is False
    replaced by <unk> (the classifier's shared-prefix evaluation)."""
    return torch.cat([torch.softmax(model.masked_logits(ids, keep[i:i + batch]), -1)
                      for i in range(0, len(keep), batch)])


def _grad(model, ids: torch.Tensor, c: int) -> tuple[torch.Tensor, torch.Tensor]:
    emb = model.embed(ids).detach().requires_grad_(True)
    logits, _ = model.logits_from_embeddings(emb, ids != PAD)
    (grad,) = torch.autograd.grad(logits[0, c], emb)  # the weights get no gradients
    return emb.detach()[0], grad[0]


def explain_text(model, text: str, method: str, target: str | None = None, *,
                 steps: int = 50, samples: int = 5000, kernel_width: float = 25.0,
                 seed: int = 0, mask: str = "unk", threshold: float = 0.95) -> Attribution:
    """Attribute the model's ``target`` class (default: its prediction) to the tokens."""
    if method not in METHODS:
        raise OptionError("method", f"{method!r} is unknown; one of {', '.join(METHODS)}")
    model.eval()
    ids, tokens = token_ids(model, text)
    probs = class_probabilities(model, ids)[0]
    c = resolve_target(model, target, probs)
    n = len(tokens)
    params: dict = {}
    if method in ("saliency", "gradxinput"):
        emb, grad = _grad(model, ids, c)
        s = grad.norm(dim=-1) if method == "saliency" else (grad * emb).sum(-1)
        scores = s[1:n + 1].numpy()
    elif method == "ig":
        from captum.attr import IntegratedGradients

        real = ids != PAD
        emb = model.embed(ids).detach()

        def forward(e: torch.Tensor) -> torch.Tensor:
            return model.logits_from_embeddings(e, real.expand(len(e), -1))[0]

        ig = IntegratedGradients(forward)
        attr = ig.attribute(emb, baselines=torch.zeros_like(emb), target=c, n_steps=steps,
                            internal_batch_size=steps)
        scores = attr[0].sum(-1)[1:n + 1].detach().numpy()
        params = {"steps": steps, "baseline": "zero embedding"}
    elif method == "anchors":
        from .anchors import find_anchor

        def same(keep: torch.Tensor) -> np.ndarray:
            return (masked_probabilities(model, ids, keep).argmax(1) == c).numpy()

        a = find_anchor(same, tokens, threshold=threshold, seed=seed)
        scores = np.zeros(n)  # the first word the search added scores highest
        scores[a.positions] = np.arange(len(a.positions), 0, -1, dtype=np.float64)
        params = {"anchor": a.words, "positions": a.positions,
                  "precision": round(a.precision, 4), "coverage": round(a.coverage, 4),
                  "samples": a.samples, "threshold": threshold, "seed": seed}
    elif method == "occlusion":
        scores = (probs[c] - masked_probabilities(model, ids, ~torch.eye(n, dtype=torch.bool))[:, c]
                  ).numpy()
        params = {"replacement": "<unk>"}
    else:
        if mask not in ("unk", "drop"):
            raise OptionError("mask", f"must be unk or drop, got {mask!r}")
        if method == "lime":
            masks = lime_masks(n, samples, seed)
            # the cosine distance to the full text, x100 (as lime's text explainer does)
            scores = lime_fit(masks, _target_probabilities(model, ids, c, masks, mask),
                              kernel_width, distance_scale=100.0)
            params = {"samples": samples, "kernel_width": kernel_width, "seed": seed,
                      "mask": mask}
        else:
            masks, weights = shapley_coalitions(n, samples, seed)
            y = _target_probabilities(model, ids, c, np.vstack([masks, np.zeros((1, n))]), mask)
            scores = kernelshap_fit(masks, weights, y[:-1], float(probs[c]), float(y[-1]))
            params = {"samples": len(masks), "seed": seed, "mask": mask, "base": float(y[-1])}
    classes = model.config.classes
    return Attribution(tokens, np.asarray(scores, dtype=np.float64), classes[c],
                       classes[int(probs.argmax())], float(probs[c]), method, params)


def lime_masks(n: int, samples: int, seed: int) -> np.ndarray:
    """(samples, n) 0/1 masks as LIME draws them: the first keeps every word; each other
    drops a uniformly chosen number (1..n-1, as the lime package) of uniformly chosen words
    (the positions whose rank in a random permutation is below that number)."""
    rng = np.random.default_rng(seed)
    masks = np.ones((samples, n), dtype=np.float64)
    sizes = rng.integers(1, max(n, 2), size=samples - 1)
    ranks = rng.random((samples - 1, n)).argsort(1).argsort(1)
    masks[1:] = ranks >= sizes[:, None]
    return masks


def _target_probabilities(model, ids: torch.Tensor, c: int, masks: np.ndarray, mask: str
                           ) -> np.ndarray:
    """The probability of class ``c`` for each 0/1 row of ``masks`` over the text's words (a
    masked word becomes <unk>, or with ``mask="drop"`` leaves the text); each distinct row is
    scored once (short texts repeat masks)."""
    n = masks.shape[1]
    unique, inverse = distinct_rows(masks)
    keep = torch.from_numpy(unique).bool()
    if mask == "unk":  # a masked word becomes <unk>: the copies share the RNN's work
        y = masked_probabilities(model, ids, keep)[:, c]
    else:  # dropped words leave the text: each row's remaining tokens in order, then pad
        body, u = ids[0, 1:n + 1], len(unique)
        rows = torch.full((u, n + 2), PAD, dtype=torch.int64)
        lengths = keep.sum(1)
        order = torch.argsort((~keep).int(), dim=1, stable=True)  # kept tokens first
        rows[:, 1:n + 1] = torch.where(torch.arange(n) < lengths[:, None], body[order], PAD)
        rows[:, 0] = BOS
        rows[torch.arange(u), lengths + 1] = EOS
        y = class_probabilities(model, rows)[:, c]
    return y.double().numpy()[inverse]
