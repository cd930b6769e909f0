"""Training: the one trainer, its checkpoints, evaluation."""

from .evaluate import evaluate, iw_nll
from .trainer import Interrupted, TrainConfig, prepare_run_dir, train

__all__ = ["Interrupted", "TrainConfig", "evaluate", "iw_nll", "prepare_run_dir", "train"]
