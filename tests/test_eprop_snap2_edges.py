"""Edges of e-prop and SnAp-2 (issue 8) beyond tests/test_learners_rules.py, test_formats.py,
test_schedules.py and test_per_step_rules.py:
- each step's readout is computed once (on per_step targets the output is the last step's, not
  recomputed), and no per-step gradient sums are made on final targets (an unused array is
  still movement: a measurement counts it as inputs and in ARD/DMC);
- a narrow storage format holds every stored trace or influence, the first step's included: the
  2-byte values of a float16 run are exactly the stored ones, counted from the rule's equations;
- on one-step sequences SnAp-2 keeps the whole influence (the immediate term), so its gradient
  is BPTT's;
- e-prop's trace decay range at its ends.
"""
import numpy as np
import pytest

import learners
from harness.formats import FormatTracker
from harness.measure import TrackedStep
from harness.task import Batch
from learners.snap2 import two_step_pattern
from test_rules_edges_1 import A_LETTERS, H_UNITS, _with_rule_state, case, grads_of, readout_calls


def _counting_zero_grads(L, monkeypatch):
    calls = []
    real = L.zero_grads

    def counting(state):
        calls.append(1)
        return real(state)
    monkeypatch.setattr(L, "zero_grads", counting)
    return calls


@pytest.mark.parametrize("name", ["eprop", "snap2"])
def test_each_readout_once_per_step_and_no_sums_on_final_targets(name, monkeypatch):
    """Segments of 2 x 3 and 1 x 6 steps: per_step computes the readout at each step (the
    output is the last one's) and makes its sums once; final computes it once per segment and
    makes no sums in the forward pass."""
    for per_step, want_calls, want_sums in ((True, [(2, 3)] * 3 + [(1, 3)] * 6, 1),
                                            (False, [(2, 3), (1, 3)], 0)):
        state, batch = case(31, per_step=per_step)
        L, state = _with_rule_state(name, {}, state)
        sums = _counting_zero_grads(L, monkeypatch)
        calls = readout_calls(monkeypatch)
        cache = L.forward(state, batch)
        monkeypatch.undo()
        assert calls == want_calls, per_step
        assert len(sums) == want_sums, per_step
        assert np.array_equal(cache["y"], L.predict(state, batch))


def test_eprop_online_makes_no_sums_in_its_forward_on_final_targets(monkeypatch):
    from harness import schedules
    for per_step, want in ((True, 1), (False, 0)):
        state, batch = case(32, per_step=per_step)
        L, state = _with_rule_state("eprop", {}, state)
        seq = next(schedules.sequences(batch))
        sums = _counting_zero_grads(L, monkeypatch)
        L.forward_online(state, seq)
        monkeypatch.undo()
        assert len(sums) == want, per_step


def _widths(L, state, batch, schedule="batched"):
    """The value widths (bytes) of one tracked update and its trace's nreads."""
    tr = FormatTracker(bytes_per_element=None, plain_arrays="input")
    new_state, _ = TrackedStep(tr, schedule=schedule)(L, state, batch)
    t = tr.trace(keep=new_state)
    nreads, _, widths, _ = t.arrays()
    tr.close()
    return np.asarray(widths), np.asarray(nreads)


def _one_step_case(seed):
    rng = np.random.default_rng(seed)
    state, batch = case(seed, per_step=False)
    segs = [*batch.segments, np.eye(A_LETTERS)[rng.integers(0, A_LETTERS, size=(2, 1))]]
    targets = np.concatenate([batch.targets, np.where(rng.standard_normal((2, 3)) >= 0, 1., -1.)])
    return state, Batch(segments=segs, targets=targets)


