"""The training loop: every learner is trained and scored the same way (the v1 procedure).

Each sweep, in order: (1) forward on the training batch with the weights as they are before this
sweep's update, and a forward on the held-out batch; the sweep's logged loss and accuracies come
from these outputs; (2) the learner's credit assignment and (3) its update. `converged_sweep` is
the first 1-based sweep whose logged train accuracy is >= 0.999 (a pre-update figure). Final
accuracies are measured after the last update: `unseen_acc` on the reported unseen part and
`validation_acc` on the validation part (tuning only; see harness.task and docs/protocol.md).
With `eval_every=k`, `history` also logs validation_acc and unseen_acc at sweeps 1, 1+k, 1+2k, ...,
pre-update like every logged figure: the value at sweep s is the accuracy of the weights after
s - 1 updates, i.e. the final accuracy of the same run stopped after s - 1 sweeps.
"""
from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.task import Batch, SequenceLookup
from learners.base import rule_name

CONVERGED_ACC = 0.999
DEFAULT_SWEEPS_FIXED = 800
DEFAULT_SWEEPS_VARIABLE = 2000


class DivergenceError(RuntimeError):
    """The learner's loss became NaN or infinite; `sweep` is the 1-based sweep where it did.
    `what` replaces "loss became ..." in the message when something else did (the final
    weights, which no later loss sees)."""

    def __init__(self, learner_name: str, sweep: int, loss: float, what: str | None = None):
        self.sweep, self.loss = sweep, loss
        what = what or f"loss became {loss}"
        super().__init__(f"learner {learner_name!r} diverged: {what} at sweep {sweep}")


def plain(x) -> np.ndarray:
    """The values of an array as a plain ndarray, without counting a read: how the harness
    observes outputs. Tracked arrays expose `peek()` for this."""
    peek = getattr(x, "peek", None)
    return peek() if peek is not None else np.asarray(x)


def plain_state(state: dict) -> dict:
    """A state dict with every array observed as plain data (evaluation never counts reads)."""
    return {k: plain(v) for k, v in state.items()}


def sign_code(y: np.ndarray) -> np.ndarray:
    """Predicted code: sign(y) with 0 taken as +1."""
    return np.where(y >= 0, 1.0, -1.0)


def accuracy(y, targets) -> float:
    """All-3-bit accuracy: the fraction of sequences whose three predicted bits are all right."""
    y = plain(y)
    return float(np.mean(np.all(sign_code(y) == targets, axis=1)))


def bit_accuracy(y, targets) -> np.ndarray:
    """Per-bit accuracy, shape (3,)."""
    return np.mean(sign_code(plain(y)) == targets, axis=0)


def mse_loss(y, targets) -> float:
    """0.5 * mean over the batch of the sum over the 3 bits of (y - target)^2."""
    d = plain(y) - targets
    return float(0.5 * np.mean(np.sum(d * d, axis=1)))


@dataclass
class TrainResult:
    """What one training run produced. Accuracies are fractions in [0, 1]."""
    learner: str
    seed: int
    sweeps: int
    train_acc: float
    test_acc: float
    unseen_acc: float                   # on the reported unseen part (task.unseen_sequences)
    validation_acc: float               # on task.validation_sequences: tuning/selection only
    converged_sweep: int | None
    params: dict
    history: pd.DataFrame
    baseline_unseen_acc: float          # best constant code on unseen (chosen in hindsight)
    majority_unseen_acc: float          # the most frequent training code answered everywhere
    test_bit_acc: np.ndarray
    config: dict
    wall_s: float
    state: dict = field(repr=False, default=None)


