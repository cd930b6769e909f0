"""Multi-process data parallelism under ``torchrun``: gloo on CPU, nccl when CUDA is there."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce(self, sums: dict[str, float]) -> dict[str, float]:
        """Sum each value over all processes (identity for one process)."""
        if self.world == 1:
            return sums
        keys = sorted(sums)
        on = "cuda" if dist.get_backend() == "nccl" else "cpu"
        t = torch.tensor([sums[k] for k in keys], dtype=torch.float64, device=on)
        dist.all_reduce(t)
        return dict(zip(keys, t.tolist(), strict=True))

    def average_gradients(self, params: list[torch.Tensor]) -> None:
        """Replace each parameter's gradient by its mean over all processes (what DDP does
        for a model it wraps; a model with several optimizers is not wrapped)."""
        if self.world == 1:
            return
        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.world

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def setup() -> Dist:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1); else one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return Dist(rank=dist.get_rank(), world=dist.get_world_size())


def teardown(d: Dist) -> None:
    if d.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
