"""The engine's backward pass, `liveness_flags` (docs/engine.md), on its own: its bits against a
definition written out in Python, the packed arrays' exact sizes, its working memory, the trace
checks it makes when called without the engine, and where spilled bits go and when they leave."""
from __future__ import annotations

import os
import shutil
import tracemalloc

import numpy as np
import pytest

from metrics.engine import bytedmd_price
from metrics.liveness import _FlagStore, liveness_flags
from metrics.trace import Trace, TraceChunk
from metrics.trace_store import SpillSpaceError
from test_engine import random_trace


def flags_by_definition(trace: Trace):
    """Per chunk, (last, pushed) as bool arrays: read p is its value's last read iff no later
    read names the value and it is not kept; value v is pushed iff some read names it or it is
    kept. Straight from the definitions, one Python loop over all reads."""
    nreads, reads, _, _ = trace.arrays()
    n = nreads.shape[0]
    kept = set(int(k) for k in np.asarray(trace.keep).ravel())
    last_read_at = {}
    for p, r in enumerate(reads.tolist()):
        last_read_at[r] = p
    last = np.array([last_read_at[r] == p and r not in kept for p, r in enumerate(reads.tolist())],
                    bool)
    pushed = np.array([v in last_read_at or v in kept for v in range(n)], bool)
    out, p0 = [], 0
    for c in trace.chunks:
        out.append((last[p0:p0 + c.n_reads], pushed[c.first_value:c.first_value + c.n_values]))
        p0 += c.n_reads
    return out


@pytest.mark.parametrize("seed, n, n_chunks", [(0, 1, 1), (1, 8, 1), (2, 16, 2), (3, 61, 3),
                                               (4, 200, 5), (5, 333, 1)])
def test_bits_match_the_definition_and_are_packed_little_endian(seed, n, n_chunks):
    """Called as a user would (no value count given): bit p of chunk i's first array is set iff
    read p is its value's last read, bit v of the second iff value v is pushed; each array
    exactly np.packbits(..., bitorder="little") of those flags, so ceil(count / 8) bytes."""
    trace = random_trace(seed, n, n_chunks)
    store = liveness_flags(trace)
    assert store.tmp is None                                   # in memory unless asked
    for i, (last, pushed) in enumerate(flags_by_definition(trace)):
        last_bits, push_bits = store.get(i)
        assert last_bits.dtype == push_bits.dtype == np.uint8
        assert last_bits.tobytes() == np.packbits(last, bitorder="little").tobytes()
        assert push_bits.tobytes() == np.packbits(pushed, bitorder="little").tobytes()


