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

Right for the right reasons (``rrr``, Ross et al. 2017): a mask of input pixels the model must
not rely on (``corners:K``, the four K x K corners, or a PNG of the image's size whose white
pixels are the ones to ignore) and the training loss
    cross-entropy + rrr_weight * mean over the batch of sum over masked pixels of
                    (d sum_k log p_k(x) / d x)^2
so the model is pushed to be locally insensitive there (double backpropagation); the training
records add the penalty as ``rrr_penalty``.
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
    rrr: str | None = None  # pixels whose input gradients are penalised: corners:K or a PNG
    rrr_weight: float = 1000.0

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
        if not self.rrr_weight > 0:
            raise OptionError("rrr_weight", f"must be positive, got {self.rrr_weight}")
        if self.rrr is not None:  # the spec only: a run loads without its PNG mask file
            rrr_mask(self.rrr, self.image_shape, read=False)

    def to_dict(self) -> dict:
        return asdict(self)


def rrr_mask(spec: str, shape: tuple[int, int, int], read: bool = True) -> torch.Tensor | None:
    """(H, W) float mask of the pixels ``rrr`` names: ``corners:K`` or a PNG file (its white,
    > 0.5, pixels); without ``read`` only the spec is checked and a PNG is not opened."""
    _, h, w = shape
    if spec.startswith("corners:"):
        try:
            k = int(spec.removeprefix("corners:"))
        except ValueError:
            k = 0
        if not 1 <= k <= min(h, w) // 2:
            raise OptionError("rrr", f"corners:K takes K between 1 and {min(h, w) // 2}, got "
                                     f"{spec!r}")
        from ..data.decoy import corners_mask

        return corners_mask((h, w), k)
    if not spec.lower().endswith(".png"):
        raise OptionError("rrr", f"must be corners:K or a .png mask, got {spec!r}")
    if not read:
        return None
    from ..data.items import load_image_file

    return (load_image_file(spec, (1, h, w), resize=False)[0] > 0.5).float()


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
        if self.training and c.rrr:
            return self._rrr_loss(x, labels)
        return self.loss(x, labels)

    def _rrr_loss(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy plus the weighted squared input gradients of the summed log
        probabilities on the masked pixels (nats per image + the penalty)."""
        if getattr(self, "_mask", None) is None or self._mask.device != x.device:
            self._mask = rrr_mask(self.config.rrr, self.config.image_shape).to(x.device)
        with torch.enable_grad():  # the penalty is a gradient, even where the caller has none
            x = x.detach().requires_grad_(True)
            logits = self.logits(x)
            (grad,) = torch.autograd.grad(F.log_softmax(logits, 1).sum(), x,
                                          create_graph=True)
        penalty = (grad * self._mask).pow(2).flatten(1).sum(1).mean()
        return {"loss": F.cross_entropy(logits, labels) + self.config.rrr_weight * penalty,
                "accuracy": (logits.argmax(1) == labels).float().mean(),
                "rrr_penalty": penalty.detach()}

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
