"""Image VAE and plain autoencoder with MLP or convolutional encoder/decoder.

The VAE is trained on the negative ELBO, in nats per image:

    loss(x) = E_q(z|x)[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))

with q(z|x) = N(mu, diag(exp(logvar))) and one reparameterised sample z = mu + sigma * eps.
The plain autoencoder drops the KL term and decodes mu directly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from ..errors import OptionError
from .likelihoods import LIKELIHOODS, SCALED, make_likelihood

PRESETS = {  # (arch, size) -> hidden widths; ("mlp", "small") is the canonical 784-400-20 VAE
    ("mlp", "small"): (400,),
    ("mlp", "large"): (1024, 512),
    ("conv", "small"): (32, 64, 256),  # two conv layers' channels, then one dense layer
    ("conv", "large"): (64, 128, 512),
}


@dataclass
class ImageModelConfig:
    """Everything needed to rebuild an image model; stored in the run's config.json."""

    variational: bool = True  # a VAE; False: a plain autoencoder
    arch: str = "mlp"  # "mlp" or "conv"
    image_shape: tuple[int, int, int] = (1, 28, 28)
    latent_dim: int = 20
    hidden: tuple[int, ...] = field(default_factory=lambda: PRESETS[("mlp", "small")])
    likelihood: str = "bernoulli"
    # sigma (gaussian) or b (laplace) in pixel units, "learned" (one for all pixels) or
    # "per-pixel" (a second decoder output per pixel)
    obs_scale: float | str = 0.1
    beta: float = 1.0

    def __post_init__(self):
        self.image_shape = tuple(self.image_shape)
        self.hidden = tuple(self.hidden)

    def validate(self) -> None:
        """Raise ValueError with a readable message when the config cannot build a model."""
        if self.arch not in ("mlp", "conv"):
            raise OptionError("arch", f"must be mlp or conv, got {self.arch!r}")
        if self.latent_dim < 1:
            raise OptionError("latent_dim", f"must be at least 1, got {self.latent_dim}")
        if self.likelihood not in LIKELIHOODS:
            raise OptionError("likelihood", f"must be one of {', '.join(LIKELIHOODS)}")
        if not all(h >= 1 for h in self.hidden) or not self.hidden:
            raise OptionError("hidden", f"widths must be positive, got {self.hidden}")
        if self.arch == "conv":
            if len(self.hidden) != 3:
                raise OptionError("hidden", "takes three widths for the conv arch: "
                                            "conv1,conv2,dense")
            _, h, w = self.image_shape
            if h % 4 or w % 4:
                raise OptionError("arch", f"conv needs a side divisible by 4, got {h}x{w}; "
                                          "pass an `image_size`")
        if isinstance(self.obs_scale, str):
            if self.obs_scale not in ("learned", "per-pixel"):
                raise OptionError("obs_scale", "must be a positive number, 'learned' or "
                                               f"'per-pixel', got {self.obs_scale!r}")
            if self.likelihood not in SCALED:
                raise OptionError("obs_scale", f"{self.obs_scale!r} is for the "
                                               f"{' and '.join(SCALED)} likelihoods, not "
                                               f"{self.likelihood}")
        elif not float(self.obs_scale) > 0:
            raise OptionError("obs_scale", f"must be positive, got {self.obs_scale}")
        if self.beta < 0:
            raise OptionError("beta", f"must be non-negative, got {self.beta}")

    def to_dict(self) -> dict:
        return asdict(self)


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ImageVAE(nn.Module):
    """VAE (or plain AE) over (B, C, H, W) images in [0, 1], following the model protocol."""

    cuda_graph_safe = True  # its step never waits on the host (train.graphs)

    def __init__(self, config: ImageModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.likelihood = make_likelihood(config.likelihood, config.obs_scale)
        c, h, w = config.image_shape
        d, n_stats = config.latent_dim, 2 if config.variational else 1
        k = self.likelihood.outputs  # decoder values per pixel
        if config.arch == "mlp":
            self.encoder = nn.Sequential(nn.Flatten(), _mlp([c * h * w, *config.hidden]), nn.ReLU())
            # mu and logvar come from one matmul, split afterwards (same model, one kernel)
            self.to_stats = nn.Linear(config.hidden[-1], n_stats * d)
            self.decoder = nn.Sequential(
                _mlp([d, *reversed(config.hidden)]), nn.ReLU(),
                nn.Linear(config.hidden[0], k * c * h * w), nn.Unflatten(1, (k * c, h, w)),
            )
        else:
            c1, c2, dense = config.hidden
            h4, w4 = h // 4, w // 4
            self.encoder = nn.Sequential(
                nn.Conv2d(c, c1, 4, stride=2, padding=1), nn.ReLU(),  # (B, c1, H/2, W/2)
                nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),  # (B, c2, H/4, W/4)
                nn.Flatten(), nn.Linear(c2 * h4 * w4, dense), nn.ReLU(),
            )
            self.to_stats = nn.Linear(dense, n_stats * d)
            self.decoder = nn.Sequential(
                nn.Linear(d, dense), nn.ReLU(),
                nn.Linear(dense, c2 * h4 * w4), nn.ReLU(), nn.Unflatten(1, (c2, h4, w4)),
                nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),  # (B, c1, H/2, W/2)
                nn.ConvTranspose2d(c1, k * c, 4, stride=2, padding=1),  # (B, k C, H, W)
            )

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def is_variational(self) -> bool:
        return self.config.variational

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(B, C, H, W) -> mu (B, D) and logvar (B, D); logvar is None for a plain AE."""
        stats = self.to_stats(self.encoder(x)).float()  # fp32 even under bf16 autocast
        if not self.is_variational:
            return stats, None
        mu, logvar = stats.chunk(2, dim=1)
        return mu, logvar

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> the unconstrained per-pixel output the likelihood scores, (B, k C, H, W)
        with k = ``likelihood.outputs``."""
        return self.decoder(z)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) -> the mean image E[x | z], (B, C, H, W) in [0, 1]."""
        return self.likelihood.mean(self.decoder_output(z).float())

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO with one posterior sample: {"loss", "recon", "kl"}, nats per image.

        Each value is the mean over the batch; ``loss = recon + beta * kl``.
        """
        mu, logvar = self.encode(x)
        if logvar is None:
            z, kl = mu, mu.new_zeros(())
        else:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # reparameterisation
            # KL(N(mu, sigma^2) || N(0, 1)) = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        recon = self.likelihood.nll(self.decoder_output(z).float(), x).mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The training objective, so the trainer (and DDP) can call the model directly."""
        return self.loss(x)

    @torch.no_grad()
    def epoch_metrics(self, terms: dict[str, float], x: torch.Tensor) -> dict[str, float]:
        """Per-epoch extras over the test images: how many latent units the model uses, by
        the two usual criteria: ``active_units`` (Var over the images of the posterior mean
        mu_d above 0.01, Burda et al. 2015) and ``kl_units`` (the unit's KL to the prior,
        averaged over the images, above 0.1 nat). A plain AE has neither."""
        if not self.is_variational or len(x) < 2:
            return {}
        stats = [self.encode(x[i:i + 1024]) for i in range(0, len(x), 1024)]
        mu = torch.cat([m for m, _ in stats]).double()
        logvar = torch.cat([lv for _, lv in stats]).double()
        kl = (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)  # (D,) nats
        return {"active_units": int((mu.var(0) > 0.01).sum()), "kl_units": int((kl > 0.1).sum())}

    @torch.no_grad()
    def iw_log_likelihood(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Importance-weighted estimate of log p(x) with ``k`` samples (Burda et al. 2015).

        log p(x) >= log (1/k) sum_i p(x, z_i) / q(z_i | x), z_i ~ q(z | x); nats per image, (B,).
        Tends to log p(x) as k grows; k = 1 is the ELBO (with beta = 1).
        """
        mu, logvar = self.encode(x)
        if logvar is None:
            raise ValueError("importance-weighted likelihood needs a VAE, not a plain AE")
        b, d = mu.shape
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(k, b, d, dtype=mu.dtype, device=mu.device)
        z = mu + std * eps  # (k, B, D)
        log_q = (-0.5 * eps**2 - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prior = (-0.5 * z**2 - 0.5 * math.log(2 * math.pi)).sum(-1)
        out = self.decoder_output(z.reshape(k * b, d)).float()
        x_rep = x.unsqueeze(0).expand(k, *x.shape).reshape(k * b, *x.shape[1:])
        log_px = -self.likelihood.nll(out, x_rep).view(k, b)
        return torch.logsumexp(log_px + log_prior - log_q, dim=0) - math.log(k)
