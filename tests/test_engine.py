"""metrics.engine.bytedmd_price against the reference vectors and against metrics.oracle."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from metrics.costs import _read_cost_many, byte_prefix_cost, read_cost
from metrics.engine import bytedmd_price
from metrics.oracle import byte_cost, oracle_bytedmd
from metrics.trace import ProgramBuilder, Trace, TraceChunk

from reference import load

REF = load()
BYTEDMD = {v["name"]: v for v in REF["bytedmd"]}


# ------------------------------------------------------------------------------------------
# the reference programs, written as scalar instructions (docs/cost_model.md sections 1 and 2)
# ------------------------------------------------------------------------------------------

def push_args(p: ProgramBuilder, shapes):
    """Push the arguments: the last argument first, each in C order; returns index arrays of
    value ids with the arguments' shapes, in argument order."""
    out = [None] * len(shapes)
    for i in range(len(shapes) - 1, -1, -1):
        n = int(np.prod(shapes[i], dtype=np.int64))
        out[i] = np.array([p.push() for _ in range(n)], dtype=np.int64).reshape(shapes[i])
    return out


def prog_add3(nbytes):
    p = ProgramBuilder(nbytes)
    a, b, c = push_args(p, [(), (), ()])
    s = p.op(int(a), int(b))
    r = p.op(s, int(c))
    return p.trace(keep=[r])


def prog_dot(n):
    p = ProgramBuilder(1)
    a, b = push_args(p, [(n,), (n,)])
    s = p.op(a[0], b[0])
    for k in range(1, n):
        t = p.op(a[k], b[k])
        s = p.op(s, t)
    return p.trace(keep=[s])


def prog_ewmul(n):
    p = ProgramBuilder(1)
    a, b = push_args(p, [(n,), (n,)])
    out = [p.op(a[i], b[i]) for i in range(n)]
    return p.trace(keep=out)


def prog_rowsum(m, n):
    p = ProgramBuilder(1)
    (A,) = push_args(p, [(m, n)])
    out = []
    for i in range(m):
        s = A[i, 0]
        for k in range(1, n):
            s = p.op(s, A[i, k])
        out.append(s)
    return p.trace(keep=out)


def prog_matvec(n):          # lambda A, x: A @ x
    p = ProgramBuilder(1)
    A, x = push_args(p, [(n, n), (n,)])
    out = []
    for i in range(n):
        s = p.op(A[i, 0], x[0])
        for k in range(1, n):
            t = p.op(A[i, k], x[k])
            s = p.op(s, t)
        out.append(s)
    return p.trace(keep=out)


def prog_vecmat(n):          # lambda A, x: x @ A
    p = ProgramBuilder(1)
    A, x = push_args(p, [(n, n), (n,)])
    out = []
    for j in range(n):
        s = p.op(x[0], A[0, j])
        for k in range(1, n):
            t = p.op(x[k], A[k, j])
            s = p.op(s, t)
        out.append(s)
    return p.trace(keep=out)


def prog_matmul(n):          # lambda A, B: A @ B
    p = ProgramBuilder(1)
    A, B = push_args(p, [(n, n), (n, n)])
    out = []
    for i in range(n):
        for j in range(n):
            s = p.op(A[i, 0], B[0, j])
            for k in range(1, n):
                t = p.op(A[i, k], B[k, j])
                s = p.op(s, t)
            out.append(s)
    return p.trace(keep=out)


PROGRAMS = {
    "add3": lambda: prog_add3(1), "add3_2byte": lambda: prog_add3(2),
    "add3_4byte": lambda: prog_add3(4), "dot2": lambda: prog_dot(2),
    "ewmul5": lambda: prog_ewmul(5), "rowsum3x4": lambda: prog_rowsum(3, 4),
    **{f"matvec{n}": (lambda n=n: prog_matvec(n)) for n in (2, 4, 8)},
    **{f"vecmat{n}": (lambda n=n: prog_vecmat(n)) for n in (2, 4, 8)},
    **{f"matmul{n}": (lambda n=n: prog_matmul(n)) for n in (2, 4, 8)},
}


