"""Compact trace storage (metrics/trace_store.py): the stored chunks decode to exactly what was
recorded, prices are exactly equal to the in-memory trace's, files go where asked and are removed
when priced, a full disk fails clearly before writing."""
import os
import shutil
from collections import namedtuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import learners
import metrics.trace_store as ts
from harness.measure import measure_run
from metrics import report
from metrics.engine import bytedmd_price
from metrics.oracle import oracle_bytedmd
from metrics.trace import Trace, TraceChunk
from metrics.trace_store import PackedChunk, PackedLabel, SpillFolder, SpillSpaceError
from metrics.tracking import Tracker
from test_engine import random_trace


def packed(t: Trace, folder: SpillFolder) -> Trace:
    chunks = [PackedChunk(c.first_value, c.nreads, c.reads, c.value_bytes, c.phase, folder)
              for c in t.chunks]
    label = None
    if t.label is not None:
        bounds = [c.first_value for c in t.chunks] + [t.n_values]
        label = PackedLabel(bounds, [t.label[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
                            folder)
    return Trace(chunks=chunks, keep=t.keep, phase_names=t.phase_names, label=label,
                 label_names=t.label_names)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10 ** 6), n_chunks=st.integers(1, 4), on_disk=st.booleans())
def test_packed_traces_round_trip_and_price_exactly(tmp_path_factory, seed, n_chunks, on_disk):
    t = random_trace(seed, 300, n_chunks, 8, 0.3, True)
    folder = SpillFolder(str(tmp_path_factory.mktemp("spill")) if on_disk else None)
    p = packed(t, folder)
    for a, b in zip(t.chunks, p.chunks):
        for f in ("nreads", "reads", "value_bytes", "phase"):
            assert np.array_equal(getattr(a, f), getattr(b, f)), f
        assert a.n_reads == b.n_reads and a.n_values == b.n_values
    if t.label is not None:
        assert np.array_equal(np.asarray(p.label), t.label) and len(p.label) == len(t.label)
    r0 = bytedmd_price(t, return_depths=True)
    r1 = bytedmd_price(p, return_depths=True)
    assert r1.cost == r0.cost == oracle_bytedmd(t)["cost"]
    assert np.array_equal(r1.depths, r0.depths)
    assert np.array_equal(r1.phase_cost, r0.phase_cost)
    assert np.array_equal(r1.label_cost, r0.label_cost)
    folder.close()


def test_extreme_read_distances_round_trip():
    # reads far back (beyond int32) and the full int64 range survive the encoding
    first = 2 ** 40
    nreads = np.array([2, 1, 3], np.uint8)
    reads = np.array([0, 2 ** 40 - 1, 5, 2 ** 40 + 1, 2 ** 40, 2 ** 35], np.int64)
    c = PackedChunk(first, nreads, reads, np.full(3, 8, np.uint8), np.zeros(3, np.uint8),
                    SpillFolder(None))
    assert np.array_equal(c.reads, reads) and c.reads.dtype == np.int64


def test_tracker_spills_compactly_under_spill_dir_and_removes_it(tmp_path):
    spill = tmp_path / "spill"                     # made when first needed, removed when empty
    tr = Tracker(spill_reads=50, spill_dir=str(spill))
    A, B = tr.track_args(np.ones((6, 6)), np.ones((6, 6)))
    tr.label(A, "A")
    D = (A @ B) @ A
    t = tr.trace(keep=D)
    assert any(isinstance(c, PackedChunk) for c in t.chunks)
    assert isinstance(t.label, PackedLabel)
    files = [f for _, _, fs in os.walk(spill) for f in fs]
    assert files and tr.stored_bytes() > 0
    tr2 = Tracker()
    A2, B2 = tr2.track_args(np.ones((6, 6)), np.ones((6, 6)))
    tr2.label(A2, "A")
    t2 = tr2.trace(keep=(A2 @ B2) @ A2)
    assert np.array_equal(t.arrays()[1], t2.arrays()[1])
    assert np.array_equal(np.asarray(t.label), t2.label)
    r, r2 = bytedmd_price(t), bytedmd_price(t2)
    assert r.cost == r2.cost and np.array_equal(r.label_cost, r2.label_cost)
    tr.close()
    assert not spill.exists()


