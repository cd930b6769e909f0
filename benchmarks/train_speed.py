"""Training speed of the 784-400-20 Bernoulli MLP VAE on Fashion-MNIST, against baselines.

All runs happen in this one process, one after the other, with the same threads, batch size
(128), optimizer (Adam, lr 1e-3) and epochs:

- ``canonical``: the loop of the PyTorch example VAE: a per-item ``Dataset`` (uint8 image ->
  PIL -> float tensor, as torchvision's MNIST does) behind a shuffling ``DataLoader``, separate
  mu/logvar layers, BCE-sum + KL loss.
- ``pythae``: pythae's ``TrainingPipeline`` with a VAE of the same architecture (when installed);
  its training epochs are timed without its per-epoch evaluation.
- ``latentatlas``: our trainer (``latentatlas.train.train``) in fp32 and in bf16.

Prints one JSON object: seconds per training epoch, test loss (nats per image, the average over
the test set of BCE-sum + KL with one posterior sample) after the last epoch, speed-up ratios,
the fraction of this machine's matrix-multiply peak (measured here) a training step reaches, and
each speed-up as the median over epochs of (baseline epoch seconds / ours) in the same round.

    python benchmarks/train_speed.py [--epochs 10] [--threads 2] [--skip-pythae]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from latentatlas.data import load_dataset
from latentatlas.models import ImageModelConfig, ImageVAE
from latentatlas.train import TrainConfig, train
from latentatlas.train.allocator import tune_malloc

BATCH, LR, HIDDEN, LATENT, PIXELS = 128, 1e-3, 400, 20, 784


def matmul_peak(dtype: torch.dtype, n: int = 1536, reps: int = 20) -> float:
    """Best-of-3 GFLOP/s of an n x n x n matmul in ``dtype``."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t) / 1e9)
    return best


def step_flops(batch: int = BATCH) -> float:
    """Matmul FLOPs of one training step of the 784-400-20 VAE (forward + backward).

    Forward: 784x400, 400x40 (mu and logvar), 20x400, 400x784 per item. Backward: the weight
    gradient of every layer and the input gradient of every layer but the first.
    """
    layers = [(PIXELS, HIDDEN), (HIDDEN, 2 * LATENT), (LATENT, HIDDEN), (HIDDEN, PIXELS)]
    macs = sum(a * b for a, b in layers)
    return 2 * batch * (3 * macs - PIXELS * HIDDEN)


# --- the canonical PyTorch example, in its own style ------------------------------------------
class ItemDataset(torch.utils.data.Dataset):
    """One image at a time, converted through PIL like torchvision's MNIST + ToTensor."""

    def __init__(self, images_uint8: np.ndarray):
        self.images = images_uint8

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.fromarray(self.images[i], mode="L")
        return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).unsqueeze(0), 0


class CanonicalVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(PIXELS, HIDDEN)
        self.fc21 = nn.Linear(HIDDEN, LATENT)
        self.fc22 = nn.Linear(HIDDEN, LATENT)
        self.fc3 = nn.Linear(LATENT, HIDDEN)
        self.fc4 = nn.Linear(HIDDEN, PIXELS)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, PIXELS)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def canonical_loss(x, recon, mu, logvar):
    bce = F.binary_cross_entropy(recon, x.view(-1, PIXELS), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class Canonical:
    """The example's loop, one epoch per ``epoch()`` call."""

    def __init__(self, train_u8, test_u8):
        torch.manual_seed(0)
        self.model = CanonicalVAE()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=LR)
        self.train_loader = torch.utils.data.DataLoader(ItemDataset(train_u8), batch_size=BATCH,
                                                        shuffle=True)
        self.test_loader = torch.utils.data.DataLoader(ItemDataset(test_u8), batch_size=BATCH)
        self.n_test = len(test_u8)
        self.test_loss = float("nan")

    def epoch(self) -> float:
        self.model.train()
        t = time.perf_counter()
        for x, _ in self.train_loader:
            self.opt.zero_grad()
            loss = canonical_loss(x, *self.model(x))
            loss.backward()
            self.opt.step()
        seconds = time.perf_counter() - t
        self.model.eval()
        total = 0.0
        with torch.no_grad():
            for x, _ in self.test_loader:
                total += canonical_loss(x, *self.model(x)).item()
        self.test_loss = total / self.n_test
        return seconds


