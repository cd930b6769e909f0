"""GAN training speed and inversion time, each against baselines run in this same process.

Training: one DCGAN (this project's 28x28 generator and critic modules, width 32, z 20, batch
128, Adam 2e-4 with betas 0.5, 0.999) trained for an epoch at a time, the loops interleaved
round by round on the same images:

- ``example``: the loop of PyTorch's DCGAN example (examples/dcgan/main.py): a shuffling
  ``DataLoader`` over a ``TensorDataset``, a sigmoid critic with ``BCELoss``, the critic stepped
  on a real batch and a fake batch (two backward passes), then the generator; plain Adam.
- ``plain``: the loop a good engineer writes by hand: resident tensors indexed by a seeded
  permutation, logits with softplus (the same losses), ``zero_grad(set_to_none=True)``, fused
  Adam; no encoder. ``plain-channels-last``: the same with the networks and images in
  channels-last memory layout (as ours), the strongest plain baseline.
- ``latentatlas``: our trainer (``latentatlas.train.train``; channels-last, the DCGAN's
  default), whose GAN also trains its encoder (a third network the size of the critic) every
  step; its epoch includes that work. It trains all its epochs in one call, as a run does (on
  CUDA its step is a graph captured once), each round opening with its epoch. And
  ``latentatlas-no-encoder``: the same without the encoder (``--no-encoder``), the loop the
  baselines run, an epoch per call (resuming; on CUDA recapturing each time). Both skip the
  critic's weight gradients in the generator's backward pass.

Inversion: ``atlas.inversion.invert`` of 64 test images (4 starts, 100 Adam steps) in one batch
against the same search one image at a time; seconds per image for both.

Prints one JSON object (seconds per epoch, the median over rounds of baseline / ours per round).
On CUDA (``--device cuda``) every loop keeps its networks on the GPU, the example moves each
batch there as it does, and each epoch's time waits for the GPU to finish.

    python benchmarks/gan_speed.py [--rounds 3] [--n 6000] [--threads 2] [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from latentatlas.data import availability, load_dataset
from latentatlas.models.gan import BETAS, GAN, GANConfig
from latentatlas.models.inversion import invert
from latentatlas.train import TrainConfig, train

BATCH, LR = 128, 2e-4
DEVICE = torch.device("cpu")  # set by --device


def sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize(DEVICE)


def config(shape, encoder: bool = True, channels_last: bool = True) -> GANConfig:
    return GANConfig(arch="conv", image_shape=shape, z_dim=20, width=32, encoder=encoder,
                     channels_last=channels_last)


class Example:
    """PyTorch's DCGAN example loop around the same two networks."""

    def __init__(self, x: torch.Tensor):
        torch.manual_seed(0)
        gan = GAN(config(tuple(x.shape[1:]), channels_last=False)).to(DEVICE)  # NCHW
        self.g, self.d = gan.generator, gan.critic
        self.loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x * 2 - 1),
                                                  batch_size=BATCH, shuffle=True)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=LR, betas=BETAS)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=LR, betas=BETAS)
        self.criterion = nn.BCELoss()
        self.z = 20

    def epoch(self) -> float:
        sync()
        t = time.perf_counter()
        for (real,) in self.loader:
            real = real.to(DEVICE)
            n = len(real)
            self.d.zero_grad()
            out = torch.sigmoid(self.d(real)[0])
            err_real = self.criterion(out, torch.ones(n, device=DEVICE))
            err_real.backward()
            fake = self.g(torch.randn(n, self.z, device=DEVICE))
            out = torch.sigmoid(self.d(fake.detach())[0])
            err_fake = self.criterion(out, torch.zeros(n, device=DEVICE))
            err_fake.backward()
            self.opt_d.step()
            self.g.zero_grad()
            out = torch.sigmoid(self.d(fake)[0])
            self.criterion(out, torch.ones(n, device=DEVICE)).backward()
            self.opt_g.step()
        sync()
        return time.perf_counter() - t


class Plain:
    """The hand-written tensor loop: resident data, softplus losses, fused Adam; NCHW, or
    channels-last weights and images (``channels_last``)."""

    def __init__(self, x: torch.Tensor, channels_last: bool = False):
        torch.manual_seed(0)
        gan = GAN(config(tuple(x.shape[1:]), channels_last=channels_last)).to(DEVICE)
        self.g, self.d, self.x = gan.generator, gan.critic, (x * 2 - 1).to(DEVICE)
        if channels_last:
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=LR, betas=BETAS, fused=True)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=LR, betas=BETAS, fused=True)
        self.gen = torch.Generator().manual_seed(0)

    def epoch(self) -> float:
        sync()
        t = time.perf_counter()
        perm = torch.randperm(len(self.x), generator=self.gen).to(DEVICE)
        for idx in perm.split(BATCH):
            real = self.x.index_select(0, idx)
            fake = self.g(torch.randn(len(idx), 20, device=DEVICE))
            loss_d = (F.softplus(-self.d(real)[0]).mean()
                      + F.softplus(self.d(fake.detach())[0]).mean())
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
            loss_g = F.softplus(-self.d(fake)[0]).mean()
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
        sync()
        return time.perf_counter() - t


