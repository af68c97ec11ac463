"""The main study: every learner on the shared task, over seeds: data movement next to
generalization.

    python -m studies.compare_learners [--learners bptt,tbptt] [--seeds 10] [--sweeps 800]
                                       [--out results/compare_learners] [--workers 2] [--quick]

For every learner and seed: a plain training run (accuracies, convergence, wall time, peak memory
with memray). For the first --energy-seeds seeds, one warm update measured on tracked arrays
(ByteDMD, ARD, DMC, reads, writes, by phase and by array, reuse distances), skipped with a note
above --max-update-reads; the other seeds take that per-update cost when it was the identical
program on every measured seed (column per_update_measured says which). For the first
--whole-run-seeds seeds, the whole training run traced as one program (when its estimated
reads fit --whole-run-max-reads), beside per_update_x_updates.

Writes into --out: results.csv (one row per learner and seed), summary.md (medians with the
range across seeds), plots (curves.png, pareto.png, cost_breakdown.png, reuse.png),
results.json (the config, git commit and package versions that reproduce it), and runs/ (one
file per finished run: rerunning the same command resumes, redoing nothing that finished).
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from harness.io import atomic_write_csv, atomic_write_json, atomic_write_text
from harness.sweep import run_sweep

DEFAULT_OUT = "results/compare_learners"
DEFAULT_SEEDS = 10
BASE_COLUMNS = ["learner", "seed", "train_acc", "test_acc", "unseen_acc", "converged_sweep",
                "wall_s"]
ENERGY_COLUMNS = ["learner", "seed", "train_acc", "test_acc", "unseen_acc", "converged_sweep",
                  "updates", "bytedmd_per_update", "bytedmd_to_criterion", "bytedmd_whole_run",
                  "ard", "dmc", "reads", "writes", "read_bytes", "peak_memory_bytes", "wall_s",
                  "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "mean_reuse_distance",
                  "escapes", "whole_run_reads", "per_update_x_updates", "per_update_measured",
                  "update_note", "whole_run_note"]
DEFAULT_ENERGY_SEEDS = 3
DEFAULT_WHOLE_RUN_SEEDS = 1
DEFAULT_MAX_UPDATE_READS = 1_000_000_000
DEFAULT_REUSE_MAX_READS = 20_000_000
DEFAULT_WHOLE_RUN_MAX_READS = 1_500_000_000
QUICK = {"seeds": 2, "sweeps": 40, "energy_seeds": 1, "whole_run_seeds": 1,
         "max_update_reads": 20_000_000, "whole_run_max_reads": 100_000_000}


def energy_run(spec: dict) -> dict:
    """One learner and seed: plain training (under memray), and, when the spec asks for it, one
    warm update measured on tracked arrays and the whole run traced as one program. Units:
    ByteDMD cost units; reads/writes in elements; read_bytes and peak_memory_bytes in bytes.
    `ard`, `dmc`, `reads`, `writes`, `read_bytes` are per update. A measurement over its read
    budget is skipped with the reason in `update_note` / `whole_run_note`, not failed."""
    from harness.measure import measure_run, measure_update, peak_memory_bytes
    from harness.sweep import make_learner, make_task, train_run
    from metrics.tracking import ReadBudgetExceeded
    import time as _time

    task = make_task(spec.get("task"))
    t0 = _time.perf_counter()
    # one short run first, so that the measured peak is the learner's run and not this
    # process's first-use allocations (imports, caches of the task's splits)
    train_run({**spec, "sweeps": 1})
    peak, row = peak_memory_bytes(train_run, spec)
    row["peak_memory_bytes"] = peak
    for c in ENERGY_COLUMNS:
        if c not in ("learner", "seed"):
            row.setdefault(c, None)
    row["per_update_measured"] = False
    rep = None
    if not spec.get("energy", True):
        row["update_note"] = "not requested (seed >= --energy-seeds)"
    else:
        limit = int(spec.get("max_update_reads", DEFAULT_MAX_UPDATE_READS))
        try:
            rep = measure_update(make_learner(spec, task), task, seed=spec.get("seed", 0),
                                 warm_sweeps=spec.get("warm_sweeps", 3), reuse=True,
                                 max_reads=limit,
                                 reuse_max_reads=spec.get("reuse_max_reads", DEFAULT_REUSE_MAX_READS))
        except ReadBudgetExceeded as e:
            row["update_note"] = f"skipped: one update makes more than {limit:.2g} reads (--max-update-reads)"
            row["reads_lower_bound"] = e.reads
    if rep is not None:
        phase = dict(zip(rep.by_phase["phase"], rep.by_phase["bytedmd"]))
        row.update({
            "per_update_measured": True, "update_note": None,
            "bytedmd_per_update": rep.bytedmd, "ard": rep.ard, "dmc": rep.dmc, "reads": rep.reads,
            "writes": rep.writes, "read_bytes": rep.read_bytes, "escapes": rep.escapes,
            "mean_reuse_distance": rep.mean_reuse_distance,
            "bytedmd_forward": int(phase.get("forward", 0)),
            "bytedmd_credit": int(phase.get("credit", 0)),
            "bytedmd_update": int(phase.get("update", 0)),
            "by_array": rep.by_array.to_dict(orient="list"),
            "reuse_histogram": None if rep.reuse_histogram is None
            else pd.DataFrame(rep.reuse_histogram).to_dict(orient="list"),
        })
        conv = row.get("converged_sweep")
        # sweep c is logged before its update: the criterion is reached after c - 1 updates
        row["bytedmd_to_criterion"] = None if conv is None else (conv - 1) * rep.bytedmd
    if not spec.get("whole_run"):
        row["whole_run_note"] = "not requested (seed >= --whole-run-seeds)"
    elif rep is None:
        row["whole_run_note"] = "skipped: the per-update measurement was skipped"
    else:
        limit = float(spec.get("whole_run_max_reads", DEFAULT_WHOLE_RUN_MAX_READS))
        estimate = rep.reads * row["updates"]
        if estimate > limit:
            row["whole_run_note"] = (f"skipped: about {estimate:.2g} reads > budget {limit:.2g} "
                                     "(--whole-run-max-reads)")
        else:
            result, wrep = measure_run(make_learner(spec, task), task, seed=spec.get("seed", 0),
                                       sweeps=spec.get("sweeps"))
            if (result.unseen_acc, result.converged_sweep) != (row["unseen_acc"], row["converged_sweep"]):
                raise RuntimeError("tracked whole run disagrees with the plain run: "
                                   "instrumentation changed the numbers")
            row["bytedmd_whole_run"], row["whole_run_reads"] = wrep.bytedmd, wrep.reads
            row["whole_run_by_phase"] = wrep.by_phase.to_dict(orient="list")
    row["measure_s"] = _time.perf_counter() - t0
    return row


def fill_unmeasured(df: pd.DataFrame) -> pd.DataFrame:
    """Seeds whose update was not measured take their learner's per-update ByteDMD, reads, ARD
    and DMC when every measured seed of that learner gave the same program (identical ByteDMD
    and reads): the learners' access patterns do not depend on the weights' values. The row is
    marked per_update_measured=False. Otherwise the columns stay empty."""
    df = df.copy()
    cols = ["bytedmd_per_update", "reads", "writes", "read_bytes", "ard", "dmc", "escapes",
            "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "mean_reuse_distance"]
    for name, g in df.groupby("learner", sort=False):
        ok = g[g["error"].isna()]
        measured = ok[ok["per_update_measured"].astype(bool)]
        todo = ok.index[~ok["per_update_measured"].astype(bool) & ok["bytedmd_per_update"].isna()]
        if measured.empty or not len(todo):
            continue
        if measured["bytedmd_per_update"].nunique() != 1 or measured["reads"].nunique() != 1:
            continue
        src = measured.iloc[0]
        for c in cols:
            df.loc[todo, c] = src[c]
        per = int(src["bytedmd_per_update"])
        conv = pd.to_numeric(df.loc[todo, "converged_sweep"], errors="coerce")
        df.loc[todo, "bytedmd_to_criterion"] = [None if pd.isna(v) else (int(v) - 1) * per
                                                for v in conv]
        df.loc[todo, "update_note"] = (f"per-update cost of seeds {sorted(measured['seed'].tolist())} "
                                       "(identical program on every measured seed)")
    return df


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m studies.compare_learners", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--learners", default=None,
                   help="comma-separated learner names or 'module:Class' paths (default: all built-in)")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help="model seeds 0..N-1 (default %(default)s)")
    p.add_argument("--sweeps", type=int, default=None,
                   help="sweeps per run (default: 800 fixed timing, 2000 variable)")
    p.add_argument("--variable-timing", action="store_true", help="the variable-timing task variant")
    p.add_argument("--dataset-seed", type=int, default=0)
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="parallel processes (default: all cores)")
    p.add_argument("--backend", default="local", choices=["local", "ray"])
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--accuracy-only", action="store_true",
                   help="train and score only: no data-movement measurement")
    p.add_argument("--energy-seeds", type=int, default=None,
                   help=f"measure one update on tracked arrays for the first N seeds (default "
                        f"{DEFAULT_ENERGY_SEEDS}; the other seeds reuse it when the program is "
                        f"identical on every measured seed)")
    p.add_argument("--max-update-reads", type=float, default=None,
                   help=f"skip a per-update measurement above this many reads (default "
                        f"{DEFAULT_MAX_UPDATE_READS:.2g})")
    p.add_argument("--whole-run-seeds", type=int, default=None,
                   help=f"trace the whole run for the first N seeds (default {DEFAULT_WHOLE_RUN_SEEDS})")
    p.add_argument("--whole-run-max-reads", type=float, default=None,
                   help=f"skip a whole-run trace estimated above this many reads (default "
                        f"{DEFAULT_WHOLE_RUN_MAX_READS:.2g})")
    p.add_argument("--quick", action="store_true",
                   help=f"smoke test (under a minute): all learners, {QUICK['seeds']} seeds, "
                        f"{QUICK['sweeps']} sweeps, smaller read budgets")
    args = p.parse_args(argv)
    defaults = {"energy_seeds": DEFAULT_ENERGY_SEEDS, "whole_run_seeds": DEFAULT_WHOLE_RUN_SEEDS,
                "max_update_reads": DEFAULT_MAX_UPDATE_READS,
                "whole_run_max_reads": DEFAULT_WHOLE_RUN_MAX_READS}
    if args.quick:
        args.seeds = QUICK["seeds"] if args.seeds == DEFAULT_SEEDS else args.seeds
        args.sweeps = args.sweeps or QUICK["sweeps"]
        defaults.update({k: QUICK[k] for k in defaults})
        if args.out == DEFAULT_OUT:
            args.out = DEFAULT_OUT + "_quick"
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    for k in ("energy_seeds", "whole_run_seeds", "max_update_reads", "whole_run_max_reads"):
        if getattr(args, k) < 0:
            p.error(f"--{k.replace('_', '-')} must be >= 0, got {getattr(args, k)}")
    if args.seeds <= 0:
        p.error(f"--seeds must be positive, got {args.seeds}")
    if args.sweeps is not None and args.sweeps <= 0:
        p.error(f"--sweeps must be positive, got {args.sweeps}")
    if args.workers is not None and args.workers <= 0:
        p.error(f"--workers must be positive, got {args.workers}")
    return args


def learner_names(arg: str | None) -> list[str]:
    import learners
    if not arg:
        return learners.available()
    names = [n.strip() for n in arg.split(",") if n.strip()]
    if not names:
        raise SystemExit("--learners: no learner named")
    for n in names:          # fail early, with the registry's message, on a bad name
        try:
            learners.get(n)
        except ValueError as e:
            raise SystemExit(f"error: {e}")
    return names


def build_specs(names, seeds, sweeps, task_kwargs, energy=False, energy_seeds=DEFAULT_ENERGY_SEEDS,
                whole_run_seeds=0, max_update_reads=DEFAULT_MAX_UPDATE_READS,
                whole_run_max_reads=DEFAULT_WHOLE_RUN_MAX_READS) -> list[dict]:
    """One spec per learner and seed; with energy, the costliest runs (whole-run traces, then
    per-update measurements) come first so that the pool's last runs are short ones."""
    specs = []
    for n in names:
        for s in range(seeds):
            spec = {"runner": "harness.sweep:train_run", "learner": n, "hyper": {}, "seed": s,
                    "sweeps": sweeps, "task": task_kwargs}
            if energy:
                spec.update(runner="studies.compare_learners:energy_run", warm_sweeps=3,
                            energy=s < energy_seeds, max_update_reads=int(max_update_reads),
                            reuse_max_reads=DEFAULT_REUSE_MAX_READS,
                            whole_run=s < min(whole_run_seeds, energy_seeds),
                            whole_run_max_reads=float(whole_run_max_reads))
            specs.append(spec)
    if energy:
        specs.sort(key=lambda sp: (not sp["whole_run"], not sp["energy"]))
    return specs


