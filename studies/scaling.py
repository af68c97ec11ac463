"""How the data movement of each credit-assignment rule grows with the sequence length T, in each
execution schedule, and where a local rule moves less than BPTT (issue 13, item 4).

    python -m studies.scaling [--learners bptt,eprop] [--schedules batched,online]
                              [--config tuned|defaults]
                              [--lengths 5,10,20,40,80] [--hidden 30,60] [--seeds 3]
                              [--sweeps 800] [--max-reads 1e8] [--max-energy-reads 3e8]
                              [--max-train-reads 3e11] [--out results/scaling] [--workers 2]
                              [--bytes-per-element 8|4|2] [--price-as float16=1]
                              [--task final|per_step] [--backend local|ray] [--quick]

For every learner (at its tuned configuration, learners/tuned.json, with --hyper on top;
--config defaults: the constructors' defaults, as docs/results/scaling_long was measured),
schedule, hidden size H and sequence length T (fixed timing, SequenceLookup(length=T); with
--task per_step, SequenceLookup(length=T, target_kind="per_step"): a target at every step, each
rule learning from the per-step loss, learners/rnn.py; a rule that does not declare per_step
targets gets rows with status "unsupported" and the reason; --out then defaults to
results/scaling_per_step and a folder holds one task kind), one row of scaling.csv:

- one update measured on tracked arrays (harness.measure.measure_update, warm after 3 sweeps in
  that schedule, reuse=False): ByteDMD with its reads and the forward / credit / update split;
  `peak_live_bytes`, the update's exact working set in bytes (the engine's liveness); and
  `energy_pj_per_update`, metrics.energy of its trace on the default hierarchy
  (docs/energy.md), when the update makes at most --max-energy-reads reads (pricing holds the
  trace's touches in memory: bptt at H = 30, T = 1000 online, 2.4e8 reads, peaks at 5.4 GB);
  over that budget the row says so in `skip_reason`;
- schedules (--schedules, default batched; harness/schedules.py): a rule is measured in each
  listed schedule it declares in its SCHEDULES; in any other the row's status is "unsupported";
- plain training runs (harness.train, --seeds seeds, --sweeps sweeps; batched rows only;
  --seeds 0 for per-update measurements only): train / held-out / unseen accuracy (unseen is a
  fixed 10,000-sequence sample when T >= 8);
- peak heap memory (memray): of the plain training run (seed 0) when training is affordable,
  otherwise of one plain update in the row's schedule; the column `peak_memory_of` says which.
  The one-update peak (the learner's own allocations, without the harness's evaluation) is also
  kept for every affordable point: `peak_memory_update_bytes`.

Every measurement is priced in one number format (--bytes-per-element, default 8, and
--price-as: docs/formats.md), said in summary.md and on the figures' axes.

Each (learner, schedule, H, T) measurement and each training seed is one spec of
harness.sweep.run_sweep (parallel, resumable from --out/runs/, failure-tolerant).

Affordability. Before anything is measured, the reads of one tracked update are estimated. Tiny
probes (T = 2, 3 at H = 8, 16, in each schedule) give, per learner and schedule,
reads(T, H) = a(H) + b(H) T with a and b power laws in H; once a (learner, schedule, H) has
measured points, its estimate at the next T is extrapolated linearly in T from them (lengths
are processed in increasing order). A measurement whose estimated reads exceed --max-reads
(tracked: about 0.2-0.4 us and 20 bytes of peak memory each) is skipped, and so is training
whose estimated reads (per update x sweeps) exceed --max-train-reads; skipped points are
recorded with the reason. `est_reads` sits next to the measured `reads` so the estimate can be
checked.

The report (studies/scaling_report.py) uses measured points only: per (learner, schedule, H) and
cost model (ByteDMD, energy) the T at which the rule's cost drops below BPTT's, against BPTT in
the same schedule and in its best schedule at each T (log-log interpolation between the two
measured lengths that bracket it, never extrapolated; "none up to T = <largest measured>"
otherwise); and the first measured T at which BPTT's peak live bytes exceed each cache level
of the default hierarchy (metrics.hierarchy), marked on the figures.

Outputs in --out (figures as PNG and PDF): scaling.csv (one row per learner, schedule, H, T),
scaling_fits.csv (growth exponents of ByteDMD, energy and update memory in T; descriptive),
crossings.csv, history_overflow.csv, summary.md, scaling.png (ByteDMD per update vs T),
scaling_energy.png (energy per update vs T), results.json (config, resolved hyperparameters,
git commit, packages, machine, threads, wall time), runs/.

    python -m studies.scaling --report-only --out DIR

redraws DIR's report (everything but scaling.csv) from its scaling.csv and results.json without
measuring anything; results.json keeps the measurements' provenance and gains `report`, the
commit and command that drew it. (A rerun of the study itself redoes every run after any change
to the project's source, since each run's key includes a hash of it.)
"""
from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np
import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.schedules import SCHEDULES
from harness.sweep import run_sweep
from harness.training import run_update
from studies.movement import update_columns
from studies.configuration import add_config_flag, configured_hyper
from studies.number_format import measure_kwargs, study_format
from studies.common import (StudyError, add_flag, begin, cli, finish_args, int_list,
                            schedule_list,
                            nonneg_float, provenance, remove_stale, report_written,
                            split_by_targets, study_parser, positive_int)
