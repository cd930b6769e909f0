"""The toy world of ten cells, seen by two exact models (docs/toy-world.md has the rules).

A pair of blue circles side by side moves together and bounces off the ends of the row; a red
circle moves one cell right per step and wraps around. Two latent descriptions of the same
state:

- object-centric: (blue, red, direction) with blue in 0..8 (the left cell of the pair), red in
  0..9 and direction -1 or +1: 9 x 10 x 2 = 180 states;
- local-state: each cell's own state in 0..5: 0 empty, 1 red, 2 blue moving left,
  3 blue moving left with red, 4 blue moving right, 5 blue moving right with red.
"""

from __future__ import annotations

import numpy as np

CELLS = 10
LOCAL_STATES = ("empty", "red", "blue moving left", "blue moving left with red",
                "blue moving right", "blue moving right with red")

State = tuple[int, int, int]  # (blue, red, direction)


def step(state: State) -> State:
    """One tick: the blue pair moves one cell (turning first if it would leave the row); the
    red circle moves one cell right, wrapping from 9 to 0."""
    blue, red, direction = state
    if not 0 <= blue + direction <= CELLS - 2:
        direction = -direction
    return blue + direction, (red + 1) % CELLS, direction


def all_states() -> list[State]:
    """Every object-centric state (each is a possible start, so each is reachable)."""
    return [(b, r, d) for b in range(CELLS - 1) for r in range(CELLS) for d in (-1, 1)]


def to_local(state: State) -> tuple[int, ...]:
    """The local-state latent of an object-centric state."""
    blue, red, direction = state
    cells = [0] * CELLS
    for c in (blue, blue + 1):
        cells[c] = 2 if direction < 0 else 4
    cells[red] += 1  # empty -> red, blue -> blue with red
    return tuple(cells)


def render(state: State) -> str:
    """A row of ten characters: '.' empty, 'r' red, '<' / '>' blue moving left / right, and
    upper case where red shares a cell with blue."""
    symbols = ".r<L>R"
    return "".join(symbols[s] for s in to_local(state))


def sequences(n: int, length: int, seed: int = 0) -> list[list[State]]:
    """``n`` sequences of ``length`` states, each from a uniformly drawn start."""
    rng = np.random.default_rng([seed, 0xCE])
    starts = all_states()
    out = []
    for _ in range(n):
        s = starts[int(rng.integers(len(starts)))]
        seq = [s]
        for _ in range(length - 1):
            s = step(s)
            seq.append(s)
        out.append(seq)
    return out