def test_no_spill_dir_keeps_compressed_chunks_in_memory(tmp_path, monkeypatch):
    monkeypatch.delenv(ts.SPILL_ENV, raising=False)
    monkeypatch.setattr(ts.tempfile, "tempdir", str(tmp_path))   # nothing may land in temp
    tr = Tracker(spill_reads=50)
    A, B = tr.track_args(np.ones((6, 6)), np.ones((6, 6)))
    t = tr.trace(keep=(A @ B) @ A)
    assert any(isinstance(c, PackedChunk) for c in t.chunks)
    assert tr.spill_dir is None and tr.stored_bytes() == 0
    assert list(tmp_path.iterdir()) == []


def test_env_var_names_the_spill_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ts.SPILL_ENV, str(tmp_path))
    assert Tracker().spill_dir == str(tmp_path)
    assert ts.resolve_spill_dir(str(tmp_path / "x")) == str(tmp_path / "x")
    with pytest.raises(TypeError, match="spill_dir must be a folder path"):
        ts.resolve_spill_dir(3)


Usage = namedtuple("Usage", "total used free")


def test_full_disk_fails_clearly_before_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.shutil, "disk_usage", lambda p: Usage(10 ** 9, 10 ** 9, 10 ** 6))
    calls = []
    import harness.training as training
    monkeypatch.setattr(training, "run_update",
                        lambda *a, **k: calls.append(1) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(SpillSpaceError, match=r"spill directory .*needs about .* GB but only "
                                              r"0\.00 GB are free"):
        measure_run(learners.get("bptt")(), sweeps=5, spill_dir=str(tmp_path),
                    reads_estimate=10 ** 9)
    assert calls == []


def test_full_disk_found_after_the_first_update(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.shutil, "disk_usage", lambda p: Usage(10 ** 9, 10 ** 9, 10 ** 6))
    with pytest.raises(SpillSpaceError, match="whole run of about"):
        measure_run(learners.get("bptt")(n_hidden=4), sweeps=400, spill_dir=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_chunk_write_checks_space(tmp_path, monkeypatch):
    monkeypatch.setattr(ts.shutil, "disk_usage", lambda p: Usage(10 ** 9, 10 ** 9, 10))
    with pytest.raises(SpillSpaceError, match="a trace chunk"):
        SpillFolder(str(tmp_path)).put(b"x" * 100)


def test_measure_run_spilled_equals_in_memory(tmp_path):
    lr = learners.get("bptt")(n_hidden=6)
    r0, rep0 = measure_run(lr, sweeps=4)
    r1, rep1 = measure_run(lr, sweeps=4, spill_dir=str(tmp_path / "s"), spill_reads=20_000)
    assert r0.converged_sweep == r1.converged_sweep and r0.unseen_acc == r1.unseen_acc
    for f in ("reads", "writes", "read_bytes", "write_bytes", "inputs", "bytedmd", "ard", "dmc",
              "escapes", "peak_live_values", "peak_live_bytes"):
        assert getattr(rep0, f) == getattr(rep1, f), f
    assert rep0.by_phase.equals(rep1.by_phase) and rep0.by_label.equals(rep1.by_label)
    assert not (tmp_path / "s").exists()                # removed when priced


def test_report_prices_a_spilled_trace_with_spilled_flags(tmp_path):
    t = random_trace(5, 500, 4, 8, 0.3, True)
    r0 = report(t, reuse=False)
    folder = SpillFolder(str(tmp_path / "f"))
    p = packed(t, folder)
    r1 = bytedmd_price(p, spill=True, spill_dir=str(tmp_path / "g"))
    assert r1.cost == r0.bytedmd
    folder.close()
    assert shutil.disk_usage(tmp_path).free > 0


def test_study_spill_dir_flag(tmp_path, monkeypatch):
    from studies import compare_learners
    from studies.common import begin, cli
    monkeypatch.delenv(ts.SPILL_ENV, raising=False)

    def start(argv):
        args = compare_learners.parse_args(argv)
        begin(args, compare_learners.STUDY, compare_learners.task_list(args)[0])
        return 0
    assert cli(start, ["--learners", "bptt", "--out", str(tmp_path / "o")]) == 0
    assert os.environ[ts.SPILL_ENV] == str((tmp_path / "o" / "spill").resolve())
    assert cli(start, ["--learners", "bptt", "--out", str(tmp_path / "o"),
                       "--spill-dir", str(tmp_path / "s")]) == 0
    assert os.environ[ts.SPILL_ENV] == str((tmp_path / "s").resolve())
    (tmp_path / "afile").write_text("x")
    assert cli(start, ["--learners", "bptt", "--out", str(tmp_path / "o"),
                       "--spill-dir", str(tmp_path / "afile")]) == 2