def test_every_reference_vector_has_a_program():
    assert set(PROGRAMS) == set(BYTEDMD)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_reference_vector(name):
    ref = BYTEDMD[name]
    trace = PROGRAMS[name]()
    bpe = ref["bytes_per_element"]
    o = oracle_bytedmd(Trace.from_arrays(*trace.arrays()[:2], np.uint8(bpe),
                                         trace.arrays()[3], keep=trace.keep))
    r = bytedmd_price(trace, bytes_per_element=bpe, return_depths=True)
    assert o["cost"] == ref["cost"] and o["reads"] == ref["reads"]
    assert r.cost == ref["cost"] and r.reads == ref["reads"]
    assert r.depths.dtype == np.int64 and r.depths.tolist() == o["depths"]
    if "trace" in ref:
        assert o["depths"] == ref["trace"]
        assert r.depths.tolist() == ref["trace"]
    # the builder's own width gives the same answer as the override
    assert bytedmd_price(trace).cost == ref["cost"]


# ------------------------------------------------------------------------------------------
# exact integer cost arithmetic
# ------------------------------------------------------------------------------------------

def test_prefix_cost_formula():
    acc = 0
    for n in range(0, 3000):
        if n:
            acc += math.isqrt(n - 1) + 1   # ceil(sqrt(n))
        assert byte_prefix_cost(n) == acc
    for d in range(1, 400):
        for b in range(1, min(d, 9) + 1):
            assert read_cost(d, b) == byte_cost(d, b)


def test_kernel_cost_matches_formula_large_depths():
    rng = np.random.default_rng(1)
    sq = rng.integers(1, 3_000_000, 2000).astype(np.int64) ** 2
    depth = np.concatenate([sq - 1, sq, sq + 1, rng.integers(1, 1 << 44, 3000)]).astype(np.int64)
    nbytes = rng.integers(1, 256, depth.shape[0]).astype(np.int64)
    depth = np.maximum(depth, nbytes)
    got = _read_cost_many(depth, nbytes)
    want = [read_cost(int(d), int(b)) for d, b in zip(depth, nbytes)]
    assert got.tolist() == want


# ------------------------------------------------------------------------------------------
# random well-formed traces against the oracle
# ------------------------------------------------------------------------------------------

def random_trace(seed: int, n: int, n_chunks: int, max_width: int = 8, p_push: float = 0.3,
                 labels: bool = True) -> Trace:
    """Random pushes and instructions reading 1..3 earlier values (repeats allowed), mostly
    recent ones, random widths 1..max_width, keep set, phases and labels, split in chunks."""
    rng = np.random.default_rng(seed)
    nreads = np.zeros(n, np.uint8)
    reads = []
    for v in range(1, n):
        if rng.random() < p_push:
            continue
        k = int(rng.integers(1, 4))
        lo = max(0, v - int(rng.integers(1, 20))) if rng.random() < 0.7 else 0
        rs = rng.integers(lo, v, size=k)
        if k > 1 and rng.random() < 0.2:
            rs[-1] = rs[0]                       # a + a
        nreads[v] = k
        reads.extend(int(x) for x in rs)
    reads = np.array(reads, np.int64)
    vb = rng.integers(1, max_width + 1, size=n).astype(np.uint8)
    n_ph = int(rng.integers(1, 4))
    ph = rng.integers(0, n_ph, size=n).astype(np.uint8)
    keep = rng.choice(n, size=int(rng.integers(0, min(n, 4) + 1)), replace=False).astype(np.int64)
    off = np.concatenate([[0], np.cumsum(nreads, dtype=np.int64)])
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(n_chunks - 1, n - 1), replace=False))
    bounds = [0, *cuts.tolist(), n]
    chunks = [TraceChunk(a, nreads[a:b], reads[off[a]:off[b]], vb[a:b], ph[a:b])
              for a, b in zip(bounds[:-1], bounds[1:])]
    n_lab = int(rng.integers(1, 5))
    lab = rng.integers(0, n_lab, size=n).astype(np.uint16) if labels else None
    return Trace(chunks=chunks, keep=keep, phase_names=[f"ph{i}" for i in range(n_ph)],
                 label=lab, label_names=[f"lab{i}" for i in range(n_lab)])