def run_update(learner, state: dict, batch: Batch, phase=None, *, observe=None,
               schedule: str = "batched"):
    """One update, the three phases in order: forward -> credit -> update. Returns
    (new_state, cache). The one three-phase driver: train() and harness.measure run every update
    through it.

    phase: `phase(name)` a context-manager factory tagging each phase ("forward", "credit",
    "update"; the tracked runner passes its tracker's, for cost attribution); None: untagged.
    observe: `observe(name, output)` called after each phase with what it produced (the cache,
    the grads, the new state); the tracked runner names arrays with it. It must not change them.
    schedule: "batched" (the whole batch at once), "per_sequence" or "online" (forward and
    credit one sequence at a time, then one update: harness/schedules.py).
    """
    from harness.schedules import direction
    tag = phase or (lambda name: contextlib.nullcontext())
    grads, cache = direction(learner, state, batch, schedule, phase=phase, observe=observe)
    with tag("update"):
        new_state = learner.update(state, grads)
    if observe is not None:
        observe("update", new_state)
    return new_state, cache


def check_learner(func: str, learner) -> None:
    """TypeError naming `func`'s argument `learner` unless it is a Learner instance (a class
    gets a hint about the missing parentheses)."""
    from learners.base import Learner
    if isinstance(learner, Learner):
        return
    if isinstance(learner, type) and issubclass(learner, Learner):
        raise TypeError(f"{func}(): learner must be a learner instance, got the class "
                        f"{learner.__name__} (did you forget the parentheses: {learner.__name__}() "
                        f"or learners.get(name)()?)")
    raise TypeError(f"{func}(): learner must be a learner instance (learners.get(name)()), got "
                    f"{type(learner).__name__}")


def check_task(func: str, task) -> SequenceLookup:
    """The task (None: the v1 task SequenceLookup()); TypeError naming `func`'s argument `task`
    unless it is a SequenceLookup."""
    if task is None:
        return SequenceLookup()
    if not isinstance(task, SequenceLookup):
        raise TypeError(f"{func}(): task must be a harness.SequenceLookup (or None for the v1 "
                        f"task), got {type(task).__name__}")
    return task


def default_sweeps(task: SequenceLookup) -> int:
    return DEFAULT_SWEEPS_VARIABLE if task.variable_timing else DEFAULT_SWEEPS_FIXED


