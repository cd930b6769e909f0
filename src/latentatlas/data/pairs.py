"""One-to-many regression sets with known truth: inputs x (N, dx) and answers y (N, dy).

Both are generated from a seed, and both know exactly which answers are right for an input
(``on_data``), so a model's predictions and samples can be checked, not only scored:

- ``inverse-sine`` (Bishop 1994, "Mixture density networks", sec. 5): y ~ U(0, 1),
  x = y + 0.3 sin(2 pi y) + e with e ~ U(-0.1, 0.1), and the task is y from x. For x near 0.5
  three branches of y answer it. An answer y' is on the data for x when 0 <= y' <= 1 and
  |x - y' - 0.3 sin(2 pi y')| <= 0.1: the data's own support, so every training pair passes.
- ``arm``: inverse kinematics of a two-link planar arm (upper arm 1.0, forearm 0.8 long): x is
  the hand's position, y the joint angles (shoulder theta1 ~ U(-pi/2, pi/2), elbow theta2 of
  either sign, 0.5 <= |theta2| <= pi - 0.1, in radians). Elbow-up and elbow-down reach the same
  hand, so every hand has two answers, and their average (a straight arm) reaches neither:
  the elbow is bent at least 0.5 rad, so the hand lies within 1.745 of the shoulder and the
  straight arm's 1.8 misses it by more than the tolerance. An answer is on the data when the
  forward kinematics of y' lands within 0.05 of the hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import OptionError

PAIR_SETS = ("inverse-sine", "arm")
SINE_NOISE = 0.1  # half-width of the inverse-sine set's uniform noise
ARM = (1.0, 0.8)  # link lengths
ARM_TOLERANCE = 0.05  # how far from the hand an answer's forward kinematics may land
MIN_BEND = 0.5  # radians: the elbow is never nearly straight, so the two answers differ


@dataclass
class PairData:
    """A regression set resident in memory: float32 inputs (N, dx) and answers (N, dy)."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    x_names: list[str]
    y_names: list[str]
    seed: int = 0

    @property
    def x_dim(self) -> int:
        return self.train_x.shape[1]

    @property
    def y_dim(self) -> int:
        return self.train_y.shape[1]

    def summary(self) -> str:
        return (f"{self.name}: {len(self.train_x):,} train / {len(self.test_x):,} test pairs, "
                f"{', '.join(self.x_names)} -> {', '.join(self.y_names)} (seed {self.seed})")

    def on_data(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(N,) bool: is ``y[i]`` a right answer for ``x[i]`` (see the module's doc)."""
        return on_data(self.name, x, y)


def forward_kinematics(angles: torch.Tensor) -> torch.Tensor:
    """Joint angles (N, 2) in radians -> the hand's position (N, 2)."""
    t1, t2 = angles[:, 0], angles[:, 1]
    a, b = ARM
    return torch.stack([a * torch.cos(t1) + b * torch.cos(t1 + t2),
                        a * torch.sin(t1) + b * torch.sin(t1 + t2)], 1)


def sine_curve(y: torch.Tensor) -> torch.Tensor:
    """The inverse-sine set's noiseless x for answers y (any shape)."""
    return y + 0.3 * torch.sin(2 * math.pi * y)


def on_data(name: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) bool: is ``y[i]`` a right answer for ``x[i]`` in the set ``name``."""
    x, y = x.float(), y.float()
    if name == "inverse-sine":
        y0 = y[:, 0]
        return ((y0 >= 0) & (y0 <= 1)
                & ((x[:, 0] - sine_curve(y0)).abs() <= SINE_NOISE + 1e-6))
    if name == "arm":
        return (forward_kinematics(y) - x).norm(dim=1) <= ARM_TOLERANCE
    raise OptionError("data", f"{name!r} is not a regression set; known: {', '.join(PAIR_SETS)}")


def _inverse_sine(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.rand(n, 1, generator=g)
    x = sine_curve(y) + (torch.rand(n, 1, generator=g) * 2 - 1) * SINE_NOISE
    return x, y


def _arm(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    t1 = (torch.rand(n, generator=g) - 0.5) * math.pi
    bend = MIN_BEND + torch.rand(n, generator=g) * (math.pi - 0.1 - MIN_BEND)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    y = torch.stack([t1, sign * bend], 1)
    return forward_kinematics(y), y


def load_pairs(name: str, seed: int = 0, n_train: int | None = None,
               n_test: int | None = None) -> PairData:
    """The set ``name`` drawn from ``seed``: ``n_train`` (default 20,000) training and
    ``n_test`` (default 2,000) test pairs, independent draws from one generator."""
    if name not in PAIR_SETS:
        raise OptionError("data", f"{name!r} is not a regression set; known: "
                                  f"{', '.join(PAIR_SETS)}")
    for n, what in ((n_train, "n_train"), (n_test, "n_test")):
        if n is not None and n < 1:
            raise OptionError(what, f"must be at least 1, got {n}")
    n_train, n_test = n_train or 20_000, n_test or 2_000
    g = torch.Generator().manual_seed(seed)
    make = _inverse_sine if name == "inverse-sine" else _arm
    x, y = make(n_train + n_test, g)
    names = ((["x"], ["y"]) if name == "inverse-sine" else
             (["hand_x", "hand_y"], ["shoulder", "elbow"]))
    return PairData(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], *names, seed=seed)


def load_pairs_spec(spec: dict) -> PairData:
    """The set a run's config describes: {"name", "seed", "n_train", "n_test"}."""
    return load_pairs(spec["name"], spec.get("seed", 0), spec.get("n_train"),
                      spec.get("n_test"))
