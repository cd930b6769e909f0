"""Generative adversarial networks over images: an MLP GAN, a DCGAN, and a class-conditional DCGAN.

A generator G maps a code z ~ N(0, I) to an image; a critic D scores images as real or made.
The two are trained in turns (the trainer's ``train_step`` protocol, one Adam per player):

    non-saturating (Goodfellow et al. 2014, sec. 3):
        critic    softplus(-D(x)) + softplus(D(G(z)))      = -log s(D(x)) - log(1 - s(D(G(z))))
        generator softplus(-D(G(z)))                       = -log s(D(G(z)))
    hinge (Lim & Ye 2017; Miyato et al. 2018):
        critic    relu(1 - D(x)) + relu(1 + D(G(z)))
        generator -D(G(z))

both in nats (non-saturating) or hinge units per image, means over the batch. The DCGAN follows
Radford et al. 2016 (strided transposed convolutions, batch norm, ReLU in G and LeakyReLU 0.2 in
D, no batch norm on D's input or G's output) and, at 64x64, has exactly the layers of PyTorch's
DCGAN example; at 28x28 it starts from 7x7 instead of 4x4 and doubles twice.

A third player, the encoder E (on unless ``encoder`` is False), learns the generator's inverse
alongside it: it regresses the code of each fresh fake, E(G(z)) -> z (squared error, plus the
class's cross-entropy for a conditional GAN; the "latent regressor" of Donahue et al. 2017,
sec. 3.1), so ``encode`` is one forward pass and every latent tool works on a GAN run.
``models.inversion.invert`` refines its guess by optimisation where an item's own
reconstruction matters; a GAN trained without an encoder encodes by that optimisation alone
(slow: hundreds of generator passes per item).

A conditional GAN's code is z followed by a one-hot class (latent_dim = z_dim + classes): the
generator reads the whole code, so every latent tool (interpolation, knobs, inversion) works on
the class part too, and a class is chosen by the code, not by a second argument. Its critic
adds a projection of the class embedding onto its features (Miyato & Koyama 2018).

Images are (B, C, H, W) in [0, 1] like every other image model here; inside, the networks work
in [-1, 1] (tanh output). A DCGAN keeps its weights and activations channels-last (NHWC) unless
``channels_last`` is False: oneDNN's convolutions then need no layout reorders, and a training
step took 0.13 s against 0.17 s in NCHW on a 2-core AMD EPYC CPU (docs/results.md); the layout
is internal (weights are saved contiguous, ``decode`` returns contiguous images).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import OptionError

GAN_LOSSES = ("ns", "hinge")
GAN_ARCHS = ("mlp", "conv")
BETAS = (0.5, 0.999)  # Adam's betas for both players (Radford et al. 2016)


@dataclass
class GANConfig:
    """Everything needed to rebuild a GAN; stored in the run's config.json."""

    arch: str = "conv"  # "mlp" or "conv" (DCGAN)
    image_shape: tuple[int, int, int] = (1, 28, 28)
    z_dim: int = 64  # the noise part of the code
    width: int = 64  # conv: G's last / D's first channel count (ngf = ndf); mlp: first width
    hidden: tuple[int, ...] = field(default_factory=tuple)  # mlp: G's widths (D mirrors them)
    classes: list[str] = field(default_factory=list)  # a conditional GAN's class names
    loss: str = "ns"
    encoder: bool = True  # train the encoder alongside
    channels_last: bool = True  # conv: NHWC weights and activations (faster on CPU, measured)

    def __post_init__(self):
        self.image_shape = tuple(self.image_shape)
        self.hidden = tuple(self.hidden) or ((256, 512, 1024) if self.arch == "mlp" else ())
        self.classes = list(self.classes)

    @property
    def latent_dim(self) -> int:
        return self.z_dim + len(self.classes)

    def validate(self) -> None:
        """An OptionError naming the first value that cannot build a GAN."""
        if self.arch not in GAN_ARCHS:
            raise OptionError("arch", f"must be mlp or conv, got {self.arch!r}")
        if self.loss not in GAN_LOSSES:
            raise OptionError("gan_loss", f"must be ns or hinge, got {self.loss!r}")
        if self.z_dim < 1:
            raise OptionError("latent_dim", f"must be at least 1, got {self.z_dim}")
        if self.width < 1 or not all(h >= 1 for h in self.hidden):
            raise OptionError("hidden", "widths must be positive")
        if self.arch == "conv":
            dcgan_plan(self.image_shape)
        if len(self.classes) == 1:
            raise OptionError("condition", "needs at least two classes")

    def to_dict(self) -> dict:
        return asdict(self)


