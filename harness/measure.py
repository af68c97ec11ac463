"""Measuring a learner's data movement: one update, or a whole training run.

    rep = measure_update(learner, task, seed=0)           # docs/cost_model.md section 6, per update
    result, rep = measure_run(learner, task, seed=0)      # the whole run as one program

Both run the learner's unmodified code on tracked arrays (metrics.tracking) and price the record
with metrics.report. Costs are attributed to the phases forward / credit / update, and to named
arrays: the state entries by their keys (W_hh, v_W_hh, ...), the batch ("inputs", "targets"),
the per-step targets of a per_step task ("step_targets"), the forward cache ("cache:<key>") and
the update directions ("grad:<key>"); anything else is
"(unnamed)" (temporaries inside a phase).

Evaluation (accuracies, the per-sweep held-out forward) observes plain arrays and is not counted:
only the learner's own work is priced. Integer state entries (bookkeeping such as a rule's packed
noise-generator state) are passed through untracked and unpriced. Each update runs through the
one three-phase driver, harness.training.run_update, with the tracker's phase tags, in the
schedule asked for (schedule="per_sequence" or "online": the same phases, one sequence at a
time, harness/schedules.py). bytes_per_element is the width of the default format
(harness.formats: each value at min(bytes_per_element, its dtype's itemsize), so an array a rule
stores narrower, e.g. eprop(trace_dtype="float16"), keeps its own width; None: each value at its
dtype's itemsize, which equals 8). price_as {dtype: bytes}: values of that floating dtype priced
at that width, not rounded to it (pricing only; docs/formats.md).

Plain arrays (plain_arrays="input", the default here; metrics.tracking.Tracker's default is
"constant"): an untracked array a learner creates or draws inside its update (np.zeros for h_0,
np.eye, the noise of node perturbation, UORO's signs, forward gradient's tangents) lives in memory
whether or not the harness tracked it, so when it is a data operand it is brought in as fresh
input on first use (pushed at no cost, C order) and read like any other value afterwards
(metrics/tracking/plain_operands.py). Treating it as a free constant, as the reference tracer
does on its own programs, would let rules that draw random numbers move them for free.
plain_arrays="constant" gives the old measurement.
"""
from __future__ import annotations

import numpy as np

from harness.task import Batch, SequenceLookup
from harness.formats import FormatTracker, check_price_as
from metrics.tracking import TrackedArray, Tracker
from harness.schedules import check_schedule, check_targets
from harness.training import check_learner, check_task, run_update

PHASES = ("forward", "credit", "update")
_OUTPUT_LABEL = {"forward": "cache:", "credit": "grad:"}    # array names: phase output -> prefix


def _is_data(v) -> bool:
    """A state entry the tracked runner tracks: anything but an integer (or boolean) array."""
    return not (isinstance(v, np.ndarray) and v.dtype.kind in "iub")


