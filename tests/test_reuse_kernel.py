"""metrics.reuse_kernel (the compiled reuse-distance kernels) against the LRU-list oracle on the
paths the small-address tests in test_reuse_ard.py do not reach: sparse addresses (hash table),
other integer dtypes, int64 extremes, and a trace cut into several chunks."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import metrics
from metrics.oracle import oracle_reuse_distances
from metrics.trace import Trace, TraceChunk


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 15), max_size=150),
       st.sampled_from([10**9, 4611686018427, -(2**40)]))
def test_sparse_addresses_use_hash_and_equal_oracle(small, scale):
    addresses = [x * scale for x in small]
    got = metrics.reuse_distances(np.asarray(addresses, np.int64))
    assert got.tolist() == oracle_reuse_distances(addresses)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([-(2**63), 2**63 - 1, 0, -1, 7]), max_size=60))
def test_int64_extremes(addresses):
    got = metrics.reuse_distances(np.asarray(addresses, np.int64))
    assert got.tolist() == oracle_reuse_distances(addresses)


def test_other_integer_dtypes():
    a = [3, 1, 3, 2, 1, 3, 3]
    want = oracle_reuse_distances(a)
    for dt in (np.uint8, np.int16, np.int32, np.uint32, np.uint64):
        assert metrics.reuse_distances(np.asarray(a, dt)).tolist() == want


def test_hash_table_grows_past_initial_size():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 20000, 60000) * 10**12          # > 4096 distinct keys, sparse
    d = metrics.reuse_distances(a)
    _, dense = np.unique(a, return_inverse=True)
    assert np.array_equal(d, metrics.reuse_distances(dense.ravel()))


def test_trace_in_chunks_equals_one_chunk():
    rng = np.random.default_rng(1)
    n = 400
    nreads = np.where(np.arange(n) < 20, 0, rng.integers(1, 4, n)).astype(np.uint8)
    reads = np.concatenate([rng.integers(0, max(v, 1), int(k)) for v, k in enumerate(nreads)])
    whole = Trace.from_arrays(nreads, reads, 8)
    off = np.concatenate([[0], np.cumsum(nreads, dtype=np.int64)])
    cuts = [0, 37, 38, 200, n]
    chunks = [TraceChunk(a, nreads[a:b], reads[off[a]:off[b]], np.full(b - a, 8, np.uint8),
                         np.zeros(b - a, np.uint8)) for a, b in zip(cuts[:-1], cuts[1:])]
    split = Trace(chunks=chunks)
    assert np.array_equal(metrics.trace_reuse_distances(split),
                          metrics.trace_reuse_distances(whole))


def test_trace_reading_an_unknown_value_is_an_error():
    from metrics.energy_model import energy_of_trace
    bad = Trace.from_arrays(np.array([0, 1], np.uint8), np.array([5], np.int64), 8)
    for f in (metrics.trace_reuse_distances, energy_of_trace):
        with pytest.raises(ValueError, match="outside 0..1"):
            f(bad)
