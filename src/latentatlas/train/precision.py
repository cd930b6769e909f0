"""Choosing the training precision by measurement, not by a CPU flag.

bf16 autocast is faster on some machines and slower on others with the same flags (an Intel
Xeon with AVX512-BF16 but no AMX ran the 784-400-20 VAE 1.4x slower in bf16 than in fp32), so
``--precision auto`` times a few training steps of the actual model, on the actual device and
batch size, in each precision, interleaved; it picks bf16 only where it is faster by a margin
and its loss on a fixed batch agrees with fp32's. The steps run on a copy of the model (with
its own optimizer) inside a forked RNG, so the run trains exactly as if nothing was measured.
The choice is cached per machine, torch version, threads and model shape (``cache_dir()/
precision/``), so it is measured once, and recorded with its timings in the run's config.json.
"""

from __future__ import annotations

import copy
import hashlib
import json
import platform
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from ..fileio import cache_dir, write_json

PRECISIONS = ("fp32", "bf16")
MARGIN = 0.05  # bf16 must be at least this much faster (a share of fp32's step time)
TOLERANCE = 0.02  # and its loss within this share of fp32's (absolute below 1 nat)
SLOWER = 2.0  # a first timed bf16 step this many times fp32's ends the measuring there


def autocast(precision: str, device: torch.device, cache: bool = True):
    """The autocast context of a precision on a device (none for fp32); ``cache=False`` for a
    step recorded into a CUDA graph (a cached weight cast would not be redone on replay)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=cache)
    return nullcontext()


def device_name(device: torch.device) -> str:
    """The processor the steps run on, as the machine names it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _key(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device) -> str:
    shapes = [[n, list(p.shape), p.dtype == torch.float32] for n, p in model.named_parameters()]
    what = {"device": device_name(device), "torch": torch.__version__,
            "threads": torch.get_num_threads() if device.type == "cpu" else None,
            "model": type(model).__name__, "parameters": shapes,
            "batch": [[list(t.shape), str(t.dtype)] for t in batch],
            "channels_last": any(p.dim() == 4 and p.is_contiguous(
                memory_format=torch.channels_last) and not p.is_contiguous()
                for p in model.parameters())}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:20]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], precision: str,
          device: torch.device) -> float:
    """The model's loss on ``batch`` in ``precision`` (its forward: for a GAN the critic's and
    the generator's losses summed), the noise seeded the same for both precisions."""
    torch.manual_seed(0)
    with torch.no_grad(), autocast(precision, device):
        return float(model(*batch)["loss"])


def measure(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], device: torch.device,
            make_optimizers, steps: int = 3, rounds: int = 3) -> dict[str, Any]:
    """Time ``steps`` training steps per round in each precision, ``rounds`` rounds
    interleaved, after a warm-up step and a one-step probe of each (a bf16 probe ``SLOWER``
    times fp32's settles it: bf16 loses); milliseconds per step (the median round) and the
    loss gap."""
    work = copy.deepcopy(model)
    work.train()
    optimizers = make_optimizers(work)

    def step(name: str, loss: torch.Tensor) -> None:
        opt = optimizers[name]
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, enabled=False):
            loss.backward()
        opt.step()

    def one(precision: str) -> None:
        with autocast(precision, device):
            if hasattr(work, "train_step"):
                work.train_step(batch, step)
                return
            terms = work(*batch)
        step("", terms["loss"])

    def timed(precision: str, n: int) -> float:
        _sync(device)
        t = time.perf_counter()
        for _ in range(n):
            one(precision)
        _sync(device)
        return (time.perf_counter() - t) / n * 1000

    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        gaps = {"fp32": _loss(work, batch, "fp32", device)}
        try:  # a kernel may have no bf16 form here (oneDNN's LSTM on a CPU without AVX512)
            gaps["bf16"] = _loss(work, batch, "bf16", device)
            for precision in PRECISIONS:  # warm-up: first calls build kernels and buffers
                timed(precision, 1)
        except RuntimeError as e:
            return {"fp32_step_ms": None, "bf16_step_ms": None,
                    "fp32_loss": round(gaps["fp32"], 4), "bf16_loss": None, "loss_gap": None,
                    "bf16_error": str(e).splitlines()[0][:200], "steps_timed": 0}
        probe = {p: timed(p, 1) for p in PRECISIONS}
        # bf16 emulated in software runs many times slower: one step says so, and a conv
        # model's rounds would cost seconds each
        early = probe["bf16"] > SLOWER * probe["fp32"]
        if early:
            times = {p: [probe[p]] for p in PRECISIONS}
        for r in range(0 if early else rounds):
            for precision in PRECISIONS if r % 2 == 0 else PRECISIONS[::-1]:
                times[precision].append(timed(precision, steps))
    ms = {p: sorted(v)[len(v) // 2] for p, v in times.items()}
    ref = gaps["fp32"]
    return {"fp32_step_ms": round(ms["fp32"], 3), "bf16_step_ms": round(ms["bf16"], 3),
            "fp32_loss": round(ref, 4), "bf16_loss": round(gaps["bf16"], 4),
            "loss_gap": round(abs(gaps["bf16"] - ref) / max(abs(ref), 1.0), 5),
            "steps_timed": 1 if early else rounds * steps}


def choose(timings: dict[str, Any], tolerance: float = TOLERANCE,
           margin: float = MARGIN) -> tuple[str, str]:
    """The precision the timings call for, and why, in words."""
    if timings.get("bf16_error"):
        return "fp32", f"bf16 does not run here: {timings['bf16_error']}"
    gap, t32, t16 = timings["loss_gap"], timings["fp32_step_ms"], timings["bf16_step_ms"]
    if not gap <= tolerance:  # also when a loss is not finite
        return "fp32", f"bf16's loss differs from fp32's by {gap:.1%}"
    if t16 < t32 * (1 - margin):
        return "bf16", f"bf16 steps take {t16:.2f} ms against {t32:.2f} ms in fp32"
    return "fp32", f"fp32 steps take {t32:.2f} ms against {t16:.2f} ms in bf16"


def auto_precision(model: torch.nn.Module, batch: tuple[torch.Tensor, ...],
                   device: torch.device, make_optimizers, cache: bool = True
                   ) -> dict[str, Any]:
    """Measure (or read from the cache) and choose: {"precision", "reason", "cached",
    "device", timings...}."""
    path = cache_dir() / "precision" / f"{_key(model, batch, device)}.json"
    record = None
    if cache and path.is_file():
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = None
    cached = record is not None
    if record is None:
        record = measure(model, batch, device, make_optimizers)
        record["device"] = device_name(device)
        if cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_json(path, record)
            except OSError:
                pass  # a read-only cache: measured again next time
    precision, reason = choose(record)
    return {"precision": precision, "reason": reason, "cached": cached, **record}