from studies.scaling_plan import (PROBE_HIDDEN, PROBE_LENGTHS, WARM_SWEEPS, absorb,  # noqa: F401
                                  estimate_reads, plan_length, point_record, probe_model,
                                  probe_models, probe_specs)
from studies.scaling_report import (CROSSING_COLUMNS, FIT_COLUMNS, OVERFLOW_COLUMNS,  # noqa: F401
                                    REFERENCE, crossings_frame, fits_frame, hierarchy_name,
                                    history_overflow, plot_cost, summary_markdown)

STUDY = "scaling"
DEFAULTS = {"learners": None, "lengths": (5, 10, 20, 40, 80), "hidden": (30, 60), "seeds": 3,
            "sweeps": None, "schedules": ("batched",), "max_reads": 1e8,
            "max_energy_reads": 3e8, "max_train_reads": 3e11, "out": "results/scaling",
            "task": "final"}
# max_reads: tracked reads of one measured update (~40 s, ~3 GB); max_train_reads: estimated
# reads of one plain training run (~4e9 plain reads/s); max_energy_reads: reads of a measured
# update whose trace is priced for energy (bptt, H = 30, T = 1000, online: 2.4e8 reads, 48 s and
# 4.7 GB peak to measure, then 15 s and 5.4 GB peak to price)
QUICK = {"lengths": (5, 10, 20), "hidden": (30,), "seeds": 1, "sweeps": 60,
         "max_reads": 2e7, "max_train_reads": 1e10, "out": "results/scaling_quick"}
RESERVED = {"n_hidden": "--hidden"}          # hyperparameters this study sets itself
OUTPUTS = ["scaling.csv", "scaling_fits.csv", "crossings.csv", "history_overflow.csv",
           "summary.md", "scaling.png", "scaling_energy.png", "results.json"]
CSV_COLUMNS = ["learner", "schedule", "n_hidden", "T", "status", "est_reads", "reads", "writes",
               "bytedmd", "bytedmd_forward", "bytedmd_credit", "bytedmd_update",
               "energy_pj_per_update", "peak_live_bytes", "peak_memory_bytes",
               "peak_memory_of", "peak_memory_update_bytes", "train_runs", "train_ok",
               "train_acc", "test_acc",
               "unseen_acc", "unseen_acc_min", "unseen_acc_max", "converged_runs",
               "converged_sweep", "baseline_unseen_acc", "unseen_is_sample", "sweeps",
               "skip_reason", "error"]


# ---- runners (executed by harness.sweep in worker processes) ---------------------------------

def _one_plain_update(learner, task, seed, schedule="batched"):
    state = learner.init(task, np.random.default_rng(seed))
    timing_rng = task.timing_rng(seed) if task.variable_timing else None
    new_state, _ = run_update(learner, state, task.train_batch(timing_rng), schedule=schedule)
    return None


