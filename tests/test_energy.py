"""metrics.energy_model: hand-computed programs, a naive oracle on random programs, the hierarchy's
validation and files, and monotonicity in cache capacity."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import metrics
from metrics.api import trace_call
from metrics.energy_model import (DEFAULT_HIERARCHY, MemoryHierarchy, MemoryLevel, energy_of_distances,
                            energy_of_trace, level_overflow_distances, trace_reuse_bytes)
from metrics.trace import ProgramBuilder

DOCS = Path(__file__).resolve().parent.parent / "docs"

# L1 16 B at 1 pJ/B, L2 32 B at 10 pJ/B, DRAM at 100 pJ/B, 0.5 pJ per instruction
TINY = MemoryHierarchy([("L1", 16, 1.0), ("L2", 32, 10.0), ("DRAM", math.inf, 100.0)], 0.5)


def three_args():
    """a, b, c pushed (8 B each); s = a.b; u = s.c; x = a.u (x returned)."""
    p = ProgramBuilder(8)
    a, b, c = p.push(), p.push(), p.push()
    s = p.op(a, b)
    u = p.op(s, c)
    p.op(a, u)
    return p.trace(keep=[5])


def test_hand_computed_three_args_warm():
    # touches: a b c | a b s | s c u | a u x    (reuse distance in bytes, own 8 B included)
    # read a: b,c since -> 24 (L2); read b: c,a -> 24 (L2); read s: -> 8 (L1);
    # read c: a,b,s -> 32 (L2); read a: b,s,c,u -> 40 (DRAM); read u: a -> 16 (L1)
    tr = three_args()
    assert trace_reuse_bytes(tr).tolist() == [24, 24, 8, 32, 40, 16]
    r = energy_of_trace(tr, TINY)
    assert r.reads == [2, 3, 1] and r.read_bytes == [16, 24, 8]
    # s and u first read at L1; x never read: written at L1
    assert r.writes == [3, 0, 0] and r.write_bytes == [24, 0, 0]
    assert r.cold_reads == 0 and r.ops == 3
    # L1 (16 + 24) * 1 + L2 24 * 10 + DRAM 8 * 100 + 3 * 0.5
    assert r.level_pj == [40.0, 240.0, 800.0]
    assert r.total_pj == 1081.5 and r.total_joules == pytest.approx(1081.5e-12)


def test_hand_computed_three_args_cold_inputs():
    # pushes are not touches: the first reads of a, b, c are cold (DRAM);
    # read s -> 8 (L1); read a again: b,s,c,u since -> 40 (DRAM); read u: a -> 16 (L1)
    tr = three_args()
    assert trace_reuse_bytes(tr, cold_inputs=True).tolist() == [-1, -1, 8, -1, 40, 16]
    r = energy_of_trace(tr, TINY, cold_inputs=True)
    assert r.reads == [2, 0, 4] and r.read_bytes == [16, 0, 32] and r.cold_reads == 3
    assert r.write_bytes == [24, 0, 0]
    assert r.total_pj == 40.0 + 3200.0 + 1.5


def mixed_widths():
    p = ProgramBuilder(4)
    a = p.push()
    h = p.op(a)                  # 4 B
    g = p.op(a, nbytes=8)
    k = p.op(g, nbytes=8)
    m = p.op(k, g, nbytes=8)
    z = p.op(h, m)               # 4 B, returned
    return p.trace(keep=[z])


def test_hand_computed_mixed_widths():
    # read a: -> 4; read a: h since -> 4+4; read g -> 8; read k -> 8; read g: k since -> 16;
    # read h: a,g,k,m since -> 4+8+8+8 + 4 = 32 (L2); read m: h since -> 4+8 = 12
    tr = mixed_widths()
    assert trace_reuse_bytes(tr).tolist() == [4, 8, 8, 8, 16, 32, 12]
    r = energy_of_trace(tr, TINY)
    assert r.reads == [6, 1, 0] and r.read_bytes == [40, 4, 0]
    # h is first read at L2, so written there; g, k, m at L1; z never read -> L1
    assert r.writes == [4, 1, 0] and r.write_bytes == [28, 4, 0]
    assert r.total_pj == (40 + 28) * 1.0 + (4 + 4) * 10.0 + 5 * 0.5


def test_bytes_per_element_override():
    # all 8 B: reads 8, 16, 8, 8, 16, then h: a,g,k,m since -> 40 (DRAM), m: h since -> 16
    tr = mixed_widths()
    assert trace_reuse_bytes(tr, bytes_per_element=8).tolist() == [8, 16, 8, 8, 16, 40, 16]
    r = energy_of_trace(tr, TINY, bytes_per_element=8)
    assert r.read_bytes == [48, 0, 8] and r.write_bytes == [32, 0, 8]
    assert r.total_pj == 80.0 + 1600.0 + 2.5
    with pytest.raises(ValueError, match="bytes_per_element"):
        energy_of_trace(tr, TINY, bytes_per_element=0)


def test_tracked_numpy_function():
    # x * y + x on two float64 pairs; pushed y0 y1 x0 x1 (last argument first), then
    # v4 = x0*y0, v5 = x1*y1, v6 = v4+x0, v7 = v5+x1. Distances (bytes): x0 16, y0 32, x1 32,
    # y1 40, v4 32, x0 48, v5 32, x1 48.
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    _, tr = trace_call(lambda x, y: x * y + x, (x, y))
    assert trace_reuse_bytes(tr).tolist() == [16, 32, 32, 40, 32, 48, 32, 48]
    # default hierarchy: everything in the 8 KiB SRAM at 10 pJ / 8 B; 4 instructions at 20 pJ
    r = metrics.energy(tr)
    assert r.read_bytes[0] == 64 and r.write_bytes[0] == 32 and r.ops == 4
    assert r.total_pj == (64 + 32) * 10.0 / 8 + 4 * 20.0
    # a 32 B first level: y1 and the second reads of x0, x1 (40, 48, 48) go to DRAM
    h = MemoryHierarchy([("L1", 32, 1.0), ("DRAM", math.inf, 100.0)], 0.0)
    r = metrics.energy(tr, h)
    assert r.reads == [5, 3] and r.read_bytes == [40, 24] and r.write_bytes == [32, 0]
    assert r.total_pj == 72.0 + 2400.0


def test_energy_of_distances_hand_computed():
    r = energy_of_distances([8, 16, 17, 33, -1], 8, counts=[1, 2, 1, 1, 3], n_ops=4,
                            hierarchy=TINY)
    assert r.reads == [3, 1, 4] and r.read_bytes == [24, 8, 32] and r.cold_reads == 3
    assert r.writes == [0, 0, 0]
    assert r.total_pj == 24.0 + 80.0 + 3200.0 + 2.0
    assert metrics.energy(np.array([8, 16, 17, 33, -1]), TINY, bytes_per_element=8,
                          counts=np.array([1, 2, 1, 1, 3]), n_ops=4).total_pj == r.total_pj
    for bad, match in (([0], ">= 1"), ([1.5], "integers"), ([[8]], "1-D")):
        with pytest.raises(ValueError, match=match):
            energy_of_distances(bad, 8, hierarchy=TINY)
    with pytest.raises(ValueError, match="counts"):
        energy_of_distances([8], 8, counts=[-1], hierarchy=TINY)
    with pytest.raises(ValueError, match="bytes_per_element"):
        metrics.energy(np.array([8]), TINY)


def test_overflow_distances_are_where_levels_miss():
    assert level_overflow_distances(TINY) == {"L1": 17, "L2": 33}
    assert level_overflow_distances(TINY, bytes_per_element=8) == {"L1": 2, "L2": 4}
    for name, d in level_overflow_distances(TINY).items():
        i = TINY.names.index(name)
        r = energy_of_distances([d - 1, d], 1, hierarchy=TINY)
        assert r.reads[i] == 1 and r.reads[i + 1] == 1
    # in elements (section 4: distinct other values), at 8 B: d elements -> (d + 1) * 8 bytes
    for name, d in level_overflow_distances(TINY, bytes_per_element=8).items():
        i = TINY.names.index(name)
        r = energy_of_distances([d * 8, (d + 1) * 8], 8, hierarchy=TINY)
        assert r.reads[i] == 1 and r.reads[i + 1] == 1


def test_default_hierarchy_is_horowitz_2014():
    # per 64-bit access: 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ, DRAM 1.3 nJ (low end of 1.3-2.6)
    h = DEFAULT_HIERARCHY
    assert [lv.capacity_bytes for lv in h.levels] == [8192, 32768, 1048576, math.inf]
    assert [lv.pj_per_byte * 8 for lv in h.levels] == [10.0, 20.0, 100.0, 1300.0]
    assert h.pj_per_op == 20.0


def test_example_file_is_the_default(tmp_path):
    assert MemoryHierarchy.from_file(DOCS / "hierarchy_example.toml") == DEFAULT_HIERARCHY


# ---- random programs: naive oracle and monotonicity ------------------------------------------

@st.composite
def programs(draw):
    p = ProgramBuilder(8)
    widths = st.sampled_from([1, 2, 4, 8])
    ids = [p.push(nbytes=draw(widths)) for _ in range(draw(st.integers(1, 5)))]
    for _ in range(draw(st.integers(0, 30))):
        ops = [draw(st.sampled_from(ids)) for _ in range(draw(st.integers(1, 3)))]
        ids.append(p.op(*ops, nbytes=draw(widths)))
    return p.trace(keep=ids[-1:])


def naive_energy(trace, h, cold_inputs=False):
    """The model read straight off docs/energy.md with a Python list as the LRU stack."""
    nreads, reads, vb, _ = (list(map(int, a)) for a in trace.arrays())
    caps = [lv.capacity_bytes for lv in h.levels]

    def level(d):
        return next(i for i, c in enumerate(caps) if d != -1 and d <= c or c == math.inf)

    stack, pj, dists, first_read = [], 0.0, [], {}

    def touch(v):
        if v in stack:
            stack.remove(v)
        stack.append(v)

    pos = 0
    for v, k in enumerate(nreads):
        for r in reads[pos:pos + k]:
            d = sum(vb[u] for u in stack[stack.index(r):]) if r in stack else -1
            dists.append(d)
            pj += vb[r] * h.levels[level(d)].pj_per_byte
            first_read.setdefault(r, level(d))
            touch(r)
        pos += k
        if k:
            pj += h.pj_per_op
        if k or not cold_inputs:
            touch(v)
    for v, k in enumerate(nreads):
        if k:
            pj += vb[v] * h.levels[first_read.get(v, 0)].pj_per_byte
    return pj, dists


hierarchies = st.builds(
    lambda caps, pjs, op: MemoryHierarchy(
        [(f"L{i}", c, p) for i, (c, p) in enumerate(zip(sorted(set(caps)), sorted(pjs)))]
        + [("DRAM", math.inf, 1000.0)], op),
    st.lists(st.integers(1, 120), min_size=1, max_size=3),
    st.lists(st.sampled_from([0.5, 1.0, 3.0, 10.0]), min_size=3, max_size=3),
    st.sampled_from([0.0, 0.25, 7.0]))


@settings(max_examples=200, deadline=None)
@given(programs(), hierarchies, st.booleans())
def test_energy_equals_naive_model(trace, h, cold):
    want_pj, want_d = naive_energy(trace, h, cold)
    assert trace_reuse_bytes(trace, cold_inputs=cold).tolist() == want_d
    r = energy_of_trace(trace, h, cold_inputs=cold)
    assert r.total_pj == pytest.approx(want_pj, rel=1e-12)
    assert sum(r.reads) == trace.n_reads
    # the reads alone, priced from the distances, agree
    widths = trace.arrays()[2][trace.arrays()[1]]
    rd = energy_of_distances(np.asarray(want_d, np.int64), widths.astype(np.int64), hierarchy=h)
    assert rd.reads == r.reads and rd.read_bytes == r.read_bytes


@settings(max_examples=200, deadline=None)
@given(programs(), hierarchies, st.data())
def test_energy_monotone_in_capacity(trace, h, data):
    i = data.draw(st.integers(0, len(h.levels) - 2))
    cap = h.levels[i].capacity_bytes
    limit = h.levels[i + 1].capacity_bytes - 1 if i + 2 < len(h.levels) else cap + 500
    bigger = h.with_capacity(h.levels[i].name, data.draw(st.integers(cap, max(cap, limit))))
    assert energy_of_trace(trace, bigger).total_pj <= energy_of_trace(trace, h).total_pj


# ---- the hierarchy: validation and files -------------------------------------------------------

@pytest.mark.parametrize("levels, op, match", [
    ([], 1.0, "at least one level"),
    ([("L1", 16, 1.0), ("L1", 32, 2.0), ("DRAM", math.inf, 9.0)], 1.0, "unique"),
    ([("", 16, 1.0), ("DRAM", math.inf, 9.0)], 1.0, "non-empty string"),
    ([("L1", 32, 1.0), ("L2", 16, 2.0), ("DRAM", math.inf, 9.0)], 1.0, "capacities must increase"),
    ([("L1", 16, 5.0), ("DRAM", math.inf, 1.0)], 1.0, "must not decrease"),
    ([("L1", 0, 1.0), ("DRAM", math.inf, 9.0)], 1.0, "positive whole number"),
    ([("L1", 16.5, 1.0), ("DRAM", math.inf, 9.0)], 1.0, "positive whole number"),
    ([("L1", math.inf, 1.0), ("DRAM", math.inf, 9.0)], 1.0, "positive whole number"),
    ([("L1", 16, 1.0), ("DRAM", 1 << 30, 9.0)], 1.0, "backing store"),
    ([("L1", 16, -1.0), ("DRAM", math.inf, 9.0)], 1.0, "finite and >= 0"),
    ([("L1", 16, math.nan), ("DRAM", math.inf, 9.0)], 1.0, "finite and >= 0"),
    ([("L1", "16", 1.0), ("DRAM", math.inf, 9.0)], 1.0, "must be a number"),
    ([("DRAM", math.inf, 9.0)], -1.0, "pj_per_op"),
    ([("L1", 16)], 1.0, "name, capacity_bytes, pj_per_byte"),
    ("L1", 1.0, "must be a list"),
])
def test_hierarchy_validation(levels, op, match):
    with pytest.raises(ValueError, match=match) as e:
        MemoryHierarchy(levels, op)
    assert "\n" not in str(e.value) and str(e.value).startswith("MemoryHierarchy: ")


def test_from_file_toml_and_json(tmp_path):
    toml = tmp_path / "h.toml"
    toml.write_text('pj_per_op = 0.5\n[[levels]]\nname = "L1"\ncapacity_bytes = 16\n'
                    'pj_per_byte = 1.0\n[[levels]]\nname = "L2"\ncapacity_bytes = 32\n'
                    'pj_per_byte = 10.0\n[[levels]]\nname = "DRAM"\ncapacity_bytes = inf\n'
                    'pj_per_byte = 100.0\n')
    assert MemoryHierarchy.from_file(toml) == TINY
    js = tmp_path / "h.json"
    js.write_text(json.dumps(TINY.to_dict()))               # the last capacity is null
    assert MemoryHierarchy.from_file(js) == TINY
    d = TINY.to_dict()
    d["levels"][-1]["capacity_bytes"] = "inf"
    assert MemoryHierarchy.from_dict(d) == TINY
    del d["levels"][-1]["capacity_bytes"]
    assert MemoryHierarchy.from_dict(d) == TINY
    # a hierarchy file can be passed wherever a hierarchy is
    assert energy_of_trace(three_args(), str(toml)).total_pj == 1081.5


@pytest.mark.parametrize("name, text, match", [
    ("h.toml", "pj_per_op = 1\nlevels = [", "not valid toml"),
    ("h.json", "{", "not valid json"),
    ("h.yaml", "a: 1", "unknown file type"),
    ("h.json", '{"levels": [], "pj_per_op": 1, "speed": 3}', "unknown keys \\['speed'\\]"),
    ("h.json", '{"levels": []}', "required"),
    ("h.json", '{"levels": [{"name": "L1", "pj_per_byte": 1}, {"name": "D", "pj_per_byte": 2}],'
               ' "pj_per_op": 1}', "level 'L1': missing \\['capacity_bytes'\\]"),
    ("h.json", '{"levels": [{"name": "D", "pj_per_byte": 2, "ways": 4}], "pj_per_op": 1}',
     "unknown keys \\['ways'\\]"),
])
def test_from_file_errors(tmp_path, name, text, match):
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(ValueError, match=match) as e:
        MemoryHierarchy.from_file(f)
    assert "\n" not in str(e.value)


def test_from_file_missing(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        MemoryHierarchy.from_file(tmp_path / "nope.toml")


def test_result_as_dict_and_package_binding():
    import importlib
    import sys
    importlib.import_module("metrics.energy_model")
    # the function metrics.energy lives in the module metrics.energy_model: no name is shadowed
    assert metrics.energy is sys.modules["metrics.energy_model"].energy
    d = energy_of_trace(three_args(), TINY).as_dict()
    assert d["energy_pj"] == 1081.5 and d["read_bytes_l2"] == 24 and d["energy_dram_pj"] == 800.0
    assert MemoryLevel("L1", 16, 1.0) == TINY.levels[0]
