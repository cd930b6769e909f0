"""Activation maximisation: optimise an input until a class (or a neuron) fires as much as it can.

- Images: the pixels climb the target's logit (or a neuron's activation) minus ``tv`` x the
  total variation (mean |difference| between neighbouring pixels, which keeps the image from
  turning into high-frequency noise) and ``l2`` x the mean squared pixel (Simonyan et al. 2014),
  with Adam, clipped to [0, 1] after each step, from noise or from a real item.
- Texts: a relaxed sequence of ``length`` free embedding vectors climbs the target's logit,
  pulled towards the token embeddings by ``closeness`` x the squared distance to the nearest
  one; at the end each vector becomes its nearest token. The classifier's probability on the
  relaxed input and on the projected tokens are both reported: the gap between them is how much
  of the optimum lives between the words.

A neuron is ``LAYER:INDEX`` for an image classifier: ``conv1``/``conv2`` (a channel, mean over
positions) or ``dense`` (a unit), after the ReLU.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..errors import OptionError, UserError
from ..models.decoding import BOS, EOS
from ..train.adam import Adam
from .core import resolve_target


@dataclass
class Maximized:
    """The optimised input and how the objective and the target's probability moved."""

    objective: str  # "class Sneaker" or "neuron conv2:5"
    start: str  # "noise", "item 12", or the starting text
    start_value: float  # the objective (logit or activation) before
    value: float  # and after
    start_probability: float | None  # of the target class (None for a neuron)
    probability: float | None
    image: torch.Tensor | None = None  # (C, H, W) for an image classifier
    start_image: torch.Tensor | None = None
    tokens: list[str] | None = None  # for a text classifier: the projected tokens
    relaxed_probability: float | None = None  # text: before projecting to tokens
    trace: list[float] = field(default_factory=list)  # the objective every 16 steps
    params: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        r = lambda v: None if v is None else round(float(v), 6)  # noqa: E731
        return {"objective": self.objective, "start": self.start,
                "start_value": r(self.start_value), "value": r(self.value),
                "start_probability": r(self.start_probability), "probability": r(self.probability),
                "tokens": self.tokens, "relaxed_probability": r(self.relaxed_probability),
                "trace": [round(v, 4) for v in self.trace], "params": self.params}


