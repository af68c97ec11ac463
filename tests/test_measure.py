"""harness.measure: read budgets and optional reuse distances of one measured update."""
import numpy as np
import pytest

import harness
import learners
from harness.measure import measure_update
from metrics.tracking import ReadBudgetExceeded, Tracker


def test_tracker_read_budget_raises_with_counts():
    tr = Tracker(max_reads=100)
    a = tr.track(np.ones(60), label="a")
    b = a + 1.0                                # 60 reads: within budget
    assert tr.total_reads == 60
    with pytest.raises(ReadBudgetExceeded, match="180 reads > max_reads 100") as e:
        _ = b + a                              # 120 more reads: 180 in all
    assert (e.value.reads, e.value.max_reads) == (180, 100)


def test_measure_update_budget_and_reuse_cap():
    task = harness.SequenceLookup()
    bptt = learners.get("bptt")()
    full = measure_update(bptt, task, seed=0, warm_sweeps=1)
    assert full.mean_reuse_distance is not None and full.reuse_histogram is not None
    capped = measure_update(bptt, task, seed=0, warm_sweeps=1, reuse_max_reads=full.reads - 1)
    assert capped.mean_reuse_distance is None and capped.reuse_histogram is None
    assert capped.bytedmd == full.bytedmd and capped.reads == full.reads
    with pytest.raises(ReadBudgetExceeded):
        measure_update(bptt, task, seed=0, warm_sweeps=1, max_reads=full.reads - 1)
    exact = measure_update(bptt, task, seed=0, warm_sweeps=1, max_reads=full.reads)
    assert exact.bytedmd == full.bytedmd


def test_integer_state_entries_pass_through_unpriced():
    """node_perturbation keeps its noise generator's state in the state as uint64: the tracked
    runner does not track it (it is not in the priced program's arrays), the update still
    advances it exactly as the plain update does."""
    from harness.measure import TrackedStep
    from harness.training import run_update
    task = harness.SequenceLookup()
    L = learners.get("node_perturbation")(n_perturb=1)
    rep = measure_update(L, task, seed=0, warm_sweeps=1, reuse=False)
    assert rep.bytedmd > 0
    assert not any("noise_rng" in str(a) for a in rep.by_label["label"])
    state = L.init(task, np.random.default_rng(0))
    batch = task.train_batch()
    plain, _ = run_update(L, state, batch)
    tr = Tracker()
    try:
        tracked, _ = TrackedStep(tr)(L, state, batch)
    finally:
        tr.close()
    assert type(tracked["noise_rng"]) is np.ndarray
    assert np.array_equal(tracked["noise_rng"], plain["noise_rng"])
    assert not np.array_equal(plain["noise_rng"], state["noise_rng"])


def test_returned_trace_stays_priceable_when_spilled(tmp_path, monkeypatch):
    """A trace measure_update returns must still be readable after it returns, also when the
    tracker stored it as compressed files (a study prices it again, e.g. for energy)."""
    import functools

    import harness.measure as hm
    import metrics
    from harness.formats import FormatTracker
    monkeypatch.setattr(hm, "FormatTracker", functools.partial(
        FormatTracker, spill_dir=str(tmp_path), spill_reads=10_000))
    rep, trace = measure_update(learners.get("bptt")(n_hidden=8), warm_sweeps=0,
                                return_trace=True)
    assert any(type(c).__name__ == "PackedChunk" for c in trace.chunks)   # it did spill
    assert metrics.bytedmd_price(trace).cost == rep.bytedmd
    assert metrics.energy(trace).total_pj > 0
    del trace
    import gc
    gc.collect()
    assert not any(tmp_path.rglob("*.z"))                 # the files go with the trace
