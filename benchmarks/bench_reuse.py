"""How fast are the reuse-distance metrics against a plain compiled Fenwick-tree kernel? Plain
script: prints, never asserts.

    PYTHONPATH=. python benchmarks/bench_reuse.py [--n N] [--quick]

Issue 13's target: metrics.reuse_distances on 10^7 accesses within 2x of a plain compiled
Fenwick-tree kernel measured in the same run. The reference kernel (`plain_fenwick`, below) is the
textbook one, given the most favourable input: addresses already dense ids 0..m-1 (the mapping
from raw addresses is done outside its timing). It keeps a Fenwick tree over access times with a
1 at each address's latest access, and per access makes two prefix sums and two updates.
metrics.reuse_distances is timed end to end (raw int64 addresses in, int64 distances out).

Address streams (--n accesses each, seed 0):
  uniform    uniform over 10^6 addresses 0..10^6-1 (mostly long reuse; the direct-table path)
  sparse     the same stream with every address scattered over 2^62 (the hash-table path)
  zipf       Zipf(1.2) popularity over the same 10^6 addresses (mostly short reuse)
  trace      metrics.trace_reuse_distances of a recorded BPTT training run (tracked, 1 sweep)
             repeated with shifted ids, against the plain kernel on its touch stream
  energy     metrics.energy_model.energy_of_trace (default hierarchy) of that same trace
Each row: ns per access (per touch for trace and energy) of both, best of 3, and their ratio
(target <= 2).
"""
from __future__ import annotations

import argparse
import time

import numba as nb
import numpy as np

import metrics
from metrics.energy_model import energy_of_trace


@nb.njit(cache=True)
def plain_fenwick(ids, n_ids):
    """Reference: textbook Fenwick-tree stack distances of dense ids in [0, n_ids)."""
    n = ids.shape[0]
    tree = np.zeros(n + 1, np.int32)
    last = np.full(n_ids, -1, np.int64)
    out = np.empty(n, np.int64)
    for t in range(n):
        a = ids[t]
        p = last[a]
        if p < 0:
            out[t] = -1
        else:
            s = 0
            i = t
            while i > 0:
                s += tree[i]
                i -= i & (-i)
            i = p + 1
            while i > 0:
                s -= tree[i]
                i -= i & (-i)
            out[t] = s
            i = p + 1
            while i <= n:
                tree[i] -= 1
                i += i & (-i)
        i = t + 1
        while i <= n:
            tree[i] += 1
            i += i & (-i)
        last[a] = t
    return out


def paired_best_of(f, g, n=3):
    """Best of n timings of f and of g, run alternately (the machine's speed drifts)."""
    tf, tg = [], []
    for _ in range(n):
        for fn, ts in ((f, tf), (g, tg)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return min(tf), min(tg)


def streams(n, rng):
    m = 10**6
    uniform = rng.integers(0, m, n, dtype=np.int64)
    scatter = rng.permutation(m).astype(np.int64) * np.int64(4611686018427)   # < 2^62
    ranks = np.minimum(rng.zipf(1.2, n) - 1, m - 1).astype(np.int64)
    zipf = rng.permutation(m).astype(np.int64)[ranks]
    return {"uniform": uniform, "sparse": scatter[uniform], "zipf": zipf}


def touch_stream(trace):
    """The touches trace_reuse_distances walks (reads, then the created value), as dense ids."""
    nreads, reads, _, _ = trace.arrays()
    n = nreads.shape[0]
    width = nreads.astype(np.int64) + 1
    addr = np.empty(int(width.sum()), np.int64)
    is_read = np.ones(addr.shape[0], np.bool_)
    ends = np.cumsum(width) - 1
    addr[ends] = np.arange(n, dtype=np.int64)
    is_read[ends] = False
    addr[is_read] = reads
    return addr, n


def bench_trace(n):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_engine import record_bptt_run, repeated_trace, split_chunks
    base = record_bptt_run(sweeps=1)
    reps = max(1, round(n / (base.n_reads + base.n_values)))
    tr = repeated_trace(base, split_chunks(base), reps)
    addr, nv = touch_stream(base)
    addr = np.concatenate([addr + r * nv for r in range(reps)])
    got = metrics.trace_reuse_distances(tr)
    want = plain_fenwick(addr, nv * reps)
    reads_mask = np.ones(addr.shape[0], np.bool_)
    reads_mask[np.cumsum(np.tile(base.arrays()[0].astype(np.int64) + 1, reps)) - 1] = False
    assert np.array_equal(got, want[reads_mask]), "trace_reuse_distances != plain kernel"
    t_fast, t_ref = paired_best_of(lambda: metrics.trace_reuse_distances(tr),
                                   lambda: plain_fenwick(addr, nv * reps))
    energy_of_trace(tr)
    t_energy, t_ref2 = paired_best_of(lambda: energy_of_trace(tr),
                                      lambda: plain_fenwick(addr, nv * reps))
    return addr.shape[0], t_fast, t_ref, t_energy, t_ref2


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7, help="accesses per stream (default 10^7)")
    ap.add_argument("--quick", action="store_true", help="10^6 accesses")
    args = ap.parse_args(argv)
    n = 10**6 if args.quick else args.n
    rng = np.random.default_rng(0)
    # compile both on a small input first
    small = rng.integers(0, 50, 1000, dtype=np.int64)
    assert np.array_equal(metrics.reuse_distances(small), plain_fenwick(small, 50))
    print(f"{'stream':<8} {'accesses':>11} {'reuse_distances ns':>19} {'plain kernel ns':>16} "
          f"{'ratio':>6}")
    for name, a in streams(n, rng).items():
        uniq, dense = np.unique(a, return_inverse=True)
        dense = dense.astype(np.int64).ravel()
        got = metrics.reuse_distances(a)
        assert np.array_equal(got, plain_fenwick(dense, len(uniq))), f"{name}: results differ"
        t_fast, t_ref = paired_best_of(lambda: metrics.reuse_distances(a),
                                       lambda: plain_fenwick(dense, len(uniq)))
        print(f"{name:<8} {n:>11,} {1e9 * t_fast / n:>19.1f} {1e9 * t_ref / n:>16.1f} "
              f"{t_fast / t_ref:>6.2f}")
    m, t_fast, t_ref, t_energy, t_ref2 = bench_trace(n)
    print(f"{'trace':<8} {m:>11,} {1e9 * t_fast / m:>19.1f} {1e9 * t_ref / m:>16.1f} "
          f"{t_fast / t_ref:>6.2f}   (per touch; trace_reuse_distances)")
    print(f"{'energy':<8} {m:>11,} {1e9 * t_energy / m:>19.1f} {1e9 * t_ref2 / m:>16.1f} "
          f"{t_energy / t_ref2:>6.2f}   (per touch; energy_of_trace)")


if __name__ == "__main__":
    main()
