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

Execution schedules (harness/schedules.py). `SCHEDULES` names the orders in which the harness may
run one update's work over the B sequences of a batch:
    "batched"       forward and credit on the whole batch at once (every rule)
    "per_sequence"  the rule's own forward and credit on one sequence at a time, the directions
                    summed by the harness (written once there, for every rule), then one update
    "online"        the rule's streaming form: declare it only where the rule has one.
The default, ("batched", "per_sequence"), fits every rule whose update direction is a sum over
sequences of per-sequence terms; such a rule normalizes by `batch.size` (the update's B, which a
one-sequence batch of the per_sequence schedule still carries) and never uses it as a shape.
A rule that draws random numbers per update sets `PER_SEQUENCE_EQUALS_BATCHED = False` if it
keeps "per_sequence" (its per-sequence form draws afresh for each sequence: an independent draw
of its estimator, no equality claim), or leaves "per_sequence" out of `SCHEDULES`.
A rule with a streaming form writes two optional methods and adds "online" to `SCHEDULES`:
    forward_online(state, seq)             -> cache   one sequence (a one-sequence batch) forward,
                                                      keeping only the rule's per-sequence state
    credit_online(state, seq, cache, acc)  -> acc     its credit added into the running sums
                                                      `acc` (None before the first sequence)
A rule that declares "online" without them (BPTT, TBPTT, RTRL) is its own online form one
sequence at a time: online = per_sequence.

Target kinds (harness/task.py). `TARGETS` names the kinds of batch a rule learns from:
    "final"     one target per sequence, read at its last step: `batch.targets` (B, 3) (every rule)
    "per_step"  a target at every step: `batch.step_targets`, one (b, T, 3) array per segment,
                and the per-step loss of learners/rnn.py (every step's error); declare it only
                where the rule implements it. `batch.target_kind` says which kind a batch is.
The default is ("final",); the harness refuses (one-line ValueError) a per_step task for a rule
that does not declare it. The output `cache["y"]` stays the final step's, (B, 3), on both kinds.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np


_TUNED: dict | None = None


def _tuned_table() -> dict:
    """learners/tuned.json: {rule name: {"hyper": {...}, "score": ..., "source": ...}}."""
    global _TUNED
    if _TUNED is None:
        import json
        from pathlib import Path
        path = Path(__file__).with_name("tuned.json")
        _TUNED = json.loads(path.read_text()) if path.exists() else {}
    return _TUNED


class Learner:
    """Base class. Subclasses set `name`, `Config` (a dataclass) and implement the methods."""
    name: ClassVar[str] = ""
    Config: ClassVar[type] = None
    PARAMS: ClassVar[tuple] = ()
    # Hyperparameters that change with the task variant, e.g. {"variable_timing": {"lr": 0.02}}:
    # applied by `for_task` under the user's own keywords.
    TASK_DEFAULTS: ClassVar[dict] = {}
    # Execution schedules the rule supports (see the module docstring; harness/schedules.py).
    SCHEDULES: ClassVar[tuple] = ("batched", "per_sequence")
    # False for a rule whose per_sequence direction is its own per-sequence draws (not batched's).
    PER_SEQUENCE_EQUALS_BATCHED: ClassVar[bool] = True
    # Target kinds the rule learns from (see the module docstring; harness/task.py).
    TARGETS: ClassVar[tuple] = ("final",)

    @classmethod
    def tuned_hyper(cls) -> dict:
        """The hyperparameters this rule's tuning search chose (learners/tuned.json, written by
        `python -m studies.tune --adopt`, with the search table it came from). Raises
        LookupError naming the rule when it has no tuned configuration."""
        entry = _tuned_table().get(cls.name)
        if entry is None:
            raise LookupError(f"learner {rule_name(cls)!r} has no tuned configuration in "
                              f"learners/tuned.json (run python -m studies.tune --adopt)")
        return dict(entry["hyper"])

    @classmethod
    def tuned(cls, **overrides: Any) -> "Learner":
        """The rule at its tuned configuration (`tuned_hyper`), overridden by `overrides`. The
        constructor's own defaults stay the rule's defaults (for BPTT, checkpointed BPTT and
        RTRL: the v1 values)."""
        return cls(**{**cls.tuned_hyper(), **overrides})

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


def rule_name(learner) -> str:
    """A rule's name in messages and results (a learner instance or class): its `name`, or its
    class's name when it has none."""
    cls = learner if isinstance(learner, type) else type(learner)
    return learner.name or cls.__name__                # Learner.name: "" unless a rule sets it


def short_repr(v) -> str:
    """repr(v) on one line, at most 60 characters (a huge int's repr can fail or run long), for
    error messages about a bad value (the learners' and the task's checks)."""
    try:
        r = repr(v)
    except ValueError:                      # ints beyond Python's digit limit
        r = f"<{type(v).__name__} too large to print>"
    r = " ".join(r.split())
    return r if len(r) <= 60 else r[:57] + "..."


def _real(v) -> bool:
    """A finite real number (int, float, numpy number), not a bool, not a string."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return False
    return isinstance(v, (int, np.integer)) or bool(np.isfinite(v))


def number(config, name, lo=None, hi=None, lo_open=False, hi_open=False, allow_none=False):
    """Raise ValueError naming field `name` of `config` unless it is a finite real number (not a
    bool, not a string) within [lo, hi] (open ends with lo_open / hi_open); None allowed with
    allow_none."""
    v = getattr(config, name)
    if v is None and allow_none:
        return
    ok = _real(v)
    if ok and lo is not None:
        ok = v > lo if lo_open else v >= lo
    if ok and hi is not None:
        ok = v < hi if hi_open else v <= hi
    if not ok:
        rng = ("(" if lo_open else "[") + ("-inf" if lo is None else f"{lo:g}") + ", " \
            + ("inf" if hi is None else f"{hi:g}") + (")" if hi_open or hi is None else "]")
        none = " or None" if allow_none else ""
        raise ValueError(f"{type(config).__qualname__}: {name} must be a finite number in {rng}"
                         f"{none}, got {short_repr(v)} ({type(v).__name__})")


def integer(config, name, lo=1, hi=None, allow_none=False):
    """Raise ValueError naming field `name` unless it is an integer in lo..hi (not a bool, not a
    float such as 2.5 or 2.0; hi None: no upper bound); None allowed with allow_none."""
    v = getattr(config, name)
    if v is None and allow_none:
        return
    if (isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < lo
            or (hi is not None and v > hi)):
        what = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        none = " or None" if allow_none else ""
        raise ValueError(f"{type(config).__qualname__}: {name} must be an integer {what}{none}, "
                         f"got {short_repr(v)} ({type(v).__name__})")


def one_of(config, name, options):
    """Raise ValueError naming field `name` unless it is one of the strings/values `options`."""
    v = getattr(config, name)
    if not any(type(v) is type(o) and v == o for o in options):
        raise ValueError(f"{type(config).__qualname__}: {name} must be one of {options}, "
                         f"got {short_repr(v)}")


def flag(config, name):
    """Raise ValueError naming field `name` unless it is True or False."""
    v = getattr(config, name)
    if not isinstance(v, (bool, np.bool_)):
        raise ValueError(f"{type(config).__qualname__}: {name} must be True or False, "
                         f"got {short_repr(v)}")


def positive(config, *names):
    """Raise ValueError unless each named field of `config` is a finite number > 0."""
    for n in names:
        number(config, n, lo=0, lo_open=True)


def nonnegative(config, *names):
    """Raise ValueError unless each named field of `config` is a finite number >= 0."""
    for n in names:
        number(config, n, lo=0)
