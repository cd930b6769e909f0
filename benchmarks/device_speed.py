"""Training speed on the device at hand (CPU or CUDA) against the plain loop, and how near the
hardware's limit an epoch comes (issue 18, part 2).

For each model (the 784-400-20 MLP VAE and the conv VAE on fashion-mnist, the sentence VAE on
the grammar set), four loops train the same network from the same initial weights, an epoch
at a time, interleaved (one epoch of each in turn, so drift in the machine falls on all alike):

- ``plain``: the loop a PyTorch user writes: a ``DataLoader`` over a ``TensorDataset`` in host
  memory, each batch moved to the device, ``torch.optim.Adam`` with its defaults,
  ``zero_grad`` / ``loss.backward()`` / ``step`` on the model's own loss (issue 18's baseline);
- ``tensor``: the strongest plain loop a good engineer writes by hand: the data resident on
  the device, each epoch's permutation moved there once, batches by ``index_select``, fused Adam,
  ``zero_grad(set_to_none=True)``;
- ``latentatlas``: our trainer with every kernel launched (``cuda_graph="off"``): data resident
  on the device, batches gathered there, fused Adam;
- ``latentatlas-graph``: our trainer with the step recorded once as a CUDA graph and replayed
  (image VAEs only; on CPU the same step runs uncaptured).

Prints one JSON object: per model and loop the median seconds per training epoch (the loop
alone, the GPU drained at its end; the same figure ``metrics.jsonl`` gives), the test loss
(nats per item) after the last epoch, the speed-ups over the plain and the tensor loops (the
median of per-round ratios), and the fraction of the device's limit: the step's FLOPs
(counted by ``torch.utils.flop_counter``, matmuls and convolutions, forward and backward) x
steps / epoch seconds / the device's measured matmul peak in that precision.

    python benchmarks/device_speed.py [--device auto|cpu|cuda] [--epochs 5] [--models mlp,conv,text]
        [--n-train N] [--precision fp32|bf16] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from latentatlas.runs import prepare
from latentatlas.train import TrainConfig, train
from latentatlas.train.allocator import tune_malloc
from latentatlas.train.precision import autocast

BATCH, LR = 128, 1e-3
MODELS = {  # name -> (kind, data, options)
    "mlp": ("vae", "fashion-mnist", {"hidden": (400,), "latent_dim": 20}),
    "conv": ("vae", "fashion-mnist", {"arch": "conv", "latent_dim": 20}),
    "text": ("text-vae", "grammar", {}),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int = 4096, reps: int = 20) -> float:
    """Best-of-3 FLOP/s of an n x n x n matmul in ``dtype`` on ``device``."""
    if device.type == "cpu":
        n, reps = 1536, 10
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    best = 0.0
    for _ in range(4):
        sync(device)
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


def step_flops(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], precision: str,
               device: torch.device) -> int:
    """FLOPs of one training step (forward and backward) on ``batch``, counted by torch."""
    counter = FlopCounterMode(display=False)
    with counter:
        with autocast(precision, device):
            loss = model(*batch)["loss"]
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


class Plain:
    """The textbook loop over a copy of the model."""

    def __init__(self, model, train_data, test_data, device, precision):
        self.model = model.to(device)
        self.device, self.precision = device, precision
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        dataset = torch.utils.data.TensorDataset(*train_data)
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True,
                                                  generator=torch.Generator().manual_seed(0))
        self.test = tuple(t.to(device) for t in test_data)
        self.test_loss = float("nan")

    def batches(self):
        for batch in self.loader:
            yield tuple(b.to(self.device, non_blocking=True) for b in batch)

    def epoch(self) -> float:
        self.model.train()
        sync(self.device)
        t = time.perf_counter()
        for batch in self.batches():
            self.opt.zero_grad(set_to_none=True)  # (the default of zero_grad())
            with autocast(self.precision, self.device):
                loss = self.model(*batch)["loss"]
            loss.backward()
            self.opt.step()
        sync(self.device)
        seconds = time.perf_counter() - t
        self.test_loss = self.evaluate()
        return seconds

    def evaluate(self) -> float:
        """The test loss, nats per item (the model's own loss over the test set)."""
        self.model.eval()
        total, n = 0.0, len(self.test[0])
        with torch.no_grad():
            for i in range(0, n, 1000):
                part = tuple(t[i:i + 1000] for t in self.test)
                total += float(self.model(*part)["loss"]) * len(part[0])
        return total / n


class Tensor(Plain):
    """The hand-written tensor loop: resident data, device-side batches, fused Adam."""

    def __init__(self, model, train_data, test_data, device, precision):
        super().__init__(model, train_data, test_data, device, precision)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR, fused=True)
        self.data = tuple(t.to(device) for t in train_data)
        self.gen = torch.Generator().manual_seed(0)

    def batches(self):
        perm = torch.randperm(len(self.data[0]), generator=self.gen).to(self.device)
        for idx in perm.split(BATCH):
            yield tuple(d.index_select(0, idx) for d in self.data)


