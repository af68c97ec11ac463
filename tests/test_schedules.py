"""Execution schedules (harness/schedules.py): per_sequence and online directions against batched,
the online forms' shapes, tracked = plain in every schedule, the data movement of online e-prop,
and one-line errors for schedules a rule does not declare."""
import numpy as np
import pytest

import harness
import learners
from harness import schedules
from harness.measure import measure_run, measure_update
from harness.training import run_update
from learners.rnn import RNNLearner

TOL = 1e-12


def _declaring(schedule, exact=True):
    out = []
    for n in learners.available():
        cls = learners.get(n)
        if schedule in cls.SCHEDULES and (not exact or cls.PER_SEQUENCE_EQUALS_BATCHED):
            out.append(n)
    return out


def _warm(learner, task, seed=0, sweeps=3):
    state = learner.init(task, np.random.default_rng(seed))
    rng = task.timing_rng(seed) if task.variable_timing else None
    for _ in range(sweeps):
        state, _ = run_update(learner, state, task.train_batch(rng))
    return state, task.train_batch(rng)


def _max_diff(a, b, names):
    return max(float(np.max(np.abs(np.asarray(a[k]) - np.asarray(b[k])))) for k in names)


def test_sequences_cover_the_batch_in_order_with_the_update_normalization():
    for task in (harness.SequenceLookup(), harness.SequenceLookup(variable_timing=True)):
        batch = task.train_batch(task.timing_rng(0) if task.variable_timing else None)
        seqs = list(schedules.sequences(batch))
        assert len(seqs) == batch.size == 20
        assert all(s.size == 20 and s.segments[0].shape[0] == 1 for s in seqs)
        assert np.array_equal(np.concatenate([s.targets for s in seqs]), batch.targets)
        rows = [x[i] for x in batch.segments for i in range(x.shape[0])]
        assert all(np.array_equal(s.segments[0][0], r) for s, r in zip(seqs, rows))


def test_the_exact_rules_declare_their_schedules():
    assert {"bptt", "tbptt", "rtrl", "eprop"} <= set(_declaring("per_sequence"))
    assert {"bptt", "tbptt", "rtrl", "eprop", "node_perturbation"} <= set(_declaring("online", False))
    assert not learners.get("node_perturbation").PER_SEQUENCE_EQUALS_BATCHED
    assert schedules.has_online_form(learners.get("eprop")())
    assert not schedules.has_online_form(learners.get("bptt")())   # online = per_sequence


@pytest.mark.parametrize("variable_timing", [False, True])
@pytest.mark.parametrize("schedule", ["per_sequence", "online"])
def test_schedule_direction_equals_batched(schedule, variable_timing):
    """Every rule that declares the schedule and claims equality: the same direction and outputs
    as batched to 1e-12 (only the order of the sum over sequences differs)."""
    task = harness.SequenceLookup(variable_timing=variable_timing)
    names = _declaring(schedule)
    assert names
    for name in names:
        learner = learners.get(name)()
        state, batch = _warm(learner, task)
        g_b, c_b = schedules.direction(learner, state, batch, "batched")
        g_s, c_s = schedules.direction(learner, state, batch, schedule)
        assert set(g_s) == set(g_b), name
        assert _max_diff(g_s, g_b, learner.PARAMS) <= TOL, name
        assert float(np.max(np.abs(c_s["y"] - c_b["y"]))) <= TOL, name
        assert min(float(np.abs(g_b[k]).max()) for k in ("W_hh", "W_xh")) > 1e-6, name  # not trivial


def test_eprop_online_keeps_one_HxH_trace_and_equals_batched_at_other_settings():
    task = harness.SequenceLookup()
    for kw in ({}, {"feedback": "readout", "alpha": 0.3, "trace_decay": None}):
        learner = learners.get("eprop")(n_hidden=12, **kw)
        state, batch = _warm(learner, task)
        seq = next(schedules.sequences(batch))
        e_xh, e_hh, e_b = learner.forward_online(state, seq)["e"]
        assert e_hh.shape == (12, 12) and e_xh.shape == (12, task.n_letters) and e_b.shape == (12,)
        g_b, _ = schedules.direction(learner, state, batch, "batched")
        g_o, _ = schedules.direction(learner, state, batch, "online")
        assert _max_diff(g_o, g_b, learner.PARAMS) <= TOL


