"""The ``latentatlas`` command: a thin layer over the Python API.

Every subcommand prints a readable summary (or JSON with ``--json``); a user error is one
``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import Interrupted, OptionError, UserError
from . import atlas, concepts, explain, explore, runs, text, toy, translate
from .common import Parser, as_flags, positive_int


def build_parser() -> Parser:
    from ..version import __version__

    p = Parser(prog="latentatlas", description="Map, steer and translate the latent spaces of "
                                               "generative models. Every command takes --json "
                                               "where it prints results.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"latentatlas {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (runs, atlas, concepts, translate, toy, text, explore, explain):
        module.add_parsers(sub)
    for command in sub.choices.values():  # every command takes --threads, as train does
        if not any(action.dest == "threads" for action in command._actions):
            command.add_argument("--threads", type=positive_int,
                                 help="torch threads (default: the cores other processes "
                                      "are not using)")
    return p


_NEGATIVE_VALUE_OPTIONS = ("--alphas", "--x")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--alphas -3:3:7`` -> ``--alphas=-3:3:7`` (and ``--x -0.5,1``): argparse takes a
    value that starts with a minus for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] in _NEGATIVE_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1][:2] in (
                "-0", "-1", "-2", "-3", "-4", "-5", "-6", "-7", "-8", "-9", "-."):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


# what each command needs of a run's kind: (capability flag, what it lacks without it)
NEEDS = {command: (("latent",), "has no latent space; {command} needs a VAE, autoencoder "
                                "or GAN run")
         for command in ("reconstruct", "interpolate", "invert", "grid", "map", "dims", "knobs",
                         "concept", "concepts", "traverse", "entangle", "disentangle",
                         "explore", "export", "similarity", "translate", "transfer")}
NEEDS.update({
    "sample": (("samples",), "generates nothing to sample"),
    "generate": (("prompted",), "is not a language model; generate needs an lm or attn-lm "
                                "run"),
    "cells": (("prompted",), "is not a language model; cells needs an lm or attn-lm run"),
    "words": (("text", "generates"), "generates no text; words needs a text model"),
    "audit": (("text",), "is not a text model; audit --run needs one"),
    "fidelity": (("text", "latent"), "is not a sentence model; fidelity needs a text-vae or "
                                     "text-ae run"),
    "explain": (("classifier",), "is not a classifier; explain needs an image-classifier or "
                                 "text-classifier run"),
    "maximize": (("classifier",), "is not a classifier; maximize needs an image-classifier "
                                  "or text-classifier run"),
    "attack": (("classifier",), "is not a classifier; attack needs an image-classifier or "
                               "text-classifier run"),
})


def _check_kinds(args) -> None:
    """Refuse a run whose kind lacks what the command needs, in one line naming both."""
    from ..models.rundir import run_kind

    need = NEEDS.get(args.command)
    if need is None:
        return
    runs = [getattr(args, name) for name in ("run", "run_a", "run_b")
            if isinstance(getattr(args, name, None), str)]
    runs += list(getattr(args, "runs", None) or [])
    flags, lack = need
    for run in runs:
        kind = run_kind(run)
        if not all(getattr(kind, flag) for flag in flags):
            raise UserError(f"{run} holds {kind.named}, which "
                            + lack.format(command=args.command))


# the options that name something a command writes: a folder (the run of train, the word
# clouds) or a file (every other --out)
FOLDER_OUTPUTS = {("train", "out"), ("sweep", "out"), ("words", "clouds")}


def _check_outputs(args) -> None:
    """Refuse an output that cannot be written before the command does any work."""
    from ..fileio import check_output

    for option in ("out", "clouds"):
        value = getattr(args, option, None)
        if isinstance(value, str) and value:
            check_output(value, folder=(args.command, option) in FOLDER_OUTPUTS, option=option)


def _flag(parser: Parser, argv: list[str], option: str) -> str:
    """The command-line spelling of a Python option name: the flag of the subcommand's
    argument whose destination it is (``prop`` -> ``--property``), else ``--option-name``."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    command = next((w for w in argv if sub is not None and w in sub.choices), None)
    if command is not None:
        for action in sub.choices[command]._actions:
            if action.dest == option:
                return action.option_strings[-1] if action.option_strings else option.upper()
    return "--" + option.replace("_", "-")


def _cli_message(parser: Parser, argv: list[str], e: UserError) -> str:
    """A library error as the CLI says it: an option named by its flag, and every `name` a
    message refers to as the flag too."""
    text = f"{_flag(parser, argv, e.option)} {e.message}" if isinstance(e, OptionError) \
        else str(e)
    return as_flags(text, lambda name: _flag(parser, argv, name))


GLOBAL_FLAGS = ("--debug",)


def _hoist_global_flags(argv: list[str]) -> list[str]:
    """Global flags may follow the subcommand (``sample RUN --debug``): move them before it,
    where argparse looks for them (not past a ``--``)."""
    end = argv.index("--") if "--" in argv else len(argv)
    found = [a for a in argv[:end] if a in GLOBAL_FLAGS]
    return found + [a for a in argv[:end] if a not in GLOBAL_FLAGS] + argv[end:]


def main(argv: list[str] | None = None) -> int:
    argv = _hoist_global_flags(_join_negative_values(sys.argv[1:] if argv is None else argv))
    debug = "--debug" in argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_kinds(args)
        _check_outputs(args)
        from ..threads import configure_threads

        configure_threads(getattr(args, "threads", None))  # given, else the free cores
        return args.func(args)
    except UserError as e:
        if debug:
            raise
        print(f"error: {_cli_message(parser, argv, e)}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(f"interrupted: {e}; the checkpoint is saved, continue with --resume",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader (head, less) went away: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:  # disk full, a folder made read-only meanwhile: what, where, why
        if debug:
            raise
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