def test_working_memory_is_one_bit_per_value():
    """The bitmap over value ids takes n / 8 bytes: pricing the flags of 2^23 values (pushed,
    never read) allocates about 2 MiB (the bitmap and the pushed bits), not 64 times that."""
    n = 1 << 23
    trace = Trace(chunks=[TraceChunk(0, np.zeros(n, np.uint8), np.zeros(0, np.int64),
                                     np.ones(n, np.uint8), np.zeros(n, np.uint8))])
    liveness_flags(trace)                                      # compiled before measuring
    tracemalloc.start()
    try:
        store = liveness_flags(trace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (1 << 21) <= peak < (1 << 22)
    assert store.get(0)[1].nbytes == n // 8


def one_chunk(nreads, reads, vb=None, ph=None, first=0):
    n = len(nreads)
    return TraceChunk(first, np.array(nreads, np.uint8), np.array(reads, np.int64),
                      np.ones(n, np.uint8) if vb is None else np.array(vb, np.uint8),
                      np.zeros(n, np.uint8) if ph is None else np.array(ph, np.uint8))


@pytest.mark.parametrize("vb, ph", [([1, 1], [0]), ([1], [0, 0]), ([1], [0])])
def test_chunk_arrays_of_different_lengths_are_one_clear_error(vb, ph):
    trace = Trace(chunks=[one_chunk([0, 0], [], vb=vb, ph=ph)])
    for price in (liveness_flags, bytedmd_price):
        with pytest.raises(ValueError) as e:
            price(trace)
        assert str(e.value) == "chunk arrays nreads/value_bytes/phase differ in length"


def test_a_gap_between_chunks_is_one_clear_error():
    trace = Trace(chunks=[one_chunk([0, 0], []), one_chunk([1], [0], first=3)])
    for price in (liveness_flags, bytedmd_price):
        with pytest.raises(ValueError) as e:
            price(trace)
        assert str(e.value) == "chunk starts at value 3, expected 2"


@pytest.mark.parametrize("n_values", [3, 8])
def test_keep_must_name_a_value_of_the_trace(n_values):
    """keep = n_values (one past the last id) is refused, naming the valid range; the last id
    is accepted."""
    trace = Trace(chunks=[one_chunk([0] * n_values, [])], keep=np.array([n_values], np.int64))
    for price in (liveness_flags, bytedmd_price):
        with pytest.raises(ValueError) as e:
            price(trace)
        assert str(e.value) == f"keep holds value {n_values}, not in 0..{n_values - 1}"
    trace.keep = np.array([n_values - 1], np.int64)
    assert liveness_flags(trace).get(0)[1].tolist() == [1 << ((n_values - 1) % 8)]


def test_spilled_bits_are_files_under_the_spill_folder_removed_chunk_by_chunk(tmp_path,
                                                                             monkeypatch):
    """spill=True writes each chunk's two arrays under a temporary folder inside spill_dir
    (created if missing), never in the working directory; they read back as the in-memory bits;
    dropping a chunk deletes its files at once (pricing holds one chunk's bits at a time);
    close removes the folder."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    folder = tmp_path / "new" / "spill"
    trace = random_trace(7, 120, 3)
    mem = liveness_flags(trace)
    store = liveness_flags(trace, spill=True, spill_dir=str(folder))
    try:
        (sub,) = folder.iterdir()
        assert sorted(p.name for p in sub.iterdir()) == ["0_r.npy", "0_v.npy", "1_r.npy",
                                                         "1_v.npy", "2_r.npy", "2_v.npy"]
        for i in range(3):
            assert [a.tobytes() for a in store.get(i)] == [a.tobytes() for a in mem.get(i)]
        store.drop(1)
        assert sorted(p.name for p in sub.iterdir()) == ["0_r.npy", "0_v.npy", "2_r.npy",
                                                         "2_v.npy"]
        assert store.items[1] is None
        store.drop(1)                                          # twice: nothing left to remove
        assert list(work.iterdir()) == []
    finally:
        store.close()
    assert list(folder.iterdir()) == []


def test_a_full_disk_is_refused_before_the_bits_are_written(tmp_path, monkeypatch):
    """Each chunk's spill checks for its two arrays plus 1 MiB of headroom: exactly that much
    free is refused (naming the liveness flags), one byte more is enough."""
    import metrics.trace_store as ts
    trace = random_trace(8, 100, 1)
    last, pushed = liveness_flags(trace).get(0)
    need = last.nbytes + pushed.nbytes + (1 << 20)
    real = shutil.disk_usage

    def disk_with(free):
        return lambda path: real(path)._replace(free=free)
    monkeypatch.setattr(ts.shutil, "disk_usage", disk_with(need))
    with pytest.raises(SpillSpaceError) as e:
        liveness_flags(trace, spill=True, spill_dir=str(tmp_path))
    assert str(e.value).startswith(f"spill directory {tmp_path}")
    assert "the liveness flags needs about 0.00 GB but only 0.00 GB are free" in str(e.value)
    monkeypatch.setattr(ts.shutil, "disk_usage", disk_with(need + 1))
    store = liveness_flags(trace, spill=True, spill_dir=str(tmp_path))
    store.close()


def test_the_flag_store_keeps_nothing_on_disk_unless_spilling(tmp_path):
    store = _FlagStore(2, False, str(tmp_path / "unused"))
    assert store.tmp is None and not (tmp_path / "unused").exists()
    store.put(0, np.zeros(1, np.uint8), np.ones(1, np.uint8))
    store.drop(0)
    assert store.items == [None, None]
    assert os.listdir(tmp_path) == []


def _strided(a, dtype):
    """`a` as a non-contiguous view of dtype (every other element of a twice-as-long array)."""
    big = np.zeros(2 * a.shape[0], dtype)
    big[::2] = a
    return big[::2]


@pytest.mark.parametrize("make", [lambda a, dt: np.ascontiguousarray(a, dt), _strided],
                         ids=["contiguous", "strided"])
@pytest.mark.parametrize("dtypes", [(np.int64, np.uint32, np.int32, np.int64, np.uint16),
                                    (np.uint16, np.int16, np.uint64, np.int8, np.int64)])
def test_any_integer_dtype_or_layout_prices_the_same(make, dtypes):
    """A hand-built trace whose arrays are other integer dtypes than the contract's (uint8
    nreads, int64 reads, ...) or non-contiguous views: the same bits, cost, depths and
    per-phase and per-label sums as the canonical trace."""
    t = random_trace(9, 300, 3)
    dt_n, dt_r, dt_w, dt_p, dt_k = dtypes
    other = Trace(chunks=[TraceChunk(c.first_value, make(c.nreads, dt_n), make(c.reads, dt_r),
                                     make(c.value_bytes, dt_w), make(c.phase, dt_p))
                          for c in t.chunks],
                  keep=make(t.keep, dt_k), phase_names=t.phase_names,
                  label=make(t.label, np.int32), label_names=t.label_names)
    want, got = liveness_flags(t), liveness_flags(other)
    for i in range(len(t.chunks)):
        assert [a.tobytes() for a in got.get(i)] == [a.tobytes() for a in want.get(i)]
    a, b = bytedmd_price(t, return_depths=True), bytedmd_price(other, return_depths=True)
    assert (a.cost, a.reads, a.depths.tolist(), a.phase_cost.tolist(), a.label_cost.tolist()) \
        == (b.cost, b.reads, b.depths.tolist(), b.phase_cost.tolist(), b.label_cost.tolist())
