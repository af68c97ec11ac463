"""A small, seeded hyperparameter search per rule, so that rules are compared at their best.

    python -m studies.tune --learner NAME [--budget N] [--tune-seeds 100 101 102] [--sweeps 800]
                           [--workers 2] [--search-seed 0] [--out results/tune]

Every rule is scored the same way: the median over `--tune-seeds` of `unseen_acc` (all-3-bit accuracy
on the 3,100 sequences outside the data set) after `--sweeps` sweeps (800: the v1 fixed-timing
budget) on the default task. Ties are broken by median train accuracy, then mean unseen_acc.
The search space of each rule (SPACES below) is a grid over the hyperparameters that matter for
it; when the grid has more points than `--budget`, a seeded random subset of `--budget` points is
tried (`--search-seed`), so the same command always tries the same configurations.

The tuning seeds (default 100-102) are model seeds disjoint from the report's seeds 0-9, so the
report measures the chosen defaults on fresh initializations. (The unseen split itself is the
same one the report scores: the tuned numbers are a best case for every tuned rule alike.)

Each trial (one configuration over every tuning seed) is one run of harness.sweep.run_sweep:
parallel, failure-tolerant, resumable from `<out>/runs/` (a changed configuration, default or
code is a new trial). One row per trial is written to `<out>/tune_<name>.csv`, ranked by grid
index; the committed searches are in docs/results/tune/.
"""
from __future__ import annotations

import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.io import atomic_write_csv
from harness.sweep import run_sweep
from studies.common import (StudyError, cli, finish_args, learner_names, nonneg_int,
                            positive_int, prepare_out, report_written, study_parser)

STUDY = "tune"
DEFAULT_SEEDS = (100, 101, 102)
DEFAULT_SWEEPS = 800
DEFAULTS = {"out": "results/tune", "sweeps": DEFAULT_SWEEPS, "budget": None,
            "search_seed": 0}
QUICK = {"sweeps": 20, "budget": 2, "tune_seeds": (100,), "out": "results/tune_quick"}

# Hyperparameters that matter, per rule: a grid, and the default budget (trials) for it.
SPACES: dict[str, dict] = {
    "bptt": {"grid": {"lr": [0.02, 0.05, 0.1, 0.2], "clip": [1.0, 5.0],
                      "init_scale": [0.5, 1.0]}, "budget": 16},
    # k is the rule's defining choice (k >= T is bptt), kept at its default; tuned around it.
    "tbptt": {"grid": {"lr": [0.02, 0.05, 0.1, 0.2], "clip": [1.0, 5.0],
                       "init_scale": [0.5, 1.0]}, "budget": 16},
    # RTRL computes BPTT's gradient, so its defaults are BPTT's v1 values whatever this finds:
    # the search is a check that it tracks bptt's own lr rows (clip 5, init_scale 0.5), kept to
    # two step sizes because each run costs ~30 BPTT runs.
    "rtrl": {"grid": {"lr": [0.02, 0.05]}, "budget": 2},
    "eprop": {"grid": {"feedback": ["random", "readout"], "trace_decay": [None, 0.0, 0.5, 0.9],
                       "alpha": [1.0, 0.7, 0.5, 0.3], "lr": [0.02, 0.05, 0.1]}, "budget": 96},
    "node_perturbation": {"grid": {"sigma": [0.01, 0.03, 0.1], "n_perturb": [1, 4, 8],
                                   "lr": [0.005, 0.01, 0.02, 0.05]}, "budget": 36},
}
FALLBACK_SPACE = {"grid": {"lr": [0.01, 0.02, 0.05, 0.1, 0.2]}, "budget": 5}


def space_for(name: str) -> dict:
    return SPACES.get(name, FALLBACK_SPACE)


def trial_configs(grid: dict, budget: int, search_seed: int = 0) -> list[dict]:
    """(grid index, point) pairs: the full grid (in itertools.product order) if it fits the
    budget, else the first `budget` points of a seeded random permutation of the grid (so a
    larger budget extends a smaller one, and resumes reuse its trials)."""
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    keys = list(grid)
    points = [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]
    if len(points) <= budget:
        return list(enumerate(points))
    order = np.random.default_rng(search_seed).permutation(len(points))[:budget]
    return [(int(i), points[int(i)]) for i in order]


def run_trial(learner: str, hyper: dict, seeds, sweeps: int) -> dict:
    """Train one configuration on every seed; summarize. Never raises: errors go in `error`."""
    import harness
    import learners
    t0 = time.perf_counter()
    task = harness.SequenceLookup()
    cls = learners.get(learner)
    rows, error = [], None
    for s in seeds:
        try:
            r = harness.train(cls.for_task(task, **hyper), task, seed=int(s), sweeps=int(sweeps))
            rows.append({"unseen": r.unseen_acc, "train": r.train_acc, "test": r.test_acc,
                         "conv": r.converged_sweep})
        except Exception as e:   # a diverged or failing seed scores 0 and is named
            error = f"seed {s}: {type(e).__name__}: {e}"
            rows.append({"unseen": 0.0, "train": 0.0, "test": 0.0, "conv": None})
    unseen = np.array([r["unseen"] for r in rows])
    conv = [r["conv"] for r in rows if r["conv"] is not None]
    return {
        "score": float(np.median(unseen)),
        "unseen_min": float(unseen.min()), "unseen_max": float(unseen.max()),
        "unseen_mean": float(unseen.mean()),
        "train_acc_median": float(np.median([r["train"] for r in rows])),
        "heldout_of5_median": float(np.median([round(r["test"] * 5) for r in rows])),
        "converged_median": float(np.median(conv)) if conv else None,
        "n_converged": len(conv),
        "unseen_per_seed": " ".join(f"{u:.4f}" for u in unseen),
        "wall_s": time.perf_counter() - t0,
        "error": error,
    }