class Ours:
    """Our trainer, one more epoch per ``epoch()`` call (resuming its own checkpoint)."""

    def __init__(self, model, train_data, test_data, run_config, device, precision, graph, out):
        self.model, self.data, self.run_config = model, (train_data, test_data), run_config
        self.device, self.precision, self.graph, self.out = device, precision, graph, out
        self.done, self.test_loss = 0, float("nan")

    def epoch(self) -> float:
        self.done += 1
        history = train(self.model, *self.data, self.out,
                        TrainConfig(epochs=self.done, batch_size=BATCH, lr=LR,
                                    precision=self.precision, device=self.device.type,
                                    cuda_graph=self.graph, quiet=True),
                        self.run_config, resume=self.done > 1)
        self.test_loss = history[-1]["test_loss"]
        return history[-1]["seconds"]


class OursInOne:
    """Our trainer over all the epochs in one call (a CUDA graph is captured once, as in a
    real run); each epoch's end runs ``between()``, the other loops' next epochs."""

    def __init__(self, model, train_data, test_data, run_config, device, precision, out):
        self.args = (model, train_data, test_data, out)
        self.run_config, self.device, self.precision = run_config, device, precision
        self.seconds: list[float] = []
        self.test_loss = float("nan")

    def run(self, epochs: int, between) -> None:
        def on_epoch(record):
            self.seconds.append(record["seconds"])
            self.test_loss = record["test_loss"]
            between()

        model, train_data, test_data, out = self.args
        train(model, train_data, test_data, out,
              TrainConfig(epochs=epochs, batch_size=BATCH, lr=LR, precision=self.precision,
                          device=self.device.type, cuda_graph="on", quiet=True),
              self.run_config, on_epoch=on_epoch)


def bench_model(name: str, device: torch.device, epochs: int, n_train: int | None,
                precision: str, peak: float, tmp: str) -> dict:
    kind, data, options = MODELS[name]
    if n_train is not None:
        options = {**options, "n_train": n_train}
    model, train_data, test_data, _, run_config = prepare(kind, data, seed=0, **options)
    train_data = train_data if isinstance(train_data, tuple) else (train_data,)
    test_data = test_data if isinstance(test_data, tuple) else (test_data,)
    initial = {k: v.clone() for k, v in model.state_dict().items()}

    def fresh() -> torch.nn.Module:
        copy, *_ = prepare(kind, data, seed=0, **options)
        copy.load_state_dict(initial)
        return copy

    probe = fresh().to(device)
    flops = step_flops(probe, tuple(t[:BATCH].to(device) for t in train_data), precision, device)
    del probe
    loops = {"plain": Plain(fresh(), train_data, test_data, device, precision),
             "tensor": Tensor(fresh(), train_data, test_data, device, precision),
             "latentatlas": Ours(fresh(), train_data, test_data, run_config, device, precision,
                                 "off", f"{tmp}/{name}-eager")}
    seconds: dict[str, list[float]] = {k: [] for k in loops}

    def others() -> None:
        for k, loop in loops.items():
            seconds[k].append(loop.epoch())

    graphed = getattr(model, "cuda_graph_safe", False)
    if graphed:
        driver = OursInOne(fresh(), train_data, test_data, run_config, device, precision,
                           f"{tmp}/{name}-graph")
        driver.run(epochs, others)
        seconds["latentatlas-graph"] = driver.seconds
    else:
        for _ in range(epochs):
            others()
    steps = -(-len(train_data[0]) // BATCH)
    test_loss = {k: loop.test_loss for k, loop in loops.items()}
    if graphed:
        test_loss["latentatlas-graph"] = driver.test_loss
    runs = {}
    for k, s in seconds.items():
        median = statistics.median(s)
        runs[k] = {"seconds_per_epoch": round(median, 4),
                   "epoch_seconds": [round(x, 4) for x in s],
                   "test_loss": round(test_loss[k], 3),
                   "fraction_of_peak": round(flops * steps / median / peak, 5)}
        for base in ("plain", "tensor"):
            if k not in ("plain", "tensor") or (base == "plain" and k == "tensor"):
                runs[k][f"speedup_vs_{base}"] = round(statistics.median(
                    p / o for p, o in zip(seconds[base], s, strict=True)), 2)
        if k != "plain":
            runs[k]["test_loss_minus_plain"] = round(test_loss[k] - test_loss["plain"], 3)
    return {"kind": kind, "data": data, "n_train": len(train_data[0]), "steps_per_epoch": steps,
            "step_gflop": round(flops / 1e9, 4), "runs": runs}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--models", default="mlp,conv,text")
    p.add_argument("--n-train", type=int, default=None, help="default: each data set's own")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    names = a.models.split(",")
    if unknown := [n for n in names if n not in MODELS]:
        p.error(f"unknown models {unknown}; choose from {sorted(MODELS)}")
    torch.set_num_threads(a.threads)
    tune_malloc()
    device = torch.device("cuda" if a.device == "cuda" or (
        a.device == "auto" and torch.cuda.is_available()) else "cpu")
    dtype = torch.bfloat16 if a.precision == "bf16" else torch.float32
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, in every loop
    peak = matmul_peak(device, dtype)
    result = {"benchmark": "device_speed", "device": (torch.cuda.get_device_name(device)
                                                       if device.type == "cuda" else "cpu"),
              "torch": torch.__version__, "threads": torch.get_num_threads(),
              "precision": a.precision, "batch_size": BATCH, "epochs": a.epochs,
              "matmul_peak_tflops": round(peak / 1e12, 3), "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            result["models"][name] = bench_model(name, device, a.epochs, a.n_train, a.precision,
                                                 peak, tmp)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