def train(learner, task: SequenceLookup | None = None, seed: int = 0, sweeps: int | None = None,
          *, log_test: bool = True, eval_every: int | None = None, on_sweep=None,
          step=None, schedule: str = "batched") -> TrainResult:
    """Train `learner` on `task` from model seed `seed` for `sweeps` sweeps (default: 800 fixed
    timing, 2000 variable). Raises DivergenceError naming the sweep when the loss is not finite.

    `on_sweep(sweep, row)` is called after each sweep's logging (for progress bars).
    `step(learner, state, batch) -> (state, cache)` replaces the plain forward/credit/update
    step (the tracked runner uses this); it must not change the numbers.
    `eval_every=k` (default None: off) adds `validation_acc` and `unseen_acc` columns to `history`
    at sweeps 1, 1+k, 1+2k, ... (NaN at other sweeps), measured on the weights before that sweep's
    update, for anytime curves and the validation criterion (`first_sweep_reaching`).
    `schedule`: "batched" (default), "per_sequence" or "online" (harness/schedules.py), one the
    learner declares; a given `step` must run that schedule itself (harness.measure's does).
    A per_step task (task.target_kind) needs a learner that declares it in TARGETS (else a
    one-line ValueError); the rule learns from the per-step loss, while the logged `loss` and
    every accuracy stay those of the final output against the full sequence's code.
    """
    check_learner("train", learner)
    task = check_task("train", task)
    if sweeps is None:
        sweeps = default_sweeps(task)
    if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)) or sweeps <= 0:
        raise ValueError(f"sweeps must be a positive integer, got {sweeps!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if eval_every is not None and (isinstance(eval_every, bool)
                                   or not isinstance(eval_every, (int, np.integer))
                                   or eval_every <= 0):
        raise ValueError(f"eval_every must be a positive integer or None, got {eval_every!r}")
    name = rule_name(learner)
    t0 = time.perf_counter()
    state = learner.init(task, np.random.default_rng(seed))
    timing_rng = task.timing_rng(seed) if task.variable_timing else None
    test_batch = task.test_batch()
    eval_batches = ({"validation_acc": task.validation_batch(), "unseen_acc": task.unseen_batch()}
                    if eval_every is not None else {})
    from harness.schedules import check_schedule, check_targets
    check_schedule(learner, schedule)
    check_targets(learner, task.target_kind)
    if step is None:
        step = functools.partial(run_update, schedule=schedule)

    rows = []
    converged = None
    for s in range(1, sweeps + 1):
        batch = task.train_batch(timing_rng)
        new_state, cache = step(learner, state, batch)
        y = plain(cache["y"])
        loss = mse_loss(y, batch.targets)
        if not np.isfinite(loss):
            raise DivergenceError(name, s, loss)
        row = {"sweep": s, "loss": loss, "train_acc": accuracy(y, batch.targets)}
        if log_test:
            row["test_acc"] = accuracy(learner.predict(plain_state(state), test_batch),
                                       test_batch.targets)
        if eval_every is not None and (s - 1) % eval_every == 0:
            seen = plain_state(state)
            for col, b in eval_batches.items():
                row[col] = accuracy(learner.predict(seen, b), b.targets)
        rows.append(row)
        if converged is None and row["train_acc"] >= CONVERGED_ACC:
            converged = s
        state = new_state
        if on_sweep is not None:
            on_sweep(s, row)

    tracked_state, state = state, plain_state(state)
    for k, v in state.items():
        if not np.all(np.isfinite(v)):
            raise DivergenceError(name, sweeps, float("nan"),
                                  f"{k!r} became non-finite in the update")
    train_b = task.fixed_train_batch()
    unseen_b = task.unseen_batch()
    val_b = task.validation_batch()
    y_test = learner.predict(state, test_batch)
    params = {k: plain(state[k]).copy() for k in learner.PARAMS}
    import dataclasses
    return TrainResult(
        learner=name,
        seed=seed, sweeps=int(sweeps),
        train_acc=accuracy(learner.predict(state, train_b), train_b.targets),
        test_acc=accuracy(y_test, test_batch.targets),
        unseen_acc=accuracy(learner.predict(state, unseen_b), unseen_b.targets),
        validation_acc=accuracy(learner.predict(state, val_b), val_b.targets),
        converged_sweep=converged,
        params=params,
        history=pd.DataFrame(rows),
        baseline_unseen_acc=task.constant_code_baseline("unseen")[1],
        majority_unseen_acc=task.majority_code_baseline("unseen")[1],
        test_bit_acc=bit_accuracy(y_test, test_batch.targets),
        config=dataclasses.asdict(learner.config),
        wall_s=time.perf_counter() - t0,
        state=tracked_state,
    )


def first_sweep_reaching(history: pd.DataFrame, column: str, target: float,
                         final: float | None = None) -> int | None:
    """The first 1-based sweep whose logged `column` is >= `target` (a pre-update figure, like
    `converged_sweep`: reached after sweep - 1 updates), or None if the run never reaches it
    (censored at its whole budget). Sweeps where the column was not logged (NaN, between
    `eval_every` points) are skipped, so with eval_every=k the answer is the first logged sweep at
    or after the true one. `final`, the run's final figure (after all len(history) updates, e.g.
    TrainResult.validation_acc), counts as sweep len(history) + 1 when no logged sweep reaches
    the target: reached at the whole budget."""
    if column not in history.columns:
        raise ValueError(f"history has no column {column!r} (columns: {list(history.columns)}; "
                         f"validation_acc/unseen_acc need train(..., eval_every=k))")
    hit = history.loc[history[column] >= target, "sweep"]
    if not hit.empty:
        return int(hit.iloc[0])
    if final is not None and final >= target:
        return int(len(history)) + 1
    return None