def measure_point(spec: dict) -> dict:
    """One (learner, schedule, H, T): ByteDMD of one warm update in spec["schedule"] (default
    batched; spec["bytedmd"], default True), its exact peak live bytes (the engine's liveness)
    and, when its reads are at most spec["max_energy_reads"], its energy on spec["hierarchy"]
    (a MemoryHierarchy dict; default: the default hierarchy) (metrics.energy; otherwise
    `energy_note` says why not); with spec["memory"] ==
    "update", the memray peak of one plain update in that schedule. Priced in the spec's number
    format (studies/number_format.py). Units: ByteDMD cost units; reads and writes in elements;
    memory in bytes; energy in pJ."""
    from harness.measure import measure_update, peak_memory_bytes
    from harness.sweep import make_learner, make_task
    task = make_task(spec.get("task"))
    seed = spec.get("seed", 0)
    sched = spec.get("schedule", "batched")
    out = {}
    t0 = time.perf_counter()
    if spec.get("bytedmd", True):
        rep, trace = measure_update(make_learner(spec, task), task, seed=seed,
                                    warm_sweeps=spec.get("warm_sweeps", WARM_SWEEPS),
                                    reuse=False, schedule=sched, return_trace=True,
                                    **measure_kwargs(spec))
        out.update(update_columns(rep))
        out["peak_live_bytes"] = int(rep.peak_live_bytes)
        cap = spec.get("max_energy_reads")
        if cap is not None:
            if rep.reads <= cap:
                from metrics import energy
                from metrics.hierarchy import MemoryHierarchy
                h = spec.get("hierarchy")
                h = None if h is None else MemoryHierarchy.from_dict(h)
                out["energy_pj_per_update"] = float(energy(trace, h).total_pj)
            else:
                out["energy_note"] = (f"energy not priced: {rep.reads:.2g} reads > "
                                      f"--max-energy-reads {cap:.2g}")
        del trace, rep
    if spec.get("memory") == "update":
        peak, _ = peak_memory_bytes(_one_plain_update, make_learner(spec, task), task, seed,
                                    sched)
        out["peak_memory_bytes"] = int(peak)
    out["wall_s"] = time.perf_counter() - t0
    return out


def train_point(spec: dict) -> dict:
    """One plain training run (harness.sweep.train_run) under memray: accuracies, convergence
    and its peak heap memory in bytes. The per-sweep history is dropped."""
    from harness.measure import peak_memory_bytes
    from harness.sweep import make_task, train_run
    peak, row = peak_memory_bytes(train_run, spec)
    row.pop("history", None)
    row["peak_memory_bytes"] = int(peak)
    row["unseen_is_sample"] = bool(make_task(spec.get("task")).unseen_is_sample)
    return row



# ---- the study --------------------------------------------------------------------------------

def _fmt(v):
    return ",".join(map(str, v)) if isinstance(v, tuple) else f"{v:.0e}" if isinstance(v, float) else v


def parse_args(argv=None):
    p = study_parser("python -m studies.scaling", __doc__, DEFAULTS, QUICK, min_seeds=0)
    add_flag(p, "--lengths", int_list, "sequence lengths T, each >= 2", DEFAULTS, QUICK, _fmt,
             metavar="T,T")
    add_flag(p, "--hidden", int_list, "hidden sizes", DEFAULTS, QUICK, _fmt, metavar="H,H")
    add_flag(p, "--sweeps", positive_int, "sweeps per training run", DEFAULTS, QUICK,
             default_text="800")
    add_flag(p, "--schedules", str, "execution schedules each rule is measured in, where it "
             "declares them (comma-separated of " + ",".join(SCHEDULES) + "); training runs "
             "batched", DEFAULTS, QUICK, _fmt, metavar="A,B")
    add_flag(p, "--max-energy-reads", nonneg_float, "price the energy of a measured update "
             "only when it makes at most this many reads (the trace is priced in memory)",
             DEFAULTS, QUICK, _fmt, metavar="READS")
    add_flag(p, "--max-reads", nonneg_float, "skip a ByteDMD measurement estimated above this "
             "many tracked reads", DEFAULTS, QUICK, _fmt, metavar="READS")
    add_flag(p, "--max-train-reads", nonneg_float, "skip training estimated above this many "
             "reads (per update x sweeps)", DEFAULTS, QUICK, _fmt, metavar="READS")
    add_config_flag(p)
    p.add_argument("--hierarchy", default=None, metavar="FILE",
                   help="price energy on this memory hierarchy (.toml or .json, as "
                        "docs/hierarchy_example.toml) instead of the default one (docs/energy.md)")
    p.add_argument("--report-only", action="store_true",
                   help="redraw the report of the results folder --out from its scaling.csv and "
                        "results.json (nothing measured; the other flags are ignored)")
    args = finish_args(p, argv, DEFAULTS, QUICK)
    args.schedules = schedule_list(p, args.schedules)
    if min(args.lengths) < 2:
        p.error("--lengths: every T must be >= 2 (the task needs 25 distinct sequences)")
    args.hierarchy_obj = None
    if args.hierarchy is not None:
        from metrics.hierarchy import MemoryHierarchy
        try:
            args.hierarchy_obj = MemoryHierarchy.from_file(args.hierarchy)
        except ValueError as e:
            p.error(f"--hierarchy: {e}")
    return args