def check_against_oracle(trace: Trace, **kw):
    o = oracle_bytedmd(trace)
    r = bytedmd_price(trace, return_depths=True, **kw)
    assert r.cost == o["cost"]
    assert r.reads == o["reads"] == trace.n_reads
    assert r.depths.tolist() == o["depths"]
    assert r.phase_cost.tolist() == [o["phase_cost"][nm] for nm in trace.phase_names]
    # per-read costs from the oracle's byte depths give the phase/label splits
    nreads, reads, vb, ph = trace.arrays()
    per_read = [byte_cost(int(d), int(vb[v])) for d, v in zip(o["byte_depths"], reads)]
    instr = np.repeat(np.arange(nreads.shape[0]), nreads.astype(np.int64))
    want_pr = np.bincount(ph[instr], minlength=len(trace.phase_names))
    assert r.phase_reads.tolist() == want_pr.tolist()
    lab = np.zeros(nreads.shape[0], np.int64) if trace.label is None else trace.label.astype(np.int64)
    n_lab = len(trace.label_names)
    want_lc = np.zeros(n_lab, np.int64)
    want_lr = np.zeros(n_lab, np.int64)
    for c, v in zip(per_read, reads):
        want_lc[lab[v]] += c
        want_lr[lab[v]] += 1
    assert r.label_cost.tolist() == want_lc.tolist()
    assert r.label_reads.tolist() == want_lr.tolist()
    assert sum(per_read) == r.cost
    return r


trace_params = st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 160), st.integers(1, 6),
                         st.integers(1, 8), st.sampled_from([0.0, 0.3, 0.6]), st.booleans())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_params, st.sampled_from([1, 2, 3, 5, 64, 1 << 16]))
def test_random_traces_match_oracle(params, cap):
    seed, n, n_chunks, width, p_push, labels = params
    check_against_oracle(random_trace(seed, n, n_chunks, width, p_push, labels), ts_capacity=cap)


@settings(max_examples=30, deadline=None)
@given(trace_params, st.integers(1, 8))
def test_bytes_per_element_override(params, bpe):
    seed, n, n_chunks, width, p_push, labels = params
    t = random_trace(seed, n, n_chunks, width, p_push, labels)
    nreads, reads, vb, ph = t.arrays()
    o = oracle_bytedmd(Trace.from_arrays(nreads, reads, np.uint8(bpe), ph, keep=t.keep,
                                         phase_names=t.phase_names))
    r = bytedmd_price(t, bytes_per_element=bpe, return_depths=True, ts_capacity=4)
    assert r.cost == o["cost"] and r.depths.tolist() == o["depths"]


def test_compaction_happens_and_is_exact():
    t = random_trace(7, 3000, 5, 8, 0.2, True)
    r = check_against_oracle(t, ts_capacity=2)
    assert r.compactions > 10
    assert bytedmd_price(t).compactions == 0       # default capacity never runs out here


def test_a_plus_a_is_charged_twice_at_the_same_depth():
    p = ProgramBuilder(1)
    b, a = p.push(), p.push()
    s = p.op(b, b)          # b at depth 2, twice
    r = p.op(s, a)
    res = bytedmd_price(p.trace(keep=[r]), return_depths=True)
    assert res.depths.tolist() == [2, 2, 1, 2]
    assert res.cost == 2 + 2 + 1 + 2


def test_unread_values_leave_and_kept_values_stay():
    p = ProgramBuilder(1)
    x = p.push()
    junk = [p.push() for _ in range(10)]      # never read: they leave at once
    y = p.op(x)
    kept = p.push()                           # kept but never read: stays, under later values
    z = p.op(y)
    res = bytedmd_price(p.trace(keep=[kept, z]), return_depths=True)
    assert res.depths.tolist() == [1, 2]      # y sits under `kept`
    assert len(junk) == 10