class OursInOne:
    """Our trainer over all the rounds in one call, as a real run trains (on CUDA its step is
    captured once); each epoch's end runs ``between()``, the other loops' epochs of the round."""

    def __init__(self, x: torch.Tensor, test: torch.Tensor, out: str):
        torch.manual_seed(0)
        self.model = GAN(config(tuple(x.shape[1:])))
        self.data, self.out, self.seconds = (x, test), out, []

    def run(self, rounds: int, between) -> None:
        def on_epoch(record):
            self.seconds.append(record["seconds"])
            between()

        train(self.model, *self.data, self.out,
              TrainConfig(epochs=rounds, batch_size=BATCH, lr=LR, precision="fp32",
                          device=DEVICE.type, quiet=True),
              {"kind": "gan", "model": self.model.config.to_dict(), "data": {"name": "bench"}},
              on_epoch=on_epoch)


class Ours:
    """Our trainer, one more epoch per ``epoch()`` call (resuming its own checkpoint; on CUDA
    each call captures the step anew, a cost a real run pays once)."""

    def __init__(self, x: torch.Tensor, test: torch.Tensor, out: str, encoder: bool = True):
        torch.manual_seed(0)
        self.model = GAN(config(tuple(x.shape[1:]), encoder))
        self.data, self.out, self.done = (x, test), out, 0

    def epoch(self) -> float:
        self.done += 1
        history = train(self.model, *self.data, self.out,
                        TrainConfig(epochs=self.done, batch_size=BATCH, lr=LR, precision="fp32",
                                    device=DEVICE.type, quiet=True),
                        {"kind": "gan", "model": self.model.config.to_dict(),
                         "data": {"name": "bench"}}, resume=self.done > 1)
        return history[-1]["seconds"]


def inversion_times(model: GAN, x: torch.Tensor) -> dict:
    model, x = model.to(DEVICE), x.to(DEVICE)
    sync()
    t = time.perf_counter()
    batched = invert(model, x, starts=4, steps=100)
    sync()
    batched_s = (time.perf_counter() - t) / len(x)
    t = time.perf_counter()
    single = [invert(model, x[i:i + 1], starts=4, steps=100) for i in range(len(x))]
    sync()
    single_s = (time.perf_counter() - t) / len(x)
    single_err = torch.cat([s.error for s in single])
    return {"images": len(x), "starts": 4, "steps": 100,
            "seconds_per_image_batched": round(batched_s, 4),
            "seconds_per_image_one_at_a_time": round(single_s, 4),
            "speedup": round(single_s / batched_s, 2),
            "mean_squared_error_batched": round(float(batched.error.mean()), 5),
            "mean_squared_error_one_at_a_time": round(float(single_err.mean()), 5)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=6000, help="training images per epoch")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    global DEVICE
    DEVICE = torch.device("cuda" if a.device == "cuda" or (
        a.device == "auto" and torch.cuda.is_available()) else "cpu")
    if DEVICE.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the DCGAN example sets it
    name = "shapes" if availability("fashion-mnist").startswith("missing") else "fashion-mnist"
    data = load_dataset(name, n_train=a.n, n_test=1000)
    x = data.train_x
    with tempfile.TemporaryDirectory() as tmp:
        loops = {"example": Example(x), "plain": Plain(x),
                 "plain-channels-last": Plain(x, channels_last=True),
                 "latentatlas-no-encoder": Ours(x, data.test_x, f"{tmp}/bare", False)}
        seconds: dict[str, list[float]] = {k: [] for k in loops}

        def the_others() -> None:
            for k, loop in loops.items():
                seconds[k].append(loop.epoch())

        driver = OursInOne(x, data.test_x, f"{tmp}/run")  # one epoch of it opens each round
        driver.run(a.rounds, the_others)
        seconds["latentatlas"] = driver.seconds
        ours = driver.model.eval()
        inv = inversion_times(ours, data.test_x[:64])
    def speedup(base: str, ours: str) -> float:
        return round(statistics.median(b / o for b, o in zip(seconds[base], seconds[ours],
                                                             strict=True)), 3)
    print(json.dumps({
        "benchmark": "gan_speed", "data": name, "images_per_epoch": len(x), "rounds": a.rounds,
        "device": torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(), "torch": torch.__version__,
        "seconds_per_epoch": {k: round(statistics.median(v), 3) for k, v in seconds.items()},
        "epoch_seconds": {k: [round(t, 3) for t in v] for k, v in seconds.items()},
        "speedup_vs_example": speedup("example", "latentatlas"),
        "speedup_vs_plain": speedup("plain", "latentatlas"),
        "speedup_vs_plain_channels_last": speedup("plain-channels-last", "latentatlas"),
        "no_encoder_speedup_vs_example": speedup("example", "latentatlas-no-encoder"),
        "no_encoder_speedup_vs_plain": speedup("plain", "latentatlas-no-encoder"),
        "no_encoder_speedup_vs_plain_channels_last": speedup("plain-channels-last",
                                                             "latentatlas-no-encoder"),
        "inversion": inv}, indent=1))


if __name__ == "__main__":
    main()
