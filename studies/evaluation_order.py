"""How much of each rule's data movement is numpy's op-at-a-time evaluation order (issue 13, item 6).

    python -m studies.evaluation_order [--learners bptt,eprop] [--schedules batched,online]
                                       [--lengths 5,20] [--max-reads 1e8] [--config tuned]
                                       [--fuse elementwise|all]
                                       [--out results/evaluation_order] [--workers 2] [--quick]

ByteDMD depends on the order of the scalar work, not only on what is computed
(docs/cost_model_order.md). Every learner's update is recorded as numpy runs it: one operation
over a whole array before the next. For every learner (tuned configuration; --config defaults
for the constructors'), schedule it declares (harness/schedules.py) and sequence length T (H 30,
fixed timing), one warm update is measured (harness.measure.measure_update, 3 warm sweeps) and
priced twice:

- `numpy order`: as recorded (the study's figures everywhere else);
- `demand order`: the same instructions with every elementwise chain finished one element at a
  time, as a loop-fusing compiler would run it (metrics.reorder.demand_order; --fuse all: every
  value computed just before its first use). Same reads, same results; only the order differs.

`op_at_a_time_share` = 1 - demand / numpy: the share of the rule's ByteDMD that is due to the
op-at-a-time order (and likewise `energy_share` for metrics.energy on the default hierarchy,
docs/energy.md). The table also gives each rule's cost relative to BPTT in the same schedule in
each order, so one can see whether a comparison survives the change of order (a statement such
as "A moves less than B" is robust only if it holds in both; docs/cost_model_order.md).

An update over --max-reads tracked reads is skipped with the reason (RTRL: about 1e9 at T = 5).

Outputs in --out: evaluation_order.csv, summary.md, evaluation_order.png/.pdf (ByteDMD per
update in both orders, per rule, log scale), results.json (config, resolved hyperparameters,
commit, packages, machine), runs/ (one file per measurement; a rerun resumes).
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.schedules import SCHEDULES
from harness.sweep import run_sweep
from studies.common import (add_flag, begin, cli, finish_args, int_list, nonneg_float,
                            schedule_list,
                            provenance, remove_stale, report_written, study_parser)
from studies.configuration import add_config_flag, configured_hyper
from studies.figures import learner_style, pyplot, save_figure

STUDY = "evaluation_order"
N_HIDDEN = 30
WARM_SWEEPS = 3
REFERENCE = "bptt"
DEFAULTS = {"learners": None, "lengths": (5, 20), "schedules": SCHEDULES, "max_reads": 1e8,
            "fuse": "elementwise", "out": "results/evaluation_order"}
QUICK = {"lengths": (5,), "max_reads": 1e7, "out": "results/evaluation_order_quick"}
OUTPUTS = ["evaluation_order.csv", "summary.md", "evaluation_order.png",
           "evaluation_order.pdf", "results.json"]
COLUMNS = ["learner", "schedule", "T", "status", "reads", "bytedmd_numpy", "bytedmd_demand",
           "op_at_a_time_share", "energy_numpy_pj", "energy_demand_pj", "energy_share",
           "vs_bptt_numpy", "vs_bptt_demand", "note"]


def measure_orders(spec: dict) -> dict:
    """Runner (harness.sweep): one warm update priced in numpy order and in demand order.
    Units: ByteDMD cost units, reads in elements, energy in pJ."""
    from harness.measure import measure_update
    from harness.sweep import make_learner, make_task
    from metrics import bytedmd_price, energy
    from metrics.reorder import demand_order
    from metrics.tracking import ReadBudgetExceeded
    task = make_task(spec.get("task"))
    try:
        rep, trace = measure_update(make_learner(spec, task), task, seed=spec.get("seed", 0),
                                    warm_sweeps=WARM_SWEEPS, reuse=False,
                                    schedule=spec["schedule"], return_trace=True,
                                    max_reads=spec.get("max_reads"))
    except ReadBudgetExceeded as e:
        return {"status": "skipped", "note": f"over --max-reads: {str(e).splitlines()[0]}"}
    demand = demand_order(trace, spec.get("fuse", "elementwise"))
    out = {"status": "measured", "reads": int(rep.reads), "bytedmd_numpy": int(rep.bytedmd),
           "bytedmd_demand": int(bytedmd_price(demand).cost),
           "energy_numpy_pj": float(energy(trace).total_pj),
           "energy_demand_pj": float(energy(demand).total_pj)}
    return out


def specs_for(names, hyper, args) -> list[dict]:
    from studies.scaling_plan import supports
    return [{"runner": "studies.evaluation_order:measure_orders", "learner": n,
             "hyper": {**hyper.get(n, {}), "n_hidden": N_HIDDEN}, "task": {"length": T},
             "seed": 0, "schedule": s, "max_reads": int(args.max_reads), "fuse": args.fuse}
            for n in names for s in args.schedules if supports(n, s) for T in args.lengths]


def table(rows: list[dict]) -> pd.DataFrame:
    """evaluation_order.csv from the runs: shares, and each rule against BPTT in the same
    schedule and order."""
    recs = []
    for r in rows:
        sp = r["spec"]
        rec = {"learner": r["learner"], "schedule": sp["schedule"], "T": sp["task"]["length"]}
        if r.get("error"):
            rec.update(status="failed", note=str(r["error"]).splitlines()[0][:300])
        else:
            rec.update({k: r.get(k) for k in COLUMNS if k in r})
        recs.append(rec)
    df = pd.DataFrame(recs, columns=COLUMNS)
    for a, b, share in (("bytedmd_numpy", "bytedmd_demand", "op_at_a_time_share"),
                        ("energy_numpy_pj", "energy_demand_pj", "energy_share")):
        df[share] = 1.0 - pd.to_numeric(df[b]) / pd.to_numeric(df[a])
    ref = df[df["learner"] == REFERENCE].set_index(["schedule", "T"])
    for order in ("numpy", "demand"):
        col = f"bytedmd_{order}"
        base = [ref[col].get((s, t), np.nan) if (s, t) in ref.index else np.nan
                for s, t in zip(df["schedule"], df["T"])]
        df[f"vs_bptt_{order}"] = pd.to_numeric(df[col]) / pd.to_numeric(pd.Series(base))
    return df.sort_values(["T", "schedule", "learner"], kind="stable").reset_index(drop=True)


def _pct(v) -> str:
    return "n/a" if v != v else f"{100 * v:.0f}%"


def _x(v) -> str:
    return "n/a" if v != v else f"{v:.2f}x"


def summary_markdown(df: pd.DataFrame, args) -> str:
    lines = [f"# Evaluation order: numpy's op-at-a-time order vs demand order (H = {N_HIDDEN}, "
             f"fuse = {args.fuse})", "",
             "One warm update per rule, schedule and T, priced as recorded (numpy order) and with "
             "the same instructions in demand order (metrics.reorder). share = 1 - demand/numpy. "
             "x BPTT: the rule's ByteDMD over BPTT's in the same schedule, T and order.", ""]
    for T in sorted(df["T"].unique()):
        lines += [f"## T = {T}", "", "| learner | schedule | ByteDMD numpy | ByteDMD demand | "
                  "share (ByteDMD) | share (energy) | x BPTT numpy | x BPTT demand |",
                  "|---|---|---|---|---|---|---|---|"]
        for _, r in df[df["T"] == T].iterrows():
            if r["status"] != "measured":
                lines.append(f"| {r['learner']} | {r['schedule']} | {r['status']}: "
                             f"{r['note']} | | | | | |")
                continue
            lines.append(f"| {r['learner']} | {r['schedule']} | {int(r['bytedmd_numpy']):.3e} | "
                         f"{int(r['bytedmd_demand']):.3e} | {_pct(r['op_at_a_time_share'])} | "
                         f"{_pct(r['energy_share'])} | {_x(r['vs_bptt_numpy'])} | "
                         f"{_x(r['vs_bptt_demand'])} |")
        lines.append("")
    lines += _flips(df)
    return "\n".join(lines) + "\n"


def _flips(df: pd.DataFrame) -> list[str]:
    """Comparisons with BPTT that change side between the two orders (exact numbers, one
    program each: no interval is needed)."""
    m = df[(df["status"] == "measured") & (df["learner"] != REFERENCE)].dropna(
        subset=["vs_bptt_numpy", "vs_bptt_demand"])
    flips = m[(m["vs_bptt_numpy"] < 1) != (m["vs_bptt_demand"] < 1)]
    out = ["## Comparisons with BPTT that depend on the order", ""]
    if flips.empty:
        out.append("None: every rule is on the same side of BPTT (same schedule and T) in both "
                   "orders.")
    for _, r in flips.iterrows():
        out.append(f"- {r['learner']} ({r['schedule']}, T = {r['T']}): {_x(r['vs_bptt_numpy'])} "
                   f"BPTT in numpy order, {_x(r['vs_bptt_demand'])} in demand order.")
    return out + [""]


def plot(df: pd.DataFrame, path) -> None:
    """ByteDMD per update in both orders, one panel per T, the rules' batched schedule (or
    their only one); hollow markers demand order."""
    plt = pyplot()
    Ts = sorted(df["T"].unique())
    fig, axes = plt.subplots(1, len(Ts), figsize=(6 * len(Ts), 4.8), squeeze=False)
    for ax, T in zip(axes[0], Ts):
        m = df[(df["T"] == T) & (df["status"] == "measured")]
        names = sorted(m["learner"].unique())
        for i, n in enumerate(names):
            for j, s in enumerate(SCHEDULES):
                r = m[(m["learner"] == n) & (m["schedule"] == s)]
                if r.empty:
                    continue
                colour, marker = learner_style(n)
                x = i + (j - 1) * 0.22
                ax.plot([x, x], [r["bytedmd_numpy"].iloc[0], r["bytedmd_demand"].iloc[0]],
                        color=colour, lw=1)
                ax.plot(x, r["bytedmd_numpy"].iloc[0], marker, color=colour)
                ax.plot(x, r["bytedmd_demand"].iloc[0], marker, mfc="none", color=colour)
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ByteDMD per update (cost units)")
        ax.set_title(f"T = {T}: filled numpy order, hollow demand order\n"
                     "(per rule: batched, per_sequence, online left to right)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def parse_args(argv=None):
    p = study_parser("python -m studies.evaluation_order", __doc__, DEFAULTS, QUICK)
    fmt = lambda v: ",".join(map(str, v)) if isinstance(v, tuple) else f"{v:.0e}"  # noqa: E731
    add_flag(p, "--lengths", int_list, "sequence lengths T, each >= 2", DEFAULTS, QUICK, fmt,
             metavar="T,T")
    add_flag(p, "--schedules", str, "schedules (comma-separated of " + ",".join(SCHEDULES) + ")",
             DEFAULTS, QUICK, fmt, metavar="A,B")
    add_flag(p, "--max-reads", nonneg_float, "skip an update over this many tracked reads",
             DEFAULTS, QUICK, fmt, metavar="READS")
    add_config_flag(p)
    add_flag(p, "--fuse", str, "what demand order defers: elementwise (chains of elementwise "
             "operations) or all (every value as late as possible)", DEFAULTS, QUICK)
    args = finish_args(p, argv, DEFAULTS, QUICK)
    if args.fuse not in ("elementwise", "all"):
        p.error(f"--fuse {args.fuse!r}: elementwise or all")
    args.schedules = schedule_list(p, args.schedules)
    if min(args.lengths) < 2:
        p.error("--lengths: every T must be >= 2")
    return args


def _main(argv):
    t0 = time.perf_counter()
    args = parse_args(argv)
    names, hyper, _, out = begin(args, STUDY, reserved={"n_hidden": f"H = {N_HIDDEN}"})
    args.config = args.config or "tuned"
    hyper = configured_hyper(names, hyper, args.config)
    rows = run_sweep(specs_for(names, hyper, args), out, workers=args.workers,
                     backend=args.backend, progress=not args.no_progress,
                     run_timeout=args.run_timeout, desc=STUDY)
    df = table(rows)
    atomic_write_csv(out / "evaluation_order.csv", df)
    summary = summary_markdown(df, args)
    atomic_write_text(out / "summary.md", summary)
    plot(df, out / "evaluation_order.png")
    wall = time.perf_counter() - t0
    config = vars(args) | {"learners": names, "n_hidden": N_HIDDEN, "warm_sweeps": WARM_SWEEPS}
    atomic_write_json(out / "results.json", provenance(STUDY, config, names, hyper, wall_s=wall))
    remove_stale(out, OUTPUTS, OUTPUTS)
    print(summary)
    report_written(out, OUTPUTS)
    return 0 if (df["status"] == "measured").any() else 1


def main(argv=None):
    return cli(_main, argv)


if __name__ == "__main__":
    sys.exit(main())
