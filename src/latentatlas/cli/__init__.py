"""The ``latentatlas`` command: a thin layer over the Python API.

Every subcommand prints a readable summary (or JSON with ``--json``); a user error is one
``error:`` line on stderr and exit status 2.
"""

from __future__ import annotations

import os
import sys

from ..errors import Interrupted, UserError
from . import atlas, concepts, explain, explore, runs, text, translate
from .common import Parser


def build_parser() -> Parser:
    from .. import __version__

    p = Parser(prog="latentatlas", description="Map, steer and translate the latent spaces of "
                                               "generative models. Every command takes --json "
                                               "where it prints results.")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--version", action="version", version=f"latentatlas {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (runs, atlas, concepts, translate, text, explore, explain):
        module.add_parsers(sub)
    return p


_NEGATIVE_VALUE_OPTIONS = ("--alphas",)


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--alphas -3:3:7`` -> ``--alphas=-3:3:7``: argparse takes -3:3:7 for an option."""
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


# commands that need a run with a latent space (encode/decode)
_LATENT_COMMANDS = ("reconstruct", "interpolate", "grid", "map", "dims", "knobs", "concept",
                    "concepts", "traverse", "entangle", "disentangle", "explore", "export")


def _check_latent(args) -> None:
    from ..models.run import NO_LATENT_KINDS, read_config

    if args.command not in (*_LATENT_COMMANDS, "sample"):
        return
    runs = [args.run] if isinstance(getattr(args, "run", None), str) else \
        list(getattr(args, "runs", None) or [])
    for run in runs:
        kind = read_config(run).get("kind")
        what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        if args.command == "sample" and kind.endswith("classifier"):
            raise UserError(f"{run} holds {what}, which generates nothing to sample")
        if args.command != "sample" and kind in NO_LATENT_KINDS:
            raise UserError(f"{run} holds {what}, which has no latent space; "
                            f"{args.command} needs a VAE or autoencoder run")


def main(argv: list[str] | None = None) -> int:
    argv = _join_negative_values(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        _check_latent(args)
        return args.func(args)
    except UserError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
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

