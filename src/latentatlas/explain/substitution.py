"""Adversarial examples for text classifiers: word substitutions.

A text may change in at most ``ceil(eps * words)`` of its words (``eps``: the largest share of
its words, the L0 budget word-level attacks report), one word at a time, each position at most
once, until the prediction flips (or turns into the target) or the budget is spent:

- ``hotflip`` (Ebrahimi et al. 2018, at the word level): the gradient of the attack's
  objective at every token's embedding ranks every allowed swap by its first-order gain
  (e_new - e_old) . grad; the ``candidates`` best swaps are scored exactly in one batched
  forward pass and the best is made.
- ``random``: the baseline with the same budget: each step makes one allowed swap drawn
  uniformly.

The objective climbs the cross-entropy of the true label (untargeted) or descends that of the
target. Which swaps are allowed: ``groups`` gives every vocabulary id a group; a word may
replace another of its own group only, and group -1 (the special tokens, <unk>, and the words
that carry the label's truth) is never swapped in or out. An optional ``accepts(text)`` check
(a grammar) throws out candidates it refuses, so every adversarial text stays a valid one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..errors import OptionError
from ..models.decoding import PAD
from ..progress import progress

WORD_METHODS = ("hotflip", "random")


def substitution_groups(itos: list[str], roles: dict[str, str] | None = None,
                        frozen: set[str] = frozenset(), specials: int = 4) -> torch.Tensor:
    """(V,) group ids over a vocabulary: with ``roles``, one group per role (words without a
    role: -1); without, every ordinary word in group 0. The first ``specials`` ids, <unk>
    included, and the ``frozen`` words get -1."""
    names: dict[str, int] = {}
    groups = torch.full((len(itos),), -1, dtype=torch.int64)
    for i, word in enumerate(itos):
        if i < specials or word in frozen:
            continue
        if roles is None:
            groups[i] = 0
        elif word in roles:
            groups[i] = names.setdefault(roles[word], len(names))
    return groups


def _objective(logits: torch.Tensor, labels: torch.Tensor,
               target: torch.Tensor | None) -> torch.Tensor:
    """Per item, what the attack climbs: the true label's cross-entropy, or minus the
    target's."""
    if target is None:
        return F.cross_entropy(logits.float(), labels, reduction="none")
    return -F.cross_entropy(logits.float(), target, reduction="none")


def _succeeded(logits: torch.Tensor, labels: torch.Tensor,
               target: torch.Tensor | None) -> torch.Tensor:
    pred = logits.argmax(1)
    return pred != labels if target is None else pred == target


