"""How fast is tracking? Plain script: prints, never asserts.

    PYTHONPATH=. python benchmarks/bench_tracking.py

1. metrics.bytedmd(lambda A, B: A @ B, (A, B)) for 64x64 float64 (tracking + pricing), divided
   by a naive i-j-k matmul as a plain Python loop on Python floats with no tracking at all.
2. 5 BPTT sweeps through harness.train: tracked (every array of every step recorded) vs plain.
"""
from __future__ import annotations

import time

import numpy as np


def best_of(f, n=3):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def naive_matmul(A, B):
    n, k, m = len(A), len(B), len(B[0])
    C = [[0.0] * m for _ in range(n)]
    for i in range(n):
        Ai, Ci = A[i], C[i]
        for j in range(m):
            s = Ai[0] * B[0][j]
            for kk in range(1, k):
                s = s + Ai[kk] * B[kk][j]
            Ci[j] = s
    return C


def main():
    import metrics.api as api
    from metrics.api import bytedmd, trace_call
    rng = np.random.default_rng(0)
    n = 64
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    Al, Bl = A.tolist(), B.tolist()
    try:
        import metrics.engine  # noqa: F401
        pricer = "metrics.engine.bytedmd_price"
    except ImportError:
        pricer = "metrics.oracle (engine missing: slow)"
    bytedmd(lambda a, b: a @ b, (A, B))                  # warm-up (numba compilation)
    t_plain = best_of(lambda: naive_matmul(Al, Bl))
    t_bytedmd = best_of(lambda: bytedmd(lambda a, b: a @ b, (A, B)))
    t_trace = best_of(lambda: trace_call(lambda a, b: a @ b, (A, B)))
    _, tr = trace_call(lambda a, b: a @ b, (A, B))
    print(f"64x64 matmul: {tr.n_values:,} instructions, {tr.n_reads:,} reads; pricer: {pricer}")
    print(f"  naive Python i-j-k loop (no tracking): {t_plain * 1e3:8.1f} ms")
    print(f"  metrics.bytedmd (track + price):       {t_bytedmd * 1e3:8.1f} ms   "
          f"ratio {t_bytedmd / t_plain:.2f}x")
    print(f"  of which tracking only (trace_call):   {t_trace * 1e3:8.1f} ms   "
          f"ratio {t_trace / t_plain:.2f}x")
    print(f"  cost = {bytedmd(lambda a, b: a @ b, (A, B)):,}")

    import learners
    from harness.task import Batch
    from harness.tracking import TrackedArray, Tracker
    from harness.training import run_update, train

    def tracked_run():
        tr = Tracker()

        def step(lr, st, b):
            ts = {k: (v if isinstance(v, TrackedArray) else tr.track(v, name=k))
                  for k, v in st.items()}
            tb = Batch(segments=[tr.track(s) for s in b.segments], targets=tr.track(b.targets))
            return run_update(lr, ts, tb, phase=tr.phase)

        train(learners.get("bptt")(), sweeps=5, step=step, log_test=False)
        return tr

    t_p = best_of(lambda: train(learners.get("bptt")(), sweeps=5, log_test=False))
    t_t = best_of(tracked_run)
    tr = tracked_run()
    print(f"BPTT, 5 sweeps (log_test=False): plain {t_p * 1e3:.1f} ms, tracked {t_t * 1e3:.1f} ms "
          f"({t_t / t_p:.1f}x); {tr.n_values:,} instructions recorded, escapes {tr.escapes}")


if __name__ == "__main__":
    main()