@pytest.mark.parametrize("targets", ["final", "per_step"])
def test_node_perturbation_online_draws_the_per_sequence_noise(targets):
    """Its own draws per sequence: online equals per_sequence (same noise), neither is the batched
    draw, and the generator moves on by the same draws; on either kind of targets (online runs
    its own pass, per_sequence the batched one on one sequence at a time)."""
    task = harness.SequenceLookup(target_kind=targets)
    learner = learners.get("node_perturbation")()
    state, batch = _warm(learner, task)
    g_b, _ = schedules.direction(learner, state, batch, "batched")
    g_p, _ = schedules.direction(learner, state, batch, "per_sequence")
    g_o, _ = schedules.direction(learner, state, batch, "online")
    assert _max_diff(g_o, g_p, learner.PARAMS) <= TOL
    assert np.array_equal(g_o["noise_rng"], g_p["noise_rng"])
    assert not np.array_equal(g_p["noise_rng"], state["noise_rng"])
    assert _max_diff(g_p, g_b, ("W_hh",)) > 1e-6                 # a different draw, not claimed equal
    assert _max_diff(g_p, g_b, ("W_hy", "b_y")) <= TOL           # the readout's exact delta rule


class _BatchedOnly(RNNLearner):
    name = "batched_only"
    SCHEDULES = ("batched",)

    def forward(self, state, batch):
        return {"y": self.predict(state, batch)}

    def credit(self, state, batch, cache):
        return self.zero_grads(state)


def test_unsupported_schedule_is_a_one_line_error_naming_the_supported_ones():
    task = harness.SequenceLookup()
    with pytest.raises(ValueError, match=r"'batched_only' does not support schedule 'online'; "
                                         r"it supports batched$"):
        measure_update(_BatchedOnly(), task, schedule="online")
    with pytest.raises(ValueError, match="does not support schedule 'per_sequence'; it supports batched"):
        harness.train(_BatchedOnly(), task, sweeps=1, schedule="per_sequence")
    with pytest.raises(ValueError, match=r"^unknown schedule 'streaming'; schedules are batched, "
                                         r"per_sequence, online$"):
        measure_update(learners.get("tbptt")(), task, schedule="streaming")


def assert_tracked_equals_plain(name, kw, task, schedules):
    """Two sweeps of learner `name`(**kw) on tracked arrays give the plain run's parameters and
    history bit for bit, in each schedule."""
    for schedule in schedules:
        plain = harness.train(learners.get(name)(**kw), task, seed=1, sweeps=2, schedule=schedule)
        tracked, _ = measure_run(learners.get(name)(**kw), task, seed=1, sweeps=2,
                                 schedule=schedule)
        for k in plain.params:
            assert np.array_equal(plain.params[k], tracked.params[k]), (schedule, k)
        assert plain.history.equals(tracked.history), schedule


@pytest.mark.parametrize("name", ["bptt", "tbptt", "eprop", "node_perturbation"])
def test_tracked_run_is_bit_identical_to_plain_in_every_schedule(name):
    """(batched: tests/test_learners_rules.py) A small network keeps it quick."""
    kw = dict(n_hidden=10, **({"n_perturb": 2} if name == "node_perturbation" else {}))
    assert_tracked_equals_plain(name, kw, harness.SequenceLookup(),
                                learners.get(name).SCHEDULES[1:])


def test_training_per_sequence_follows_batched_to_rounding():
    task = harness.SequenceLookup()
    a = harness.train(learners.get("bptt")(), task, seed=0, sweeps=20)
    b = harness.train(learners.get("bptt")(), task, seed=0, sweeps=20, schedule="per_sequence")
    assert _max_diff(a.params, b.params, a.params) <= 1e-10
    assert not all(np.array_equal(a.params[k], b.params[k]) for k in a.params)   # the order differs


