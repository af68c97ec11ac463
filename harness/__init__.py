"""Tasks, the training loop, tracked arrays and sweeps."""
from harness.task import Batch, SequenceLookup
from harness.training import DivergenceError, TrainResult, accuracy, train

__all__ = ["Batch", "SequenceLookup", "DivergenceError", "TrainResult", "accuracy", "train"]
