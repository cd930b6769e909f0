"""One trainer for every model: Adam, resident data, per-epoch eval, checkpoints, resume, DDP.

A model is anything whose ``forward(*batch)`` returns a dict with a scalar ``"loss"`` (and any
other scalars worth logging, in nats per item). The data are whole tensors in memory; a batch
is an ``index_select`` of a seeded permutation, so there is no per-item Python.

A model with several players (a GAN) names them in ``optimizer_groups() -> {name: (params,
Adam options)}`` and trains itself in ``train_step(batch, step) -> terms``, calling
``step(name, loss)`` for each update: the trainer zeroes that player's gradients, back-propagates
(outside autocast), averages the gradients over DDP processes and steps its Adam. Checkpoints
hold every player's optimizer, so ``resume`` is as exact as for one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ..errors import Interrupted, OptionError, UserError
from ..fileio import write_text
from ..models import rundir as runfile
from ..threads import recheck as recheck_threads
from . import distributed, graphs, precision
from .adam import Adam
from .allocator import tune_malloc
from .checkpoint import TrainState, has_checkpoint, load_checkpoint, save_checkpoint
from .evaluate import evaluate

Batch = tuple[torch.Tensor, ...]


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    # "cosine": the learning rate falls from lr to 0 along a half cosine over all the steps of
    # ``epochs`` epochs (Loshchilov & Hutter 2017, without restarts); "constant": lr throughout
    lr_schedule: str = "constant"
    seed: int = 0
    # "bf16": matmuls in bfloat16 (weights, Adam and the loss stay fp32); "auto": measured,
    # the faster of the two whose loss agrees (``train.precision``), cached per machine
    precision: str = "auto"
    device: str = "auto"  # "cpu", "cuda", or "auto" (cuda when available)
    # "auto": on CUDA a graph-safe model's step is recorded once as a CUDA graph and replayed
    # (``train.graphs``); "on": that or an error (on CPU: the same step, uncaptured); "off"
    cuda_graph: str = "auto"
    eval_batch_size: int = 2048
    # every this many epochs the run logs samples (``train``'s ``sampler``); 0: never
    sample_every: int = 0
    quiet: bool = False

    def validate(self) -> None:
        if self.epochs < 1:
            raise OptionError("epochs", f"must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise OptionError("batch_size", f"must be at least 1, got {self.batch_size}")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise OptionError("lr", f"must be a positive number, got {self.lr}")
        if self.sample_every < 0:
            raise OptionError("sample_every", f"must be 0 (never) or a number of epochs, got "
                                              f"{self.sample_every}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise OptionError("lr_schedule", f"must be constant or cosine, got "
                                             f"{self.lr_schedule!r}")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise OptionError("precision", f"must be auto, fp32 or bf16, got {self.precision!r}")
        if self.cuda_graph not in ("auto", "on", "off"):
            raise OptionError("cuda_graph", f"must be auto, on or off, got {self.cuda_graph!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise OptionError("device", f"must be auto, cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise OptionError("device", "is cuda, but no CUDA device is available here")


def prepare_run_dir(out: str | Path, *, resume: bool, force: bool) -> Path:
    """Check and create the run directory; an existing one needs ``resume`` or ``force``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OptionError("out", f"{out} exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not (resume or force):
        raise UserError(f"{out} already exists; pass `resume` to continue it or `force` to "
                        "replace it")
    if force and not resume and out.exists():
        if any(out.iterdir()) and not (out / runfile.CONFIG).is_file():
            raise UserError(f"{out} is not empty and holds no run (no {runfile.CONFIG}); "
                            "`force` replaces only a run: give a new or empty folder")
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write to {out}: {e.strerror}") from None
    return out


@contextmanager
def _stop_on_sigint(enabled: bool):
    """Turn the first Ctrl-C into a flag the loop checks at each batch boundary."""
    flag = {"stop": False}
    if not enabled:
        yield flag
        return

    def handler(signum, frame):
        if flag["stop"]:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def resolve_device(requested: str, rank: int = 0) -> torch.device:
    """The device to train on: CUDA (one GPU per process under torchrun) when asked or auto."""
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
    return torch.device("cpu")


def make_optimizers(model: torch.nn.Module, lr: float) -> dict[str, Adam]:
    """One fused Adam per parameter group the model names (``optimizer_groups``: a GAN's
    players), else one for all its trainable parameters."""
    groups = getattr(model, "optimizer_groups", None)
    groups = groups() if groups is not None else {
        "": ([p for p in model.parameters() if p.requires_grad], {})}
    return {  # fused: one kernel per step
        name: Adam([p for p in params if p.requires_grad], lr=lr, **options)
        for name, (params, options) in groups.items()}


def train(
    model: torch.nn.Module,
    train_data: torch.Tensor | Batch,
    test_data: torch.Tensor | Batch,
    out: str | Path,
    config: TrainConfig,
    run_config: dict[str, Any],
    *,
    resume: bool = False,
    force: bool = False,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[Path], None] | None = None,
    sampler: Callable[[Path, int], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Train ``model`` and keep ``out`` a loadable run after every epoch; return the history.

    ``run_config`` (kind, model config, data spec) is written to ``config.json`` with the train
    config and package versions. An existing ``out`` needs ``resume`` or ``force``. With
    ``resume`` the last checkpoint in ``out`` is restored and training continues from its exact
    position (epoch, batch, RNG, optimizer moments).
    ``metrics.jsonl`` gets one line per epoch: train and test loss terms in nats per item,
    the epoch's training wall time in seconds and items per second. ``on_start(out)`` writes
    any other files of the run (a text model's vocab.json) once the directory is ready.
    Every ``config.sample_every`` epochs ``sampler(out, epoch)``, called once the epoch's
    weights are saved and under a forked RNG (training goes on as if it had not run), returns
    what joins the epoch's record (``{"samples": ...}``).
    """
    config.validate()
    for split, data in (("training", train_data), ("test", test_data)):
        if len(_as_tuple(data)[0]) == 0:
            raise UserError(f"the {split} set is empty: there is nothing to "
                            f"{'train on' if split == 'training' else 'measure the model on'}")
    ckpt_dir = Path(out) / "checkpoint"
    if resume and (Path(out) / runfile.WEIGHTS).is_file() and not has_checkpoint(ckpt_dir):
        raise UserError(f"{out} has trained weights but no checkpoint to resume from; train it "
                        "again from the start with `force`, or train into a new `out` to "
                        "keep it")
    tune_malloc()
    d = distributed.setup()
    try:
        loop = _Loop(model, train_data, test_data, Path(out), config, d, sampler)
        if d.is_main:
            measured = loop.measured
            if resume and measured is None and (loop.out / runfile.CONFIG).is_file():
                # the run keeps the precision it was measured into, and the measurement
                measured = runfile.read_config(loop.out).get("train", {}).get(
                    "precision_measured")
            prepare_run_dir(loop.out, resume=resume, force=force)
            runfile.write_config(loop.out, {
                **run_config, "train": {**asdict(config), "precision": loop.precision,
                                        "cuda_graph": "on" if loop.graphed else "off",
                                        **({"precision_measured": measured}
                                           if measured else {})},
                "versions": runfile.versions()})
            if on_start is not None:
                on_start(loop.out)
        if resume and has_checkpoint(loop.ckpt_dir):
            loop.state = load_checkpoint(loop.ckpt_dir, model, loop.optimizers)
        with _stop_on_sigint(d.world == 1) as stop:
            while loop.state.epoch < config.epochs:
                record = loop.epoch(stop, fresh_run=not resume)
                if record is not None and on_epoch is not None:
                    on_epoch(record)
        return loop.state.history
    finally:
        distributed.teardown(d)


class _Loop:
    """The state of one training session: model, optimizer, data, position, shuffling RNG."""

    def __init__(self, model: torch.nn.Module, train_data: torch.Tensor | Batch,
                 test_data: torch.Tensor | Batch, out: Path, config: TrainConfig,
                 d: distributed.Dist,
                 sampler: Callable[[Path, int], dict[str, Any]] | None = None):
        self.config, self.d, self.out, self.ckpt_dir = config, d, out, out / "checkpoint"
        self.sampler = sampler
        self.device = resolve_device(config.device, d.rank)
        why_not = graphs.eligible(model, d.world)
        if config.cuda_graph == "on" and why_not:
            raise OptionError("cuda_graph", f"is on, but {why_not}")
        self.graphed = why_not is None and (
            config.cuda_graph == "on" or (config.cuda_graph == "auto"
                                          and self.device.type == "cuda"))
        self.static: graphs.StaticStep | None = None  # made at the first epoch (after resume)
        self.model = model.to(self.device)
        self.train_data = tuple(t.to(self.device) for t in _as_tuple(train_data))
        self.test_data = tuple(t.to(self.device) for t in _as_tuple(test_data))
        torch.manual_seed(config.seed)
        if not any(p.requires_grad for p in model.parameters()):
            raise UserError("the model has no trainable parameters (a model from "
                            "latentatlas.load is frozen: call model.requires_grad_(True))")
        self.optimizers = make_optimizers(model, config.lr)
        self.precision, self.measured = self._precision()
        self.players = hasattr(model, "train_step")
        self.net: torch.nn.Module = model
        if d.world > 1 and not self.players:  # players average their gradients in _step
            from torch.nn.parallel import DistributedDataParallel

            cuda = self.device.type == "cuda"
            self.net = DistributedDataParallel(model, device_ids=[self.device] if cuda else None)
        self.state = TrainState()
        self.gen = torch.Generator().manual_seed(config.seed)
        self.show = not config.quiet and d.is_main and sys.stderr.isatty()

    def _precision(self) -> tuple[str, dict[str, Any] | None]:
        """The precision to train in, and with "auto" the measurement that chose it (every
        process measures; their timings are averaged, so all choose alike)."""
        requested, device = self.config.precision, self.device
        if requested != "auto":
            return requested, None
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            return "fp32", {"reason": "the GPU has no bfloat16"}
        per_rank = -(-self.config.batch_size // self.d.world)
        batch = tuple(t[:per_rank] for t in self.train_data)
        record = precision.auto_precision(self.model, batch, device,
                                          lambda m: make_optimizers(m, self.config.lr))
        if self.d.world > 1:
            keys = ("fp32_step_ms", "bf16_step_ms", "loss_gap")
            sums = self.d.all_reduce({k: float("nan") if record[k] is None else record[k]
                                      for k in keys})  # nan: bf16 failed on some rank
            record |= {k: round(v / self.d.world, 5) for k, v in sums.items()}
            record["precision"], record["reason"] = precision.choose(record)
        return record.pop("precision"), record

    def epoch(self, stop: dict[str, bool], fresh_run: bool) -> dict[str, Any] | None:
        """Run the rest of the current epoch; return its metrics record (rank 0) or None."""
        cfg, state, d = self.config, self.state, self.d
        recheck_threads()  # another process may have started (or ended) since the last epoch
        n = len(self.train_data[0])
        if state.epoch_rng is not None:
            self.gen.set_state(state.epoch_rng)
        state.epoch_rng = self.gen.get_state()  # start of this epoch: replays its permutation
        if state.batch == 0:
            state.running = {}
        # drawn on the CPU (the same order on any device), moved once: no copy per step
        perm = torch.randperm(n, generator=self.gen).to(self.device)
        if self.graphed and self.static is None:
            self.static = graphs.StaticStep(self.model, self.optimizers, self.train_data,
                                            cfg.batch_size, self.precision, self.device)
        self.model.train()
        sums: dict[str, torch.Tensor] = {}
        count = 0
        seconds = state.running.get("_seconds", 0.0)
        t0 = time.perf_counter()
        bar = tqdm(total=n, initial=min(n, state.batch * cfg.batch_size), disable=not self.show,
                   leave=False, unit="item", unit_scale=True,
                   desc=f"epoch {state.epoch + 1}/{cfg.epochs}")
        for b in range(state.batch, math.ceil(n / cfg.batch_size)):
            if stop["stop"]:
                self._fold(sums)
                state.batch = b
                state.running = _running(state.running, sums, count)
                state.running["_seconds"] = seconds + time.perf_counter() - t0
                if d.is_main:
                    save_checkpoint(self.ckpt_dir, self.model, self.optimizers, state)
                raise Interrupted(f"stopped at epoch {state.epoch + 1}, batch {b}")
            idx = perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            if d.world > 1:
                idx = idx.tensor_split(d.world)[d.rank]  # this process's slice of the batch
            if cfg.lr_schedule != "constant":
                self._set_lr(state.epoch * math.ceil(n / cfg.batch_size) + b,
                             cfg.epochs * math.ceil(n / cfg.batch_size))
            if self.static is not None and len(idx) == cfg.batch_size:
                self.static(idx)
                count += len(idx)
                if self.show and b % 20 == 0:
                    self._fold(sums)
                    bar.set_postfix(loss=f"{float(sums['loss']) / count:.2f}")
                bar.update(len(idx))
                continue
            self._fold(sums)  # the graph's sums first: the same order of additions as eager
            batch = tuple(t.index_select(0, idx) for t in self.train_data)
            with precision.autocast(self.precision, self.device):
                if self.players:
                    terms = self.model.train_step(batch, self._step)
                else:
                    terms = self.net(*batch)
            if not self.players:
                self._step("", terms["loss"])
            for k, v in terms.items():  # sums of batch means x batch size
                v = v.detach() * len(idx)
                sums[k] = sums[k] + v if k in sums else v
            count += len(idx)
            if self.show and b % 20 == 0:
                bar.set_postfix(loss=f"{float(sums['loss']) / count:.2f}")
            bar.update(len(idx) * d.world)
        self._fold(sums)
        bar.close()
        if self.device.type == "cuda":  # the steps queued on the GPU are part of the epoch
            torch.cuda.synchronize(self.device)
        seconds += time.perf_counter() - t0
        totals = d.all_reduce(_running(state.running, sums, count))
        if not math.isfinite(totals["loss"]):
            if state.epoch == 0 and fresh_run and d.is_main:
                shutil.rmtree(self.out)  # no epoch completed: leave no unloadable run behind
            kept = (f"{self.out} keeps the checkpoint of epoch {state.epoch}" if state.epoch
                    else "nothing was kept")
            raise UserError(f"the training loss became {totals['loss']} in epoch "
                            f"{state.epoch + 1} ({kept}); try a lower `lr`")
        state.epoch, state.batch, state.running = state.epoch + 1, 0, {}
        state.epoch_rng = self.gen.get_state()
        record = None
        if d.is_main:
            record = {"epoch": state.epoch}
            record.update({f"train_{k}": v / totals["_n"] for k, v in totals.items()
                           if not k.startswith("_")})
            terms = self._evaluate()
            extra = getattr(self.model, "epoch_metrics", None)  # e.g. perplexity, active units
            if extra is not None:
                self.model.eval()
                terms.update(extra(terms, *self.test_data))
            record.update({f"test_{k}": v for k, v in terms.items()})
            record.update({"seconds": round(seconds, 4), "items_per_s": round(n / seconds, 1)})
            state.history.append(record)
            runfile.save_weights(self.model, self.out / runfile.WEIGHTS)
            if self.sampler is not None and cfg.sample_every \
                    and state.epoch % cfg.sample_every == 0:
                cuda = [self.device] if self.device.type == "cuda" else []
                with torch.random.fork_rng(devices=cuda):
                    record.update(self.sampler(self.out, state.epoch))
            write_text(self.out / runfile.METRICS, "".join(_json_line(r) for r in state.history))
            save_checkpoint(self.ckpt_dir, self.model, self.optimizers, state)
        d.barrier()
        return record

    def _fold(self, sums: dict[str, torch.Tensor]) -> None:
        """Move the loss sums the graphed steps kept on the device into ``sums``."""
        if self.static is None:
            return
        for k, v in self.static.take_sums().items():
            sums[k] = sums[k] + v if k in sums else v

    def _set_lr(self, step: int, total: int) -> None:
        """The scheduled learning rate of training step ``step`` of ``total`` (a function of
        the position only, so a resumed run follows the same schedule)."""
        lr = self.config.lr * 0.5 * (1.0 + math.cos(math.pi * min(step / total, 1.0)))
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr

    def _step(self, name: str, loss: torch.Tensor) -> None:
        """One update of the parameters of optimizer ``name`` on ``loss``."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            loss.backward()
        if self.players and self.d.world > 1:
            self.d.average_gradients([p for g in optimizer.param_groups for p in g["params"]])
        optimizer.step()

    def _evaluate(self) -> dict[str, float]:
        """Test metrics in fp32 with their own noise seed, leaving the training RNG untouched."""
        cuda = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.config.seed + 1)
            return evaluate(self.model, self.test_data, self.config.eval_batch_size)


def _as_tuple(data: torch.Tensor | Batch) -> Batch:
    return data if isinstance(data, tuple) else (data,)


def _running(previous: dict[str, float], sums: dict[str, torch.Tensor],
             count: int) -> dict[str, float]:
    """Add this stretch's sums (and its item count, as ``_n``) to the epoch's running totals."""
    merged = dict(previous)
    for k, v in sums.items():
        merged[k] = merged.get(k, 0.0) + float(v)
    merged["_n"] = merged.get("_n", 0.0) + count
    return merged


def _json_line(record: dict[str, Any]) -> str:
    return json.dumps(record) + "\n"
