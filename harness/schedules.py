"""Execution schedules: in which order one update's work over the B sequences of a batch is done.

The same rule, the same batch, the same update; only the order of the scalar work (and so what
must be kept, and how far back it is read) changes:

    batched       today's: forward on the whole batch (all B sequences advanced together), then
                  credit on the whole batch, then one update (harness.training.run_update)
    per_sequence  the rule's own forward and credit on one sequence at a time (a one-sequence
                  batch), the update directions added into running sums, then one update.
                  Written once here for every rule: a rule's direction is a sum over sequences,
                  so the sums equal the batched direction up to rounding (the order of the sum).
    online        the rule's streaming form, where it has one: its `forward_online` /
                  `credit_online` on one sequence at a time (e-prop/RFLO: one H x H trace used
                  up at the end of each sequence; node perturbation: one eligibility per
                  perturbed pass, used up at that pass's end). A rule that declares "online"
                  without those methods (BPTT, TBPTT, RTRL) is its own online form one sequence
                  at a time: online = per_sequence for it.

A rule declares the schedules it supports in `SCHEDULES` (learners.base.Learner): every rule gets
("batched", "per_sequence") by default; "online" only where it has a streaming form.

Normalization. Every rule normalizes its loss by `batch.size` (L = 0.5 mean_b |y_b - t_b|^2, so
dz_y = (y - t) / B (1 - y^2)). A one-sequence batch here is a `SequenceBatch`: its arrays hold one
sequence and its `size` is the whole update's B (`norm_size`), so each sequence's contribution
is computed by exactly the arithmetic of the batched program (the same division by B at the same
place) and only the order of the sum over sequences differs. The alternative, scaling the
accumulated direction by 1/B at the end, would add a pass over every parameter (data movement the
rule does not do) and round differently. Rules must therefore use `batch.size` only as the
normalization, never as a shape (shapes come from the arrays).

Bookkeeping in the directions. An integer array among the directions (node perturbation's noise
generator state, not a direction) is carried, not summed: the next sequence's forward sees it in
its state, and the update receives the last one. So a rule that draws random numbers per update
from a generator in its state draws fresh numbers for each sequence: its per_sequence direction is
an independent draw of its estimator, not the batched draw (`PER_SEQUENCE_EQUALS_BATCHED = False`,
no equality claim).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from harness.task import TARGET_KINDS, Batch
from learners.base import rule_name

SCHEDULES = ("batched", "per_sequence", "online")


@dataclass(frozen=True)
class SequenceBatch(Batch):
    """One sequence of a batch: `segments` = [x (1, T, A)], `targets` (1, 3) (on a per_step batch
    also `step_targets` = [(1, T, 3)]); `size` is the whole update's number of sequences B (the
    loss normalization), not the arrays' first dimension."""
    norm_size: int = 1

    @property
    def size(self) -> int:
        return self.norm_size


def supported(learner) -> tuple:
    """The schedules a learner (instance or class) declares."""
    return tuple(getattr(learner, "SCHEDULES", ("batched",)))


def check_schedule(learner, schedule) -> str:
    """`schedule` if the learner supports it; a one-line ValueError naming what it supports."""
    name = rule_name(learner)
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; schedules are {', '.join(SCHEDULES)}")
    if schedule not in supported(learner):
        raise ValueError(f"learner {name!r} does not support schedule {schedule!r}; it supports "
                         f"{', '.join(supported(learner))}")
    return schedule


def target_kinds(learner) -> tuple:
    """The target kinds a learner (instance or class) declares in TARGETS (default final)."""
    return tuple(getattr(learner, "TARGETS", ("final",)))


def check_targets(learner, kind) -> str:
    """`kind` ("final" or "per_step", harness.task) if the learner supports it; a one-line
    ValueError naming the rule and the kinds it supports."""
    name = rule_name(learner)
    if kind not in TARGET_KINDS:
        raise ValueError(f"unknown target kind {kind!r}; kinds are {', '.join(TARGET_KINDS)}")
    if kind not in target_kinds(learner):
        raise ValueError(f"learner {name!r} does not support {kind} targets; it supports "
                         f"{', '.join(target_kinds(learner))}")
    return kind


def sequences(batch: Batch):
    """The sequences of `batch` in batch order, each a SequenceBatch normalized by batch.size
    (with its per-step targets on a per_step batch). Slices only (no copy, no instruction on
    tracked arrays)."""
    B, start = batch.size, 0
    steps = batch.step_targets
    for k, x in enumerate(batch.segments):           # x: (b, T, A)
        for i in range(x.shape[0]):
            yield SequenceBatch(segments=[x[i:i + 1]],
                                targets=batch.targets[start + i:start + i + 1],
                                step_targets=None if steps is None else [steps[k][i:i + 1]],
                                norm_size=B)
        start += x.shape[0]


def _is_bookkeeping(v) -> bool:
    """An integer/boolean array among the directions: carried, not summed."""
    return isinstance(v, np.ndarray) and v.dtype.kind in "iub"


def accumulate(acc: dict | None, grads: dict) -> dict:
    """Running sums of update directions: acc + grads per key (bookkeeping entries replaced)."""
    if acc is None:
        return dict(grads)
    out = dict(acc)
    for k, v in grads.items():
        out[k] = v if _is_bookkeeping(v) or k not in acc else acc[k] + v
    return out


def has_online_form(learner) -> bool:
    """True when the learner writes its own streaming form (forward_online / credit_online)."""
    return callable(getattr(learner, "forward_online", None)) \
        and callable(getattr(learner, "credit_online", None))


def direction(learner, state: dict, batch: Batch, schedule: str = "batched", phase=None,
              observe=None):
    """The update direction of one update in `schedule` (the forward and credit phases, no
    update). Returns (grads, cache): batched, the rule's own cache; otherwise {"y": outputs (B, 3)
    in batch order} (each sequence's cache is dropped once its credit is done).

    phase / observe: as harness.training.run_update (tagging "forward" and "credit" for every
    sequence; observe sees each sequence's cache, then the running sums after its credit)."""
    check_schedule(learner, schedule)
    check_targets(learner, getattr(batch, "target_kind", "final"))
    tag = phase or (lambda name: contextlib.nullcontext())
    online = schedule == "online" and has_online_form(learner)
    units = [batch] if schedule == "batched" else sequences(batch)
    acc, ys, st, cache = None, [], state, None
    for unit in units:
        with tag("forward"):
            cache = learner.forward_online(st, unit) if online else learner.forward(st, unit)
        if observe is not None:
            observe("forward", cache)
        with tag("credit"):
            if online:                                # the rule adds into its running sums
                acc = learner.credit_online(st, unit, cache, acc)
            else:                                     # its direction, summed here
                grads = learner.credit(st, unit, cache)
                acc = grads if acc is None else accumulate(acc, grads)
        if observe is not None:
            observe("credit", acc)
        carried = {k: v for k, v in acc.items() if _is_bookkeeping(v) and k in st}
        if carried:                                   # e.g. the noise generator moves on
            st = dict(st, **carried)
        ys.append(cache["y"])
    if len(ys) == 1:
        return acc, cache
    return acc, {"y": np.concatenate(ys, axis=0)}
