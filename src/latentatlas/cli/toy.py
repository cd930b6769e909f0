"""The toy worlds of the notes: ``toy cells`` (simulated exactly), ``toy random-net`` and
``toy random-conv`` (untrained generator networks)."""

from __future__ import annotations

import argparse

from ..errors import OptionError
from ..models.random_net import ACTIVATIONS, INITS
from .common import emit, positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    toy = sub.add_parser("toy", help="the toy worlds of the notes: cells; random-net and "
                                     "random-conv, untrained generator networks")
    toy.set_defaults(func=cmd_toy)
    toy.add_argument("world", choices=["cells", "random-net", "random-conv"])
    toy.add_argument("--learner", choices=["tree", "linear"], default="tree",
                     help="cells: the learner carried between latents")
    toy.add_argument("--max-examples", type=positive_int, default=2048, help="cells")
    toy.add_argument("--steps", type=positive_int, default=12,
                     help="cells: steps of the shown sequence")
    toy.add_argument("--points", type=positive_int, default=100_000,
                     help="random-net: points pushed through the network")
    toy.add_argument("--depth", type=positive_int, default=12, help="random-net: hidden layers")
    toy.add_argument("--width", type=positive_int, default=None,
                     help="units per hidden layer (random-net, default 100) or the first "
                          "feature map's channels (random-conv, default 128)")
    toy.add_argument("--activation", choices=list(ACTIVATIONS), default="relu")
    toy.add_argument("--init", choices=list(INITS), default="glorot",
                     help="weights: Glorot uniform, He normal, or N(0, 1); biases zero")
    toy.add_argument("-n", type=positive_int, default=64, help="random-conv: images")
    toy.add_argument("--image-size", type=positive_int, default=28, help="random-conv")
    toy.add_argument("--channels", type=int, choices=[1, 3], default=1, help="random-conv")
    toy.add_argument("--deconv", action="store_true",
                     help="random-conv: transposed convolutions instead of upsampling")
    toy.add_argument("--seed", type=int, default=0)
    toy.add_argument("--out", help="random-net, random-conv: the figure (.png)")
    toy.add_argument("--json", action="store_true")


def cmd_toy(a: argparse.Namespace) -> int:
    if a.world != "cells":
        return _random_generator(a)
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


def _random_generator(a: argparse.Namespace) -> int:
    from ..atlas.workflow import random_conv_study, random_net_study
    from ..plotting import png_path, save_grid, save_point_clouds

    if not a.out:
        raise OptionError("out", f"is required: {a.world} draws a figure (.png)")
    out = png_path(a.out)
    if a.world == "random-net":
        r = random_net_study(a.depth, a.width or 100, a.activation, a.init, a.points, a.seed)
        net = f"{a.depth} x {a.width or 100} {a.activation}, {a.init} init"
        save_point_clouds({"input: N(0, I)": r.pop("inputs"),
                           f"output of an untrained {net}": r.pop("outputs")}, out,
                          f"{a.points:,} points through a random network")
        shown = (f"wrote {out}: {a.points:,} points through an untrained {net}; share of "
                 f"points in the densest 5% of cells: {r['concentration']:.3f} (the Gaussian "
                 f"input: {r['input_concentration']:.3f})")
    else:
        r = random_conv_study(a.n, a.image_size, a.channels, a.width or 128, a.activation,
                              a.init, a.deconv, a.seed)
        save_grid(r.pop("images"), out)
        shown = (f"wrote {out}: {a.n} images from an untrained "
                 f"{'deconvolutional' if a.deconv else 'upsampling'} generator; mean pixel "
                 f"{r['pixel_mean']:.3f}, spread between images {r['between_image_std']:.3f}")
    emit({"world": a.world, "out": str(out), **r}, a.json, shown)
    return 0