def parse_neuron(model, spec: str) -> tuple[str, int]:
    """``LAYER:INDEX`` -> (layer, index), checked against an image classifier's layers."""
    layers = getattr(model, "layers", ())
    if not layers:
        raise UserError("neurons can be chosen in image classifiers only; give a `cls`")
    layer, _, index = spec.partition(":")
    if layer not in layers or not index.isdigit():
        raise OptionError("neuron", f"{spec!r}: give LAYER:INDEX with LAYER one of "
                        f"{', '.join(layers)}")
    c1, c2, d = model.config.hidden
    size = {"conv1": c1, "conv2": c2, "dense": d}[layer]
    if int(index) >= size:
        raise OptionError("neuron", f"{spec!r}: {layer} has {size} units (0..{size - 1})")
    return layer, int(index)


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between vertically and horizontally neighbouring pixels."""
    return ((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
            + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def _ascend(x: torch.Tensor, objective, steps: int, lr: float, project=None) -> list[float]:
    """Adam on ``x`` alone: ``objective(x) -> (loss to minimise, value to trace)``; the model's
    weights get no gradients. Returns the value every 16 steps."""
    opt = Adam([x], lr=lr)
    trace = []
    for step in range(steps):
        loss, value = objective(x)
        (x.grad,) = torch.autograd.grad(loss, x)
        opt.step()
        if project is not None:
            with torch.no_grad():
                project(x)
        if step % 16 == 0:
            trace.append(float(value.detach()))
    return trace


def maximize_image(model, target: str | None = None, neuron: str | None = None, *,
                   start: torch.Tensor | None = None, start_name: str = "noise",
                   steps: int = 256, lr: float = 0.02, tv: float = 20.0, l2: float = 5.0,
                   seed: int = 0) -> Maximized:
    """Optimise an image for the class ``target`` (its logit) or the ``neuron``."""
    if (target is None) == (neuron is None):
        raise UserError("give one thing to maximise: a class or a neuron")
    model.eval()
    c = resolve_target(model, target) if target is not None else None
    unit = parse_neuron(model, neuron) if neuron is not None else None
    gen = torch.Generator().manual_seed(seed)
    if start is None:
        x0 = (0.5 + 0.1 * torch.randn(model.config.image_shape, generator=gen)).clamp(0.01, 0.99)
    else:
        x0 = start.float().clamp(0, 1)
    x = x0[None].clone().requires_grad_(True)

    def value(x: torch.Tensor) -> torch.Tensor:
        acts = model.activations(x)
        if c is not None:
            return acts["logits"][0, c]
        a = acts[unit[0]][0, unit[1]]
        return a.mean()

    def objective(x: torch.Tensor):
        v = value(x)
        return -v + tv * total_variation(x) + l2 * x.pow(2).mean(), v

    # projected gradient ascent: the pixels stay in [0, 1]
    trace = _ascend(x, objective, steps, lr, project=lambda x: x.clamp_(0, 1))
    x = x.detach()[0]
    with torch.no_grad():
        end, begin = float(value(x[None])), float(value(x0[None]))
        prob = (lambda im: float(torch.softmax(model.logits(im[None]), -1)[0, c])) \
            if c is not None else None
        start_p, end_p = (prob(x0), prob(x)) if prob else (None, None)
    return Maximized(f"class {model.config.classes[c]}" if c is not None else f"neuron {neuron}",
                     start_name, begin, end, start_p, end_p,
                     image=x, start_image=x0, trace=trace,
                     params={"steps": steps, "lr": lr, "tv": tv, "l2": l2, "seed": seed})


def maximize_text(model, target: str, *, start: str | None = None, length: int = 8,
                  steps: int = 300, lr: float = 0.05, closeness: float = 0.1,
                  seed: int = 0) -> Maximized:
    """Optimise a relaxed embedding sequence for the class ``target`` of a text classifier,
    then project it to the nearest tokens."""
    from .tokens import token_ids

    model.eval()
    c = resolve_target(model, target)
    table = model.embed.weight.detach()
    words = torch.arange(len(table)) > EOS  # the real tokens (no <pad> <unk> <s> </s>)
    gen = torch.Generator().manual_seed(seed)
    if start is not None:
        ids0 = token_ids(model, start)[0][0, 1:-1]
    else:
        ids0 = torch.nonzero(words)[:, 0][torch.randint(int(words.sum()), (length,),
                                                        generator=gen)]
    e = table[ids0].clone().requires_grad_(True)
    bos, eos = table[BOS][None], table[EOS][None]
    mask = torch.ones(1, len(ids0) + 2, dtype=torch.bool)
    vocab = table[words]

    def logits_of(emb: torch.Tensor) -> torch.Tensor:
        return model.logits_from_embeddings(torch.cat([bos, emb, eos])[None], mask)[0][0]

    def nearest(emb: torch.Tensor) -> torch.Tensor:
        return torch.cdist(emb, vocab).argmin(1)

    def objective(e: torch.Tensor):
        logit = logits_of(e)[c]
        gap = torch.cdist(e, vocab).min(1).values.pow(2).mean()
        return -logit + closeness * gap, logit

    trace = _ascend(e, objective, steps, lr)
    with torch.no_grad():
        real = torch.nonzero(words)[:, 0]
        ids = real[nearest(e.detach())]
        begin = logits_of(table[ids0])
        relaxed = logits_of(e.detach())
        end = logits_of(table[ids])
    itos = model.vocab.itos
    prob = lambda lg: float(torch.softmax(lg, -1)[c])  # noqa: E731
    return Maximized(f"class {model.config.classes[c]}",
                     start if start is not None else "random words",
                     float(begin[c]), float(end[c]), prob(begin), prob(end),
                     tokens=[itos[int(i)] for i in ids], relaxed_probability=prob(relaxed),
                     trace=trace, params={"steps": steps, "lr": lr, "closeness": closeness,
                                          "length": len(ids0), "seed": seed})