def results_frame(rows: list[dict], columns=BASE_COLUMNS) -> pd.DataFrame:
    recs = []
    for r in rows:
        rec = {c: r.get(c) for c in columns}
        rec["error"] = r.get("error")
        recs.append(rec)
    df = pd.DataFrame(recs, columns=list(columns) + ["error"])
    for c in ("converged_sweep", "updates", "bytedmd_per_update", "bytedmd_to_criterion",
              "bytedmd_whole_run", "reads", "writes", "read_bytes", "peak_memory_bytes",
              "bytedmd_forward", "bytedmd_credit", "bytedmd_update", "escapes", "whole_run_reads"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    return df


def finish_energy_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Fill seeds with an unmeasured but identical per-update program, then the derived
    column per_update_x_updates (ByteDMD of one update times the updates run)."""
    df = fill_unmeasured(df)
    per = pd.to_numeric(df["bytedmd_per_update"], errors="coerce")
    upd = pd.to_numeric(df["updates"], errors="coerce")
    df["per_update_x_updates"] = (per * upd).round().astype("Int64")
    for c in ("bytedmd_per_update", "bytedmd_to_criterion", "reads", "writes", "read_bytes",
              "escapes", "bytedmd_forward", "bytedmd_credit", "bytedmd_update"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in ("ard", "dmc", "mean_reuse_distance"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["per_update_measured"] = df["per_update_measured"].fillna(False).astype(bool)
    return df


def _fmt(v, kind):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return {"acc": f"{v:.3f}", "int": f"{v:.0f}", "s": f"{v:.2f}"}[kind]


def energy_table(df: pd.DataFrame) -> str:
    """A markdown table of the data-movement columns: medians [min–max] per learner."""
    from studies.analysis import median_spread
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

        def med(col, kind, scale=1.0):
            v = ok[col].astype(float) * scale
            return f"{_fmt(v.median(), kind)} [{_fmt(v.min(), kind)}–{_fmt(v.max(), kind)}]"
        conv = ok["converged_sweep"].dropna().astype(float)
        conv_s = (f"{_fmt(conv.median(), 'int')} [{_fmt(conv.min(), 'int')}–{_fmt(conv.max(), 'int')}]"
                  if len(conv) else "never")
        lines.append(f"| {name} | {len(ok)}/{len(g)} | {med('train_acc', 'acc')} | "
                     f"{med('test_acc', 'int', n_test)} | {med('unseen_acc', 'acc')} | "
                     f"{len(conv)}/{len(ok)} | {conv_s} | {med('wall_s', 's')} |")
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


def provenance(args_dict: dict) -> dict:
    import importlib.metadata as md
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parent.parent).stdout.strip() or None
    except OSError:
        commit = None
    versions = {}
    for pkg in ("numpy", "numba", "pandas", "matplotlib", "memray"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    return {"config": args_dict, "git_commit": commit, "python": platform.python_version(),
            "packages": versions, "command": " ".join(["python -m studies.compare_learners"] + sys.argv[1:])}


def main(argv=None):
    args = parse_args(argv)
    names = learner_names(args.learners)
    task_kwargs = {"variable_timing": bool(args.variable_timing), "dataset_seed": args.dataset_seed}
    from harness.sweep import make_task
    task = make_task(task_kwargs)
    out = Path(args.out)
    energy = not args.accuracy_only
    specs = build_specs(names, args.seeds, args.sweeps, task_kwargs, energy=energy,
                        energy_seeds=args.energy_seeds, whole_run_seeds=args.whole_run_seeds,
                        max_update_reads=args.max_update_reads,
                        whole_run_max_reads=args.whole_run_max_reads)
    rows = run_sweep(specs, out, workers=args.workers, backend=args.backend,
                     progress=not args.no_progress, desc="compare_learners")
    df = results_frame(rows, ENERGY_COLUMNS if energy else BASE_COLUMNS)
    if energy:
        df = finish_energy_frame(df)
    atomic_write_csv(out / "results.csv", df)
    baselines = {"best": task.constant_code_baseline("unseen")[1],
                 "majority": task.majority_code_baseline("unseen")[1]}
    summary = summary_table(df, len(task.test_idx), baselines)
    if energy:
        summary += ("\n## Data movement (medians [min–max] over seeds; ByteDMD in cost units, "
                    "reads in elements, per update unless stated)\n\n" + energy_table(df))
    atomic_write_text(out / "summary.md", "# compare_learners: medians [min–max] over seeds\n\n" + summary)
    from studies import plots
    plots.plot_curves(rows, out / "curves.png")
    if energy and df["error"].isna().any():
        plots.plot_pareto(df, out / "pareto.png", baseline=baselines["best"])
        plots.plot_cost_breakdown(rows, out / "cost_breakdown.png")
        plots.plot_reuse(rows, out / "reuse.png")
    atomic_write_json(out / "results.json", provenance(vars(args) | {"learners": names}))
    print(summary)
    print(f"wrote {out}/: results.csv, summary.md, results.json and plots")
    n_failed = int(df["error"].notna().sum())
    return 1 if n_failed == len(df) else 0


if __name__ == "__main__":
    sys.exit(main())
