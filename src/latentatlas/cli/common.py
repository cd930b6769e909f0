"""What every command shares: argument types, the parser class, printing results."""

from __future__ import annotations

import argparse
import json
import math
import re
from typing import Any

from ..errors import OptionError, UserError
from ..models.rundir import run_kind  # noqa: F401  (the commands ask a run's kind)


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


def seed_list(text: str) -> list[int]:
    """``0,1,2`` or ``0..9`` (both ends included) -> a list of seeds."""
    try:
        if ".." in text:
            a, b = (int(t) for t in text.split(".."))
            values = list(range(a, b + 1))
        else:
            values = [int(t) for t in text.split(",")]
    except ValueError:
        values = []
    if not values:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2 or 0..9, got {text!r}")
    return values


def width_lists(text: str) -> list[tuple[int, ...]]:
    """``256,400,1024x512`` -> [(256,), (400,), (1024, 512)]: one model's widths each, a
    layer's after an x."""
    try:
        values = [tuple(int(w) for w in part.split("x")) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(w > 0 for v in values for w in v):
        raise argparse.ArgumentTypeError(f"expected widths like 256,400,1024x512, got {text!r}")
    return values


def numbers(text: str) -> list[float]:
    """``0.5`` or ``0.3,-1.2`` -> a list of finite floats (one input of a regression run)."""
    try:
        values = [float(t) for t in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected numbers like 0.5 or 0.3,-1.2, got {text!r}")
    return values


def obs_scale(text: str) -> float | str:
    if text in ("learned", "per-pixel"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number, 'learned' or 'per-pixel', got {text!r}") from None


class DefaultsFormatter(argparse.HelpFormatter):
    """``--help`` shows each option's default where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or any(default is v for v in (None, False, argparse.SUPPRESS))
                or not action.option_strings or isinstance(action, argparse._HelpAction)):
            return text
        return f"{text} (default: %(default)s)".lstrip()


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error:`` line with exit status 2, and shows
    defaults in ``--help``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def emit(obj: Any, as_json: bool, text: str) -> None:
    print(json.dumps(obj, indent=2) if as_json else text)


def as_flags(text: str, flag=lambda name: "--" + name.replace("_", "-")) -> str:
    """A library text as the command line says it: each `option_name` it refers to (the
    Python keyword, in backticks) as its flag, ``--option-name`` unless ``flag`` says."""
    return re.sub(r"`([a-z_]+)`", lambda m: flag(m.group(1)), text)


def add_decoding_args(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """--decode/--temperature/--beam for commands that turn codes or contexts into text."""
    p.add_argument("--decode", choices=["greedy", "sample", "beam"], default=default,
                   help="text: how to pick each token (default: greedy for a sentence VAE, "
                        "sample for a language model; --temperature alone means sample)")
    p.add_argument("--temperature", type=float, help="text: softmax temperature for sampling")
    p.add_argument("--beam", type=positive_int, default=4, help="text: beam width")
    p.add_argument("--no-unk", action="store_true", help="text: never emit <unk>")


def decoding(a: argparse.Namespace) -> dict[str, Any]:
    """The decoding keyword arguments of a command (method None: the model's default)."""
    method = a.decode or ("sample" if a.temperature is not None else None)
    temperature = 1.0 if a.temperature is None else a.temperature
    if not temperature > 0:
        raise UserError(f"--temperature must be positive, got {temperature}")
    return {"method": method, "temperature": temperature, "beam": a.beam, "ban_unk": a.no_unk}


def require_png(a: argparse.Namespace) -> str:
    """``--out``, which an image run needs as a PNG in an existing folder."""
    from ..plotting import png_path

    if not a.out:
        raise OptionError("out", f"is required: {a.run} is an image run, give --out FILE.png")
    png_path(a.out)
    return a.out