# --- pythae ------------------------------------------------------------------------------------
def run_pythae(train_x, test_x, epochs, before_each_epoch):
    """pythae's pipeline; ``before_each_epoch()`` runs the other contenders' next epoch."""
    try:
        from pythae.models import VAE, VAEConfig
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
        from pythae.pipelines import TrainingPipeline
        from pythae.trainers import BaseTrainer, BaseTrainerConfig
    except ImportError as e:
        return {"skipped": f"pythae not importable: {e}"}

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.fc1, self.mu, self.logvar = (nn.Linear(PIXELS, HIDDEN), nn.Linear(HIDDEN, LATENT),
                                              nn.Linear(HIDDEN, LATENT))

        def forward(self, x):
            h = F.relu(self.fc1(x.reshape(-1, PIXELS)))
            return ModelOutput(embedding=self.mu(h), log_covariance=self.logvar(h))

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.fc3, self.fc4 = nn.Linear(LATENT, HIDDEN), nn.Linear(HIDDEN, PIXELS)

        def forward(self, z):
            out = torch.sigmoid(self.fc4(F.relu(self.fc3(z))))
            return ModelOutput(reconstruction=out.reshape(-1, 1, 28, 28))

    torch.manual_seed(0)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
    model = VAE(config, encoder=Encoder(), decoder=Decoder())
    with tempfile.TemporaryDirectory() as out:
        trainer_config = BaseTrainerConfig(
            output_dir=out, num_epochs=epochs, learning_rate=LR,
            per_device_train_batch_size=BATCH, per_device_eval_batch_size=BATCH,
            optimizer_cls="Adam", steps_saving=None, no_cuda=True, seed=0)
        pipeline = TrainingPipeline(training_config=trainer_config, model=model)
        # Time pythae's training epochs alone (its train_step), not its per-epoch evaluation.
        seconds: list[float] = []
        original = BaseTrainer.train_step

        def timed_train_step(self, epoch):
            before_each_epoch()
            t = time.perf_counter()
            try:
                return original(self, epoch)
            finally:
                seconds.append(time.perf_counter() - t)

        BaseTrainer.train_step = timed_train_step
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), \
                contextlib.redirect_stderr(devnull):
            logging.disable(logging.CRITICAL)
            try:
                pipeline(train_data=train_x.numpy(), eval_data=test_x.numpy())
            finally:
                logging.disable(logging.NOTSET)
                BaseTrainer.train_step = original
    model.eval()
    with torch.no_grad():
        total_loss = 0.0
        for i in range(0, len(test_x), 1000):
            x = test_x[i:i + 1000]
            out = model({"data": x})
            total_loss += float(out.loss) * len(x)  # pythae: loss is the batch mean
    return {"seconds_per_epoch": statistics.median(seconds),
            "epoch_seconds": [round(t, 3) for t in seconds], "test_loss": total_loss / len(test_x)}


