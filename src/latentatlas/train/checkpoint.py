"""Training checkpoints: one safetensors file with weights, optimizer state, RNG and position.

Tensors (weights, Adam moments, RNG states) go in the tensor section; everything else
(epoch, batch, history, optimizer hyper-parameters) goes in the JSON metadata. The file is
written to a temporary name and renamed, so a crash leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import UserError
from ..fileio import write_atomic

FILE = "state.safetensors"


@dataclass
class TrainState:
    """Where training stands: ``epoch`` epochs are complete and ``batch`` batches of the next.

    ``epoch_rng`` is the shuffling generator's state at the start of the epoch in progress (or
    of the next one), so a resumed run draws the same permutation and skips the batches done.
    """

    epoch: int = 0
    batch: int = 0
    epoch_rng: torch.Tensor | None = None
    running: dict[str, float] = field(default_factory=dict)  # sums over the epoch so far
    history: list[dict[str, Any]] = field(default_factory=list)


def save_checkpoint(directory: str | Path, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, state: TrainState) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    for pid, slots in opt_state["state"].items():
        for slot, value in slots.items():
            tensors[f"optim.{pid}.{slot}"] = torch.as_tensor(value).detach().contiguous().cpu()
    tensors["rng.torch"] = torch.get_rng_state()
    if next(model.parameters()).is_cuda:
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    if state.epoch_rng is not None:
        tensors["rng.epoch"] = state.epoch_rng
    meta = {
        "epoch": state.epoch, "batch": state.batch, "running": state.running,
        "history": state.history, "param_groups": opt_state["param_groups"],
        "optimizer": type(optimizer).__name__,
    }
    write_atomic(directory / FILE,
                 lambda p: save_file(tensors, str(p), metadata={"state": json.dumps(meta)}))


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / FILE).is_file()


def load_checkpoint(directory: str | Path, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer) -> TrainState:
    """Restore model, optimizer and the global torch RNG; return the training position.

    A file that is not a checkpoint of this model and optimizer (no metadata, missing
    entries, other shapes, another optimizer) is a ``UserError`` naming it; nothing is
    restored from it."""
    path = Path(directory) / FILE
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})["state"])
            tensors = {k: f.get_tensor(k) for k in f.keys()}
        position = {k: meta[k] for k in ("epoch", "batch", "running", "history",
                                         "param_groups")}
        rng = tensors["rng.torch"]
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as e:
        raise UserError(f"cannot read checkpoint {path}: {type(e).__name__}: {e}") from None
    model_state = {k.removeprefix("model."): v for k, v in tensors.items()
                   if k.startswith("model.")}
    try:
        model.load_state_dict(model_state, strict=True)  # copies onto the model's device
    except RuntimeError:
        raise UserError(f"checkpoint {path} does not match the model in config.json") from None
    optimizer.load_state_dict(_optimizer_state(path, optimizer, tensors, meta))
    torch.set_rng_state(rng)
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return TrainState(
        epoch=position["epoch"], batch=position["batch"], epoch_rng=tensors.get("rng.epoch"),
        running=position["running"], history=position["history"],
    )


def _optimizer_state(path: Path, optimizer: torch.optim.Optimizer,
                     tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """The saved optimizer state, checked against ``optimizer``: the same parameter groups and
    moments shaped like their parameters (else Adam would fail or, worse, broadcast)."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    groups = meta["param_groups"]
    mismatch = UserError(f"checkpoint {path} holds the state of another optimizer or model")
    if meta.get("optimizer", type(optimizer).__name__) != type(optimizer).__name__:
        raise mismatch
    try:
        same = (isinstance(groups, list)
                and [len(g["params"]) for g in groups]
                == [len(g["params"]) for g in optimizer.param_groups]
                and sorted(i for g in groups for i in g["params"]) == list(range(len(params))))
    except (KeyError, TypeError):
        same = False
    if not same:
        raise mismatch
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, pid, slot = k.split(".", 2)
            if not pid.isdigit() or int(pid) >= len(params):
                raise mismatch
            if v.ndim and v.shape != params[int(pid)].shape:
                raise mismatch
            slots.setdefault(int(pid), {})[slot] = v
    return {"state": slots, "param_groups": groups}
