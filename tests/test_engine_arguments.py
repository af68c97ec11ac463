"""bytedmd_price's arguments and errors at their edges: the width override's range, the default
result (no depths), where spilled liveness bits go, and the one-line error of each malformed
trace (docs/cost_model.md section 1)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from metrics.costs import read_cost
from metrics.engine import bytedmd_price
from metrics.oracle import oracle_bytedmd
from metrics.trace import ProgramBuilder, Trace
from metrics.trace_store import SPILL_ENV
from test_engine import random_trace


def small_trace(width=1):
    p = ProgramBuilder(width)
    a, b = p.push(), p.push()
    c = p.op(a, b)
    d = p.op(c, a)
    return p.trace(keep=[d])


def test_depths_are_returned_only_when_asked():
    t = small_trace()
    assert bytedmd_price(t).depths is None
    assert bytedmd_price(t, return_depths=True).depths.tolist() == oracle_bytedmd(t)["depths"]


@pytest.mark.parametrize("bpe", [1, 3, 1 << 20])
def test_width_override_accepted_up_to_one_mebibyte_and_exact(bpe):
    t = small_trace()
    depths = oracle_bytedmd(t)["depths"]                       # element depths, width-free
    want = sum(read_cost(d * bpe, bpe) for d in depths)        # every value bpe bytes wide
    assert bytedmd_price(t, bytes_per_element=bpe).cost == want


@pytest.mark.parametrize("bpe", [0, -1, (1 << 20) + 1])
def test_width_override_outside_its_range_is_one_clear_error(bpe):
    with pytest.raises(ValueError) as e:
        bytedmd_price(small_trace(), bytes_per_element=bpe)
    assert str(e.value) == f"bytes_per_element must be an integer from 1 to 1048576, got {bpe}"


def test_no_labels_means_one_label_holding_every_read():
    r = bytedmd_price(small_trace())
    assert r.label_cost.tolist() == [r.cost] and r.label_reads.tolist() == [r.reads] == [4]


def test_spilled_bits_go_under_the_given_folder_and_are_removed(tmp_path):
    t = small_trace()
    want = bytedmd_price(t).cost
    folder = tmp_path / "flags"                        # not there yet: the engine makes it
    assert bytedmd_price(t, spill=True, spill_dir=str(folder)).cost == want
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_spill_folder_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    folder = tmp_path / "from_env"
    monkeypatch.setenv(SPILL_ENV, str(folder))
    t = small_trace()
    assert bytedmd_price(t, spill=True).cost == bytedmd_price(t, spill=False).cost
    assert folder.is_dir() and list(folder.iterdir()) == []
    other = tmp_path / "given"                         # an explicit folder wins over the variable
    bytedmd_price(t, spill=True, spill_dir=str(other))
    assert other.is_dir()


def test_small_traces_are_not_spilled_by_default(tmp_path, monkeypatch):
    folder = tmp_path / "unused"
    monkeypatch.setenv(SPILL_ENV, str(folder))
    bytedmd_price(small_trace())
    assert not folder.exists()


def test_malformed_traces_name_the_problem_in_one_line():
    cases = [
        (Trace.from_arrays([0, 0], [], [1, 0]), "a value is 0 bytes wide"),
        (Trace.from_arrays([0, 1], [0], 0), "a value is 0 bytes wide"),      # every value
        (Trace.from_arrays([0, 1], [0], 1, phase=[0, 2], phase_names=["a", "b"]),
         "chunk 0: phase index 2 >= len(phase_names)"),
        (Trace.from_arrays([0, 1], [0], 1, label=np.array([0, 3]), label_names=["x", "y"]),
         "label index 3 >= len(label_names)"),
        (Trace.from_arrays([0, 1], [0], 1, label=np.array([0, 2]), label_names=["x", "y"]),
         "label index 2 >= len(label_names)"),                    # one past the last name
        (Trace.from_arrays([0, 1], [0], 1, label=np.array([0]), label_names=["x"]),
         "trace.label is shorter than the trace"),
    ]
    for trace, message in cases:
        with pytest.raises(ValueError) as e:
            bytedmd_price(trace)
        assert str(e.value) == message


class _ClaimsReads(Trace):
    """A small trace that reports `claimed` reads: enough to test the automatic spill rule's
    threshold (2^27 reads) without building a trace of a gigabyte."""
    claimed = 0

    @property
    def n_reads(self) -> int:
        return self.claimed


def _claiming(n_reads):
    t = small_trace()
    c = _ClaimsReads(chunks=t.chunks, keep=t.keep)
    c.claimed = n_reads
    return c


@pytest.mark.parametrize("n_reads, spills", [(1 << 27, False), ((1 << 27) + 1, True)])
def test_traces_past_2_to_the_27_reads_spill_when_a_folder_is_set(tmp_path, monkeypatch,
                                                                   n_reads, spills):
    folder = tmp_path / "auto"
    monkeypatch.setenv(SPILL_ENV, str(folder))
    want = bytedmd_price(small_trace()).cost
    assert bytedmd_price(_claiming(n_reads)).cost == want
    assert folder.is_dir() == spills


def test_large_traces_stay_in_memory_without_a_spill_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(SPILL_ENV, raising=False)
    made = []
    import tempfile
    real = tempfile.TemporaryDirectory
    monkeypatch.setattr(tempfile, "TemporaryDirectory",
                        lambda *a, **k: made.append(k) or real(*a, **k))
    assert bytedmd_price(_claiming((1 << 27) + 1)).cost == bytedmd_price(small_trace()).cost
    assert made == []                                  # no spill to the system temp folder


def test_the_engine_stays_inside_its_arrays():
    """The compiled kernels index without bounds checks; run as plain Python (NUMBA_DISABLE_JIT)
    every index is checked, so a hash table, ring or tree allocated too short raises instead of
    reading past its end. A tiny window and capacity send reads through the hash map, the ring
    and compactions; labels, mixed widths and a width override take every path. Exact (oracle)."""
    code = (
        "from test_engine import random_trace\n"
        "from metrics.engine import bytedmd_price\n"
        "from metrics.oracle import oracle_bytedmd\n"
        "for seed, width in ((0, 1), (1, 4), (2, 8)):\n"
        "    t = random_trace(seed, 150, 3, width, 0.3, True)\n"
        "    r = bytedmd_price(t, return_depths=True, window=2, ts_capacity=2)\n"
        "    o = oracle_bytedmd(t)\n"
        "    assert r.cost == o['cost'] and r.depths.tolist() == o['depths'], seed\n"
        "    assert r.compactions > 0\n"
        "print('ok')\n"
    )
    tests = Path(__file__).resolve().parent
    env = dict(os.environ, NUMBA_DISABLE_JIT="1", PYTHONPATH=os.pathsep.join(
        [str(tests.parent), str(tests), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=tests.parent, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "ok"


def _renumberings(n_values: int, capacity: int) -> int:
    """The timestamp renumberings (docs/engine.md) of a program of `n_values` pushes without
    reads, every value kept: each push takes the next timestamp; when none is left the live
    values (all of them) are renumbered 1..L and the capacity doubles until at least half of it,
    and the push's slot, is free."""
    newest, count = 0, 0
    for live in range(n_values):
        if newest + 1 > capacity:
            newest, count = live, count + 1
            while 2 * (live + 1) > capacity:
                capacity *= 2
        newest += 1
    return count


