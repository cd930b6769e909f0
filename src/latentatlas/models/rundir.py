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

from ..data import load_spec
from ..data.pairs import load_pairs_spec
from ..data.text import load_text_spec
from ..data.vocab import Vocab
from ..errors import UserError
from ..fileio import write_atomic, write_json
from .kinds import Kind, get_kind, upgrade_format0

FORMAT = 1  # the run format this code writes; it reads 0 (no "format" key) and 1
CONFIG = "config.json"
WEIGHTS = "model.safetensors"
METRICS = "metrics.jsonl"
VOCAB = "vocab.json"


def versions() -> dict[str, str]:
    """Versions of the packages that shape a run's numbers."""
    import numpy

    from ..version import __version__

    return {"latentatlas": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "python": platform.python_version()}


def build_model(kind: str | Kind, model_config: dict[str, Any]) -> torch.nn.Module:
    """The model of ``kind`` described by ``model_config`` (a config read from a run: a value
    that cannot build a model is a UserError about the config)."""
    kind = get_kind(kind) if isinstance(kind, str) else kind
    try:
        return kind.build(model_config)
    except (TypeError, ValueError) as e:
        raise UserError(f"cannot build {kind.name} from its config: {e}") from None


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
    """Write ``config.json`` in today's format (``"format"`` first)."""
    write_json(Path(run_dir) / CONFIG, {"format": FORMAT, **config})


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``config.json`` in today's format: runs written before format 1 are upgraded
    in memory (the file is left as it is); a newer format is an error naming it."""
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
    version = config.get("format", 0)
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= FORMAT:
        from ..version import __version__

        raise UserError(f"{path} is in run format {version!r}; latentatlas {__version__} reads "
                        f"formats 0 to {FORMAT} (a newer latentatlas wrote it?)")
    if not isinstance(config["kind"], str) or not isinstance(config["model"], dict):
        raise UserError(f"{path}: 'kind' must be a string and 'model' an object")
    if version == 0:
        kind, model = upgrade_format0(config["kind"], config["model"])
        config = {**config, "kind": kind, "model": model}
    config["format"] = FORMAT
    return config


def run_kind(run_dir: str | Path) -> Kind:
    """The registered kind of the model a run holds."""
    return get_kind(read_config(run_dir)["kind"])


def read_metrics(run_dir: str | Path) -> list[dict[str, Any]]:
    """One record per trained epoch; a damaged file is a UserError naming it and the line."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}, line {number}, is not JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}, line {number}, is not a JSON object")
        records.append(record)
    return records


def load(run_dir: str | Path) -> torch.nn.Module:
    """Load the model of a run directory for use: eval mode, on the CPU, its parameters frozen
    (``requires_grad`` False), so ``model.decode(z)`` gives plain tensors (``.numpy()`` works)
    while gradients with respect to inputs still flow. To train it further, call
    ``model.train().requires_grad_(True)``."""
    config = read_config(run_dir)
    model = build_model(config["kind"], config["model"])
    weights = Path(run_dir) / WEIGHTS
    if not weights.is_file():
        raise UserError(f"{run_dir} has no {WEIGHTS} yet (has its training finished an epoch?)")
    load_weights(model, weights)
    if get_kind(config["kind"]).text:  # text models carry their vocabulary
        model.vocab = Vocab.load(Path(run_dir) / VOCAB)
        size = getattr(model.config, "vocab_size", len(model.vocab))
        if len(model.vocab) != size:
            raise UserError(f"{Path(run_dir) / VOCAB} holds {len(model.vocab)} tokens but the "
                            f"model was trained on {size}: the file does not belong to this run")
    return model.eval().requires_grad_(False)


def load_run_data(run_dir: str | Path, data_dir: str | Path | None = None):
    """Reload the dataset a run was trained on, from the spec in its config.json: ImageData
    for image runs, TextData for text runs."""
    config = read_config(run_dir)
    spec = config.get("data")
    if not isinstance(spec, dict) or "name" not in spec:
        raise UserError(f"{Path(run_dir) / CONFIG} does not name its dataset")
    return load_data(get_kind(config["kind"]), spec, data_dir)


def load_data(kind: Kind, spec: dict[str, Any], data_dir: str | Path | None = None):
    """The dataset ``spec`` describes, as the ``kind`` reads it (texts, images or x-y pairs)."""
    if kind.text:
        return load_text_spec(spec, data_dir)
    if kind.regression:
        return load_pairs_spec(spec)
    return load_spec(spec, data_dir)


def load_image_data(run_dir: str | Path, data_dir: str | Path | None = None):
    """``load_run_data`` for analyses that measure images (concepts, translation): a text run is
    a clear error, not a failure deep inside."""
    if run_kind(run_dir).text:
        raise UserError(f"{run_dir} is a text run; this command works on image runs (for "
                        "sentences see interpolate, knobs, words and audit)")
    return load_run_data(run_dir, data_dir)
