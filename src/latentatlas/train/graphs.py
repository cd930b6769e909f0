"""A model's training step as one CUDA graph: no per-step launch or Python overhead.

A small model's step on a GPU is a few dozen kernels of microseconds each; launched one by one
from Python it costs about 100x its arithmetic (issue 18: 1.1 s an epoch for the 784-400-20 VAE
on an H200 whose arithmetic limit is milliseconds). Here the whole step (gather the batch from
the resident data set, forward, backward, fused Adam, add the batch's loss terms into resident
sums) reads and writes only tensors that live as long as the loop, so it can be recorded once
(``torch.cuda.graph``) and replayed: per step the host copies the batch's indices into a
resident buffer and replays the graph.

The step runs eagerly for its first ``WARMUP`` calls (on a side stream, as capture requires)
and is captured on the next; those warm-up steps are ordinary training steps. Off CUDA the same
step runs eagerly every time, which is how the tests on CPU cover everything but the capture.
Only models that say ``cuda_graph_safe = True`` qualify: their step must not synchronise with
the host (no ``.item()``, no data-dependent shapes) and must change no Python state per step.
A model with several players (a GAN's ``train_step``) is recorded with all its updates in one
graph. Should a capture fail all the same, the run says so once and launches its steps.
"""

from __future__ import annotations

import sys

import torch

from . import precision as precisions
from .adam import Adam

WARMUP = 3  # eager steps before the capture (cuBLAS and autograd set themselves up)


def eligible(model: torch.nn.Module, world: int) -> str | None:
    """Why ``model`` cannot train as a graph in a run of ``world`` processes (None: it can)."""
    if world > 1:
        return "data parallel training averages gradients between the steps"
    if not getattr(model, "cuda_graph_safe", False):
        return f"{type(model).__name__} does not declare cuda_graph_safe (its step may sync " \
               "with the host)"
    return None


class StaticStep:
    """The training step of a model over resident buffers.

    ``optimizers``: the trainer's, by player name ("" for a model with one); ``data``: the
    training tensors on the device; ``batch_size``: the rows of every step
    (a ragged last batch goes through the trainer's ordinary step instead). Call with the
    batch's row indices, (batch_size,) int64 on the device; ``take_sums()`` returns the loss
    terms summed over the items since the last call (batch means x batch size, as the trainer
    sums them) and zeroes them.
    """

    def __init__(self, model: torch.nn.Module, optimizers: dict[str, Adam],
                 data: tuple[torch.Tensor, ...], batch_size: int, precision: str,
                 device: torch.device):
        self.model, self.optimizers, self.data = model, optimizers, data
        self.batch_size, self.precision, self.device = batch_size, precision, device
        self.players = hasattr(model, "train_step")
        self.capture = device.type == "cuda"
        self.idx = torch.zeros(batch_size, dtype=torch.int64, device=device)
        # each learning rate as a tensor the graph reads, so a schedule can change it; and the
        # value each holds
        self.lr_set = {k: float(o.param_groups[0]["lr"]) for k, o in optimizers.items()}
        self.lr = {k: torch.tensor(v, device=device) for k, v in self.lr_set.items()}
        self.sums: dict[str, torch.Tensor] = {}
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.stream = torch.cuda.Stream(device) if self.capture else None

    def __call__(self, idx: torch.Tensor) -> None:
        self.idx.copy_(idx, non_blocking=True)
        for k, optimizer in self.optimizers.items():
            lr = float(optimizer.param_groups[0]["lr"])
            if lr != self.lr_set[k]:  # a schedule moved it
                self.lr[k].fill_(lr)
                self.lr_set[k] = lr
        if self.graph is not None:
            self.graph.replay()
        elif not self.capture:
            self._body(zero_grad=True)
        elif self.calls < WARMUP:
            self.stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(self.stream):
                self._body(zero_grad=True)
            torch.cuda.current_stream(self.device).wait_stream(self.stream)
        else:
            try:
                self._capture()
            except RuntimeError as e:  # the step did something a graph cannot hold
                self.graph, self.capture = None, False
                print(f"warning: the training step could not be recorded as a CUDA graph "
                      f"({str(e).splitlines()[0]}); its kernels are launched one by one",
                      file=sys.stderr)
                self._body(zero_grad=True)
            else:
                self.graph.replay()  # capture records the step without running it
        self.calls += 1

    def take_sums(self) -> dict[str, torch.Tensor]:
        """The loss terms summed since the last call (each a 0-d tensor on the device)."""
        out = {k: v.clone() for k, v in self.sums.items()}
        for v in self.sums.values():
            v.zero_()
        return out

    def _body(self, zero_grad: bool) -> None:
        batch = tuple(t.index_select(0, self.idx) for t in self.data)
        # no weight-cast cache under autocast: a cached cast would not be re-made on replay
        with precisions.autocast(self.precision, self.device, cache=False):
            if self.players:
                terms = self.model.train_step(
                    batch, lambda name, loss: self._update(name, loss, zero_grad))
            else:
                terms = self.model(*batch)
        if not self.players:
            self._update("", terms["loss"], zero_grad)
        for k, v in terms.items():
            if k not in self.sums:
                self.sums[k] = torch.zeros((), dtype=torch.float32, device=self.device)
            self.sums[k].add_(v.detach().float() * self.batch_size)

    def _update(self, name: str, loss: torch.Tensor, zero_grad: bool) -> None:
        """Back-propagate ``loss`` and step player ``name``'s Adam (the trainer's ``_step``)."""
        optimizer = self.optimizers[name]
        if zero_grad:
            optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            loss.backward()
        # a captured step reads the rate from memory; launched, it takes the float, as the
        # ordinary step does (the kernel rounds the two ways apart in the last bit)
        optimizer.step(lr=self.lr[name] if self.capture else None)

    def _capture(self) -> None:
        """Record one step into a CUDA graph. Gradients are unset first, so the backward
        inside the graph allocates them from the graph's pool and overwrites them each
        replay (the whole-network capture of the PyTorch CUDA graphs notes)."""
        torch.cuda.synchronize(self.device)
        for optimizer in self.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, stream=self.stream):
            self._body(zero_grad=False)
