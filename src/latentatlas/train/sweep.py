"""Training many models of one architecture at once: weights stacked, one vmapped step.

K models that differ only in their seed (their initial weights, their batch order and their
noise) share every kernel launch: their parameters are stacked along a new first dimension
(``torch.func.stack_module_state``), each training step evaluates all K losses with
``torch.vmap`` over ``torch.func.functional_call`` (each model on its own batch, its own noise:
``randomness="different"``), and one fused Adam updates the stacked tensors, which is the same
elementwise update as K separate Adams. Each model still draws its batches from its own seeded
permutation, exactly as ``train`` would, and after every epoch it is unstacked into an ordinary
model that is evaluated, saved and checkpointed by the code ``train`` uses, so every model of
the sweep is an ordinary run: loadable, and resumable alone with ``train --resume``. What
differs from training each alone: the reparameterisation noise comes from one stream for all,
so a model matches its lone twin in distribution, not bit for bit.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch.func import functional_call, stack_module_state

from ..errors import UserError
from ..fileio import write_text
from ..models import rundir as runfile
from .adam import Adam
from .checkpoint import TrainState, has_checkpoint, load_checkpoint, save_checkpoint
from .evaluate import evaluate
from .trainer import TrainConfig, make_optimizers, prepare_run_dir, resolve_device


def _unstack(models: list[torch.nn.Module], params: dict[str, torch.Tensor],
             buffers: dict[str, torch.Tensor]) -> None:
    """Copy model k's slice of the stacked tensors into ``models[k]``."""
    with torch.no_grad():
        for k, model in enumerate(models):
            for name, t in model.named_parameters():
                t.copy_(params[name][k])
            for name, t in model.named_buffers():
                t.copy_(buffers[name][k])


def _restack(stacked: Adam, params: dict[str, torch.Tensor],
             models: list[torch.nn.Module], lone: list[dict[str, Adam]]) -> None:
    """Set the stacked Adam's moments to the models' own, slice k from model k's Adam."""
    owns = [dict(m.named_parameters()) for m in models]
    for name, p in params.items():
        slots = [next(iter(opts.values())).state.get(own[name])
                 for own, opts in zip(owns, lone, strict=True)]
        if p.requires_grad and all(slots):
            stacked.state[p] = {
                "step": slots[0]["step"].clone(),
                **{k: torch.stack([s[k] for s in slots]).contiguous()
                   for k in ("exp_avg", "exp_avg_sq")}}


def _lone_optimizer(model: torch.nn.Module, stacked: Adam,
                    params: dict[str, torch.Tensor], k: int, lr: float
                    ) -> dict[str, Adam]:
    """Model k's own Adam, holding its slice of the stacked moments (what its checkpoint
    keeps, so ``train --resume`` continues it alone)."""
    optimizers = make_optimizers(model, lr)
    (opt,) = optimizers.values()
    own = dict(model.named_parameters())
    for name, p in params.items():
        state = stacked.state.get(p)
        if state and own[name].requires_grad:
            opt.state[own[name]] = {"step": state["step"].clone(),
                                    "exp_avg": state["exp_avg"][k].clone(),
                                    "exp_avg_sq": state["exp_avg_sq"][k].clone()}
    return optimizers


def _resume(models: list[torch.nn.Module], outs: list[Path], lr: float
            ) -> tuple[list[TrainState], list[dict[str, Adam]]]:
    """Each model's weights, Adam and position from its run's checkpoint; all must stand at
    the end of the same epoch (as a sweep leaves them)."""
    for out in outs:  # every missing checkpoint before anything is read
        if not has_checkpoint(out / "checkpoint"):
            raise UserError(f"{out} has no checkpoint to resume from; run the sweep without "
                            "`resume` (with `force` to replace what is there)")
    optimizers = [make_optimizers(m, lr) for m in models]
    states = [load_checkpoint(out / "checkpoint", m, o)
              for m, o, out in zip(models, optimizers, outs, strict=True)]
    at = {(s.epoch, s.batch) for s in states}
    if len(at) != 1 or states[0].batch != 0:
        where = ", ".join(f"{out.name} epoch {s.epoch} batch {s.batch}"
                          for out, s in zip(outs, states, strict=True))
        raise UserError(f"the runs of a sweep resume together from the end of one epoch; "
                        f"these stand at {where}: resume them one by one with `train --resume`")
    return states, optimizers