def has_n_hidden(name: str) -> bool:
    import learners
    cls = learners.get(name)
    return any(f.name == "n_hidden" for f in dataclasses.fields(cls.Config))


def run_study(args, names, hyper=None) -> tuple[pd.DataFrame, dict]:
    """Probe, then each length in increasing order (each estimate leans on the measured shorter
    lengths), then one row per (learner, H, T)."""
    from harness.training import DEFAULT_SWEEPS_FIXED
    hyper = hyper or {}
    n_sweeps = args.sweeps or DEFAULT_SWEEPS_FIXED
    sweep_kw = dict(workers=args.workers, backend=args.backend, progress=not args.no_progress,
                    run_timeout=args.run_timeout)
    points = {}          # (name, schedule, H, T) -> row dict
    on_task, off_task = split_by_targets(names, args.task)
    usable = [n for n in on_task if has_n_hidden(n)]
    for n in names:
        if n not in usable:
            row = ({"status": "unsupported", "skip_reason": f"--task {args.task}: the learner "
                    f"{off_task[n]}"} if n in off_task else
                   {"status": "skipped",
                    "skip_reason": "the learner's Config has no n_hidden hyperparameter"})
            for sched in args.schedules:
                for H in args.hidden:
                    for T in args.lengths:
                        points[(n, sched, H, T)] = dict(row)
    probes = probe_specs(usable, hyper, args.schedules, args.task, study_format(args))
    probe_rows = run_sweep(probes, args.out, desc="scaling probes", **sweep_kw) if probes else []
    models, probe_error = probe_models(usable, probes, probe_rows)
    measured: dict[tuple, list] = {}
    train_rows: dict[tuple, list] = {}
    for T in args.lengths:
        specs, plan = plan_length(T, usable, args, hyper, n_sweeps, measured, models,
                                  probe_error, points)
        if specs:
            rows = run_sweep(specs, args.out, desc=f"scaling T={T}", **sweep_kw)
            absorb(T, plan, rows, points, train_rows, measured)
    recs = [point_record(key, row, train_rows.get(key, [])) for key, row in points.items()]
    df = pd.DataFrame(recs, columns=CSV_COLUMNS)
    df = df.sort_values(["learner", "schedule", "n_hidden", "T"], kind="stable")
    return typed(df.reset_index(drop=True)), {"probe_errors": probe_error}


INT_COLUMNS = ("est_reads", "reads", "writes", "bytedmd", "bytedmd_forward", "bytedmd_credit",
               "bytedmd_update", "peak_live_bytes", "peak_memory_bytes",
               "peak_memory_update_bytes", "train_runs", "train_ok", "converged_runs")


def typed(df: pd.DataFrame) -> pd.DataFrame:
    """scaling.csv's column types: whole numbers as nullable integers, energy as float."""
    for c in INT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").round().astype("Int64")
    df["energy_pj_per_update"] = pd.to_numeric(df["energy_pj_per_update"], errors="coerce")
    return df


def main(argv=None):
    return cli(_main, argv)


