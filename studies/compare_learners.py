"""The main study: every learner on the shared task, over seeds, side by side.

    python -m studies.compare_learners [--learners bptt,tbptt] [--seeds 10] [--sweeps 800]
                                       [--out results/compare_learners] [--workers 2]

Writes into --out: results.csv (one row per learner and seed), summary.md (medians per learner,
with the range across seeds), curves.png (training curves), results.json (the config, git commit
and package versions that reproduce it), and runs/ (one file per finished run: rerunning the
same command resumes, redoing nothing that finished).
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
    args = p.parse_args(argv)
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


def build_specs(names, seeds, sweeps, task_kwargs) -> list[dict]:
    return [{"runner": "harness.sweep:train_run", "learner": n, "hyper": {}, "seed": s,
             "sweeps": sweeps, "task": task_kwargs} for n in names for s in range(seeds)]


def results_frame(rows: list[dict], columns=BASE_COLUMNS) -> pd.DataFrame:
    recs = []
    for r in rows:
        rec = {c: r.get(c) for c in columns}
        rec["error"] = r.get("error")
        recs.append(rec)
    df = pd.DataFrame(recs, columns=list(columns) + ["error"])
    df["converged_sweep"] = df["converged_sweep"].astype("Int64")
    return df


def _fmt(v, kind):
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return {"acc": f"{v:.3f}", "int": f"{v:.0f}", "s": f"{v:.2f}"}[kind]


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


def plot_curves(rows: list[dict], path: Path):
    """Median training loss (log scale) per learner over sweeps, with the seed range shaded."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    by = {}
    for r in rows:
        if r.get("error") is None and r.get("history"):
            by.setdefault(r["learner"], []).append(np.asarray(r["history"]["loss"], float))
    for name, curves in by.items():
        n = min(len(c) for c in curves)
        m = np.stack([c[:n] for c in curves])
        x = np.arange(1, n + 1)
        line, = ax.plot(x, np.median(m, axis=0), label=f"{name} (n={len(curves)})")
        ax.fill_between(x, m.min(axis=0), m.max(axis=0), color=line.get_color(), alpha=0.15)
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("sweep (full passes over the 20 training sequences)")
    ax.set_ylabel("training loss (0.5 · mean squared error)")
    ax.set_title("Training loss per learner: median over seeds, range shaded")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp.png")
    fig.savefig(tmp, dpi=130)
    plt.close(fig)
    tmp.replace(path)


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
    specs = build_specs(names, args.seeds, args.sweeps, task_kwargs)
    rows = run_sweep(specs, out, workers=args.workers, backend=args.backend,
                     progress=not args.no_progress, desc="compare_learners")
    df = results_frame(rows)
    atomic_write_csv(out / "results.csv", df)
    baselines = {"best": task.constant_code_baseline("unseen")[1],
                 "majority": task.majority_code_baseline("unseen")[1]}
    summary = summary_table(df, len(task.test_idx), baselines)
    atomic_write_text(out / "summary.md", "# compare_learners: medians [min–max] over seeds\n\n" + summary)
    plot_curves(rows, out / "curves.png")
    atomic_write_json(out / "results.json", provenance(vars(args) | {"learners": names}))
    print(summary)
    print(f"wrote {out}/results.csv, summary.md, curves.png, results.json")
    n_failed = int(df["error"].notna().sum())
    return 1 if n_failed == len(df) else 0


if __name__ == "__main__":
    sys.exit(main())
