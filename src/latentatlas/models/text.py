"""A sentence VAE (Bowman et al. 2016): an RNN encoder to (mu, logvar), z initialises an RNN
decoder, trained on the negative ELBO with KL annealing and word dropout.

    loss(x) = -log p(x | z) + w(step) * beta * KL(q(z|x) || N(0, I))      nats per sentence

- KL annealing: w rises from 0 to 1 over ``anneal_steps`` training steps, linearly or along a
  logistic curve centred at half of them; evaluation always uses w = 1 (the true bound).
- Word dropout: each decoder *input* token after <s> is replaced by <unk> with probability
  ``word_dropout`` (the decoder must lean on z); the embedding itself is left alone.
- Free bits: each latent unit's KL counts as at least ``free_bits`` nats in the training loss.
- A target rate: with ``kl_target`` set, the training loss is recon + beta * |KL - kl_target|
  (Alemi et al. 2018, "Fixing a Broken ELBO", section 4: target a rate sigma by minimising
  D + |sigma - R|), KL being the batch's mean nats per sentence; no annealing is needed, since
  the term pushes the rate up to the target from the first step. Evaluation reports the true
  bound, recon + KL.
- ``variational=False`` gives the plain sequence autoencoder the paper compares against: z is
  the encoder's mean, no noise, no KL term.
- ``z_every_step`` also concatenates z to every decoder input, not only to the first state.
- ``softmax``: the output layer, "full" or "adaptive" (``models.softmax``).
- ``bidirectional``: the encoder reads the sentence both ways and the code comes from both
  final states (a one-way encoder's last state holds the sentence's start least well).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

from ..errors import OptionError
from .decoding import (  # the ids data.vocab gives the specials
    BOS,
    EOS,
    PAD,
    UNK,
    generate,
    rnn_step,
)
from .seqloss import sentence_nll, trim
from .softmax import SOFTMAXES, output_layer

__all__ = ["BOS", "EOS", "PAD", "UNK", "SentenceVAE", "TextModelConfig", "kl_weight",
           "word_dropout"]


@dataclass
class TextModelConfig:
    vocab_size: int
    embed_dim: int = 128
    hidden: int = 256
    latent_dim: int = 16
    cell: str = "gru"  # "gru" or "lstm"
    word_dropout: float = 0.5
    anneal: str = "logistic"  # "logistic", "linear" or "none"
    anneal_steps: int = 2000
    free_bits: float = 0.0
    beta: float = 1.0
    max_len: int = 32  # tokens per sentence, <s> and </s> excluded
    variational: bool = True
    z_every_step: bool = False
    kl_target: float | None = None  # nats per sentence; None: the (annealed) ELBO
    softmax: str = "full"  # runs made before the adaptive softmax have the full one
    bidirectional: bool = False

    def validate(self) -> None:
        if self.vocab_size < 5:
            raise ValueError(f"the vocabulary is too small ({self.vocab_size} tokens)")
        if self.latent_dim < 1:
            raise OptionError("latent_dim", f"must be at least 1, got {self.latent_dim}")
        if self.cell not in ("gru", "lstm"):
            raise OptionError("cell", f"must be gru or lstm, got {self.cell!r}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise OptionError("word_dropout", f"must lie in [0, 1), got {self.word_dropout}")
        if self.anneal not in ("logistic", "linear", "none"):
            raise OptionError("anneal", f"must be logistic, linear or none, got {self.anneal!r}")
        if self.softmax not in SOFTMAXES:
            raise OptionError("softmax", f"must be full or adaptive, got {self.softmax!r}")
        if self.kl_target is not None:
            if not self.variational:
                raise OptionError("kl_target", "needs a text-vae (an autoencoder has no KL)")
            if not self.kl_target > 0:
                raise OptionError("kl_target", f"must be above 0 nats, got {self.kl_target}")
            if self.free_bits > 0:
                raise OptionError("kl_target", "is a rate target; use it or --free-bits, "
                                  "not both")

    def to_dict(self) -> dict:
        return asdict(self)


def kl_weight(step: int, schedule: str, steps: int) -> float:
    """The KL weight after ``step`` training steps: 0 -> 1 over ``steps``."""
    if schedule == "none" or steps <= 0:
        return 1.0
    if schedule == "linear":
        return min(1.0, step / steps)
    return 1.0 / (1.0 + math.exp(-10.0 * (step / steps - 0.5)))  # logistic, 0.5 at steps/2


def word_dropout(inputs: torch.Tensor, rate: float) -> torch.Tensor:
    """Replace each real token after position 0 by <unk> with probability ``rate``."""
    if rate <= 0:
        return inputs
    drop = torch.rand(inputs.shape, device=inputs.device) < rate
    drop[:, 0] = False
    drop &= inputs != PAD
    return inputs.masked_fill(drop, UNK)


class SentenceVAE(nn.Module):
    """Sentences as (B, T) token ids (<s> ... </s> then <pad>) <-> codes (B, latent_dim)."""

    def __init__(self, config: TextModelConfig):
        super().__init__()
        config.validate()
        self.config = config
        rnn = nn.GRU if config.cell == "gru" else nn.LSTM
        self.embed = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=PAD)
        self.encoder = rnn(config.embed_dim, config.hidden, batch_first=True,
                           bidirectional=config.bidirectional)
        ways = 2 if config.bidirectional else 1
        self.to_stats = nn.Linear(ways * config.hidden, 2 * config.latent_dim)
        self.z_to_state = nn.Linear(config.latent_dim, config.hidden)
        extra = config.latent_dim if config.z_every_step else 0
        self.decoder = rnn(config.embed_dim + extra, config.hidden, batch_first=True)
        self.out = output_layer(config.hidden, config.vocab_size, config.softmax)
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))  # for annealing

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def is_variational(self) -> bool:
        return self.config.variational

    def _state(self, h: torch.Tensor):
        h = h.unsqueeze(0).contiguous()  # (1, B, H)
        return (h, torch.zeros_like(h)) if self.config.cell == "lstm" else h

    def _inputs(self, tokens: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        e = self.embed(tokens)  # (B, T, E)
        if self.config.z_every_step:
            e = torch.cat([e, z[:, None, :].expand(-1, e.shape[1], -1).to(e.dtype)], -1)
        return e

    def encode(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) ids -> mu, logvar (B, D), from the encoder's state after the last token (and,
        bidirectional, the backward state after the first)."""
        lengths = (ids != PAD).sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(self.embed(ids), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, state = self.encoder(packed)
        h = state[0] if self.config.cell == "lstm" else state  # (directions, B, H)
        last = torch.cat([h[-2], h[-1]], 1) if self.config.bidirectional else h[-1]
        mu, logvar = self.to_stats(last).float().chunk(2, dim=1)
        if not self.config.variational:
            return mu, None
        return mu, logvar

    def states(self, z: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced decoder outputs (B, T, H) for decoder ``inputs`` (B, T)."""
        out, _ = self.decoder(self._inputs(inputs, z),
                              self._state(torch.tanh(self.z_to_state(z))))
        return out

    def logits(self, z: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        """Teacher-forced next-token logits (B, T, V) for decoder ``inputs`` (B, T)."""
        return self.out(self.states(z, inputs))

    def loss(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """Negative ELBO terms, nats per sentence (means over the batch); for the plain
        autoencoder the KL terms are zero and the loss is the reconstruction NLL."""
        ids = trim(ids)
        mu, logvar = self.encode(ids)
        if logvar is None:  # the plain autoencoder
            z, kl_units = mu, torch.zeros_like(mu)
        else:
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
            kl_units = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)  # (B, D)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        if self.training:
            inputs = word_dropout(inputs, self.config.word_dropout)
        recon, tokens = sentence_nll(self.out, self.states(z, inputs), targets)
        kl = kl_units.sum(1).mean()
        if self.training and self.config.kl_target is not None:
            w, kl_train = 1.0, (kl - self.config.kl_target).abs()
            self.step += 1
        elif self.training and self.config.variational:
            w = kl_weight(int(self.step), self.config.anneal, self.config.anneal_steps)
            kl_train = kl_units.mean(0).clamp_min(self.config.free_bits).sum()
            self.step += 1
        else:
            w, kl_train = 1.0, kl
        return {"loss": recon + w * self.config.beta * kl_train, "recon": recon, "kl": kl,
                "kl_weight": torch.tensor(w), "tokens": tokens}

    def forward(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.loss(ids)

    @torch.no_grad()
    def epoch_metrics(self, terms: dict[str, float], ids: torch.Tensor) -> dict[str, float]:
        """Per-epoch extras over the test set: perplexity per token from the bound
        exp((recon + KL) / tokens) (an upper bound, comparable with a language model's) and
        active units (Var over the sentences of mu_d above 0.01)."""
        mus = torch.cat([self.encode(ids[i:i + 2048])[0] for i in range(0, len(ids), 2048)])
        active = int((mus.var(0) > 0.01).sum()) if len(mus) > 1 else 0
        bound = terms["recon"] + terms["kl"]
        return {"perplexity": math.exp(min(bound / max(terms["tokens"], 1e-9), 700.0)),
                "active_units": active}

    def decode_start(self, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The decoding state for codes (B, D): the first hidden state, and z itself."""
        h = torch.tanh(self.z_to_state(z))
        return (h, torch.zeros_like(h), z) if self.config.cell == "lstm" else (h, z)

    def decode_step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """One decoder step: (N,) tokens -> (N, V) next-token logits and the new state."""
        o, state = self._state_step(tokens, state)
        return self.out(o), state

    def _state_step(self, tokens: torch.Tensor, state: tuple[torch.Tensor, ...]):
        """One decoder step before the output layer: (N,) tokens -> (N, H) states."""
        *hs, z = state
        o, hs = rnn_step(self.decoder, self._inputs(tokens[:, None], z), tuple(hs))
        return o, (*hs, z)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, max_len: int | None = None, *, method: str = "greedy",
               temperature: float = 1.0, beam: int = 4,
               generator: torch.Generator | None = None, ban_unk: bool = False) -> torch.Tensor:
        """Codes (B, D) -> token ids (B, L), </s> then <pad> after each end (batched; see
        ``models.decoding.generate`` for the methods)."""
        max_len = max_len or self.config.max_len + 1
        return generate(self._state_step, self.decode_start(z.float()), max_len, method=method,
                        temperature=temperature, beam=beam, generator=generator,
                        ban_unk=ban_unk, output=self.out)
