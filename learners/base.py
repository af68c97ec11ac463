"""The learner interface: what a credit-assignment rule implements.

A learner is one class in one file. It is constructed with keyword hyperparameters, kept in a
dataclass `Config` whose defaults are the rule's defaults. Its state (parameters and optimizer
state) is a plain dict of numpy arrays that the harness owns and passes in; the learner's methods
are pure functions of their arguments, written in plain numpy, so the harness can run the very
same code on instrumented arrays and attribute costs to each phase:

    init(task, rng)               -> state      dict of arrays: parameters and optimizer state
    forward(state, batch)         -> cache      dict; cache["y"] is the output, shape (B, 3)
    credit(state, batch, cache)   -> grads      dict of update directions, by parameter name
    update(state, grads)          -> state      the new state (a new dict)
    predict(state, batch)         -> y          outputs (B, 3), no learning

`PARAMS` names the entries of the state that are network parameters (what `result.params`
reports); everything else in the state is optimizer or rule state (momentum, eligibility traces).
A rule that learns online inside the forward pass (RTRL, e-prop) may keep its running quantities
in `cache` and finish them in `credit`: the phases are forward / credit assignment / update as the
rule defines them.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np


class Learner:
    """Base class. Subclasses set `name`, `Config` (a dataclass) and implement the methods."""
    name: ClassVar[str] = ""
    Config: ClassVar[type] = None
    PARAMS: ClassVar[tuple] = ()
    # Hyperparameters that change with the task variant, e.g. {"variable_timing": {"lr": 0.02}}:
    # applied by `for_task` under the user's own keywords.
    TASK_DEFAULTS: ClassVar[dict] = {}

    @classmethod
    def for_task(cls, task, **hyper: Any) -> "Learner":
        """A learner with the defaults for this task variant, overridden by `hyper`."""
        merged = dict(cls.TASK_DEFAULTS.get("variable_timing", {})) if task.variable_timing else {}
        merged.update(hyper)
        return cls(**merged)

    def __init__(self, **hyper: Any):
        if self.Config is None or not dataclasses.is_dataclass(self.Config):
            raise TypeError(f"{type(self).__name__} must define a dataclass `Config`")
        names = {f.name for f in dataclasses.fields(self.Config)}
        unknown = sorted(set(hyper) - names)
        if unknown:
            raise TypeError(f"learner {self.name!r}: unknown hyperparameter(s) {unknown}; "
                            f"known: {sorted(names)}")
        self.config = self.Config(**hyper)
        check = getattr(self.config, "validate", None)
        if check is not None:
            check()

    def __repr__(self):
        return f"{type(self).__name__}({self.config})"

    # ---- the interface ---------------------------------------------------------------------
    def init(self, task, rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def forward(self, state: dict, batch) -> dict:
        raise NotImplementedError

    def credit(self, state: dict, batch, cache: dict) -> dict:
        raise NotImplementedError

    def update(self, state: dict, grads: dict) -> dict:
        raise NotImplementedError

    def predict(self, state: dict, batch):
        return self.forward(state, batch)["y"]


def positive(config, *names):
    """Raise ValueError unless each named field of `config` is > 0."""
    for n in names:
        v = getattr(config, n)
        if not (isinstance(v, (int, float, np.integer, np.floating)) and v > 0):
            raise ValueError(f"{type(config).__qualname__}: {n} must be > 0, got {v!r}")


def nonnegative(config, *names):
    """Raise ValueError unless each named field of `config` is >= 0."""
    for n in names:
        v = getattr(config, n)
        if not (isinstance(v, (int, float, np.integer, np.floating)) and v >= 0):
            raise ValueError(f"{type(config).__qualname__}: {n} must be >= 0, got {v!r}")
