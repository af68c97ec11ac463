"""The main study: every learner on the shared task, over data sets and model seeds: data
movement next to generalization, with intervals and paired tests.

    python -m studies.compare_learners [--learners bptt,eprop] [--dataset-seeds 5] [--seeds 10]
                                       [--config tuned] [--reference bptt] [--task per_step]
                                       [--full] [--quick]
                                       [--bytes-per-element 8|4|2] [--price-as float16=1]

The protocol (docs/protocol.md): every rule runs on the same network family at its tuned
configuration (learners/tuned.json, chosen by `python -m studies.tune` on the validation split;
`--config defaults` runs the constructors' defaults instead), beside the v1 BPTT configuration as
a reference row (`bptt_v1`). Each (data set, model seed) pair is one run: a plain training run
(accuracies on train, held-out, validation and the reported unseen part; validation accuracy
logged every --eval-every sweeps for the generalization criterion and the anytime curves). For
the first --measure-seeds seeds of the first data set, one warm update is measured on tracked
arrays (ByteDMD, ARD, DMC, reads, writes, by phase and by label, reuse distances, energy on the
default memory hierarchy, the program's peak live bytes, the memray peak of one plain update;
with --schedules, the same update in each other schedule the rule supports); the other runs take
that per-update cost when it was the identical program on every measured run. Every measurement
is priced in one number format (--bytes-per-element, --price-as: docs/formats.md), said in
summary.md's header. For the first
--whole-run-seeds seeds the whole training run is traced as one program.

--task per_step runs the task variant with a target at every step (the teacher's code of the
prefix seen so far; harness/task.py) instead of the final code only: each rule learns from the
per-step loss (learners/rnn.py) and is scored on the final code as on the default task, so the
accuracies stay comparable. A rule that does not declare per_step targets is not run and
summary.md names it with the reason. The task kind is in every run's key and in results.json,
and a results folder holds one kind only (--out defaults to results/compare_learners_per_step).
The tuned configurations are the default task's (the search ran on final targets).

Costs to a criterion count censored runs (never reached) at their whole budget and are reported
three ways (Kaplan-Meier median, censored at budget, converged only); every median carries a 95%
bootstrap interval; every rule is compared with --reference over the (data set, seed) pairs
(Wilcoxon signed-rank test, fraction of pairs won, median paired difference with its interval),
and summary.md states a direction only where both agree (studies/evidence.py).

Writes into --out: results.csv (one row per learner, data set and seed), summary.md, curves.csv
(tidy training curves with cumulative ByteDMD), figures (curves, pareto, cost_breakdown, reuse;
PNG and PDF), results.json (the config, resolved hyperparameters, git commit, packages, machine
and threads), and runs/ (one file per finished run: rerunning the same command resumes, redoing
nothing that finished; a file that does not match its run is recomputed).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.sweep import run_sweep
from studies.common import (StudyError, add_flag, begin, cli, finish_args, median_spread,
                            schedule_list,
                            nonneg_float, nonneg_int, positive_int, provenance, remove_stale,
                            report_written, split_by_targets, study_parser)
from studies import evidence, number_format
from studies.configuration import add_config_flag, configured_hyper
from studies.movement import (DEFAULT_MAX_UPDATE_READS, DEFAULT_REUSE_MAX_READS,
                              DEFAULT_WHOLE_RUN_MAX_READS, MOVEMENT_COLUMNS, SCHEDULES,
                              curves_frame, finish_movement_frame, history_frame,
                              movement_run, results_frame)

STUDY = "compare_learners"
BASE_COLUMNS = ["learner", "dataset_seed", "seed", "train_acc", "test_acc", "validation_acc",
                "unseen_acc", "converged_sweep", "gen_sweep", "updates", "wall_s"]
V1_LABEL = "bptt_v1"
DEFAULTS = {"learners": None, "seeds": 5, "out": "results/compare_learners", "sweeps": None,
            "measure_seeds": 1, "whole_run_seeds": 0, "max_update_reads": 1e8,
            "whole_run_max_reads": DEFAULT_WHOLE_RUN_MAX_READS, "dataset_seeds": 1,
            "teacher_seeds": 1, "config": "tuned", "reference": "bptt", "eval_every": 10,
            "schedules": "batched", "task": "final"}
# --full: the committed protocol (docs/results/compare_learners)
FULL = {"seeds": 10, "dataset_seeds": 5, "measure_seeds": 2,
        "max_update_reads": DEFAULT_MAX_UPDATE_READS,
        "schedules": ",".join(SCHEDULES)}
QUICK = {"seeds": 2, "sweeps": 40, "measure_seeds": 1, "whole_run_seeds": 1,
         "max_update_reads": 20_000_000, "whole_run_max_reads": 100_000_000,
         "out": "results/compare_learners_quick", "eval_every": 5}
OUTPUTS = ["results.csv", "summary.md", "results.json", "curves.csv", "curves.png", "pareto.png",
           "cost_breakdown.png", "reuse.png"]
ACC, INT, SEC = "{:.3f}", "{:.0f}", "{:.2f}"
__all__ = ["movement_run", "MOVEMENT_COLUMNS", "main"]


def parse_args(argv=None):
    p = study_parser("python -m studies.compare_learners", __doc__, DEFAULTS, QUICK)
    add_flag(p, "--sweeps", positive_int, "sweeps per run", DEFAULTS, QUICK,
             default_text="800 fixed timing, 2000 variable")
    p.add_argument("--variable-timing", action="store_true", help="the variable-timing task variant")
    add_flag(p, "--dataset-seeds", positive_int, "data sets 0..N-1 (each a different draw of the "
             "25 sequences and of the train/held-out split; the teacher stays fixed)",
             DEFAULTS, QUICK, metavar="N")
    add_flag(p, "--teacher-seeds", positive_int, "teachers: the default teacher seed and the "
             "next N-1 (each crossed with every data set)", DEFAULTS, QUICK, metavar="N")
    add_config_flag(p)
    add_flag(p, "--reference", str, "the rule every other is compared with (paired tests)",
             DEFAULTS, QUICK, metavar="NAME")
    p.add_argument("--no-v1-row", action="store_true",
                   help=f"leave out the v1 BPTT reference row ({V1_LABEL})")
    add_flag(p, "--eval-every", positive_int, "log validation accuracy every N sweeps (the "
             "generalization criterion and anytime curves)", DEFAULTS, QUICK, metavar="N")
    add_flag(p, "--schedules", str, "execution schedules whose per-update ByteDMD is measured "
             "(comma-separated of " + ",".join(SCHEDULES) + "); training runs batched",
             DEFAULTS, QUICK, metavar="A,B")
    p.add_argument("--full", action="store_true",
                   help="the complete protocol (" + ", ".join(f"--{k.replace('_', '-')} {v}"
                                                           for k, v in FULL.items()) + ")")
    p.add_argument("--accuracy-only", action="store_true",
                   help="train and score only: no data-movement measurement")
    g = "{:.2g}".format
    add_flag(p, "--measure-seeds", nonneg_int, "measure one update on tracked arrays for the "
             "first N seeds (the other seeds reuse it when the program is identical on every "
             "measured seed)", DEFAULTS, QUICK, metavar="N")
    add_flag(p, "--max-update-reads", nonneg_float, "skip a per-update measurement above this "
             "many reads", DEFAULTS, QUICK, g, metavar="READS")
    add_flag(p, "--whole-run-seeds", nonneg_int, "trace the whole run for the first N seeds",
             DEFAULTS, QUICK, metavar="N")
    add_flag(p, "--whole-run-max-reads", nonneg_float, "skip a whole-run trace estimated above "
             "this many reads", DEFAULTS, QUICK, g, metavar="READS")
    raw = p.parse_args(argv)
    if raw.full and raw.quick:
        p.error("--full and --quick contradict each other")
    defaults = {**DEFAULTS, **FULL} if raw.full else DEFAULTS
    args = finish_args(p, argv, defaults, QUICK)
    args.schedules = list(schedule_list(p, args.schedules))
    if raw.accuracy_only:
        given = [f for f, k in (("--measure-seeds", "measure_seeds"),
                                ("--whole-run-seeds", "whole_run_seeds"),
                                ("--max-update-reads", "max_update_reads"),
                                ("--whole-run-max-reads", "whole_run_max_reads"),
                                ("--bytes-per-element", "bytes_per_element"),
                                ("--price-as", "price_as"))
                 if getattr(raw, k) not in (None, [])]
        if given:
            p.error(f"--accuracy-only measures nothing: {', '.join(given)} would be ignored")
    return args


def build_specs(runs, seeds, sweeps, task_list, measure=False, measure_seeds=2,
                whole_run_seeds=0, max_update_reads=DEFAULT_MAX_UPDATE_READS,
                whole_run_max_reads=DEFAULT_WHOLE_RUN_MAX_READS, eval_every=None,
                schedules=("batched",), fmt=None) -> list[dict]:
    """One spec per (label, learner, hyper) of `runs`, task of `task_list` and seed. Only the
    first task's first seeds are measured (in the number format `fmt`, studies/number_format.py:
    part of every measuring spec, so of its key); with measure, the costliest runs (whole-run
    traces, then per-update measurements) come first so that the pool's last runs are short
    ones."""
    specs = []
    for label, learner, hyper in runs:
        for ti, task_kwargs in enumerate(task_list):
            for s in range(seeds):
                spec = {"runner": "harness.sweep:train_run", "learner": learner, "label": label,
                        "hyper": dict(hyper), "seed": s, "sweeps": sweeps, "task": task_kwargs,
                        "eval_every": eval_every}
                if measure:
                    first = ti == 0 and s < measure_seeds
                    spec.update(runner="studies.compare_learners:movement_run", warm_sweeps=3,
                                measure=first, max_update_reads=int(max_update_reads),
                                reuse_max_reads=DEFAULT_REUSE_MAX_READS,
                                whole_run=first and s < whole_run_seeds,
                                whole_run_max_reads=float(whole_run_max_reads),
                                schedules=list(schedules), **number_format.spec_format(fmt))
                specs.append(spec)
    if measure:
        specs.sort(key=lambda sp: (not sp["whole_run"], not sp["measure"]))
    return specs


def learner_runs(names, hyper, config: str, v1_row: bool) -> list[tuple[str, str, dict]]:
    """(label, learner, hyperparameters) of every row: each built-in rule at its tuned
    configuration (or its defaults; a rule given as 'module:Class' runs at its own defaults,
    untuned), --hyper settings on top; and the v1 BPTT row."""
    configured = configured_hyper(names, hyper, config)
    runs = [(n, n, configured[n]) for n in names]
    if v1_row:
        runs.append((V1_LABEL, "bptt", {}))
    return runs


def generalization_sweeps(rows: list[dict], reference: str) -> float | None:
    """The generalization target, the reference rule's median final validation accuracy, and
    each run's `gen_sweep`: the first logged sweep whose validation accuracy reaches it (None:
    never, censored at the budget). Sets row["gen_sweep"]; returns the target."""
    import numpy as np
    from harness.training import first_sweep_reaching
    ref = [r["validation_acc"] for r in rows if r.get("error") is None
           and r.get("learner") == reference and r.get("validation_acc") is not None]
    if not ref:
        return None
    target = float(np.median(ref))
    for r in rows:
        if r.get("error") is None and r.get("history") and "validation_acc" in r["history"]:
            h = history_frame(r)
            h["validation_acc"] = pd.to_numeric(h["validation_acc"], errors="coerce")
            r["gen_sweep"] = first_sweep_reaching(h, "validation_acc", target,
                                                  final=r.get("validation_acc"))
    return target


def movement_table(df: pd.DataFrame) -> str:
    """Markdown: one update's figures per learner (medians [min–max] over the measured runs,
    which run the identical program), and the whole run against per update x updates."""
    def col(ok, c, scale=1.0, fmt="{:.3g}"):
        if c not in ok or not pd.to_numeric(ok[c], errors="coerce").notna().any():
            return "–"
        return median_spread(pd.to_numeric(ok[c], errors="coerce") * scale, fmt)
    sched = [c for c in ("bytedmd_per_update_per_sequence", "bytedmd_per_update_online") if c in df]
    head = (["learner", "ByteDMD / update (batched)"]
            + [f"ByteDMD / update ({c.rsplit('_update_', 1)[1]})" for c in sched]
            + ["energy / update (µJ)", "reads / update", "ARD / update",
               "peak live KiB (program)", "peak heap MiB (memray, one update)",
               "whole run / (per update x updates)"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        if ok.empty:
            continue
        whole = pd.to_numeric(ok.get("bytedmd_whole_run"), errors="coerce")
        ratio = (whole / pd.to_numeric(ok["per_update_x_updates"], errors="coerce")).dropna()
        cells = ([name, col(ok, "bytedmd_per_update")] + [col(ok, c) for c in sched]
                 + [col(ok, "energy_pj_per_update", 1e-6), col(ok, "reads"), col(ok, "ard"),
                    col(ok, "update_peak_live_bytes", 1 / 1024, "{:.1f}"),
                    col(ok, "update_peak_heap_bytes", 1 / 2**20, "{:.2f}"),
                    median_spread(ratio, "{:.3f}") if len(ratio) else "–"])
        lines.append("| " + " | ".join(cells) + " |")
        for c in ("update_note", "whole_run_note", "schedule_note"):
            if c not in ok:
                continue
            for note in ok[c].dropna().unique():
                if str(note).startswith(("skipped", "failed")) or c == "schedule_note":
                    notes.append(f"- {name}: {c.split('_note')[0].replace('_', ' ')}: {note}")
    if notes:
        lines += ["", "Not measured:"] + sorted(set(notes), key=notes.index)
    return "\n".join(lines) + "\n"


def summary_markdown(df, n_heldout, baselines, reference, target, measure, fmt=None,
                     task_note: str = "") -> str:
    """summary.md: accuracy with 95% CIs, costs to the criteria with censoring, paired tests
    against the reference, one update's figures; `fmt` the measurements' number format;
    `task_note` (the task kind and the rules not run on it) first."""
    parts = [task_note] + ([number_format.note(fmt) + "\n\n"] if measure and fmt else []) + [
             "## Generalization (medians [95% bootstrap CI] over (data set, seed) runs)\n",
             evidence.accuracy_table(df, n_heldout),
             f"\nConstant-code baselines on the reported unseen part: best code in hindsight "
             f"{baselines['best']:.3f}; most frequent training code {baselines['majority']:.3f} "
             f"(data set 0).\n"]
    if measure:
        tgt = ("" if target is None else f" Validation target: {target:.3f}, the median final "
               f"validation accuracy of {reference}.")
        parts += ["\n## Data movement to a criterion (ByteDMD; medians [95% bootstrap CI])\n",
                  "Train criterion: 100% train accuracy. Censored runs (never reached) count at "
                  "their whole budget; KM: Kaplan-Meier median (inf: fewer than half the runs "
                  "reach it)." + tgt + "\n\n", evidence.cost_table(df)]
    ok_labels = set(df.loc[df["error"].isna(), "learner"])
    table = evidence.paired_table(df, reference)[0] if reference in ok_labels else ""
    if not table:
        parts.append(f"\nNo paired comparison: the reference {reference} has no finished run "
                     "among these rows.\n")
    else:
        parts += [f"\n## Paired against {reference} over (data set, seed) pairs\n",
                  "Median paired difference (rule - reference) [95% bootstrap CI]; Wilcoxon "
                  "signed-rank p; a direction is stated only when p < 0.05 and the interval "
                  "excludes 0.\n\n", table]
    if measure:
        parts += ["\n## One update (medians [min–max] over the measured runs)\n",
                  movement_table(df)]
    failed = df[df["error"].notna()]
    if len(failed):
        parts += ["\nFailed runs:\n"] + [f"- {r['learner']} data set {r.get('dataset_seed')} "
                                          f"seed {r['seed']}: {r['error']}\n"
                                          for _, r in failed.iterrows()]
    return "".join(parts)


def main(argv=None):
    return cli(_main, argv)


def task_list(args) -> list[dict]:
    from harness.task import TEACHER_SEED
    return [{"variable_timing": bool(args.variable_timing), "dataset_seed": d,
             "teacher_seed": TEACHER_SEED + j, "target_kind": args.task}
            for j in range(args.teacher_seeds) for d in range(args.dataset_seeds)]


def task_note(kind: str, skipped: dict | None) -> str:
    """The first lines of summary.md on a per_step task: what the targets are, and each rule
    not run on them with the reason ('' on the default task with nothing skipped)."""
    lines = []
    if kind != "final":
        lines.append(f"Task: --task {kind} (a target at every step, the teacher's code of the "
                     "prefix seen so far; the rules learn from the per-step loss; every accuracy "
                     "is of the final output against the full sequence's code).\n")
    for name, why in (skipped or {}).items():
        lines.append(f"- not run: {name} {why}\n")
    return "".join(lines) + ("\n" if lines else "")


def _main(argv):
    t0 = time.perf_counter()
    args = parse_args(argv)
    tasks = task_list(args)
    names, hyper, task, out = begin(args, STUDY, tasks[0])
    names, skipped = split_by_targets(names, args.task)
    for n, why in skipped.items():
        print(f"compare_learners: skipping {n}: it {why}", file=sys.stderr)
    if not names:
        raise StudyError(f"--task {args.task}: none of the learners supports {args.task} "
                         "targets")
    v1_row = not args.no_v1_row and "bptt" in split_by_targets(["bptt"], args.task)[0]
    runs = learner_runs(names, hyper, args.config, v1_row)
    labels = [r[0] for r in runs]
    measure = not args.accuracy_only
    specs = build_specs(runs, args.seeds, args.sweeps, tasks, measure=measure,
                        measure_seeds=args.measure_seeds, whole_run_seeds=args.whole_run_seeds,
                        max_update_reads=args.max_update_reads,
                        whole_run_max_reads=args.whole_run_max_reads,
                        eval_every=args.eval_every, schedules=args.schedules,
                        fmt=number_format.study_format(args))
    print(f"compare_learners: {len(runs)} rows ({', '.join(labels)}) x {len(tasks)} data sets "
          f"x {args.seeds} seeds = {len(specs)} runs, {args.sweeps or 'default'} sweeps, "
          f"config {args.config}, task {args.task}"
          + (f"; one update measured for {min(args.measure_seeds, args.seeds)} seeds of data set "
             f"0 (budget {args.max_update_reads:.2g} reads; schedules "
             f"{','.join(args.schedules)}; {args.bytes_per_element} bytes per element), the "
             f"whole run traced for "
             f"{min(args.whole_run_seeds, args.measure_seeds, args.seeds)} (budget "
             f"{args.whole_run_max_reads:.2g})" if measure else "; accuracy only"),
          file=sys.stderr)
    rows = run_sweep(specs, out, workers=args.workers, backend=args.backend,
                     progress=not args.no_progress, desc=STUDY, run_timeout=args.run_timeout)
    target, written = tables(out, rows, labels, args.reference, measure, task, skipped)
    atomic_write_json(out / "results.json",
                      provenance(STUDY, vars(args) | {"learners": names, "rows": labels,
                                                      "generalization_target": target,
                                                      "skipped": skipped},
                                 names, {lab: h for lab, _, h in runs}, tasks[0],
                                 wall_s=time.perf_counter() - t0,
                                 baselines={"best": task.constant_code_baseline("unseen")[1],
                                            "majority": task.majority_code_baseline("unseen")[1]},
                                 runs=[r["key"] for r in rows]))
    remove_stale(out, OUTPUTS, written + ["results.json"])
    print((out / "summary.md").read_text())
    report_written(out, written + ["results.json"])
    n_failed = sum(r.get("error") is not None for r in rows)
    return 1 if n_failed == len(rows) else 0


def tables(out: Path, rows: list[dict], labels: list[str], reference: str, measure: bool,
           task, skipped: dict | None = None) -> tuple[float | None, list[str]]:
    """From the finished runs (run files, their specs naming each row's label and data set) to
    results.csv, summary.md, curves.csv and the figures; `skipped`: {rule: why it was not run
    on the task's target kind}. Returns (generalization target, the files written). Also what
    `python -m studies.replot` uses to rebuild the tables."""
    for row in rows:
        spec = row.get("spec") or {}
        row["learner"] = spec.get("label", row.get("learner"))
        row["dataset_seed"] = (spec.get("task") or {}).get("dataset_seed", row.get("dataset_seed"))
    target = generalization_sweeps(rows, reference)
    df = results_frame(rows, MOVEMENT_COLUMNS if measure else BASE_COLUMNS)
    if measure:
        df = finish_movement_frame(df)
    df = df.sort_values(["learner", "dataset_seed", "seed"], key=lambda c: c.map(
        {n: i for i, n in enumerate(labels)}) if c.name == "learner" else c, kind="stable")
    baselines = {"best": task.constant_code_baseline("unseen")[1],
                 "majority": task.majority_code_baseline("unseen")[1]}
    try:
        fmt = number_format.of_specs([r["spec"] for r in rows if (r.get("spec") or {}).get(
            "measure")]) if measure else None
    except ValueError as e:
        raise StudyError(str(e)) from None
    summary = summary_markdown(df, len(task.test_idx), baselines, reference, target, measure,
                               fmt, task_note(task.target_kind, skipped))
    return target, write_outputs(out, rows, df, summary, baselines, measure)


def write_outputs(out: Path, rows, df, summary, baselines, measure) -> list[str]:
    from studies import plots
    atomic_write_csv(out / "results.csv", df)
    atomic_write_text(out / "summary.md", "# compare_learners\n\n" + summary)
    atomic_write_csv(out / "curves.csv", curves_frame(rows, df))
    figs = [plots.plot_curves(rows, out / "curves.png", df if measure else None)]
    if measure and df["error"].isna().any():
        figs += [plots.plot_pareto(df, out / "pareto.png", baseline=baselines["best"]),
                 plots.plot_cost_breakdown(rows, out / "cost_breakdown.png"),
                 plots.plot_reuse(rows, out / "reuse.png")]
    return ["results.csv", "summary.md", "curves.csv"] + [Path(f).name for f in figs if f]


if __name__ == "__main__":
    sys.exit(main())
