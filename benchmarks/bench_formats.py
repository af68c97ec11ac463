"""ByteDMD and energy of one update at each number format (docs/formats.md): the default width
(--bytes-per-element: float64 values priced at 8, 4 or 2 bytes, nothing rounded) crossed with a
rule's storage dtype (BPTT's history_dtype, e-prop's trace_dtype: really rounded, priced at that
width). Plain script: prints a markdown table, never asserts.

    PYTHONPATH=. python benchmarks/bench_formats.py [--lengths 5,80] [--widths 8,4,2]
                                                    [--schedules batched,online] [--config tuned]

Each figure is harness.measure.measure_update(learner, SequenceLookup(length=T), seed=0,
schedule=s, bytes_per_element=w, reuse=False, return_trace=True): one update after 3 warm-up
updates in the same schedule, each rule at its tuned configuration (learners/tuned.json; H = 30)
or its defaults (--config defaults), and metrics.energy of that update's trace on the default
hierarchy (docs/energy.md). Units: ByteDMD (sqrt-depth-priced bytes read), energy in µJ,
reads in elements, peak live bytes in KiB.
"""
from __future__ import annotations

import argparse
import time

CASES = (("bptt", {}), ("bptt", {"history_dtype": "float16"}),
         ("eprop", {}), ("eprop", {"trace_dtype": "float16"}))


def main(argv=None):
    import learners
    from harness.measure import measure_update
    from harness.task import SequenceLookup
    from metrics import energy
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", default="5,80")
    p.add_argument("--widths", default="8,4,2")
    p.add_argument("--schedules", default="batched,online")
    p.add_argument("--config", choices=["tuned", "defaults"], default="tuned")
    args = p.parse_args(argv)
    lengths = [int(t) for t in args.lengths.split(",") if t]
    widths = [int(w) for w in args.widths.split(",") if w]
    scheds = [s for s in args.schedules.split(",") if s]
    print("| learner | storage | T | schedule | bytes per element | ByteDMD per update | "
          "energy per update (µJ) | reads | peak live KiB | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for T in lengths:
        task = SequenceLookup(length=T)
        for name, storage in CASES:
            cls = learners.get(name)
            learner = cls.tuned(**storage) if args.config == "tuned" else cls(**storage)
            shown = ", ".join(f"{k}={v}" for k, v in storage.items()) or "float64"
            for sched in scheds:
                if sched not in learner.SCHEDULES:
                    continue
                for w in widths:
                    t0 = time.perf_counter()
                    rep, trace = measure_update(learner, task, seed=0, schedule=sched,
                                                bytes_per_element=w, reuse=False,
                                                return_trace=True)
                    e = energy(trace).total_pj
                    del trace
                    print(f"| {name} | {shown} | {T} | {sched} | {w} | {rep.bytedmd:.4g} | "
                          f"{e * 1e-6:.4g} | {rep.reads} | {rep.peak_live_bytes / 1024:.1f} | "
                          f"{time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main()
