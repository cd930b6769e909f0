"""Multi-process data parallelism under ``torchrun``: gloo on CPU, nccl when CUDA is there.

A process started by torchrun joins the process group even when it is the only one (so one
GPU under ``torchrun --nproc_per_node 1`` runs its collectives through nccl); a plain
``python`` process trains alone without one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    joined: bool = False  # in a process group (torchrun started this process)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce(self, sums: dict[str, float]) -> dict[str, float]:
        """Sum each value over all processes (identity outside a process group)."""
        if not self.joined:
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
        if self.joined:
            dist.barrier()


def setup() -> Dist:
    """Join the process group when started by torchrun (``WORLD_SIZE`` > 1, or a single
    process under torchrun's agent); else one process alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and "TORCHELASTIC_RUN_ID" not in os.environ:
        return Dist()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), joined=True)


def teardown(d: Dist) -> None:
    if d.joined and dist.is_initialized():
        dist.destroy_process_group()
