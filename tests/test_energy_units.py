"""metrics.energy_model beyond tests/test_energy.py: every input error of energy_of_distances word
for word, zero counts allowed, exact integer counts and bytes beyond float precision (a distance
one byte past a level's capacity misses it at any size), trace_reuse_bytes' int64 distances for
zero and one read, and EnergyResult.as_dict's keys."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from metrics.energy_model import (MemoryHierarchy, energy_of_distances, energy_of_trace,
                                  trace_reuse_bytes)
from metrics.trace import ProgramBuilder, Trace, TraceChunk

TINY = MemoryHierarchy([("L1", 16, 1.0), ("L2", 32, 10.0), ("DRAM", math.inf, 100.0)], 0.5)

DISTANCES = "distances_bytes must be a 1-D array of integers (bytes; -1 = cold)"
POSITIVE = "distances_bytes must be >= 1 (they include the value's own bytes) or -1 (cold)"
COUNTS = "counts must be non-negative integers, one per distance"
WIDTHS = "access_bytes must be positive integers (bytes per read)"


@pytest.mark.parametrize("args, kw, message", [
    (([[8]], 8), {}, DISTANCES),
    (([8.0], 8), {}, DISTANCES),
    (([0], 8), {}, POSITIVE),
    (([8, -2], 8), {}, POSITIVE),
    (([8], 8), {"counts": [1, 1]}, COUNTS),
    (([8, 9], 8), {"counts": [1.0, 2.0]}, COUNTS),
    (([8], 8), {"counts": [-1]}, COUNTS),
    (([8], 8.0), {}, WIDTHS),
    (([8], 0), {}, WIDTHS),
    (([8, 16], [8, 0]), {}, WIDTHS),
    (([8], 8), {"n_ops": -1}, "n_ops must be >= 0, got -1"),
])
def test_distance_input_errors_word_for_word(args, kw, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        energy_of_distances(*args, hierarchy=TINY, **kw)


def test_a_distance_counted_zero_times_costs_nothing():
    r = energy_of_distances([8, 20, -1], 8, counts=[0, 2, 0], hierarchy=TINY)
    assert r.reads == [0, 2, 0] and r.read_bytes == [0, 16, 0] and r.cold_reads == 0
    assert r.total_pj == 160.0


def test_counts_and_bytes_stay_exact_integers_beyond_float_precision():
    n = 2**60 + 1                                  # float64 would round it to 2**60
    r = energy_of_distances([8, -1], [4, 3], counts=[n, n], hierarchy=TINY)
    assert r.reads == [n, 0, n] and r.cold_reads == n
    assert r.read_bytes == [4 * n, 0, 3 * n]       # 2**62 + 4: exact only in int64
    assert all(type(x) is int for x in r.reads + r.read_bytes + r.writes + r.write_bytes)


def test_one_byte_past_a_capacity_misses_at_any_size():
    big = 2**60
    h = MemoryHierarchy([("near", big, 1.0), ("far", math.inf, 2.0)], 0.0)
    assert energy_of_distances([big, big + 1], 8, hierarchy=h).reads == [1, 1]
    assert energy_of_distances([16, 17, 32, 33], 8, hierarchy=TINY).reads == [1, 2, 1]


def _one_read(nbytes=4):
    p = ProgramBuilder(8)
    a = p.push(nbytes=nbytes)
    p.op(a, nbytes=2)
    return p.trace(keep=[1])


def test_reuse_bytes_are_int64_for_zero_and_one_read():
    empty = ProgramBuilder(8)
    empty.push()
    got = trace_reuse_bytes(empty.trace(keep=[0]))
    assert got.dtype == np.int64 and got.shape == (0,)
    for cold, want in ((False, [4]), (True, [-1])):
        got = trace_reuse_bytes(_one_read(), cold_inputs=cold)
        assert got.dtype == np.int64 and got.tolist() == want


def test_as_dict_names_every_column():
    h = MemoryHierarchy([("Reg File", 16, 1.0), ("Main memory", math.inf, 100.0)], 0.5)
    r = energy_of_trace(_one_read(), h)
    d = r.as_dict()
    per_level = [f"{c}_{k}" for k in ("reg_file", "main_memory")
                 for c in ("reads", "read_bytes", "writes", "write_bytes")]
    assert sorted(d) == sorted(["energy_pj", "energy_ops_pj", "ops", "cold_reads",
                                "energy_reg_file_pj", "energy_main_memory_pj", *per_level])
    assert (d["energy_pj"], d["energy_ops_pj"], d["ops"], d["cold_reads"]) == \
        (r.total_pj, 0.5, 1, 0)
    assert (d["reads_reg_file"], d["read_bytes_reg_file"], d["writes_reg_file"],
            d["write_bytes_reg_file"], d["energy_reg_file_pj"]) == (1, 4, 1, 2, 6.0)
    assert d["energy_main_memory_pj"] == 0.0 and d["energy_pj"] == 6.5


def test_energy_passes_every_option_on_and_refuses_what_does_not_apply():
    import metrics
    p = ProgramBuilder(8)
    a, b = p.push(), p.push()
    p.op(a, b)
    p.op(a)
    trace = p.trace(keep=[3])
    for kw in ({}, {"bytes_per_element": 2}, {"cold_inputs": True},
               {"bytes_per_element": 3, "cold_inputs": True}):
        assert metrics.energy(trace, TINY, **kw) == energy_of_trace(trace, TINY, **kw), kw
    assert metrics.energy(trace, TINY, cold_inputs=True).total_pj != \
        metrics.energy(trace, TINY).total_pj
    assert metrics.energy(trace, TINY, bytes_per_element=2).total_pj != \
        metrics.energy(trace, TINY).total_pj
    for kw in ({"counts": [1]}, {"n_ops": 2}, {"counts": [1], "n_ops": 2}):
        with pytest.raises(ValueError, match="^counts and n_ops apply to distances, not to a "
                                             "trace$"):
            metrics.energy(trace, TINY, **kw)
    with pytest.raises(ValueError, match=r"^energy of reuse distances needs bytes_per_element "
                                         r"\(bytes per read\)$"):
        metrics.energy(np.array([8]), TINY)


def _split(trace, cuts):
    """The same trace held as chunks of values [0, cuts[0]), [cuts[0], cuts[1]), ..."""
    nreads, reads, vb, ph = trace.arrays()
    off = np.concatenate([[0], np.cumsum(nreads.astype(np.int64))])
    bounds = [0, *cuts, len(nreads)]
    return Trace(chunks=[TraceChunk(a, nreads[a:b], reads[off[a]:off[b]], vb[a:b], ph[a:b])
                         for a, b in zip(bounds, bounds[1:])], keep=trace.keep)


@pytest.mark.parametrize("cuts", [[5], [4, 7], [1, 2, 3, 9]])
def test_a_trace_in_chunks_is_priced_as_in_one(cuts):
    p = ProgramBuilder(8)
    ids = [p.push(nbytes=w) for w in (1, 2, 4)]
    for i in range(8):
        ids.append(p.op(ids[i % 3], ids[-1], nbytes=(1, 2, 4, 8)[i % 4]))
    whole = p.trace(keep=ids[-1:])
    parts = _split(whole, cuts)
    assert len(parts.chunks) == len(cuts) + 1
    for cold in (False, True):
        assert trace_reuse_bytes(parts, cold_inputs=cold).tolist() == \
            trace_reuse_bytes(whole, cold_inputs=cold).tolist()
        assert energy_of_trace(parts, TINY, cold_inputs=cold) == \
            energy_of_trace(whole, TINY, cold_inputs=cold)
    shifted = Trace(chunks=[parts.chunks[0], TraceChunk(
        parts.chunks[1].first_value + 1, *(getattr(parts.chunks[1], k)
                                           for k in ("nreads", "reads", "value_bytes", "phase")))])
    with pytest.raises(ValueError, match=r"^trace chunks must cover value ids 0, 1, 2, \.\.\. in "
                                         r"order$"):
        energy_of_trace(shifted, TINY)


def test_distances_past_two_gibibytes_are_exact():
    """2^24 + 1 values of 255 bytes (about 4.3 GB in all) pushed, then the first one read: its
    distance, 255 x (2^24 + 1) bytes, exceeds what 32-bit Fenwick nodes hold (a node covering
    2^24 values holds 4.28e9 bytes), so the byte tree must be 64-bit. About 0.4 GB of memory."""
    n = 2**24 + 1
    nreads = np.zeros(n + 1, np.uint8)
    nreads[-1] = 1
    widths = np.full(n + 1, 255, np.uint8)
    widths[-1] = 1
    trace = Trace.from_arrays(nreads, np.array([0]), widths, keep=[n])
    assert trace_reuse_bytes(trace).tolist() == [255 * n]


def test_a_hierarchy_given_as_a_dict_or_a_file_prices_alike(tmp_path):
    trace = _one_read()
    as_dict = TINY.to_dict()
    path = tmp_path / "h.json"
    path.write_text(json.dumps(as_dict))
    want = energy_of_trace(trace, TINY)
    assert want.hierarchy == TINY
    for given in (as_dict, path, str(path)):
        got = energy_of_trace(trace, given)
        assert got.total_pj == want.total_pj and got.level_pj == want.level_pj
        assert got.hierarchy.levels == TINY.levels and got.hierarchy.pj_per_op == 0.5
    for bad, name in ((3, "int"), ([("L1", 16, 1.0)], "list")):
        with pytest.raises(TypeError, match="^hierarchy must be a MemoryHierarchy, a dict or a "
                                            rf"\.toml/\.json path, got {name}$"):
            energy_of_trace(trace, bad)


def test_a_trace_without_chunks_costs_nothing():
    empty = Trace(chunks=[])
    assert trace_reuse_bytes(empty).tolist() == []
    for bpe in (None, 4):
        r = energy_of_trace(empty, TINY, bytes_per_element=bpe)
        assert (r.total_pj, r.ops, r.cold_reads) == (0.0, 0, 0)


@pytest.mark.parametrize("bpe", [0, 256, -1, True, False, 2.0, "8", np.float64(4.0)])
def test_the_width_override_outside_1_to_255_bytes_is_one_clear_error(bpe):
    for price in (lambda: energy_of_trace(_one_read(), TINY, bytes_per_element=bpe),
                  lambda: trace_reuse_bytes(_one_read(), bytes_per_element=bpe)):
        with pytest.raises(ValueError, match=re.escape(
                f"bytes_per_element must be an integer in 1..255, got {bpe!r}") + "$"):
            price()


@pytest.mark.parametrize("bpe", [1, 255, np.uint8(255), np.int64(3)])
def test_the_width_override_prices_every_value_at_that_width(bpe):
    """1 and 255 bytes (the ends) and numpy integers: every value bpe bytes wide (the one read's
    distance is its value's bpe bytes), priced as the same program built at that width."""
    got = trace_reuse_bytes(_one_read(), bytes_per_element=bpe)
    assert got.tolist() == [int(bpe)]
    widths = ProgramBuilder(int(bpe))
    a = widths.push()
    widths.op(a)
    assert energy_of_trace(_one_read(), TINY, bytes_per_element=bpe) == \
        energy_of_trace(widths.trace(keep=[1]), TINY)
