"""Batched decoding for every text model: greedy, sampling with a temperature, and beam search.

A model decodes through two things: a start ``state`` (a tuple of tensors whose first dimension
is the batch) and ``step(tokens, state) -> (logits, state)`` for (N,) token ids and (N, V)
next-token logits. Finished rows leave the batch as they finish, so a batch costs about as much
as its sentences' mean length, not its longest.

A model whose output layer can pick the greedy token without scoring the whole vocabulary (the
adaptive softmax: its head, then only the clusters a row's best head entry points into) passes
that layer as ``output``; its ``step`` then gives decoder states, and ``output`` turns them
into scores (sampling, beam) or picks (``output.greedy(states, banned)``, greedy).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

PAD, UNK, BOS, EOS = 0, 1, 2, 3
METHODS = ("greedy", "sample", "beam")

State = tuple[torch.Tensor, ...]
Step = Callable[[torch.Tensor, State], tuple[torch.Tensor, State]]


def _take(state: State, index: torch.Tensor) -> State:
    return tuple(s.index_select(0, index) for s in state)


def rnn_step(rnn: torch.nn.Module, x: torch.Tensor, hs: State) -> tuple[torch.Tensor, State]:
    """One step of a one-layer GRU (``hs = (h,)``) or LSTM (``hs = (h, c)``), hidden states
    (N, H) batch first: inputs (N, 1, E) -> output (N, H) and the new hidden states."""
    state = tuple(h[None].contiguous() for h in hs)
    out, new = rnn(x, state if len(state) == 2 else state[0])
    new = new if isinstance(new, tuple) else (new,)
    return out[:, 0], tuple(n[0] for n in new)


def banned(ban_unk: bool) -> list[int]:
    """The ids never emitted: <pad> and <s>, and <unk> when asked."""
    return [PAD, BOS, UNK] if ban_unk else [PAD, BOS]


def _allowed(logits: torch.Tensor, ban_unk: bool) -> torch.Tensor:
    """fp32 logits with the ``banned`` ids ruled out."""
    logits = logits.float()
    logits[:, banned(ban_unk)] = float("-inf")
    return logits


@torch.no_grad()
def generate(step: Step, state: State, max_len: int, *, method: str = "greedy",
             temperature: float = 1.0, beam: int = 4, length_penalty: float = 1.0,
             generator: torch.Generator | None = None, ban_unk: bool = False,
             first: int = BOS, output: torch.nn.Module | None = None) -> torch.Tensor:
    """Decode a batch from ``state``, feeding ``first`` (<s>, or a prompt's last token) first:
    (B, max_len) ids, </s> then <pad> after each end.

    ``method``: "greedy" (argmax), "sample" (softmax(logits / temperature)), or "beam"
    (``beam`` hypotheses per row, the best by log-probability / length**length_penalty).
    ``ban_unk`` never emits <unk>. With ``output`` (see the module's docstring) ``step`` gives
    decoder states, and greedy picks come from ``output.greedy``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "sample" and not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if output is not None and method != "greedy":  # sampling and beams need every score
        step, output = _scored(step, output), None
    if method == "beam":
        return _beam(step, state, max_len, beam, length_penalty, ban_unk, first)
    b = len(state[0])
    device = state[0].device
    out = torch.full((b, max_len), PAD, dtype=torch.int64, device=device)
    alive = torch.arange(b, device=device)  # rows of ``out`` still decoding
    tokens = torch.full((b,), first, dtype=torch.int64, device=device)
    no = banned(ban_unk)
    for t in range(max_len):
        scores, state = step(tokens, state)
        if output is not None:  # greedy through the output layer
            tokens = output.greedy(scores, no)
        elif method == "greedy":
            tokens = _allowed(scores, ban_unk).argmax(-1)
        else:
            probs = torch.softmax(_allowed(scores, ban_unk) / temperature, -1)
            tokens = torch.multinomial(probs, 1, generator=generator)[:, 0]
        out[alive, t] = tokens
        going = tokens != EOS
        if not bool(going.all()):
            keep = going.nonzero()[:, 0]
            alive, tokens, state = alive[keep], tokens[keep], _take(state, keep)
            if len(alive) == 0:
                break
    return out


def _scored(step: Step, output: torch.nn.Module) -> Step:
    """``step`` giving decoder states -> the step giving ``output``'s scores."""
    def scored(tokens: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        states, state = step(tokens, state)
        return output(states), state
    return scored


def _beam(step: Step, state: State, max_len: int, k: int, length_penalty: float,
          ban_unk: bool, first: int) -> torch.Tensor:
    """Beam search over all B rows at once, B * k hypotheses per step."""
    b = len(state[0])
    device = state[0].device
    state = _take(state, torch.arange(b, device=device).repeat_interleave(k))
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per row at the start
    history = torch.full((b, k, max_len), PAD, dtype=torch.int64, device=device)
    lengths = torch.zeros(b, k, device=device)
    done = torch.zeros(b, k, dtype=torch.bool, device=device)
    tokens = torch.full((b * k,), first, dtype=torch.int64, device=device)
    for t in range(max_len):
        logits, state = step(tokens, state)
        logp = torch.log_softmax(_allowed(logits, ban_unk), -1)
        v = logp.shape[-1]
        logp = logp.view(b, k, v)
        # a finished hypothesis continues only with <pad>, at no cost
        finished = torch.full((v,), float("-inf"), device=device)
        finished[PAD] = 0.0
        logp = torch.where(done[..., None], finished, logp)
        top, flat = (scores[..., None] + logp).view(b, k * v).topk(k, dim=1)
        origin, tokens2 = flat // v, flat % v  # (b, k) which hypothesis, which token
        rows = (torch.arange(b, device=device)[:, None] * k + origin).view(-1)
        state = _take(state, rows)
        history = history.gather(1, origin[..., None].expand(-1, -1, max_len)).clone()
        history[:, :, t] = tokens2
        was_done = done.gather(1, origin)
        lengths = lengths.gather(1, origin) + (~was_done).float()
        done = was_done | (tokens2 == EOS)
        scores = top
        tokens = tokens2.view(-1)
        if bool(done.all()):
            break
    best = (scores / lengths.clamp_min(1.0) ** length_penalty).argmax(1)
    return history[torch.arange(b, device=device), best]