@pytest.mark.parametrize("schedule", ["batched", "online"])
@pytest.mark.parametrize("dtype, width", [("float16", 2), ("float32", 4)])
def test_eprop_traces_start_as_zeros_in_their_format(dtype, width, schedule):
    """Each sequence's three traces start as H x H + H x A + H zeros pushed at `width` bytes
    (not float64 zeros rounded at the first step), in the batched form (B sequences' traces at
    once) and the online one (one sequence's): the pushed values of that width are exactly the
    initial traces."""
    state, batch = _one_step_case(33)
    L, state = _with_rule_state("eprop", {"trace_dtype": dtype}, state)
    widths, nreads = _widths(L, state, batch, schedule)
    n_seq = sum(x.shape[0] for x in batch.segments)
    n_e = H_UNITS * H_UNITS + H_UNITS * A_LETTERS + H_UNITS
    assert int(np.sum((widths == width) & (nreads == 0))) == n_seq * n_e
    cache = L.forward(state, batch)
    assert all(e.dtype == np.dtype(dtype) for es in cache["e"] for e in es)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_snap2_float16_values_are_exactly_its_stored_influences(alpha):
    """With influence_dtype float16 the 2-byte values of an update are the stored influences
    and, with a leak (alpha < 1), the leaked influence (1 - alpha) Q^j (a Python float times a
    float16 array is float16: docs/formats.md), and nothing else: per sequence and step,
    n_j x m_j for each unit j (N(j)'s n_j units, m_j = |C(j)| + A + 1 inputs), the first step's
    (the immediate term) included, plus as many leaked on every later step; the propagation sum
    between two stores is float64. Segments of 3, 6 and 1 steps."""
    state, batch = _one_step_case(34)
    L, state = _with_rule_state("snap2", {"influence_dtype": "float16", "alpha": alpha,
                                          "density": 0.6}, state)
    widths, _ = _widths(L, state, batch)
    per_step = sum(len(N) * (len(Cj) + A_LETTERS + 1)
                   for N, Cj, _ in two_step_pattern(np.asarray(state["connectivity"])))
    seq_steps = sum(x.shape[0] * x.shape[1] for x in batch.segments)
    later_steps = sum(x.shape[0] * (x.shape[1] - 1) for x in batch.segments)
    leaked = later_steps * per_step if alpha != 1.0 else 0
    assert int(np.sum(widths == 2)) == seq_steps * per_step + leaked
    cache = L.forward(state, batch)
    assert all(q.dtype == np.float16 for Q in cache["Q"] for q in Q)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_snap2_on_one_step_sequences_is_bptt(alpha):
    """After one step dh_1/dW is the immediate term alone, which SnAp-2 keeps whole: on a batch
    of one-step sequences its gradient is BPTT's, whatever the sparsity."""
    rng = np.random.default_rng(35)
    state, _ = case(35, per_step=False)
    L, state = _with_rule_state("snap2", {"alpha": alpha, "density": 0.5}, state)
    batch = Batch(segments=[np.eye(A_LETTERS)[rng.integers(0, A_LETTERS, size=(4, 1))]],
                  targets=np.where(rng.standard_normal((4, 3)) >= 0, 1.0, -1.0))
    g = grads_of(L, state, batch)
    ref = grads_of(learners.get("bptt")(n_hidden=H_UNITS, alpha=alpha), state, batch)
    for k in ("W_hh", "W_xh", "b_h", "W_hy", "b_y"):
        assert np.max(np.abs(g[k] - ref[k])) < 1e-14, k
        assert np.shape(g[k]) == np.shape(ref[k])


def test_eprop_trace_decay_range_ends():
    """kappa in [0, 1] or None (the RFLO trace): both ends accepted, just outside refused with
    the field, the range and the value."""
    for ok in (0.0, 1.0, None):
        learners.get("eprop")(trace_decay=ok)
    for bad in (-0.01, 1.01):
        with pytest.raises(ValueError) as e:
            learners.get("eprop")(trace_decay=bad)
        assert str(e.value) == ("EpropConfig: trace_decay must be a finite number in [0, 1] or "
                                f"None, got {bad!r} (float)")
