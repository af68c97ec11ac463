"""The main study: every learner on the shared task, over seeds: data movement next to
generalization.

    python -m studies.compare_learners [--learners bptt,tbptt] [--seeds 10] [--sweeps 800]
                                       [--out results/compare_learners] [--workers 2] [--quick]

For every learner and seed: a plain training run (accuracies, convergence, wall time, peak memory
with memray). For the first --measure-seeds seeds, one warm update measured on tracked arrays
(ByteDMD, ARD, DMC, reads, writes, by phase and by array, reuse distances; units and definitions
in docs/cost_model.md), skipped with a note above --max-update-reads; the other seeds take that
per-update cost when it was the identical program on every measured seed (column
per_update_measured says which). For the first --whole-run-seeds seeds, the whole training run
traced as one program (when its estimated reads fit --whole-run-max-reads), beside
per_update_x_updates. A measurement that fails keeps the training row, with the reason in its note.

Writes into --out: results.csv (one row per learner and seed), summary.md (medians with the
range across seeds), curves.csv (tidy training curves with cumulative ByteDMD), figures
(curves, pareto, cost_breakdown, reuse; PNG and PDF),
results.json (the config, resolved hyperparameters, git commit, packages, machine and threads),
and runs/ (one file per finished run: rerunning the same command resumes, redoing nothing that
finished; a file that does not match its run is recomputed).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.sweep import run_sweep
from studies.common import (add_flag, begin, cli, finish_args, median_spread, nonneg_float, nonneg_int,
                            positive_int, provenance, remove_stale, report_written, study_parser)
from studies.movement import (DEFAULT_MAX_UPDATE_READS, DEFAULT_REUSE_MAX_READS,
                              DEFAULT_WHOLE_RUN_MAX_READS, MOVEMENT_COLUMNS,
                              curves_frame, finish_movement_frame, movement_run,
                              results_frame)

STUDY = "compare_learners"
BASE_COLUMNS = ["learner", "seed", "train_acc", "test_acc", "unseen_acc", "converged_sweep",
                "wall_s"]
DEFAULTS = {"learners": None, "seeds": 10, "out": "results/compare_learners", "sweeps": None,
            "measure_seeds": 3, "whole_run_seeds": 1, "max_update_reads": DEFAULT_MAX_UPDATE_READS,
            "whole_run_max_reads": DEFAULT_WHOLE_RUN_MAX_READS, "dataset_seed": 0}
QUICK = {"seeds": 2, "sweeps": 40, "measure_seeds": 1, "whole_run_seeds": 1,
         "max_update_reads": 20_000_000, "whole_run_max_reads": 100_000_000,
         "out": "results/compare_learners_quick"}
OUTPUTS = ["results.csv", "summary.md", "results.json", "curves.csv", "curves.png", "pareto.png",
           "cost_breakdown.png", "reuse.png"]
ACC, INT, SEC = "{:.3f}", "{:.0f}", "{:.2f}"
__all__ = ["movement_run", "MOVEMENT_COLUMNS", "main"]


def parse_args(argv=None):
    p = study_parser("python -m studies.compare_learners", __doc__, DEFAULTS, QUICK)
    add_flag(p, "--sweeps", positive_int, "sweeps per run", DEFAULTS, QUICK,
             default_text="800 fixed timing, 2000 variable")
    p.add_argument("--variable-timing", action="store_true", help="the variable-timing task variant")
    add_flag(p, "--dataset-seed", nonneg_int, "seed of the 25-sequence data set", DEFAULTS, QUICK)
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
    args = finish_args(p, argv, DEFAULTS, QUICK)
    if raw.accuracy_only:
        given = [f for f, k in (("--measure-seeds", "measure_seeds"),
                                ("--whole-run-seeds", "whole_run_seeds"),
                                ("--max-update-reads", "max_update_reads"),
                                ("--whole-run-max-reads", "whole_run_max_reads"))
                 if getattr(raw, k) is not None]
        if given:
            p.error(f"--accuracy-only measures nothing: {', '.join(given)} would be ignored")
    return args


def build_specs(names, seeds, sweeps, task_kwargs, measure=False, measure_seeds=3,
                whole_run_seeds=0, max_update_reads=DEFAULT_MAX_UPDATE_READS,
                whole_run_max_reads=DEFAULT_WHOLE_RUN_MAX_READS, hyper=None) -> list[dict]:
    """One spec per learner and seed; with measure, the costliest runs (whole-run traces, then
    per-update measurements) come first so that the pool's last runs are short ones."""
    specs = []
    for n in names:
        for s in range(seeds):
            spec = {"runner": "harness.sweep:train_run", "learner": n,
                    "hyper": dict((hyper or {}).get(n, {})), "seed": s, "sweeps": sweeps,
                    "task": task_kwargs}
            if measure:
                spec.update(runner="studies.compare_learners:movement_run", warm_sweeps=3,
                            measure=s < measure_seeds, max_update_reads=int(max_update_reads),
                            reuse_max_reads=DEFAULT_REUSE_MAX_READS,
                            whole_run=s < min(whole_run_seeds, measure_seeds),
                            whole_run_max_reads=float(whole_run_max_reads))
            specs.append(spec)
    if measure:
        specs.sort(key=lambda sp: (not sp["whole_run"], not sp["measure"]))
    return specs


