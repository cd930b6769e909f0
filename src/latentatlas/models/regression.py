"""Regression that outputs a distribution (the lecture's road to generative models).

One MLP body (tanh, as Bishop's) maps an input x (B, dx) to one of three heads:

- ``mse``: a point prediction y_hat, trained on the squared error. Where an input has several
  right answers it learns their average, which may be none of them.
- ``gaussian`` (``--variance``): a mean and a per-dimension standard deviation, trained on the
  Gaussian negative log-likelihood
      -log N(y | mu, s^2) = log s + (y - mu)^2 / (2 s^2) + log(2 pi) / 2      per dimension
  with s = exp(h / 2) (``variance_head="exp"``: h is the log-variance, clamped to [-14, 10]) or
  s = softplus(h) + 1e-3 (``"softplus"``, gentler for large h).
- ``mixture`` (a mixture density network, Bishop 1994): K components, each a weight pi_k
  (softmax), a mean and per-dimension scales; the loss is
      -log sum_k pi_k N(y | mu_k, s_k^2)
  computed with log-sum-exp over log pi_k + log N_k, so no component's density underflows.

Losses are nats per item (summed over y's dimensions, averaged over the batch); the ``mse``
head reports its squared error as ``mse`` and, for comparison, the Gaussian NLL of its
predictions under the one shared variance that fits the batch best (its mean squared error per
dimension). ``sample`` draws answers from the predicted distribution (the ``mse`` head repeats
its prediction), ``predict`` gives a point answer (the mean; a mixture's most probable
component's mean, since the mixture's own mean may fall between branches).

With ``truth`` naming a set of ``data.pairs`` (the run's dataset), ``epoch_metrics`` reports
the share of test inputs whose sampled answer is right (``on_data_rate``) and the same for the
point answer (``on_data_rate_point``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.pairs import on_data
from ..errors import OptionError

HEADS = ("mse", "gaussian", "mixture")
VARIANCE_HEADS = ("exp", "softplus")
LOG_VAR_RANGE = (-14.0, 10.0)
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


@dataclass
class RegressorConfig:
    """Everything needed to rebuild a regressor; stored in the run's config.json."""

    x_dim: int
    y_dim: int
    hidden: tuple[int, ...] = (64, 64)
    head: str = "mse"  # "mse", "gaussian" (predicted variance) or "mixture" (an MDN)
    variance_head: str = "exp"  # how a raw output becomes a scale: "exp" or "softplus"
    components: int = 1  # mixture components (the mixture head)
    truth: str | None = None  # the data.pairs set whose on-data test epoch_metrics runs
    y_names: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.hidden = tuple(self.hidden)
        self.y_names = list(self.y_names)

    def validate(self) -> None:
        if self.head not in HEADS:
            raise OptionError("head", f"must be one of {', '.join(HEADS)}, got {self.head!r}")
        if self.variance_head not in VARIANCE_HEADS:
            raise OptionError("variance_head", f"must be exp or softplus, got "
                                               f"{self.variance_head!r}")
        if self.components < 1 or (self.head != "mixture" and self.components != 1):
            raise OptionError("components", f"must be at least 1 (and 1 unless the model is "
                                            f"an mdn), got {self.components}")
        if self.x_dim < 1 or self.y_dim < 1 or not all(h >= 1 for h in self.hidden):
            raise OptionError("hidden", "widths must be positive")

    def to_dict(self) -> dict:
        return asdict(self)


