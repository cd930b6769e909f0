"""Concurrent decode requests gathered into one model call.

Each request for one image awaits a future; whatever requests arrive while the model is busy
are decoded together in the next call, on one worker thread. So 50 clients dragging sliders
cost a few batched forward passes instead of 50 single ones fighting over two cores, and torch's
threads never multiply by the number of request threads. Recent codes are answered from a small
cache (moving a slider back and forth repeats positions).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import torch

from .session import MAX_BATCH, RunView


class DecodeBatcher:
    """``await batcher.decode(z)`` for one (D,) code -> PNG bytes (or a sentence)."""

    def __init__(self, view: RunView, cache_size: int = 4096):
        self.view = view
        self.pending: list[tuple[torch.Tensor, bytes, asyncio.Future]] = []
        self.busy = False
        self.task: asyncio.Task | None = None  # held: the loop keeps only a weak reference
        self.cache: OrderedDict[bytes, bytes | str] = OrderedDict()
        self.cache_size = cache_size
        self.worker = ThreadPoolExecutor(1, thread_name_prefix=f"decode-{view.id}")
        self.calls = 0  # model calls made, for the benchmark

    async def decode(self, z: torch.Tensor) -> bytes | str:
        key = z.numpy().tobytes()
        if key in self.cache:
            self.cache.move_to_end(key)
            return self.cache[key]
        fut = asyncio.get_running_loop().create_future()
        self.pending.append((z, key, fut))
        if not self.busy:
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                z = torch.stack([b[0] for b in batch])
                try:
                    out = await loop.run_in_executor(self.worker, self.view.decode, z)
                except Exception as e:  # every waiting request gets the error
                    for _, _, fut in batch:
                        if not fut.done():
                            fut.set_exception(e)
                    continue
                self.calls += 1
                for (_, key, fut), value in zip(batch, out, strict=True):
                    self.cache[key] = value
                    if not fut.done():
                        fut.set_result(value)
                while len(self.cache) > self.cache_size:
                    self.cache.popitem(last=False)
        finally:  # cancelled or broken: nobody waits forever
            self.busy = False
            waiting, self.pending = self.pending, []
            for _, _, fut in waiting:
                if not fut.done():
                    fut.set_exception(RuntimeError("the decoder stopped"))