def dcgan_plan(image_shape: tuple[int, int, int]) -> tuple[int, int]:
    """(base side, doublings) of a square image: 28 -> (7, 2), 32 -> (4, 3), 64 -> (4, 4); an
    OptionError for a side the DCGAN cannot reach (it must be 3..7 times a power of two, 8+)."""
    _, h, w = image_shape
    if h != w:
        raise OptionError("arch", f"conv (DCGAN) needs square images, got {h}x{w}")
    for base in (4, 7, 5, 6, 3):
        k = 0
        while base << k < h:
            k += 1
        if base << k == h and k >= 1:
            return base, k
    raise OptionError("arch", f"conv (DCGAN) cannot make {h}x{w} images; pass an "
                              "`image_size` such as 28, 32 or 64")


class _ConvGenerator(nn.Module):
    """Code (B, D) -> (B, C, H, W) in [-1, 1]: a transposed convolution to base x base, then
    ``k`` doublings that halve the channels, the last to C channels with tanh."""

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], width: int):
        super().__init__()
        base, k = dcgan_plan(image_shape)
        ch = width * 2 ** (k - 1)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, ch, base, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(k - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, image_shape[0], 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code[:, :, None, None])


class _ConvCritic(nn.Module):
    """(B, C, H, W) -> features (B, F, base, base): ``k`` strided convolutions that double
    the channels (batch norm on all but the first). With ``batch_stats`` the batch norm always
    uses the statistics of the batch in hand, at test time too: the critic is trained on
    all-real and all-made batches in turn, so running averages would mix the two and its test
    scores would mean something else than its training ones."""

    def __init__(self, image_shape: tuple[int, int, int], width: int,
                 batch_stats: bool = True):
        super().__init__()
        base, k = dcgan_plan(image_shape)
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], width, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2, True)]
        ch = width
        for _ in range(k - 1):
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch * 2, track_running_stats=not batch_stats),
                       nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.features = nn.Sequential(*layers)
        self.out = nn.Conv2d(ch, 1, base, 1, 0, bias=False)
        self.channels = ch

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (scores (B,), features averaged over positions (B, F))."""
        h = self.features(x)
        return self.out(h).flatten(), h.mean((2, 3))


class _Encoder(nn.Module):
    """Images in [-1, 1] -> codes: the critic's layers (its own weights), then a linear map from
    the whole last feature map to the noise part and (conditional GAN) class logits;
    ``forward`` gives the code, its class part the softmax of the logits."""

    def __init__(self, config: GANConfig):
        super().__init__()
        c, h, w = config.image_shape
        if config.arch == "conv":  # the critic's layers, the last feature map kept whole
            body = _ConvCritic(config.image_shape, config.width, batch_stats=False)
            base, _ = dcgan_plan(config.image_shape)
            width = body.channels * base * base
        else:
            body = _MLPCritic(config.image_shape, config.hidden)
            width = body.channels
        self.features = nn.Sequential(body.features, nn.Flatten())
        self.head = nn.Linear(width, config.latent_dim)
        self.z_dim = config.z_dim

    def parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> (noise part (B, z_dim), class logits (B, classes))."""
        out = self.head(self.features(x)).float()
        return out[:, :self.z_dim], out[:, self.z_dim:]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, logits = self.parts(x)
        return torch.cat([z, logits.softmax(1)], 1) if logits.shape[1] else z


class _MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int],
                 hidden: tuple[int, ...]):
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        for a, b in zip((latent_dim, *hidden[:-1]), hidden, strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2, True)]
        layers += [nn.Linear(hidden[-1], c * h * w), nn.Tanh(), nn.Unflatten(1, (c, h, w))]
        self.net = nn.Sequential(*layers)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code)


class _MLPCritic(nn.Module):
    def __init__(self, image_shape: tuple[int, int, int], hidden: tuple[int, ...]):
        super().__init__()
        widths = (image_shape[0] * image_shape[1] * image_shape[2], *reversed(hidden))
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(widths[-1], 1)
        self.channels = widths[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x)
        return self.out(h)[:, 0], h