def _arrays_in(obj):
    """Tracked arrays inside nested dicts/lists/tuples."""
    if isinstance(obj, TrackedArray):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _arrays_in(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _arrays_in(v)


class TrackedStep:
    """A `step` for harness.train that runs the learner on tracked arrays.

    The first call brings the state and batch in as the program's arguments (ByteDMD eager
    initialization: state entries in key order, then the batch's input segments, then the
    targets, then (per_step tasks) the per-step targets; the first argument ends on top). A later batch equal to the previous one (fixed
    timing) is the same tracked data, read again; a new batch (variable timing) enters as fresh
    inputs pushed at no cost.
    """

    def __init__(self, tracker: Tracker, name_arrays: bool = True, schedule: str = "batched"):
        self.tr = tracker
        self.schedule = schedule                  # harness/schedules.py
        self.name_arrays = name_arrays
        self._plain_batch = None
        self._tracked_batch = None
        self.updates = 0

    def _name(self, obj, label):
        if self.name_arrays:
            for a in _arrays_in(obj):
                self.tr.label(a, label)

    def _same_batch(self, batch: Batch) -> bool:
        prev = self._plain_batch
        return (prev is not None and len(prev.segments) == len(batch.segments)
                and all(a.shape == b.shape and np.array_equal(a, b)
                        for a, b in zip(prev.segments, batch.segments))
                and np.array_equal(prev.targets, batch.targets)
                and (prev.step_targets is None) == (batch.step_targets is None)
                and (batch.step_targets is None
                     or all(a.shape == b.shape and np.array_equal(a, b)
                            for a, b in zip(prev.step_targets, batch.step_targets))))

    def bring_in(self, state: dict, batch: Batch):
        """Track the state (if plain) and the batch; returns (tracked state, tracked batch).
        Floating-point state entries are tracked; integer ones (bookkeeping such as a rule's
        packed noise-generator state) pass through untracked and unpriced."""
        plain_state = not any(isinstance(v, TrackedArray) for v in state.values())
        if self._same_batch(batch):
            tb = self._tracked_batch
        else:
            tb = None
        keys = [k for k, v in state.items() if _is_data(v)]
        steps = list(batch.step_targets or [])        # per_step: after the targets
        if plain_state:
            n_seg = len(batch.segments)
            extra = [] if tb is not None else list(batch.segments) + [batch.targets] + steps
            tracked = self.tr.track_args(*[state[k] for k in keys], *extra)
            state = dict(state, **dict(zip(keys, tracked[:len(keys)])))
            if tb is None:
                i = len(keys) + n_seg
                tb = Batch(segments=list(tracked[len(keys):i]), targets=tracked[i],
                           step_targets=list(tracked[i + 1:]) if steps else None)
        elif tb is None:
            tb = Batch(segments=[self.tr.track(s) for s in batch.segments],
                       targets=self.tr.track(batch.targets),
                       step_targets=[self.tr.track(s) for s in steps] if steps else None)
        self._plain_batch, self._tracked_batch = batch, tb
        return state, tb

    def _observe(self, phase: str, out: dict):
        if phase in _OUTPUT_LABEL:
            for k, v in out.items():
                self._name(v, _OUTPUT_LABEL[phase] + k)

    def __call__(self, learner, state, batch):
        state, tb = self.bring_in(state, batch)
        for k, v in state.items():
            self._name(v, k)
        self._name(tb.segments, "inputs")
        self._name(tb.targets, "targets")
        if tb.step_targets is not None:
            self._name(tb.step_targets, "step_targets")
        new_state, cache = run_update(learner, state, tb, phase=self.tr.phase,
                                      observe=self._observe, schedule=self.schedule)
        self.updates += 1
        return new_state, cache


def _warm_state(learner, task: SequenceLookup, seed: int, warm_sweeps: int,
                schedule: str = "batched"):
    """The state after `warm_sweeps` plain updates in `schedule`, and the timing generator as
    train() has it."""
    state = learner.init(task, np.random.default_rng(seed))
    timing_rng = task.timing_rng(seed) if task.variable_timing else None
    for _ in range(warm_sweeps):
        state, _ = run_update(learner, state, task.train_batch(timing_rng), schedule=schedule)
    return state, timing_rng


def _check_count(func: str, name: str, value, lo: int) -> None:
    """ValueError naming `func`'s argument `name` unless it is an integer >= lo."""
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
            or value < lo):
        raise ValueError(f"{func}(): {name} must be an integer >= {lo}, got {value!r}")


def _n_reads(trace) -> int:
    return int(trace.n_reads)


def measure_update(learner, task: SequenceLookup | None = None, seed: int = 0,
                   warm_sweeps: int = 3, bytes_per_element: int | None = None,
                   strict: bool = False, reuse: bool = True, return_trace: bool = False,
                   max_reads: int | None = None, reuse_max_reads: int | None = None,
                   schedule: str = "batched", plain_arrays: str = "input",
                   price_as: dict | None = None):
    """Data movement of one update (forward, credit, update) as a function of (state, batch)
    returning the new state, after `warm_sweeps` plain updates. Returns a metrics Report (and
    the Trace with return_trace=True).

    max_reads: raise metrics.tracking.ReadBudgetExceeded once the update has made more reads
    (elements) than this. reuse_max_reads: compute element reuse distances only when the update
    has at most this many reads (they need about 40 bytes per read); the Report's
    mean_reuse_distance and reuse_histogram are None otherwise.
    schedule: "batched" (default), "per_sequence" or "online" (harness/schedules.py), one the
    learner declares (else a one-line ValueError naming those it does); the warm-up runs in it too.
    plain_arrays: "input" (default) or "constant", how the learner's untracked arrays are priced
    (module docstring). bytes_per_element, price_as: the number format (module docstring; bytes)."""
    from metrics.reporting import report
    check_learner("measure_update", learner)
    task = check_task("measure_update", task)
    _check_count("measure_update", "warm_sweeps", warm_sweeps, 0)
    _check_count("measure_update", "seed", seed, 0)
    check_schedule(learner, schedule)
    check_price_as(price_as)
    check_targets(learner, task.target_kind)
    state, timing_rng = _warm_state(learner, task, seed, warm_sweeps, schedule)
    batch = task.train_batch(timing_rng)
    tr = FormatTracker(bytes_per_element=bytes_per_element, strict=strict, max_reads=max_reads,
                       plain_arrays=plain_arrays, price_as=price_as)
    stepper = TrackedStep(tr, schedule=schedule)
    try:
        new_state, _ = stepper(learner, state, batch)
    except BaseException:
        tr.close()
        raise
    trace = tr.trace(keep=new_state)
    if reuse and reuse_max_reads is not None and _n_reads(trace) > reuse_max_reads:
        reuse = False
    rep = report(trace, reuse=reuse)
    if return_trace:            # a spilled trace's chunks keep their files until they are freed
        return rep, trace
    tr.close()
    return rep


