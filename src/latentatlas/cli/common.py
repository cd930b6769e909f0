"""What every command shares: argument types, the parser class, printing results."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..errors import UserError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 400 or 512,256, got {text!r}") \
            from None


def obs_scale(text: str) -> float | str:
    if text == "learned":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'learned', got {text!r}") \
            from None


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error:`` line with exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def emit(obj: Any, as_json: bool, text: str) -> None:
    print(json.dumps(obj, indent=2) if as_json else text)


def set_threads(n: int | None) -> None:
    import torch

    if n is None and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        n = max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    if n is not None:
        torch.set_num_threads(n)