def trial_run(spec: dict) -> dict:
    """The runner of one trial: the configuration `hyper` trained on every seed of `seeds`."""
    return run_trial(spec["learner"], spec.get("hyper") or {}, spec["seeds"], spec["sweeps"])


trial_run.fields = ("score", "unseen_min", "unseen_max", "n_converged")


def load_done(path: Path) -> pd.DataFrame:
    if path.exists():
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError):
            pass
    return pd.DataFrame()


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["score", "train_acc_median", "unseen_mean"],
                          ascending=False, kind="stable")


def best_hyper(path) -> dict | None:
    """The best configuration of a tuning CSV (as keyword hyperparameters), or None."""
    df = load_done(Path(path))
    if df.empty:
        return None
    return json.loads(ranked(df).iloc[0]["hyper"])


def tune(learner: str, budget: int | None = None, seeds=DEFAULT_SEEDS, sweeps: int = DEFAULT_SWEEPS,
         workers: int | None = 2, search_seed: int = 0, out=DEFAULTS["out"], progress: bool = True,
         backend: str = "local", run_timeout: float | None = None) -> pd.DataFrame:
    """Run (or resume) the search of one learner; returns its trials, best first, and writes
    them to `<out>/tune_<name>.csv`."""
    import learners
    cls = learners.get(learner)        # fail early on an unknown name
    # a built-in is named by its registered name; a 'module:Class' path keeps the path (its class
    # may carry any `name`, even a built-in's), and trials load it by that path
    name = learner if ":" in learner else cls.name
    space = space_for(name)
    configs = trial_configs(space["grid"], budget or space["budget"], search_seed)
    for _, h in configs:               # fail early on a bad grid
        cls(**h)
    specs = [{"runner": "studies.tune:trial_run", "learner": name, "hyper": h,
              "seeds": [int(x) for x in seeds], "sweeps": int(sweeps), "task": {}}
             for _, h in configs]
    results = run_sweep(specs, out, workers=workers, backend=backend, progress=progress,
                        desc=f"tune {name}", run_timeout=run_timeout)
    rows = []
    for (i, h), res in zip(configs, results):
        rec = {k: res.get(k) for k in ("score", "unseen_min", "unseen_max", "unseen_mean",
                                       "train_acc_median", "heldout_of5_median",
                                       "converged_median", "n_converged", "unseen_per_seed",
                                       "wall_s", "error")}
        if res.get("score") is None:   # the trial process itself failed: it scores nothing
            rec.update(score=0.0, unseen_min=0.0, unseen_max=0.0, unseen_mean=0.0,
                       train_acc_median=0.0, n_converged=0)
        rows.append({"grid_index": i, "learner": name,
                     **{f"hp_{k}": ("None" if v is None else v) for k, v in h.items()},
                     "hyper": json.dumps(h, sort_keys=True), "seeds": " ".join(map(str, seeds)),
                     "sweeps": int(sweeps), **rec, "key": res["key"]})
    df = pd.DataFrame(rows).sort_values("grid_index", kind="stable")
    atomic_write_csv(Path(out) / f"tune_{name.replace(':', '_')}.csv", df)
    return ranked(df)


def parse_args(argv=None):
    p = study_parser("python -m studies.tune", __doc__, DEFAULTS, QUICK)
    p.add_argument("--learner", required=True, help="registered name or 'module:Class'")
    p.add_argument("--budget", type=positive_int, default=None,
                   help="max trials (default: per rule, SPACES; --quick 2)")
    p.add_argument("--tune-seeds", type=nonneg_int, nargs="+", default=None, metavar="SEED",
                   help="the model seeds every trial is scored on (default 100 101 102, disjoint "
                        "from the report's 0-9; --quick 100)")
    p.add_argument("--sweeps", type=positive_int, default=None,
                   help=f"sweeps per run (default {DEFAULT_SWEEPS}; --quick {QUICK['sweeps']})")
    p.add_argument("--search-seed", type=nonneg_int, default=None,
                   help="seed of the random subset of a grid larger than the budget (default 0)")
    a = finish_args(p, argv, {**DEFAULTS, "tune_seeds": DEFAULT_SEEDS}, QUICK)
    if a.hyper:
        p.error("--hyper does not apply to tune (the search sets the hyperparameters)")
    return a


def main(argv=None):
    return cli(_main, argv)


def _main(argv):
    a = parse_args(argv)
    learner_names(a.learner)           # the same checks and message as every study
    if "," in a.learner:
        raise StudyError("--learner: one learner per search")
    out = prepare_out(a.out, STUDY, a.force)
    try:
        df = tune(a.learner, a.budget, a.tune_seeds, a.sweeps, a.workers, a.search_seed, out,
                  progress=not a.no_progress, backend=a.backend, run_timeout=a.run_timeout)
    except (TypeError, ValueError) as e:
        raise StudyError(f"--learner {a.learner}: {e}") from None
    cols = [c for c in df.columns if c.startswith("hp_")] + [
        "score", "unseen_min", "unseen_max", "train_acc_median", "heldout_of5_median",
        "n_converged", "converged_median"]
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df[cols].head(10).to_string(index=False))
    print(f"best: {json.loads(df.iloc[0]['hyper'])}  median unseen_acc {df.iloc[0]['score']:.4f}")
    report_written(out, [f"tune_{a.learner.replace(':', '_')}.csv"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
