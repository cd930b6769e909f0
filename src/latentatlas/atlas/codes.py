"""Codes of a whole dataset, encoded once in batches and cached under ``RUN/atlas/``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..data import ImageData
from ..data.text import TextData
from ..errors import UserError
from ..fileio import write_cache
from ..models.protocol import LatentModel
from ..models.rundir import WEIGHTS, load, load_run_data, read_config, run_kind
from ..progress import progress

ATLAS = "atlas"


@dataclass
class Codes:
    """Posterior parameters of N items: ``mu`` (N, D), ``logvar`` (N, D) or None for an AE."""

    mu: torch.Tensor
    logvar: torch.Tensor | None = None
    labels: torch.Tensor | None = None


@torch.no_grad()
def encode(model: LatentModel, x: torch.Tensor, batch_size: int = 4096) -> Codes:
    """Encode (N, ...) items in no-grad batches: posterior means and log-variances."""
    if hasattr(model, "eval"):
        model.eval()
    mus, logvars = [], []
    with progress(len(x), "encoding", "item") as bar:
        for i in range(0, len(x), batch_size):
            mu, logvar = model.encode(x[i:i + batch_size])
            mus.append(mu.float())
            if logvar is not None:
                logvars.append(logvar.float())
            bar.update(len(mu))
    return Codes(torch.cat(mus), torch.cat(logvars) if logvars else None)


def split_items(data: ImageData | TextData, split: str
                ) -> tuple[torch.Tensor | list[str], torch.Tensor | None]:
    """A split's items (an image tensor, or a list of texts) and its labels as class indices."""
    if isinstance(data, TextData):
        texts = data.train if split == "train" else data.test
        labels = data.train_labels if split == "train" else data.test_labels
        if labels is None:
            return texts, None
        index = {c: i for i, c in enumerate(data.classes or [])}
        return texts, torch.tensor([index.get(lab, -1) for lab in labels])
    if split == "train":
        return data.train_x, data.train_y
    return data.test_x, data.test_y


def _cache_key(run_dir: Path, data: ImageData | TextData, split: str) -> str:
    """Changes whenever the weights, the dataset spec or the split's size change."""
    h = hashlib.sha256((run_dir / WEIGHTS).read_bytes())
    spec = read_config(run_dir).get("data")
    items, _ = split_items(data, split)
    size = [len(items)] if isinstance(items, list) else list(items.shape)
    h.update(json.dumps([spec, data.source, split, size], sort_keys=True).encode())
    return h.hexdigest()


def run_codes(run_dir: str | Path, split: str = "test", *, model: LatentModel | None = None,
              data: ImageData | TextData | None = None,
              data_dir: str | Path | None = None, save: bool = True) -> Codes:
    """The codes of a run's train or test split, from ``RUN/atlas/codes-SPLIT.safetensors``.

    Encoded (and cached, unless ``save`` is False) on the first call; later calls read the
    cache while the weights and the dataset are unchanged. Labels come along where the dataset
    has them.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {split!r}")
    run_dir = Path(run_dir)
    data = data if data is not None else load_run_data(run_dir, data_dir)
    items, labels = split_items(data, split)
    path = run_dir / ATLAS / f"codes-{split}.safetensors"
    key = _cache_key(run_dir, data, split)
    if path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                if (f.metadata() or {}).get("key") == key:  # no metadata: rebuilt below
                    logvar = f.get_tensor("logvar") if "logvar" in f.keys() else None
                    return Codes(f.get_tensor("mu"), logvar, labels)
        except (SafetensorError, OSError, KeyError):
            pass  # a damaged cache is rebuilt below
    kind = run_kind(run_dir)
    if not kind.latent:
        raise UserError(f"{run_dir} holds a model of kind {kind.name!r}, which has no latent "
                        "space")
    model = model if model is not None else load(run_dir)
    if isinstance(items, list):  # texts: token ids the way the model was trained on them
        items = model.vocab.batch(items, model.config.max_len)
    codes = encode(model, items)
    codes.labels = labels
    tensors = {"mu": codes.mu.contiguous()}
    if codes.logvar is not None:
        tensors["logvar"] = codes.logvar.contiguous()
    if not save:
        return codes
    write_cache(path, lambda p: save_file(tensors, str(p), metadata={"key": key}))
    return codes