class Regressor(nn.Module):
    """x (B, dx) -> a point answer, a Gaussian, or a mixture of Gaussians over y (B, dy)."""

    def __init__(self, config: RegressorConfig):
        super().__init__()
        config.validate()
        self.config = config
        layers: list[nn.Module] = []
        for a, b in zip((config.x_dim, *config.hidden[:-1]), config.hidden, strict=True):
            layers += [nn.Linear(a, b), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        k, d = config.components, config.y_dim
        per = {"mse": d, "gaussian": 2 * d, "mixture": k * (1 + 2 * d)}[config.head]
        self.out = nn.Linear(config.hidden[-1], per)

    def params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log weights (B, K), means (B, K, dy), log scales (B, K, dy)); the mse head's
        one component has log scale 0."""
        h = self.out(self.body(x))
        k, d = self.config.components, self.config.y_dim
        b = len(x)
        if self.config.head == "mse":
            return x.new_zeros(b, 1), h[:, None, :], x.new_zeros(b, 1, d)
        if self.config.head == "gaussian":
            log_pi, mu, raw = x.new_zeros(b, 1), h[:, None, :d], h[:, None, d:]
        else:
            log_pi = F.log_softmax(h[:, :k], 1)
            mu = h[:, k:k + k * d].view(b, k, d)
            raw = h[:, k + k * d:].view(b, k, d)
        return log_pi, mu, self._log_scale(raw)

    def _log_scale(self, raw: torch.Tensor) -> torch.Tensor:
        if self.config.variance_head == "exp":  # raw is a log-variance
            return 0.5 * raw.clamp(*LOG_VAR_RANGE)
        return torch.log(F.softplus(raw) + 1e-3)

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-log p(y | x), nats per item (B,); the mse head has no distribution (see
        ``forward`` for its reported NLL)."""
        return _nll(*self.params(x), y)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """A point answer (B, dy): the mean, or the most probable component's mean."""
        log_pi, mu, _ = self.params(x)
        return _point(log_pi, mu)

    @torch.no_grad()
    def sample(self, x: torch.Tensor, n: int = 1,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` answers per input (B, n, dy) drawn from the predicted distribution."""
        log_pi, mu, log_s = self.params(x)
        b, k, d = mu.shape
        if self.config.head == "mse":
            return mu.expand(b, n, d).clone()
        pick = torch.multinomial(log_pi.exp(), n, replacement=True, generator=generator)
        rows = torch.arange(b)[:, None]
        eps = torch.randn(b, n, d, generator=generator, device=x.device)
        return mu[rows, pick] + eps * log_s[rows, pick].exp()

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Loss terms, nats per item: ``loss`` (what training minimises), ``nll``, ``mse``
        (one pass of the network for all three)."""
        log_pi, mu, log_s = self.params(x)
        point = _point(log_pi, mu)
        mse = (point - y).pow(2).sum(1).mean()
        if self.config.head == "mse":
            var = (point - y).pow(2).mean(0).detach().clamp_min(1e-12)  # the best shared one
            nll = (0.5 * (point - y).pow(2) / var + 0.5 * var.log() + HALF_LOG_2PI).sum(1)
            return {"loss": mse, "nll": nll.mean().detach(), "mse": mse.detach()}
        nll = _nll(log_pi, mu, log_s, y).mean()
        return {"loss": nll, "nll": nll.detach(), "mse": mse.detach()}

    @torch.no_grad()
    def epoch_metrics(self, terms: dict[str, float], x: torch.Tensor,
                      y: torch.Tensor) -> dict[str, float]:
        """The on-data rates of one sampled answer and of the point answer per test input."""
        if self.config.truth is None:
            return {}
        was = self.training
        self.eval()
        sampled = self.sample(x, generator=torch.Generator(x.device).manual_seed(0))[:, 0]
        point = self.predict(x)
        self.train(was)
        return {"on_data_rate": float(on_data(self.config.truth, x, sampled).float().mean()),
                "on_data_rate_point": float(on_data(self.config.truth, x, point).float().mean())}


def _nll(log_pi: torch.Tensor, mu: torch.Tensor, log_s: torch.Tensor,
         y: torch.Tensor) -> torch.Tensor:
    """-log sum_k pi_k N(y | mu_k, s_k^2) (B,), by log-sum-exp over the components."""
    z = (y[:, None, :] - mu) * torch.exp(-log_s)
    log_n = (-0.5 * z.pow(2) - log_s - HALF_LOG_2PI).sum(2)  # (B, K)
    return -torch.logsumexp(log_pi + log_n, 1)


def _point(log_pi: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """The most probable component's mean (B, dy)."""
    return mu[torch.arange(len(mu)), log_pi.argmax(1)]