def _step(model, a: torch.Tensor, labels: torch.Tensor, target: torch.Tensor | None,
          fixed: torch.Tensor, groups: torch.Tensor, method: str, candidates: int,
          accepts: Callable[[list[int]], bool] | None, generator: torch.Generator | None
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One swap for each text of ``a`` (b, T) whose ``fixed`` (b, T) positions may not change:
    the position (b,), the new word (b,), and whether an allowed swap was found (b,)."""
    emb_table = model.embed.weight.detach()
    vocab = len(emb_table)
    g = groups[a]  # (b, T)
    allowed = ((g[..., None] == groups) & (g >= 0)[..., None] & ~fixed[..., None]
               & (torch.arange(vocab) != a[..., None]))  # (b, T, V)
    if method == "hotflip":
        emb = model.embed(a).detach().requires_grad_(True)
        with torch.enable_grad():
            logits, _ = model.logits_from_embeddings(emb, a != PAD)
            (grad,) = torch.autograd.grad(_objective(logits, labels, target).sum(), emb)
        gain = grad @ emb_table.T - (grad * emb).sum(-1, keepdim=True)  # first-order gains
    else:
        gain = torch.rand(allowed.shape, generator=generator)
    gain = gain.masked_fill(~allowed, float("-inf")).flatten(1)
    top = gain.topk(min(candidates, gain.shape[1]), dim=1)
    pos, word = top.indices // vocab, top.indices % vocab  # (b, k)
    valid = torch.isfinite(top.values)
    b, k = pos.shape
    trial = a.repeat_interleave(k, 0)
    trial[torch.arange(b * k), pos.flatten()] = word.flatten()
    if accepts is not None:
        for j in valid.flatten().nonzero()[:, 0].tolist():
            if not accepts(trial[j][trial[j] != PAD].tolist()):
                valid.view(-1)[j] = False
    if method == "hotflip":  # score the candidates exactly
        with torch.no_grad():
            score = _objective(model.logits(trial), labels.repeat_interleave(k),
                               None if target is None else target.repeat_interleave(k))
        score = score.view(b, k)
    else:  # the first allowed draw
        score = -torch.arange(k, dtype=torch.float32).expand(b, k)
    best = score.masked_fill(~valid, float("-inf")).argmax(1)
    rows = torch.arange(b)
    return pos[rows, best], word[rows, best], valid.any(1)


def substitute(model, ids: torch.Tensor, labels: torch.Tensor, budget: torch.Tensor,
               groups: torch.Tensor, method: str = "hotflip", target: torch.Tensor | None = None,
               candidates: int = 16, accepts: Callable[[list[int]], bool] | None = None,
               generator: torch.Generator | None = None, batch: int = 64
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Adversarial token ids (B, T) for ``ids`` (B, T) and a (B, T) bool mask of the changed
    positions; text i changes in at most ``budget[i]`` words. ``accepts`` takes a candidate's
    ids (one text, padding dropped)."""
    if method not in WORD_METHODS:
        raise OptionError("method", f"text runs take {' or '.join(WORD_METHODS)} (word "
                                    f"substitutions), got {method!r}")
    adv, changed = ids.clone(), torch.zeros(ids.shape, dtype=torch.bool)

    def succeeded(rows: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return _succeeded(model.logits(adv[rows]), labels[rows],
                              None if target is None else target[rows])

    done = succeeded(torch.arange(len(ids)))
    stuck = torch.zeros(len(ids), dtype=torch.bool)  # no allowed swap is left
    with progress(len(ids), f"{method} word swaps", "text") as bar:
        for _ in range(int(budget.max()) if len(budget) else 0):
            active = (~done & ~stuck & (changed.sum(1) < budget)).nonzero()[:, 0]
            bar.n = len(ids) - len(active)
            bar.refresh()
            if not len(active):
                break
            for rows in active.split(batch):
                pos, word, ok = _step(model, adv[rows], labels[rows],
                                      None if target is None else target[rows], changed[rows],
                                      groups, method, candidates, accepts, generator)
                stuck[rows[~ok]] = True
                adv[rows[ok], pos[ok]] = word[ok]
                changed[rows[ok], pos[ok]] = True
            done[active] = succeeded(active)
    return adv, changed


@torch.no_grad()
def _probs(model, ids: torch.Tensor, batch: int = 1024) -> torch.Tensor:
    return torch.cat([model.logits(ids[i:i + batch]).float().softmax(1)
                      for i in range(0, len(ids), batch)])


def attack_texts(model, ids: torch.Tensor, labels: torch.Tensor, method: str = "hotflip",
                 eps: float = 0.2, target: int | None = None, groups: torch.Tensor | None = None,
                 accepts: Callable[[list[int]], bool] | None = None, candidates: int = 16,
                 seed: int = 0) -> dict[str, Any]:
    """Attack token ids (N, T) with true ``labels`` (N,) by word substitution (``substitute``)
    within ``eps`` of each text's words. Returns the adversarial ids, per-item predictions and
    changed positions, and the summary: ``success_rate`` over the ``attacked`` items (as
    ``attack_images``: the correctly classified ones, or for a target those not of it), the
    mean number and share of words changed (over the attacked items), the mean confidence in
    the predicted class before and after, clean and adversarial accuracy."""
    classes = len(model.config.classes)
    if not 0 < eps <= 1:
        raise OptionError("eps", f"text: the largest share of a text's words to change, in "
                                 f"(0, 1]; got {eps}")
    if target is not None and not 0 <= target < classes:
        raise OptionError("target", f"must be a class index below {classes}, got {target}")
    if groups is None:
        groups = substitution_groups(model.vocab.itos)
    words = ((ids != PAD).sum(1) - 2).clamp_min(0)  # <s> and </s> are not words
    budget = torch.tensor([max(1, math.ceil(eps * int(w) - 1e-9)) for w in words])
    wanted = None if target is None else torch.full((len(ids),), target)
    g = torch.Generator().manual_seed(seed)
    adv, changed = substitute(model, ids, labels, budget, groups, method, wanted, candidates,
                              accepts, g)
    before, after = _probs(model, ids), _probs(model, adv)
    pred0, pred1 = before.argmax(1), after.argmax(1)
    if target is not None:
        attacked, success = labels != target, pred1 == target
    else:
        attacked, success = pred0 == labels, pred1 != labels
    n = int(attacked.sum())
    count = changed.sum(1).float()
    out: dict[str, Any] = {
        "method": method, "eps": eps, "target": target, "n": len(ids), "attacked": n,
        "success_rate": round(float(success[attacked].float().mean()), 4) if n else None,
        "words_changed_mean": round(float(count[attacked].mean()), 3) if n else None,
        "share_changed_mean": (round(float((count / words.clamp_min(1))[attacked].mean()), 4)
                               if n else None),
        "confidence_before": round(float(before.max(1).values.mean()), 4),
        "confidence_after": round(float(after.max(1).values.mean()), 4),
        "accuracy_before": round(float((pred0 == labels).float().mean()), 4),
        "accuracy_after": round(float((pred1 == labels).float().mean()), 4),
        "ids": ids, "adversarial": adv, "changed": changed, "predicted_before": pred0,
        "predicted_after": pred1, "success": success & attacked,
    }
    if target is not None:
        out["target_confidence_after"] = round(float(after[:, target].mean()), 4)
    return out