def write_report(out, df: pd.DataFrame, args, wall: float | None, rows: bool = True) -> str:
    """Every output but results.json from the rows of scaling.csv (written too unless
    rows=False): fits, crossings, history overflow, summary.md and the two figures. Returns the
    summary."""
    h = getattr(args, "hierarchy_obj", None)
    fits, crossings, overflow = fits_frame(df), crossings_frame(df), history_overflow(df, h)
    if rows:
        atomic_write_csv(out / "scaling.csv", df)
    atomic_write_csv(out / "scaling_fits.csv", fits)
    atomic_write_csv(out / "crossings.csv", crossings)
    atomic_write_csv(out / "history_overflow.csv", overflow)
    summary = summary_markdown(df, fits, args, wall, crossings, overflow)
    atomic_write_text(out / "summary.md", summary)
    w = getattr(args, "bytes_per_element", None) or 8
    plot_cost(df, crossings, overflow, "bytedmd", out / "scaling.png",
              "ByteDMD per update (cost units: Σ ⌈√depth⌉ per byte read)", width=w)
    plot_cost(df, crossings, overflow, "energy_pj_per_update", out / "scaling_energy.png",
              f"energy per update (µJ, {hierarchy_name(h)})", scale=1e-6, width=w)
    return summary


def rerender(out) -> int:
    """--report-only: the report of an existing results folder redrawn from its scaling.csv and
    the configuration in its results.json (nothing is measured; the measurements keep their
    provenance, results.json gains `report`: the commit and command that drew the report)."""
    import json
    from pathlib import Path
    from types import SimpleNamespace

    from harness.sweep import git_state
    out = Path(out)
    try:
        prov = json.loads((out / "results.json").read_text())
        df = typed(pd.read_csv(out / "scaling.csv"))
    except (OSError, ValueError) as e:
        raise StudyError(f"--report-only: {out} has no readable scaling.csv and results.json "
                         f"({type(e).__name__}); run the study first") from None
    cfg = prov["config"]
    args = SimpleNamespace(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})
    args.schedules = tuple(cfg.get("schedules") or ("batched",))
    args.max_energy_reads = cfg.get("max_energy_reads", float("nan"))
    args.hierarchy_obj = None
    if cfg.get("hierarchy_levels"):
        from metrics.hierarchy import MemoryHierarchy
        args.hierarchy_obj = MemoryHierarchy.from_dict(cfg["hierarchy_levels"],
                                                       source=cfg.get("hierarchy") or "")
    args.bytes_per_element = cfg.get("bytes_per_element") or 8      # before the flag: 8
    args.price_as = cfg.get("price_as") or {}
    write_report(out, df, args, prov.get("wall_s"), rows=False)
    prov["report"] = {"git_commit": git_state()["commit"], "git_dirty": git_state()["dirty"],
                      "command": "python -m studies.scaling --report-only --out " + str(out)}
    atomic_write_json(out / "results.json", prov)
    print(f"redrew the report in {out}/ from scaling.csv (nothing measured)", file=sys.stderr)
    return 0


def _main(argv):
    t0 = time.perf_counter()
    args = parse_args(argv)
    if args.report_only:
        return rerender(args.out)
    names, hyper, _, out = begin(args, STUDY, {"target_kind": args.task}, reserved=RESERVED)
    args.config = args.config or "tuned"
    hyper = configured_hyper(names, hyper, args.config)
    print(f"scaling: {len(names)} learners, T = {_fmt(args.lengths)}, H = {_fmt(args.hidden)}, "
          f"task {args.task}; "
          f"{args.seeds} training seeds of {args.sweeps or 800} sweeps; budgets --max-reads "
          f"{args.max_reads:.2g}, --max-train-reads {args.max_train_reads:.2g} (points over "
          "budget are skipped with the reason)", file=sys.stderr)
    df, _ = run_study(args, names, hyper)
    wall = time.perf_counter() - t0
    summary = write_report(out, df, args, wall)
    config = {k: v for k, v in vars(args).items() if k != "hierarchy_obj"}
    config |= {"hierarchy_levels": (None if args.hierarchy_obj is None
                                    else args.hierarchy_obj.to_dict())}
    config |= {"learners": names, "warm_sweeps": WARM_SWEEPS,
                           "probe_lengths": list(PROBE_LENGTHS),
                           "probe_hidden": list(PROBE_HIDDEN), "reference": REFERENCE}
    atomic_write_json(out / "results.json", provenance(STUDY, config, names, hyper, wall_s=wall))
    remove_stale(out, OUTPUTS, OUTPUTS)
    print(summary)
    report_written(out, OUTPUTS)
    return 1 if df["bytedmd"].notna().sum() == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
