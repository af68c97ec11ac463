"""ByteDMD of one update of each rule in each execution schedule it declares (harness/schedules.py).
Plain script: prints a table, never asserts.

    PYTHONPATH=. python benchmarks/bench_schedules.py [--learners bptt,tbptt,eprop,node_perturbation]
                                                      [--lengths 5,80] [--bytes-per-element 4]

Each figure is harness.measure.measure_update(learner, SequenceLookup(length=T), seed=0,
schedule=s, reuse=False): one update after 3 warm-up updates in the same schedule, the rule's
defaults, H = 30 (as studies/scaling.py measures one update). Units: ByteDMD (sqrt-depth-priced
bytes read), reads in elements. Per learner and T the cheapest schedule is marked with *.
"""
from __future__ import annotations

import argparse
import time


def main(argv=None):
    import learners
    from harness.measure import measure_update
    from harness.task import SequenceLookup
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--learners", default="bptt,tbptt,eprop,node_perturbation")
    p.add_argument("--lengths", default="5,80")
    p.add_argument("--bytes-per-element", type=int, default=None)
    args = p.parse_args(argv)
    names = [n for n in args.learners.split(",") if n]
    lengths = [int(t) for t in args.lengths.split(",") if t]
    print("| learner | T | schedule | ByteDMD per update | reads | wall s |")
    print("|---|---|---|---|---|---|")
    for T in lengths:
        task = SequenceLookup(length=T)
        for name in names:
            learner = learners.get(name)()
            rows = []
            for schedule in learner.SCHEDULES:
                t0 = time.perf_counter()
                rep = measure_update(learner, task, seed=0, schedule=schedule, reuse=False,
                                     bytes_per_element=args.bytes_per_element)
                rows.append((schedule, rep.bytedmd, rep.reads, time.perf_counter() - t0))
            best = min(r[1] for r in rows)
            for schedule, cost, reads, wall in rows:
                mark = " *" if cost == best else ""
                print(f"| {name} | {T} | {schedule}{mark} | {cost:.4g} | {reads} | {wall:.1f} |",
                      flush=True)


if __name__ == "__main__":
    main()
