"""A small CNN image classifier to explain (fashion-mnist, or any image dataset with labels).

    conv 3x3 (c1) - ReLU - max-pool 2 - conv 3x3 (c2) - ReLU - max-pool 2 - dense - ReLU - classes
    loss = cross-entropy(logits, label)                            nats per image

The named layers (``conv1``, ``conv2``, ``dense``) are the neurons activation maximisation can
target: a channel of a conv layer (its mean over positions) or a unit of the dense layer.

Adversarial training (``adversarial`` "fgsm" or "pgd", Madry et al. 2018): each training batch
is replaced by its adversarial images within ``eps`` (``models.adversarial.perturb``; PGD with
``attack_steps`` steps) before the loss, so the model minimises the worst-case loss in the
ball. The test report then adds ``robust_accuracy``: accuracy on PGD images (10 steps, same
eps) of the first 1,000 test images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import OptionError


@dataclass
class ImageClassifierConfig:
    image_shape: tuple[int, int, int] = (1, 28, 28)
    classes: list[str] = field(default_factory=list)
    hidden: tuple[int, ...] = (32, 64, 128)  # conv1 channels, conv2 channels, dense units
    adversarial: str | None = None  # train on "fgsm" or "pgd" images (Madry et al. 2018)
    eps: float = 0.1  # the attack's L-infinity budget, pixel values in [0, 1]
    attack_steps: int = 7  # PGD steps per training batch

    def __post_init__(self):
        self.image_shape = tuple(self.image_shape)
        self.hidden = tuple(self.hidden)

    def validate(self) -> None:
        if len(self.classes) < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got {len(self.classes)}")
        if len(self.hidden) != 3 or min(self.hidden) < 1:
            raise OptionError("hidden", f"takes three positive widths (conv1,conv2,dense), got "
                             f"{self.hidden}")
        if min(self.image_shape[1:]) < 4:
            raise ValueError(f"images of {self.image_shape} are too small for two poolings")
        if self.adversarial not in (None, "fgsm", "pgd"):
            raise OptionError("adversarial", f"must be fgsm or pgd, got {self.adversarial!r}")
        if not 0 < self.eps <= 1:
            raise OptionError("eps", f"must lie in (0, 1] (pixel units), got {self.eps}")
        if self.attack_steps < 1:
            raise OptionError("attack_steps", f"must be at least 1, got {self.attack_steps}")

    def to_dict(self) -> dict:
        return asdict(self)


class ImageClassifier(nn.Module):
    """(B, C, H, W) images in [0, 1] -> (B, classes) logits."""

    is_variational = False
    layers = ("conv1", "conv2", "dense")

    def __init__(self, config: ImageClassifierConfig):
        super().__init__()
        config.validate()
        self.config = config
        c, h, w = config.image_shape
        c1, c2, d = config.hidden
        self.conv1 = nn.Conv2d(c, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.dense = nn.Linear(c2 * (h // 4) * (w // 4), d)
        self.out = nn.Linear(d, len(config.classes))

    def activations(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every named layer's output after its ReLU, and the logits."""
        a1 = F.relu(self.conv1(x))
        a2 = F.relu(self.conv2(F.max_pool2d(a1, 2)))
        d = F.relu(self.dense(F.max_pool2d(a2, 2).flatten(1)))
        return {"conv1": a1, "conv2": a2, "dense": d, "logits": self.out(d).float()}

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.activations(x)["logits"]

    def loss(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.logits(x)
        return {"loss": F.cross_entropy(logits, labels),
                "accuracy": (logits.argmax(1) == labels).float().mean()}

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """The loss on ``x``; in training with ``adversarial``, on its adversarial images."""
        c = self.config
        if self.training and c.adversarial:
            from .adversarial import perturb

            x = perturb(self, x, labels, c.eps, c.adversarial, steps=c.attack_steps)
        return self.loss(x, labels)

    def epoch_metrics(self, terms: dict[str, float], x: torch.Tensor,
                      labels: torch.Tensor) -> dict[str, float]:
        """An adversarially trained model's accuracy on PGD images (10 steps, its eps) of the
        first 1,000 test images, with a fixed random start."""
        if not self.config.adversarial:
            return {}
        from .adversarial import perturb

        x, labels = x[:1000], labels[:1000]
        adv = perturb(self, x, labels, self.config.eps, "pgd", steps=10,
                      generator=torch.Generator(x.device).manual_seed(0))
        with torch.no_grad():
            right = (self.logits(adv).argmax(1) == labels).float().mean()
        return {"robust_accuracy": float(right)}