def measure_run(learner, task: SequenceLookup | None = None, seed: int = 0,
                sweeps: int | None = None, bytes_per_element: int | None = None,
                strict: bool = False, reuse: bool = False, return_trace: bool = False,
                max_reads: int | None = None, schedule: str = "batched",
                plain_arrays: str = "input", spill_dir: str | None = None,
                reads_estimate: int | None = None, spill_reads: int = 50_000_000,
                price_as: dict | None = None):
    """Train on tracked arrays and price the whole run as one program (the stack carried across
    sweeps, liveness exact, the final state kept). Returns (TrainResult, Report): the result's
    numbers are bit-identical to harness.train on plain arrays in the same `schedule`
    (harness/schedules.py). plain_arrays, bytes_per_element, price_as: as measure_update.

    Trace storage (metrics/trace_store.py): every `spill_reads` reads the trace is stored as one
    compressed chunk (about 1 byte per read for BPTT) in a subfolder of `spill_dir` (default
    $RNN_DM_SPILL_DIR; neither set: kept in memory), removed once priced. With a spill
    directory, the free space is checked before the run against `reads_estimate` (reads) x
    BYTES_PER_READ_ESTIMATE bytes, or, without an estimate, after the first update against its
    reads x the sweeps: metrics.trace_store.SpillSpaceError names the folder and the sizes."""
    from harness.training import default_sweeps, train
    from metrics.reporting import report
    from metrics.trace_store import BYTES_PER_READ_ESTIMATE, check_free_space, resolve_spill_dir
    check_learner("measure_run", learner)
    task = check_task("measure_run", task)
    check_schedule(learner, schedule)
    check_targets(learner, task.target_kind)
    spill_dir = resolve_spill_dir(spill_dir)
    n_sweeps = sweeps if sweeps is not None else default_sweeps(task)
    if spill_dir is not None and reads_estimate is not None:
        check_free_space(spill_dir, float(reads_estimate) * BYTES_PER_READ_ESTIMATE,
                         f"a whole run of about {float(reads_estimate):.3g} reads")
    tr = FormatTracker(bytes_per_element=bytes_per_element, strict=strict, max_reads=max_reads,
                       plain_arrays=plain_arrays, spill_dir=spill_dir, spill_reads=spill_reads,
                       price_as=price_as)
    stepper = TrackedStep(tr, schedule=schedule)
    step = stepper
    if spill_dir is not None and reads_estimate is None:
        def sized_step(learner_, state, batch):    # the first update sizes the whole run
            out = stepper(learner_, state, batch)
            if stepper.updates == 1 and isinstance(n_sweeps, (int, np.integer)):
                check_free_space(spill_dir, float(tr.total_reads) * n_sweeps
                                 * BYTES_PER_READ_ESTIMATE,
                                 f"a whole run of about {float(tr.total_reads) * n_sweeps:.3g} "
                                 "reads")
            return out
        step = sized_step
    try:
        result = train(learner, task, seed=seed, sweeps=sweeps, step=step, schedule=schedule)
        trace = tr.trace(keep=result.state)
        rep = report(trace, reuse=reuse, spill_dir=spill_dir)
    except BaseException:
        tr.close()
        raise
    if not return_trace:
        tr.close()
        return result, rep
    return result, rep, trace


def peak_memory_bytes(func, *args, **kwargs) -> tuple[int, object]:
    """Peak heap memory (bytes, memray) of calling func(*args, **kwargs) in this process, and
    its return value. memray allows one tracker per process at a time: call it in a worker."""
    import os
    import tempfile

    import memray
    fd, path = tempfile.mkstemp(suffix=".memray")
    os.close(fd)
    os.unlink(path)
    try:
        with memray.Tracker(path, native_traces=False, follow_fork=False):
            out = func(*args, **kwargs)
        peak = int(memray.FileReader(path).metadata.peak_memory)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return peak, out