def train_stacked(models: list[torch.nn.Module], seeds: list[int],
                  train_data: torch.Tensor, test_data: torch.Tensor, outs: list[Path],
                  config: TrainConfig, run_configs: list[dict[str, Any]], *,
                  force: bool = False, resume: bool = False,
                  on_epoch=None) -> list[list[dict[str, Any]]]:
    """Train ``models`` (same architecture; model k built with ``seeds[k]``) together on
    ``train_data`` (N, ...) into the run directories ``outs``; each gets ``run_configs[k]``
    as its config.json (with the train config and its own seed). With ``resume`` every model
    continues from its run's checkpoint to ``config.epochs`` in all. Returns each one's
    metrics history (nats per item). ``on_epoch(k, record)`` is called for every model's
    epoch."""
    if any(hasattr(m, "train_step") for m in models):
        raise UserError("a sweep trains models with one loss; a GAN's players step in turns")
    if len({len(seeds), len(models), len(outs)}) != 1:
        raise ValueError("one seed and one output folder per model")
    config.validate()
    device = resolve_device(config.device)
    for m in models:
        m.to(device)
    states, lone = _resume(models, outs, config.lr) if resume else (None, None)
    for out in outs:  # every clash before any folder is made or replaced
        if not resume and out.exists() and (not out.is_dir() or any(out.iterdir())) \
                and not force:
            raise UserError(f"{out} already exists; pass `force` to replace the sweep's runs "
                            "or `resume` to continue them")
    for out in outs:
        prepare_run_dir(out, resume=resume, force=force and not resume)
    for out, seed, run_config in zip(outs, seeds, run_configs, strict=True):
        runfile.write_config(out, {**run_config, "train": {
            **asdict(config), "seed": seed, "precision": "fp32", "stacked_with": len(models)},
            "versions": runfile.versions()})
    for m in models:
        m.train()
    train_data, test_data = train_data.to(device), test_data.to(device)
    params, buffers = stack_module_state(models)
    template = copy.deepcopy(models[0]).to("meta")
    stacked = Adam([p for p in params.values() if p.requires_grad], lr=config.lr)
    if lone is not None:  # the stacked moments from each model's own
        _restack(stacked, params, models, lone)

    def one(p, b, x):
        return functional_call(template, (p, b), (x,))

    losses = torch.vmap(one, in_dims=(0, 0, 0), randomness="different")
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    torch.manual_seed(seeds[0])
    histories: list[list[dict[str, Any]]] = [[] for _ in models]
    start = 0
    if states is not None:
        for gen, state in zip(gens, states, strict=True):
            gen.set_state(state.epoch_rng)
        histories = [list(s.history) for s in states]
        start = states[0].epoch
    n, bs = len(train_data), config.batch_size
    steps = math.ceil(n / bs)
    for epoch in range(start, config.epochs):
        # drawn on the CPU (each model's order on any device), moved once an epoch
        perms = torch.stack([torch.randperm(n, generator=g) for g in gens]).to(device)  # (K, N)
        sums: dict[str, torch.Tensor] = {}
        t0 = time.perf_counter()
        for b in range(steps):
            if config.lr_schedule != "constant":
                lr = config.lr * 0.5 * (1 + math.cos(math.pi * (epoch * steps + b)
                                                     / (config.epochs * steps)))
                for group in stacked.param_groups:
                    group["lr"] = lr
            idx = perms[:, b * bs:(b + 1) * bs]  # (K, B)
            terms = losses(params, buffers, train_data[idx])  # each (K,)
            stacked.zero_grad(set_to_none=True)
            terms["loss"].sum().backward()  # the models share no weight: K separate gradients
            stacked.step()
            for key, v in terms.items():
                v = v.detach() * idx.shape[1]
                sums[key] = sums[key] + v if key in sums else v
        if device.type == "cuda":  # the queued steps are part of the epoch
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
        _unstack(models, params, buffers)
        for k, (model, out) in enumerate(zip(models, outs, strict=True)):
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed(seeds[k] + 1)  # the trainer's evaluation seed
                test = evaluate(model, test_data, config.eval_batch_size)
            extra = getattr(model, "epoch_metrics", None)
            if extra is not None:
                model.eval()
                test.update(extra(test, test_data))
                model.train()
            record = {"epoch": epoch + 1,
                      **{f"train_{key}": float(v[k]) / n for key, v in sums.items()},
                      **{f"test_{key}": v for key, v in test.items()},
                      "seconds": round(seconds / len(models), 4),  # its share of the step time
                      "items_per_s": round(n * len(models) / seconds, 1)}
            histories[k].append(record)
            runfile.save_weights(model, out / runfile.WEIGHTS)
            write_text(out / runfile.METRICS,
                       "".join(json.dumps(r) + "\n" for r in histories[k]))
            state = TrainState(epoch=epoch + 1, epoch_rng=gens[k].get_state(),
                               history=histories[k])
            save_checkpoint(out / "checkpoint", model,
                            _lone_optimizer(model, stacked, params, k, config.lr), state)
            if on_epoch is not None:
                on_epoch(k, record)
    return histories
