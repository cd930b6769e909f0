"""The toy worlds of the notes, simulated exactly: ``toy cells``."""

from __future__ import annotations

import argparse

from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    toy = sub.add_parser("toy", help="the toy worlds of the notes, simulated exactly")
    toy.set_defaults(func=cmd_toy)
    toy.add_argument("world", choices=["cells"])
    toy.add_argument("--learner", choices=["tree", "linear"], default="tree")
    toy.add_argument("--max-examples", type=positive_int, default=2048)
    toy.add_argument("--steps", type=positive_int, default=12, help="steps of the shown sequence")
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--json", action="store_true")


def cmd_toy(a: argparse.Namespace) -> int:
    from ..translate.toy import cell_world_study

    r = cell_world_study(a.learner, a.max_examples, a.steps, a.seed)
    lines = ["the cell world (. empty, r red, < > blue moving left/right, L R blue with red):"]
    lines += [f"  {x['cells']}   object {tuple(x['object'])}   local {tuple(x['local'])}"
              for x in r["sequence"]]
    lines.append(f"blue direction carried to the local-state latent by a {a.learner} trained on "
                 "states labelled by the object-centric model; agreement over all "
                 f"{r['states']} states:")
    lines += [f"  {p['examples']:5d} examples  {p['agreement']:.3f}" for p in r["curve"]]
    lines.append(f"exact from {r['exact_from']} examples on; trained on every state once: "
                 f"{r['complete_data']:.3f}; the notes' hand-written rule: "
                 f"{r['rule_agreement']:.3f}")
    emit(r, a.json, "\n".join(lines))
    return 0
