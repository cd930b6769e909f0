"""The few interval estimates the studies report: a proportion's Wilson interval and a mean's
normal interval, both 95%."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959964  # the standard normal's 97.5% quantile


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion k / n ((0, 1) when n is 0)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    d = 1 + Z95 ** 2 / n
    centre = (p + Z95 ** 2 / (2 * n)) / d
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / d
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_ci(values: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """The mean and its 95% interval, mean +- 1.96 standard errors (NaN for no values; a
    zero-width interval for one)."""
    n = len(values)
    if n == 0:
        return math.nan, (math.nan, math.nan)
    m = sum(values) / n
    if n == 1:
        return m, (m, m)
    se = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)
    return m, (m - Z95 * se, m + Z95 * se)