def test_online_eprop_moves_less_than_batched_eprop():
    """ByteDMD of one update at T = 5, H = 30 (the issue's check): online < per_sequence < batched."""
    task = harness.SequenceLookup()
    rep = {s: measure_update(learners.get("eprop")(), task, seed=0, schedule=s, reuse=False)
           for s in ("batched", "per_sequence", "online")}
    assert rep["online"].bytedmd < rep["per_sequence"].bytedmd < rep["batched"].bytedmd
    assert rep["online"].reads == rep["batched"].reads     # the same arithmetic, another order
    phases = rep["online"].by_phase.set_index("phase")["reads"]
    assert set(phases.index) == {"forward", "credit", "update"} and (phases > 0).all()


# ---- number formats per array (harness/formats.py, e-prop's trace_dtype) ----------------------
def test_format_tracker_keeps_narrower_floating_values_at_their_width():
    from harness.formats import FormatTracker
    from metrics.tracking import Tracker
    for bpe, want in ((4, {"a": 4, "h": 2, "s": 4, "c": 1}), (2, {"a": 2, "h": 2, "s": 2, "c": 1}),
                      (None, {"a": 8, "h": 2, "s": 8, "c": 1})):
        tr = FormatTracker(bytes_per_element=bpe)
        a, = tr.track_args(np.ones(3))
        h = a.astype("float16")                  # a value stored narrower on purpose
        s = a + a
        c = a > 0.5                              # boolean: never wider than its own byte
        chunk = tr.trace(keep=[h, s, c]).chunks[0]
        widths = {k: int(w) for k, w in zip("ahsc", chunk.value_bytes[::3])}
        assert widths == want, bpe
        tr.close()

    def record(t, with_bool):
        b, = t.track_args(np.ones(3))
        keep = [np.tanh(b + b)] + ([b > 0] if with_bool else [])
        out = t.trace(keep=keep).chunks[0].value_bytes.copy()
        t.close()
        return out
    # width 8 is the dtype widths exactly (the studies' default: the numbers measured before)
    assert np.array_equal(record(FormatTracker(8), True), record(Tracker(None), True))
    assert np.array_equal(record(FormatTracker(None), True), record(Tracker(None), True))
    # float64 only: the same record as Tracker at that width
    assert np.array_equal(record(FormatTracker(4), False), record(Tracker(4), False))


def test_eprop_fp16_trace_is_priced_narrower_and_stays_close_to_float64():
    task = harness.SequenceLookup()
    e64, e16 = learners.get("eprop")(), learners.get("eprop")(trace_dtype="float16")
    state, batch = _warm(e64, task)
    for schedule in ("batched", "online"):
        g64, _ = schedules.direction(e64, state, batch, schedule)
        g16, cache = schedules.direction(e16, state, batch, schedule)
        for k in ("W_hh", "W_xh", "b_h"):
            rel = float(np.abs(g16[k] - g64[k]).max() / np.abs(g64[k]).max())
            assert 0 < rel < 5e-3, (schedule, k)           # rounded to fp16, not float64
        assert np.array_equal(g16["W_hy"], g64["W_hy"])     # the readout does not read the trace
    trace16 = e16.forward_online(state, next(schedules.sequences(batch)))["e"][1]
    assert trace16.dtype == np.float16
    for bpe in (None, 4):
        r64, r16 = (measure_update(L, task, schedule="online", bytes_per_element=bpe, reuse=False)
                    for L in (e64, e16))
        assert r16.bytedmd < r64.bytedmd, bpe
    plain = harness.train(learners.get("eprop")(trace_dtype="float16", n_hidden=10), task, seed=1,
                          sweeps=2, schedule="online")
    tracked, _ = measure_run(learners.get("eprop")(trace_dtype="float16", n_hidden=10), task,
                             seed=1, sweeps=2, schedule="online", bytes_per_element=4)
    assert all(np.array_equal(plain.params[k], tracked.params[k]) for k in plain.params)
    with pytest.raises(ValueError, match="trace_dtype must be one of"):
        learners.get("eprop")(trace_dtype="int8")