@pytest.mark.parametrize("capacity", [0, 1, 2, 3, 5, 64])
def test_renumberings_follow_the_capacity_policy(capacity):
    # programs of 1 to 40 pushes; a capacity below 1 is taken as 1 (the smallest usable one)
    for n in range(1, 41):
        p = ProgramBuilder(1)
        values = [p.push() for _ in range(n)]
        r = bytedmd_price(p.trace(keep=values), ts_capacity=capacity)
        assert r.compactions == _renumberings(n, max(1, capacity)), n
        assert r.cost == 0 and r.peak_live_bytes == n


def test_the_renumbering_model_tells_the_smallest_capacities_apart():
    assert [_renumberings(n, 1) for n in (2, 5, 17)] == [1, 2, 3]
    assert [_renumberings(n, 2) for n in (2, 5, 17)] == [0, 1, 2]


@pytest.mark.parametrize("labels", [False, True])
def test_per_phase_and_per_label_counts_are_exact_integers(labels):
    # the documented int64 arrays (float64 would round totals past 2^53), summing to the totals
    for width in (1, 4):                           # uniform widths, and mixed widths 1..4
        r = bytedmd_price(random_trace(3, 200, 2, width, 0.3, labels))
        for name in ("phase_cost", "phase_reads", "label_cost", "label_reads"):
            assert getattr(r, name).dtype == np.int64, name
        assert type(r.cost) is int and type(r.reads) is int
        assert r.phase_cost.sum() == r.label_cost.sum() == r.cost > 0
        assert r.phase_reads.sum() == r.label_reads.sum() == r.reads > 0
