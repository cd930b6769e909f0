"""A run directory on disk: config.json + model.safetensors (+ metrics.jsonl, checkpoint/).

Loading a run reads JSON and safetensors only, so it never executes code from the run.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import UserError
from ..fileio import write_atomic, write_json
from .classifier import TextClassifier, TextClassifierConfig
from .image import ImageModelConfig, ImageVAE
from .image_classifier import ImageClassifier, ImageClassifierConfig
from .lm import LanguageModel, LMConfig
from .text import SentenceVAE, TextModelConfig

MODEL_KINDS = {"image-vae": (ImageVAE, ImageModelConfig),
               "text-vae": (SentenceVAE, TextModelConfig),
               "lm": (LanguageModel, LMConfig),
               "text-classifier": (TextClassifier, TextClassifierConfig),
               "image-classifier": (ImageClassifier, ImageClassifierConfig)}
TEXT_KINDS = ("text-vae", "lm", "text-classifier")
# kinds without a latent space: the atlas, concept and explorer commands refuse them
NO_LATENT_KINDS = ("lm", "text-classifier", "image-classifier")
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.jsonl"
VOCAB = "vocab.json"


def versions() -> dict[str, str]:
    """Versions of the packages that shape a run's numbers."""
    import numpy

    from .. import __version__

    return {"latentatlas": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def build_model(kind: str, model_config: dict[str, Any]) -> torch.nn.Module:
    if kind not in MODEL_KINDS:
        raise UserError(f"unknown model kind {kind!r} in config; known: {', '.join(MODEL_KINDS)}")
    cls, cfg_cls = MODEL_KINDS[kind]
    try:
        return cls(cfg_cls(**model_config))
    except (TypeError, ValueError) as e:
        raise UserError(f"cannot build {kind} from its config: {e}") from None


def save_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Write the model's parameters and buffers to ``path`` as safetensors, atomically."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    write_atomic(path, lambda p: save_file(state, str(p)))


def load_weights(model: torch.nn.Module, path: str | Path) -> None:
    """Load safetensors weights into ``model``; a damaged or mismatched file is a UserError."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e} (truncated or corrupted?)") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[:2]
        raise UserError(
            f"{path} does not match the model in its config: {' '.join(first)}") from None


def write_config(run_dir: str | Path, config: dict[str, Any]) -> None:
    write_json(Path(run_dir) / CONFIG, config)


def read_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    if not Path(run_dir).is_dir():
        raise UserError(f"{run_dir} is not a run directory (no such folder)")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{run_dir} is not a run directory (no {CONFIG})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    if not isinstance(config, dict) or "kind" not in config or "model" not in config:
        raise UserError(f"{path} lacks 'kind' or 'model'")
    return config


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load(run_dir: str | Path) -> torch.nn.Module:
    """Load the model of a run directory in eval mode, on the CPU."""
    config = read_config(run_dir)
    model = build_model(config["kind"], config["model"])
    weights = Path(run_dir) / WEIGHTS
    if not weights.is_file():
        raise UserError(f"{run_dir} has no {WEIGHTS} yet (has its training finished an epoch?)")
    load_weights(model, weights)
    if (Path(run_dir) / VOCAB).is_file():  # text models carry their vocabulary
        from ..data.vocab import Vocab

        model.vocab = Vocab.load(Path(run_dir) / VOCAB)
    return model.eval()


def load_run_data(run_dir: str | Path, data_dir: str | Path | None = None):
    """Reload the dataset a run was trained on, from the spec in its config.json: ImageData
    for image runs, TextData for text runs."""
    from ..data import load_spec
    from ..data.text import load_text_spec

    config = read_config(run_dir)
    spec = config.get("data")
    if not isinstance(spec, dict) or "name" not in spec:
        raise UserError(f"{Path(run_dir) / CONFIG} does not name its dataset")
    if config.get("kind") in TEXT_KINDS:
        return load_text_spec(spec)
    return load_spec(spec, data_dir)


def load_image_data(run_dir: str | Path, data_dir: str | Path | None = None):
    """``load_run_data`` for analyses that measure images (concepts, translation): a text run is
    a clear error, not a failure deep inside."""
    if read_config(run_dir).get("kind") in TEXT_KINDS:
        raise UserError(f"{run_dir} is a text run; this command works on image runs (for "
                        "sentences see interpolate, knobs, words and audit)")
    return load_run_data(run_dir, data_dir)
