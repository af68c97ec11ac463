"""metrics.reorder.demand_order: the same program, each value computed just before its first use.

Checked against a slow recursive definition on random programs, by the properties that make it
the same program (a topological order, every instruction's reads kept, anchored instructions in
their order), by the engine against the slow oracle on the reordered trace, on a hand-priced
program, and on the 8-3-8 kernels of docs/cost_model_order.md.
"""
import numpy as np
from hypothesis import given, settings, strategies as st

import metrics
from metrics.oracle import oracle_bytedmd
from metrics.reorder import demand_order
from metrics.trace import ProgramBuilder


@st.composite
def programs(draw):
    p = ProgramBuilder(draw(st.sampled_from([1, 8])))
    ids = [p.push() for _ in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(0, 40))):
        if draw(st.integers(0, 9)) == 0:
            ids.append(p.push())                       # an input entering later
            continue
        ops = [draw(st.sampled_from(ids)) for _ in range(draw(st.integers(1, 3)))]
        ids.append(p.op(*ops))
    keep = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    trace = p.trace(keep=keep)
    # some instructions marked as elements of elementwise operations, in runs
    runs, v = [], 0
    while v < len(ids) + 1:
        length = draw(st.integers(1, 4))
        if draw(st.booleans()):
            runs.append((v, length))
        v += length
    n = trace.n_values
    trace.elementwise_runs = np.array([(a, min(c, n - a)) for a, c in runs if a < n],
                                      np.int64).reshape(-1, 2)
    return trace


def slow_anchored(trace, fuse):
    nreads, reads, _, _ = (list(map(int, a)) for a in trace.arrays())
    ew = set(v for a, c in trace.elementwise_runs.tolist() for v in range(a, a + c))
    first = {}
    pos = 0
    for v, k in enumerate(nreads):
        for u in reads[pos:pos + k]:
            first.setdefault(u, v)
        pos += k
    anchored = set()
    for v in range(len(nreads)):
        if nreads[v] == 0 or v not in first:
            anchored.add(v)
        elif fuse == "elementwise" and not (v in ew and first[v] in ew and all(
                u in ew for u in range(v, first[v] + 1))):
            anchored.add(v)
    return anchored


def slow_demand_order(trace, fuse="elementwise"):
    """The definition, read off the module docstring with Python recursion."""
    nreads, reads, _, _ = (list(map(int, a)) for a in trace.arrays())
    offs = np.concatenate(([0], np.cumsum(nreads))).astype(int)
    anchored = slow_anchored(trace, fuse)
    order, done = [], set()

    def emit(v):
        for u in reads[offs[v]:offs[v + 1]]:
            if u not in done:
                emit(u)
        done.add(v)
        order.append(v)

    for v in range(len(nreads)):
        if v in anchored and v not in done:
            emit(v)
    return order


def _arrays(trace):
    nreads, reads, vb, ph = (np.asarray(a) for a in trace.arrays())
    return nreads, reads, vb, ph


@settings(max_examples=300, deadline=None)
@given(programs(), st.sampled_from(["elementwise", "all"]))
def test_same_program_in_demand_order(trace, fuse):
    new = demand_order(trace, fuse)
    nreads, reads, vb, _ = _arrays(trace)
    n2, r2, vb2, _ = _arrays(new)
    order = slow_demand_order(trace, fuse)
    assert sorted(order) == list(range(len(nreads)))            # a permutation
    new_id = np.empty(len(order), int)
    new_id[order] = np.arange(len(order))
    # the compiled permutation is the definition's
    assert list(n2) == [int(nreads[v]) for v in order]
    assert list(vb2) == [int(vb[v]) for v in order]
    offs = np.concatenate(([0], np.cumsum(nreads))).astype(int)
    expect = [int(new_id[u]) for v in order for u in reads[offs[v]:offs[v + 1]]]
    assert list(r2) == expect
    # a topological order: every read is of a value created before the reader
    offs2 = np.concatenate(([0], np.cumsum(n2))).astype(int)
    for v in range(len(n2)):
        assert all(u < v for u in r2[offs2[v]:offs2[v + 1]])
    # anchored instructions (inputs, values never read, ...) keep their relative order
    anchored = sorted(slow_anchored(trace, fuse))
    assert [v for v in order if v in set(anchored)] == anchored
    ew_old = {v for a, c in trace.elementwise_runs.tolist() for v in range(a, a + c)}
    ew_new = {v for a, c in new.elementwise_runs.tolist() for v in range(a, a + c)}
    assert ew_new == {int(new_id[v]) for v in ew_old}
    assert sorted(new.keep.tolist()) == sorted(int(new_id[k]) for k in trace.keep)
    # fast equals slow on the reordered program; the order is a fixed point
    assert metrics.bytedmd_price(new).cost == oracle_bytedmd(new)["cost"]
    again = demand_order(new, fuse)
    assert [a.tolist() for a in _arrays(again)] == [a.tolist() for a in _arrays(new)]


