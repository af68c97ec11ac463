"""metrics.reuse and metrics.ard_dmc against the reference vectors and naive simulations."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import metrics
from metrics.oracle import oracle_ard_dmc, oracle_reuse_distances
from metrics.trace import ProgramBuilder

from reference import load

REF = load()


@pytest.mark.parametrize("vec", REF["ard"], ids=lambda v: v["name"])
def test_ard_reference_vectors(vec):
    events = [tuple(e) for e in vec["events"]]
    assert metrics.ard(events) == vec["ard"]
    if "dmc" in vec:
        assert round(metrics.dmc(events), 2) == vec["dmc"]


def test_ard_worked_example_and_unwritten_reads():
    assert metrics.ard([("write", "a", 100), ("write", "b", 50), ("read", "a", 100)]) == 150.0
    # a read of a buffer never written is left out, but still advances the clock
    ev = [("read", "x", 7), ("write", "a", 2), ("read", "a", 2)]
    assert metrics.ard(ev) == 2.0
    assert metrics.ard([]) == 0.0 and metrics.dmc([]) == 0.0


def test_ard_bad_events():
    with pytest.raises(ValueError, match="unknown event kind 'load'"):
        metrics.ard([("load", "a", 3)])
    with pytest.raises(ValueError, match="size"):
        metrics.ard([("write", "a", -1)])
    with pytest.raises(ValueError, match="expected \\(kind, buffer, size\\)"):
        metrics.ard([("write", "a")])


events = st.lists(st.tuples(st.sampled_from(["write", "read"]), st.integers(0, 5),
                            st.integers(0, 200)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(events)
def test_ard_dmc_equal_oracle(ev):
    a, d = metrics.ard_dmc(ev)
    oa, od = oracle_ard_dmc(ev)
    assert a == pytest.approx(oa, rel=1e-12, abs=0) and d == pytest.approx(od, rel=1e-12, abs=0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-5, 12), max_size=120))
def test_reuse_distances_equal_lru_list(addresses):
    got = metrics.reuse_distances(np.asarray(addresses, np.int64))
    assert got.tolist() == oracle_reuse_distances(addresses)


def test_reuse_distances_examples_and_errors():
    assert metrics.reuse_distances([1, 2, 1, 3, 2, 2]).tolist() == [-1, -1, 1, -1, 2, 0]
    assert metrics.reuse_distances([]).tolist() == []
    with pytest.raises(TypeError, match="integers"):
        metrics.reuse_distances([0.5, 1.5])
    with pytest.raises(ValueError, match="1-D"):
        metrics.reuse_distances([[1, 2]])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 300), max_size=200))
def test_histogram_and_miss_ratio_consistent(d):
    d = np.asarray(d, np.int64)
    h = metrics.reuse_histogram(d)
    assert int(h["count"].sum()) == int((d >= 0).sum())
    for lo, hi, c in h[["bin_lo", "bin_hi", "count"]].itertuples(index=False):
        assert c == int(((d >= lo) & (d < hi)).sum())
    m = metrics.miss_ratio_curve(d)
    for size, misses in m[["cache_size", "misses"]].itertuples(index=False):
        # naive: a miss is a first access or a distance of at least the cache size
        assert misses == int(((d < 0) | (d >= size)).sum())
    assert (np.diff(m["misses"].to_numpy()) <= 0).all()
    if d.size:
        assert m["misses"].iloc[-1] == int((d < 0).sum())


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_trace_reuse_distances_equal_naive_stream(data):
    n_args = data.draw(st.integers(1, 6))
    p = ProgramBuilder(4)
    ids = [p.push() for _ in range(n_args)]
    stream = list(ids)                       # creations are touches
    reads = []
    for _ in range(data.draw(st.integers(0, 25))):
        k = data.draw(st.integers(1, 3))
        ops = [data.draw(st.sampled_from(ids)) for _ in range(k)]
        v = p.op(*ops)
        for o in ops:
            reads.append(len(stream))
            stream.append(o)
        stream.append(v)
        ids.append(v)
    trace = p.trace(keep=ids[-1:])
    want = np.asarray(oracle_reuse_distances(stream), np.int64)[reads]
    assert metrics.trace_reuse_distances(trace).tolist() == want.tolist()