@contextmanager
def _frozen(*modules: nn.Module | None):
    """Parameters of ``modules`` that require gradients stop requiring them for the block:
    back-propagating the generator's loss through the critic then computes no weight
    gradients the critic would throw away."""
    params = [p for m in modules if m is not None for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _dcgan_init(m: nn.Module) -> None:
    """N(0, 0.02) convolutions, N(1, 0.02) batch-norm scales (Radford et al. 2016)."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class GAN(nn.Module):
    """A generator, its critic and (unless ``config.encoder`` is False) its encoder, following
    the model protocol: ``decode`` is the generator, ``encode`` the encoder (or, without one,
    latent inversion, ``models.inversion``)."""

    cuda_graph_safe = True  # its step (all three updates) never waits on the host

    def __init__(self, config: GANConfig):
        super().__init__()
        config.validate()
        self.config = config
        d = config.latent_dim
        if config.arch == "conv":
            self.generator: nn.Module = _ConvGenerator(d, config.image_shape, config.width)
            self.critic: nn.Module = _ConvCritic(config.image_shape, config.width)
            self.apply(_dcgan_init)
        else:
            self.generator = _MLPGenerator(d, config.image_shape, config.hidden)
            self.critic = _MLPCritic(config.image_shape, config.hidden)
        self.encoder = _Encoder(config) if config.encoder else None
        if self.encoder is not None and config.arch == "conv":
            self.encoder.apply(_dcgan_init)
        self.embed = None
        if config.classes:  # the projection starts near zero: the critic learns to use it
            self.embed = nn.Embedding(len(config.classes), self.critic.channels)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.nhwc = config.arch == "conv" and config.channels_last
        if self.nhwc:
            self.to(memory_format=torch.channels_last)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) in the networks' memory layout."""
        return x.contiguous(memory_format=torch.channels_last) if self.nhwc else x

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def is_variational(self) -> bool:
        return False

    @property
    def classes(self) -> list[str]:
        return self.config.classes

    def prior(self, n: int, generator: torch.Generator | None = None,
              labels: torch.Tensor | None = None,
              device: torch.device | str | None = None) -> torch.Tensor:
        """``n`` codes (n, D) from the prior: z ~ N(0, I), and for a conditional GAN the
        one-hot of ``labels`` (class indices; uniform at random when None)."""
        z = torch.randn(n, self.config.z_dim, generator=generator, device=device)
        if not self.classes:
            return z
        if labels is None:
            labels = torch.randint(len(self.classes), (n,), generator=generator,
                                   device=device)
        return torch.cat([z, F.one_hot(labels.long(), len(self.classes)).float()], 1)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes (B, D) -> images (B, C, H, W) in [0, 1]."""
        return ((self.generator(z).float() + 1.0) / 2.0).contiguous()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Images (B, C, H, W) in [0, 1] -> codes (B, D), and None (no posterior variance):
        the learned encoder's, one forward pass; without one, latent inversion."""
        if self.encoder is not None:
            return self.encoder(self._layout(x * 2.0 - 1.0)), None
        from .inversion import invert

        with torch.enable_grad():
            return invert(self, x, use_encoder=False).codes, None

    def score(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The critic's score (B,) of images in [-1, 1] (with their class, if conditional)."""
        s, h = self.critic(self._layout(x))
        if self.embed is not None:
            s = s + (self.embed(labels) * h).sum(1)
        return s.float()

    def _terms(self, x: torch.Tensor, labels: torch.Tensor | None,
               step: Callable[[str, torch.Tensor], None] | None) -> dict[str, torch.Tensor]:
        x = self._layout(x * 2.0 - 1.0)
        codes = self.prior(len(x), labels=labels, device=x.device)
        fake = self.generator(codes)
        real_s, fake_s = self.score(x, labels), self.score(fake.detach(), labels)
        if self.config.loss == "hinge":
            critic = F.relu(1.0 - real_s).mean() + F.relu(1.0 + fake_s).mean()
        else:
            critic = F.softplus(-real_s).mean() + F.softplus(fake_s).mean()
        if step is not None:
            step("critic", critic)
        with _frozen(self.critic, self.embed) if step is not None else nullcontext():
            made = self.score(fake, labels)  # (no weight gradients for the critic here)
            gen = -made.mean() if self.config.loss == "hinge" else F.softplus(-made).mean()
            if step is not None:
                step("generator", gen)
        terms = {}
        if self.encoder is not None:
            z_hat, logits = self.encoder.parts(fake.detach())
            enc = (z_hat - codes[:, :self.config.z_dim]).pow(2).sum(1).mean()
            if logits.shape[1]:
                enc = enc + F.cross_entropy(logits, codes[:, self.config.z_dim:].argmax(1))
            if step is not None:
                step("encoder", enc)
            terms["encoder"] = enc.detach()
        return {"loss": (critic + gen).detach(), "critic": critic.detach(),
                "generator": gen.detach(), **terms,
                # the critic's mean belief that real and made images are real
                "real_prob": torch.sigmoid(real_s).mean().detach(),
                "fake_prob": torch.sigmoid(made).mean().detach()}

    def optimizer_groups(self) -> dict[str, tuple[list[nn.Parameter], dict]]:
        """The two players and the encoder, each with its own Adam (betas 0.5, 0.999)."""
        critic = list(self.critic.parameters())
        if self.embed is not None:
            critic += list(self.embed.parameters())
        groups = {"critic": (critic, {"betas": BETAS}),
                  "generator": (list(self.generator.parameters()), {"betas": BETAS})}
        if self.encoder is not None:
            groups["encoder"] = (list(self.encoder.parameters()), {"betas": BETAS})
        return groups

    def train_step(self, batch: tuple[torch.Tensor, ...],
                   step: Callable[[str, torch.Tensor], None]) -> dict[str, torch.Tensor]:
        """One round: a critic step on real images and fresh fakes, a generator step, and an
        encoder step on the same fakes (squared error to their codes)."""
        return self._terms(batch[0], batch[1] if self.classes else None, step)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None
                ) -> dict[str, torch.Tensor]:
        """Both players' losses on a batch with fresh fakes, no step (the test-set report)."""
        return self._terms(x, labels if self.classes else None, None)