def test_hand_priced_elementwise_chain():
    """x0, x1 pushed (x1 on top); y = f(x); z = g(y), elementwise, 1 byte per value.
    numpy order y0 y1 z0 z1: every read at depth 2 (a value leaves the stack after its last
    read): 4 x ceil(sqrt 2) = 8. Demand order y0 z0 y1 z1: x0 at depth 2 (2), y0 at depth 1
    (1), x1 at depth 2 (2), y1 at depth 1 (1): 6."""
    p = ProgramBuilder(1)
    x0, x1 = p.push(), p.push()
    y0, y1 = p.op(x0), p.op(x1)
    z0, z1 = p.op(y0), p.op(y1)
    trace = p.trace(keep=[z0, z1])
    assert metrics.bytedmd_price(trace).cost == 8
    assert _arrays(demand_order(trace))[1].tolist() == [0, 1, 2, 3]   # no elementwise op marked
    trace.elementwise_runs = np.array([[2, 2], [4, 2]])                # y, then z: elementwise
    new = demand_order(trace)
    assert _arrays(new)[1].tolist() == [0, 2, 1, 4]             # y0 z0 y1 z1
    assert metrics.bytedmd_price(new).cost == 6


def test_labels_phases_and_escapes_follow_their_instructions():
    import numpy as onp
    from metrics.api import trace_call

    def prog(a, b):
        c = a * b
        float(c[0])                      # an escape: never read, anchored where it happens
        return c + a

    _, trace = trace_call(prog, (onp.arange(1.0, 4.0), onp.arange(4.0, 7.0)))
    new = demand_order(trace)
    assert new.escapes == trace.escapes and new.n_reads == trace.n_reads
    assert int(np.asarray(new.escape_runs)[:, 1].sum()) == int(np.asarray(trace.escape_runs)[:, 1].sum())
    nreads, reads, _, _ = _arrays(new)
    offs = np.concatenate(([0], np.cumsum(nreads))).astype(int)
    for first, count in np.asarray(new.escape_runs):
        for v in range(first, first + count):
            assert not np.isin(v, reads)                     # escapes are never read


def test_scalar_kernels_and_whole_array_order():
    """The published CD kernels already run their one-element operations in demand order (a
    fixed point: 24,641 and 67,581); the same instructions in whole-array order cost 2.7x more,
    and fusing the elementwise chains takes much of that back (everything as late as possible,
    more). Numbers measured by this project (docs/cost_model_order.md)."""
    import scalar_kernels as sk
    from metrics.api import trace_call
    from test_evaluation_order import CASES, PUBLISHED

    def cost(trace):
        return metrics.bytedmd_price(trace, bytes_per_element=1).cost

    for name in ("CD-1", "CD-5"):
        scalar, whole, _, args = CASES[name]
        _, t_scalar = trace_call(scalar, args, bytes_per_element=1)
        assert cost(demand_order(t_scalar)) == cost(t_scalar) == PUBLISHED[name]
    _, t_whole = trace_call(CASES["CD-1"][1], CASES["CD-1"][3], bytes_per_element=1)
    assert cost(t_whole) == 75_192 and cost(demand_order(t_whole)) == 33_920
    assert cost(demand_order(t_whole, "all")) == 28_052
    _, t_bp = trace_call(sk.backprop_gradient_whole_array, CASES["backprop"][3],
                         bytes_per_element=1)
    assert cost(t_bp) == 33_387 and cost(demand_order(t_bp)) == 19_585
    assert cost(demand_order(t_bp, "all")) == 17_573


def test_tracker_marks_elementwise_operations_only():
    """ufuncs are elementwise operations (one instruction per output element); a matmul's
    products and sums are not."""
    from metrics.api import trace_call
    A, B = np.ones((2, 3)), np.ones((3, 2))
    _, trace = trace_call(lambda a, b: np.tanh(a @ b) + 1.0, (A, B))
    n = trace.n_values
    runs = trace.elementwise_runs.tolist()
    assert [c for _, c in runs] == [4, 4]                  # tanh, then + 1: one per element
    assert runs[-1][0] + runs[-1][1] == n                  # the last instructions of the program
    assert runs[0][0] == runs[1][0] - 4 and runs[0][0] == n - 8