def movement_table(df: pd.DataFrame) -> str:
    """A markdown table of the data-movement columns: medians [min–max] per learner."""
    lines = ["| learner | updates to criterion | ByteDMD / update (measured seeds) | "
             "ByteDMD to criterion | ByteDMD whole run | whole run / (per update x updates) | "
             "reads / update | ARD / update | peak memory (MB) |",
             "|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        if ok.empty:
            continue
        upd = pd.to_numeric(ok["converged_sweep"], errors="coerce") - 1
        per = pd.to_numeric(ok["bytedmd_per_update"], errors="coerce")
        n_meas = int(ok["per_update_measured"].astype(bool).sum())
        whole = pd.to_numeric(ok["bytedmd_whole_run"], errors="coerce")
        ratio = (whole / pd.to_numeric(ok["per_update_x_updates"], errors="coerce")).dropna()
        per_cell = (median_spread(per) + f" ({n_meas})") if per.notna().any() else "–"
        cells = [median_spread(upd, "{:.0f}") if upd.notna().any() else "never",
                 per_cell,
                 median_spread(ok["bytedmd_to_criterion"]) if ok["bytedmd_to_criterion"].notna().any() else "–",
                 (median_spread(whole.dropna()) + f" ({whole.notna().sum()})") if whole.notna().any() else "–",
                 median_spread(ratio, "{:.3f}") if len(ratio) else "–",
                 median_spread(ok["reads"]) if ok["reads"].notna().any() else "–",
                 median_spread(ok["ard"]) if ok["ard"].notna().any() else "–",
                 median_spread(pd.to_numeric(ok["peak_memory_bytes"], errors="coerce") / 2**20, "{:.1f}")]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        for col in ("update_note", "whole_run_note"):
            for note in ok[col].dropna().unique():
                if str(note).startswith("skipped"):
                    notes.append(f"- {name}: {'per update' if col == 'update_note' else 'whole run'} {note}")
    if notes:
        lines += ["", "Not measured:"] + notes
    return "\n".join(lines) + "\n"


def summary_table(df: pd.DataFrame, n_test: int, baselines: dict) -> str:
    """A markdown table: medians per learner with [min–max] across seeds."""
    lines = ["| learner | runs ok | train acc | held-out (of %d) | unseen acc | converged runs | converged sweep | wall s |" % n_test,
             "|---|---|---|---|---|---|---|---|"]
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        if ok.empty:
            lines.append(f"| {name} | 0/{len(g)} | failed: {g['error'].iloc[0]} | | | | | |")
            continue

        conv = ok["converged_sweep"].dropna().astype(float)
        conv_s = median_spread(conv, INT) if len(conv) else "never"
        lines.append(f"| {name} | {len(ok)}/{len(g)} | {median_spread(ok['train_acc'], ACC)} | "
                     f"{median_spread(ok['test_acc'].astype(float) * n_test, INT)} | "
                     f"{median_spread(ok['unseen_acc'], ACC)} | "
                     f"{len(conv)}/{len(ok)} | {conv_s} | {median_spread(ok['wall_s'], SEC)} |")
    lines.append("")
    lines.append(f"Constant-code baselines on unseen: best code in hindsight "
                 f"{baselines['best']:.3f}; most frequent training code {baselines['majority']:.3f}.")
    failed = df[df["error"].notna()]
    if len(failed):
        lines.append("")
        lines.append("Failed runs:")
        for _, r in failed.iterrows():
            lines.append(f"- {r['learner']} seed {r['seed']}: {r['error']}")
    return "\n".join(lines) + "\n"


def main(argv=None):
    return cli(_main, argv)


def _main(argv):
    t0 = time.perf_counter()
    args = parse_args(argv)
    task_kwargs = {"variable_timing": bool(args.variable_timing), "dataset_seed": args.dataset_seed}
    names, hyper, task, out = begin(args, STUDY, task_kwargs)
    measure = not args.accuracy_only
    specs = build_specs(names, args.seeds, args.sweeps, task_kwargs, measure=measure,
                        measure_seeds=args.measure_seeds, whole_run_seeds=args.whole_run_seeds,
                        max_update_reads=args.max_update_reads,
                        whole_run_max_reads=args.whole_run_max_reads, hyper=hyper)
    print(f"compare_learners: {len(names)} learners x {args.seeds} seeds, "
          f"{args.sweeps or 'default'} sweeps"
          + (f"; one update measured for {min(args.measure_seeds, args.seeds)} seeds (budget "
             f"{args.max_update_reads:.2g} reads), the whole run traced for "
             f"{min(args.whole_run_seeds, args.measure_seeds, args.seeds)} (budget "
             f"{args.whole_run_max_reads:.2g})" if measure else "; accuracy only"),
          file=sys.stderr)
    rows = run_sweep(specs, out, workers=args.workers, backend=args.backend,
                     progress=not args.no_progress, desc=STUDY, run_timeout=args.run_timeout)
    df = results_frame(rows, MOVEMENT_COLUMNS if measure else BASE_COLUMNS)
    if measure:
        df = finish_movement_frame(df)
    baselines = {"best": task.constant_code_baseline("unseen")[1],
                 "majority": task.majority_code_baseline("unseen")[1]}
    summary = summary_table(df, len(task.test_idx), baselines)
    if measure:
        summary += ("\n## Data movement (medians [min–max] over seeds; ByteDMD in cost units, "
                    "reads in elements, per update unless stated)\n\n" + movement_table(df))
    written = write_outputs(out, rows, df, summary, baselines, measure)
    atomic_write_json(out / "results.json",
                      provenance(STUDY, vars(args) | {"learners": names}, names, hyper, task_kwargs,
                                 wall_s=time.perf_counter() - t0, baselines=baselines,
                                 runs=[r["key"] for r in rows]))
    remove_stale(out, OUTPUTS, written + ["results.json"])
    print(summary)
    report_written(out, written + ["results.json"])
    n_failed = int(df["error"].notna().sum())
    return 1 if n_failed == len(df) else 0


def write_outputs(out: Path, rows, df, summary, baselines, measure) -> list[str]:
    from studies import plots
    atomic_write_csv(out / "results.csv", df)
    atomic_write_text(out / "summary.md", "# compare_learners: medians [min–max] over seeds\n\n"
                      + summary)
    atomic_write_csv(out / "curves.csv", curves_frame(rows, df))
    figs = [plots.plot_curves(rows, out / "curves.png", df if measure else None)]
    if measure and df["error"].isna().any():
        figs += [plots.plot_pareto(df, out / "pareto.png", baseline=baselines["best"]),
                 plots.plot_cost_breakdown(rows, out / "cost_breakdown.png"),
                 plots.plot_reuse(rows, out / "reuse.png")]
    return ["results.csv", "summary.md", "curves.csv"] + [Path(f).name for f in figs if f]


if __name__ == "__main__":
    sys.exit(main())
