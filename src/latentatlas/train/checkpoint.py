"""Training checkpoints: one safetensors file with weights, optimizer state, RNG and position.

Tensors (weights, Adam moments, RNG states) go in the tensor section; everything else
(epoch, batch, history, optimizer hyper-parameters) goes in the JSON metadata. A model with one
optimizer stores its moments as ``optim.PARAM.SLOT``; one with several players (a GAN) as
``optim-NAME.PARAM.SLOT`` with each player's parameter groups under its name. The file is
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
from .adam import Adam

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


Optimizers = Adam | dict[str, Adam]


def _named(optimizers: Optimizers) -> dict[str, Adam]:
    """One optimizer -> {"": it}; several stay as named."""
    return optimizers if isinstance(optimizers, dict) else {"": optimizers}


def _prefix(name: str) -> str:
    return f"optim-{name}" if name else "optim"


def save_checkpoint(directory: str | Path, model: torch.nn.Module,
                    optimizers: Optimizers, state: TrainState) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    groups, kinds = {}, {}
    for name, optimizer in _named(optimizers).items():
        opt_state = optimizer.state_dict()
        for pid, slots in opt_state["state"].items():
            for slot, value in slots.items():
                tensors[f"{_prefix(name)}.{pid}.{slot}"] = (
                    torch.as_tensor(value).detach().contiguous().cpu())
        groups[name], kinds[name] = opt_state["param_groups"], type(optimizer).__name__
    single = list(groups) == [""]
    tensors["rng.torch"] = torch.get_rng_state()
    if next(model.parameters()).is_cuda:
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    if state.epoch_rng is not None:
        tensors["rng.epoch"] = state.epoch_rng
    meta = {
        "epoch": state.epoch, "batch": state.batch, "running": state.running,
        "history": state.history,
        "param_groups": groups[""] if single else groups,
        "optimizer": kinds[""] if single else kinds,
    }
    write_atomic(directory / FILE,
                 lambda p: save_file(tensors, str(p), metadata={"state": json.dumps(meta)}))


def has_checkpoint(directory: str | Path) -> bool:
    return (Path(directory) / FILE).is_file()


def load_checkpoint(directory: str | Path, model: torch.nn.Module,
                    optimizers: Optimizers) -> TrainState:
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
    named = _named(optimizers)
    single = list(named) == [""]
    states = {}
    for name, optimizer in named.items():
        groups = meta["param_groups"] if single else _entry(meta["param_groups"], name)
        kind = meta.get("optimizer", type(optimizer).__name__)
        kind = kind if single else _entry(kind, name)
        prefix = _prefix(name) + "."
        mine = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
        states[name] = _optimizer_state(path, optimizer, mine, groups, kind)
    for name, optimizer in named.items():  # restore nothing until every one has been read
        optimizer.load_state_dict(states[name])
    torch.set_rng_state(rng)
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return TrainState(
        epoch=position["epoch"], batch=position["batch"], epoch_rng=tensors.get("rng.epoch"),
        running=position["running"], history=position["history"],
    )


def _entry(saved: Any, name: str) -> Any:
    """A player's entry of a per-player metadata dict (None where there is none)."""
    return saved.get(name) if isinstance(saved, dict) else None


def _optimizer_state(path: Path, optimizer: Adam,
                     tensors: dict[str, torch.Tensor], groups: Any,
                     kind: Any) -> dict[str, Any]:
    """The saved optimizer state (moments as ``PARAM.SLOT`` tensors, parameter groups, the
    optimizer's class name), checked against ``optimizer``: the same parameter groups and
    moments shaped like their parameters (else Adam would fail or, worse, broadcast)."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    mismatch = UserError(f"checkpoint {path} holds the state of another optimizer or model")
    if kind != type(optimizer).__name__:
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
        pid, _, slot = k.partition(".")
        if not pid.isdigit() or int(pid) >= len(params):
            raise mismatch
        if v.ndim and v.shape != params[int(pid)].shape:
            raise mismatch
        if v.ndim:  # in the parameter's memory layout (fused Adam walks both as flat buffers)
            v = torch.empty_like(params[int(pid)], dtype=v.dtype, device="cpu").copy_(v)
        slots.setdefault(int(pid), {})[slot] = v
    return {"state": slots, "param_groups": groups}
