"""Adam (Kingma & Ba 2015) as one fused kernel per step, without ``torch.optim``.

The update is ``torch.optim.Adam(..., fused=True)``'s, bit for bit: the same native kernel
(``torch._fused_adam_``), the same state (``step``, ``exp_avg``, ``exp_avg_sq`` per parameter)
and the same ``state_dict`` layout, so checkpoints written with either load into the other. Why
not ``torch.optim``: its first ``step`` imports ``torch._dynamo`` (2.4 s on the 2-core VM), which
every ``train``, ``sweep``, ``translate`` and ``maximize`` process paid before doing any work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

HYPERPARAMETERS = ("lr", "betas", "eps", "weight_decay")


class Adam:
    """Adam over ``params`` (one parameter group; the trainer and schedules set
    ``param_groups[0]["lr"]``). ``weight_decay`` is the L2 penalty added to the gradient, as
    in ``torch.optim.Adam``."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        params = list(params)
        if not params:
            raise ValueError("Adam needs at least one parameter")
        self.param_groups: list[dict[str, Any]] = [
            {"params": params, "lr": lr, "betas": tuple(betas), "eps": eps,
             "weight_decay": weight_decay}]
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self, lr: torch.Tensor | None = None) -> None:
        """One update of every parameter that has a gradient; ``lr``, a 0-d tensor on the
        parameters' device, replaces the groups' float (a CUDA graph reads it at replay)."""
        for group in self.param_groups:
            by_kind: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
            for p in group["params"]:
                if p.grad is not None:
                    by_kind.setdefault((p.device, p.dtype), []).append(p)
            beta1, beta2 = group["betas"]
            for params in by_kind.values():
                states = [self._state(p) for p in params]
                steps = [s["step"] for s in states]
                torch._foreach_add_(steps, 1)
                torch._fused_adam_(
                    params, [p.grad for p in params], [s["exp_avg"] for s in states],
                    [s["exp_avg_sq"] for s in states], [], steps,
                    lr=float(group["lr"]) if lr is None else lr,
                    beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                    eps=group["eps"], amsgrad=False, maximize=False)

    def _state(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        state = self.state.get(p)
        if state is None:
            state = self.state[p] = {
                "step": torch.zeros((), dtype=torch.float32, device=p.device),
                "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}
        return state

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {"step", "exp_avg", "exp_avg_sq"}}, "param_groups": [...]}``,
        parameters numbered in order, as ``torch.optim.Optimizer.state_dict`` writes it."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = list(range(len(index), len(index) + len(group["params"])))
            index.update({id(p): i for p, i in zip(group["params"], ids, strict=True)})
            groups.append({**{k: group[k] for k in HYPERPARAMETERS}, "amsgrad": False,
                           "maximize": False, "fused": True, "params": ids})
        return {"state": {index[id(p)]: dict(s) for p, s in self.state.items()},
                "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` (ours or ``torch.optim.Adam``'s) wrote; the moments are
        copied onto each parameter's device, dtype and memory layout."""
        saved = state_dict["param_groups"]
        if [len(s["params"]) for s in saved] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the saved state is of another set of parameters")
        by_index = {}
        for s, group in zip(saved, self.param_groups, strict=True):
            group.update({k: (tuple(s[k]) if k == "betas" else s[k])
                          for k in HYPERPARAMETERS if k in s})
            by_index.update(dict(zip(s["params"], group["params"], strict=True)))
        self.state = {}
        for i, slots in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {
                "step": torch.as_tensor(slots["step"], dtype=torch.float32,
                                        device=p.device).clone(),
                **{k: torch.empty_like(p).copy_(slots[k])  # in the parameter's layout
                   for k in ("exp_avg", "exp_avg_sq")}}