# --- ours --------------------------------------------------------------------------------------
class Ours:
    """Our trainer, one more epoch per ``epoch()`` call (resuming its own checkpoint)."""

    def __init__(self, train_x, test_x, precision, out):
        torch.manual_seed(0)
        self.model = ImageVAE(ImageModelConfig())
        self.data, self.out, self.precision, self.done = (train_x, test_x), out, precision, 0
        self.test_loss = float("nan")

    def epoch(self) -> float:
        self.done += 1
        history = train(self.model, *self.data, self.out,
                        TrainConfig(epochs=self.done, batch_size=BATCH, lr=LR,
                                    precision=self.precision, quiet=True),
                        {"kind": "vae", "model": self.model.config.to_dict(),
                         "data": {"name": "fashion-mnist"}}, resume=self.done > 1)
        self.test_loss = history[-1]["test_loss"]
        return history[-1]["seconds"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--skip-pythae", action="store_true")
    p.add_argument("--skip-canonical", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    # Our trainer fixes glibc's malloc thresholds (see latentatlas.train.allocator); do it for
    # every run here so the baselines get the same allocator behaviour.
    result_allocator = tune_malloc()
    data = load_dataset("fashion-mnist")
    to_u8 = lambda x: (x[:, 0] * 255).round().to(torch.uint8).numpy()  # noqa: E731
    result: dict = {"benchmark": "train_speed", "dataset": data.name, "epochs": a.epochs,
                    "batch_size": BATCH, "threads": torch.get_num_threads(),
                    "torch": torch.__version__, "malloc_tuned_for_all_runs": result_allocator}
    peak = {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    result["matmul_peak_gflops"] = {k: round(v, 1) for k, v in peak.items()}
    # Epochs are interleaved (one of each contender in turn, pythae included) so that drift in
    # this machine's speed (a shared VM) falls on every contender alike; we report medians.
    tmp = tempfile.TemporaryDirectory()
    contenders = {f"latentatlas_{p}": Ours(data.train_x, data.test_x, p, f"{tmp.name}/{p}")
                  for p in ("fp32", "bf16")}
    if not a.skip_canonical:
        contenders["canonical"] = Canonical(to_u8(data.train_x), to_u8(data.test_x))
    seconds: dict[str, list[float]] = {k: [] for k in contenders}

    def one_epoch_each() -> None:
        for name, c in contenders.items():
            seconds[name].append(c.epoch())

    pythae = {"skipped": "--skip-pythae"}
    if not a.skip_pythae:  # pythae drives the loop: each of its epochs follows one of each other
        pythae = run_pythae(data.train_x, data.test_x, a.epochs, one_epoch_each)
    while len(seconds["latentatlas_fp32"]) < a.epochs:
        one_epoch_each()
    runs: dict = {name: {"seconds_per_epoch": statistics.median(seconds[name]),
                         "epoch_seconds": [round(t, 3) for t in seconds[name]],
                         "test_loss": c.test_loss} for name, c in contenders.items()}
    if not a.skip_canonical or not a.skip_pythae:
        runs["pythae"] = pythae
    tmp.cleanup()
    steps = -(-len(data.train_x) // BATCH)
    for name, r in runs.items():
        if "seconds_per_epoch" not in r:
            continue
        gflops = step_flops() * steps / r["seconds_per_epoch"] / 1e9
        prec = "bf16" if name.endswith("bf16") else "fp32"
        r["step_gflops"] = round(gflops, 1)
        r["fraction_of_peak"] = round(gflops / peak[prec], 3)
        r["seconds_per_epoch"] = round(r["seconds_per_epoch"], 4)
        r["test_loss"] = round(r["test_loss"], 3)
    result["runs"] = runs
    # Speed-up per round (the baseline's epoch over ours, run back to back), then the median:
    # robust to the machine's speed drifting during the benchmark.
    baselines = [k for k in ("canonical", "pythae") if "epoch_seconds" in runs[k]]
    for precision in ("fp32", "bf16"):
        ours = runs[f"latentatlas_{precision}"]
        per_baseline = {
            k: round(statistics.median(b / o for b, o in zip(
                runs[k]["epoch_seconds"], ours["epoch_seconds"], strict=False)), 2)
            for k in baselines}
        ours["speedup_vs"] = per_baseline
        if per_baseline:
            result[f"speedup_{precision}_vs_fastest_baseline"] = min(per_baseline.values())
        if "canonical" in runs and "test_loss" in runs["canonical"]:
            result[f"test_loss_delta_{precision}_vs_canonical"] = round(
                ours["test_loss"] - runs["canonical"]["test_loss"], 3)
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
