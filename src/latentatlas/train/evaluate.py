"""Test-set evaluation: mean loss terms and the importance-weighted log-likelihood."""

from __future__ import annotations

import torch

from ..progress import progress


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: torch.Tensor | tuple[torch.Tensor, ...],
             batch_size: int = 2048) -> dict[str, float]:
    """Mean of each loss term over ``data`` (nats per item), in large no-grad batches."""
    data = data if isinstance(data, tuple) else (data,)
    was_training = model.training
    model.eval()
    n = len(data[0])
    sums: dict[str, float] = {}
    for i in range(0, n, batch_size):
        batch = tuple(t[i:i + batch_size] for t in data)
        for k, v in model(*batch).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(batch[0])
    model.train(was_training)
    return {k: v / n for k, v in sums.items()}


@torch.no_grad()
def iw_nll(model: torch.nn.Module, x: torch.Tensor, k: int, batch_size: int = 256) -> float:
    """Importance-weighted estimate of the test negative log-likelihood, nats per item."""
    model.eval()
    total = 0.0
    per_batch = max(1, batch_size * 64 // max(k, 1))  # keep k x batch decodes bounded
    with progress(len(x), f"importance-weighted NLL, k={k}", "item") as bar:
        for i in range(0, len(x), per_batch):
            total += float(model.iw_log_likelihood(x[i:i + per_batch], k).sum())
            bar.update(len(x[i:i + per_batch]))
    return -total / len(x)
