"""Untrained generator networks: the lecture's opening experiment (source document 003).

Push points from N(0, I) through a network whose weights are only initialised, never trained,
and the outputs already follow a complicated distribution: strands and sheets of probability
in the plane for a 12 x 100 ReLU MLP with Glorot initialisation, and structured textures for an
upsampling convolutional generator. ``random_mlp`` and ``random_conv_generator`` build the
networks from a seed; ``push_points`` and ``random_images`` sample them; ``concentration``
measures how unevenly the samples fill their range (a Gaussian's figure is the reference).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..errors import OptionError

ACTIVATIONS = {"relu": nn.ReLU, "leaky-relu": lambda: nn.LeakyReLU(0.2), "tanh": nn.Tanh,
               "sigmoid": nn.Sigmoid, "elu": nn.ELU}
INITS = ("glorot", "he", "normal")  # Glorot uniform, He normal, N(0, 1); biases zero


def _check(activation: str, init: str) -> None:
    if activation not in ACTIVATIONS:
        raise OptionError("activation", f"must be one of {', '.join(ACTIVATIONS)}, "
                                        f"got {activation!r}")
    if init not in INITS:
        raise OptionError("init", f"must be one of {', '.join(INITS)}, got {init!r}")


def _initialise(net: nn.Module, init: str) -> None:
    for m in net.modules():
        if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            if init == "glorot":
                nn.init.xavier_uniform_(m.weight)
            elif init == "he":
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            else:
                nn.init.normal_(m.weight, 0.0, 1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def random_mlp(depth: int = 12, width: int = 100, activation: str = "relu",
               init: str = "glorot", seed: int = 0, dim: int = 2) -> nn.Sequential:
    """``dim`` -> ``depth`` hidden layers of ``width`` units -> ``dim``, untrained."""
    _check(activation, init)
    if depth < 1 or width < 1:
        raise OptionError("depth", f"and width must be at least 1, got {depth} x {width}")
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for a in [dim] + [width] * (depth - 1):
        layers += [nn.Linear(a, width), ACTIVATIONS[activation]()]
    net = nn.Sequential(*layers, nn.Linear(width, dim))
    _initialise(net, init)
    return net.eval()


def random_conv_generator(latent_dim: int = 64, image_size: int = 28, channels: int = 1,
                          width: int = 128, activation: str = "relu", init: str = "glorot",
                          deconv: bool = False, seed: int = 0) -> nn.Sequential:
    """Codes (B, latent_dim) -> unbounded images (B, channels, S, S), untrained: a dense layer
    to a ``width``-channel image at S/4, then twice doubling the side (nearest upsampling and
    a 3x3 convolution, or with ``deconv`` a stride-2 transposed convolution) and halving the
    channels, then a 3x3 convolution to ``channels`` (``random_images`` maps it to pixels)."""
    _check(activation, init)
    if image_size % 4 or image_size < 8:
        raise OptionError("image_size", f"must be a multiple of 4, 8 or more, got {image_size}")
    torch.manual_seed(seed)
    side = image_size // 4
    act = ACTIVATIONS[activation]
    layers: list[nn.Module] = [nn.Linear(latent_dim, width * side * side), act(),
                               nn.Unflatten(1, (width, side, side))]
    ch = width
    for _ in range(2):
        up = (nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1) if deconv else
              nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(ch, ch // 2, 3, padding=1)))
        layers += [up, act()]
        ch //= 2
    net = nn.Sequential(*layers, nn.Conv2d(ch, channels, 3, padding=1))
    _initialise(net, init)
    return net.eval()


@torch.no_grad()
def push_points(net: nn.Module, n: int = 100_000, seed: int = 0,
                batch_size: int = 65536) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, outputs): ``n`` points z ~ N(0, I) and the net's outputs, (n, dim) each."""
    dim = next(m for m in net.modules() if isinstance(m, nn.Linear)).in_features
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return z, torch.cat([net(c) for c in z.split(batch_size)])


@torch.no_grad()
def random_images(net: nn.Module, n: int = 64, seed: int = 0) -> torch.Tensor:
    """``n`` images in [0, 1] from codes z ~ N(0, I): the outputs standardised over the whole
    batch (one shift and scale for all: an untrained network's output scale is arbitrary,
    and the differences between images are kept) and squashed by a sigmoid."""
    dim = next(m for m in net.modules() if isinstance(m, nn.Linear)).in_features
    out = net(torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)))
    return torch.sigmoid(2.0 * (out - out.mean()) / out.std().clamp_min(1e-12))


def concentration(points: torch.Tensor, bins: int = 100, top: float = 0.05) -> float:
    """The share of 2-D points in the densest ``top`` of a ``bins`` x ``bins`` histogram over
    the 1st-99th percentile box of each axis: a Gaussian's is about 0.2; mass on thin strands
    pushes it toward 1."""
    x = points.double()
    lo, hi = x.quantile(0.01, 0), x.quantile(0.99, 0)
    inside = ((x >= lo) & (x <= hi)).all(1)
    cells = ((x[inside] - lo) / (hi - lo).clamp_min(1e-12) * bins).long().clamp(0, bins - 1)
    counts = torch.bincount(cells[:, 0] * bins + cells[:, 1], minlength=bins * bins)
    k = max(1, int(top * bins * bins))
    return float(counts.sort(descending=True).values[:k].sum() / counts.sum())