def test_streams_memory_mapped_chunks_and_spills(tmp_path):
    t = random_trace(3, 2000, 4, 8, 0.3, True)
    o = oracle_bytedmd(t)
    chunks = []
    for i, c in enumerate(t.chunks):
        arrs = {}
        for f in ("nreads", "reads", "value_bytes", "phase"):
            np.save(tmp_path / f"{i}_{f}.npy", getattr(c, f))
            arrs[f] = np.load(tmp_path / f"{i}_{f}.npy", mmap_mode="r")
        chunks.append(TraceChunk(c.first_value, **arrs))
    tm = Trace(chunks=chunks, keep=t.keep, phase_names=t.phase_names, label=t.label,
               label_names=t.label_names)
    for spill in (False, True):
        r = bytedmd_price(tm, return_depths=True, spill=spill, spill_dir=str(tmp_path))
        assert r.cost == o["cost"] and r.depths.tolist() == o["depths"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == []   # spill cleaned up


def test_empty_and_push_only_traces():
    r = bytedmd_price(Trace(chunks=[]))
    assert r.cost == 0 and r.reads == 0 and r.phase_cost.tolist() == [0]
    d = bytedmd_price(Trace(chunks=[]), return_depths=True).depths
    assert d.dtype == np.int64 and d.shape == (0,)
    p = ProgramBuilder(4)
    for _ in range(5):
        p.push()
    r = bytedmd_price(p.trace(keep=[0, 4]), return_depths=True)
    assert r.cost == 0 and r.reads == 0 and r.depths.shape == (0,)
    assert r.peak_live_values == 2 and r.peak_live_bytes == 8


def test_malformed_traces_raise():
    with pytest.raises(ValueError, match="before it is created"):
        bytedmd_price(Trace.from_arrays([0, 1], [1], 1))          # reads itself
    with pytest.raises(ValueError, match="keep"):
        bytedmd_price(Trace.from_arrays([0, 1], [0], 1, keep=[5]))
    with pytest.raises(ValueError, match="nreads sums"):
        bytedmd_price(Trace.from_arrays([0, 2], [0], 1))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_params, st.sampled_from([1, 2, 4, 16]), st.sampled_from([1, 3, 1 << 16]))
def test_small_window_goes_through_the_hash_map_and_is_exact(params, window, cap):
    """Values older than the direct-indexed window find their timestamp in the hash map."""
    seed, n, n_chunks, width, p_push, labels = params
    check_against_oracle(random_trace(seed, n, n_chunks, width, p_push, labels), ts_capacity=cap,
                         window=window)


# ------------------------------------------------------------------------------------------
# the boundary of the exact-cost table (reads at the last tabulated depth and just past it)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [1, 4, 8])
def test_reads_at_the_cost_table_boundary_are_exact(width):
    """The engine prices a read at element depth q from a table when q < len(table) and by the
    formula beyond: reads at the last tabulated depth, at the first depth past it and at the
    depth after that cost exactly read_cost (an off-by-one at the table's end would price them
    at 0 or read past it). The program pushes n values and reads them oldest first, each for
    the last time (the others are kept), so the reads are at depths n, n - 1, ..., n - 4."""
    from metrics.costs import _cost_table_for
    qt = len(_cost_table_for(width))
    assert qt > 8
    n = qt + 1
    n_reads = 5
    nreads = np.concatenate([np.zeros(n, np.uint8), np.ones(n_reads, np.uint8)])
    t = Trace.from_arrays(nreads, np.arange(n_reads, dtype=np.int64), width,
                          keep=np.arange(n_reads, n))
    want_depths = [n - i for i in range(n_reads)]              # qt + 1, qt, qt - 1, ...
    assert {qt - 1, qt, qt + 1} <= set(want_depths)
    for bpe in (None, width):
        r = bytedmd_price(t, bytes_per_element=bpe, return_depths=True)
        assert r.depths.tolist() == want_depths
        assert r.cost == sum(read_cost(q * width, width) for q in want_depths)
    # the table itself, at its last entries and its first
    table = _cost_table_for(width)
    for q in (1, 2, qt - 2, qt - 1):
        assert int(table[q]) == read_cost(q * width, width), q
