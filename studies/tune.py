"""The tuning search behind every rule's tuned configuration: the same budget for every rule, scored
on the validation split only.

    python -m studies.tune [--learners bptt,eprop] [--budget 20] [--tune-seeds 100 101 102]
                           [--sweeps 800] [--workers 2] [--out results/tune] [--adopt]

Every rule, the reference BPTT included, gets the same search: a grid of 20 configurations, the
network leak alpha in {1.0, 0.3} (1 = the v1 network) x the step size lr in {0.005, 0.01, 0.02,
0.05, 0.1} x one two-valued choice that matters for the rule (SPACES below: the clipping bound for
the gradient rules, the trace time constant for e-prop, the noise scale for the perturbation rules,
the number of tangents for the forward gradient). Each configuration is trained from the same
tuning seeds (default 100-102, disjoint from the report's model seeds 0-9) for --sweeps sweeps on
the default data set, and scored by the median over those seeds of `validation_acc`: all-3-bit
accuracy on the validation part of the unseen sequences (harness.task: tuning only). The reported
part (`unseen_acc`) is never read by the search. Ties are broken by the median train accuracy,
then the mean validation accuracy.

Each trial (one configuration over every tuning seed) is one run of harness.sweep.run_sweep:
parallel, failure-tolerant, resumable from `<out>/runs/` (a changed configuration, default or
code is a new trial). One row per trial is written to `<out>/tune_<name>.csv`, in grid order;
`--adopt` writes each rule's best configuration to learners/tuned.json (what
`learners.get(name).tuned()` and the studies' tuned rows use). The committed searches are in
docs/results/tune/.
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
DEFAULTS = {"learners": None, "out": "results/tune", "sweeps": DEFAULT_SWEEPS, "budget": None,
            "search_seed": 0}
QUICK = {"sweeps": 20, "budget": 2, "tune_seeds": (100,), "out": "results/tune_quick"}

# The common grid of every rule (alpha x lr: 10 points) times one two-valued choice per rule.
COMMON_GRID = {"alpha": [1.0, 0.3], "lr": [0.005, 0.01, 0.02, 0.05, 0.1]}
RULE_CHOICE: dict[str, dict] = {
    "bptt": {"clip": [1.0, 5.0]}, "tbptt": {"clip": [1.0, 5.0]}, "rtrl": {"clip": [1.0, 5.0]},
    "checkpointed_bptt": {"clip": [1.0, 5.0]}, "snap1": {"clip": [1.0, 5.0]},
    "snap2": {"clip": [1.0, 5.0]}, "uoro": {"clip": [1.0, 5.0]},
    "feedback_alignment": {"clip": [1.0, 5.0]},
    "eprop": {"trace_decay": [None, 0.9]},          # None: the RFLO trace, kappa = 1 - alpha
    "node_perturbation": {"sigma": [0.03, 0.1]},
    "weight_perturbation": {"sigma": [0.003, 0.01]},
    "forward_gradient": {"n_tangents": [1, 4]},
}
FALLBACK_CHOICE = {"clip": [1.0, 5.0]}
BUDGET = 20
SPACES = {name: {"grid": {**COMMON_GRID, **choice}, "budget": BUDGET}
          for name, choice in RULE_CHOICE.items()}
FALLBACK_SPACE = {"grid": {**COMMON_GRID, **FALLBACK_CHOICE}, "budget": BUDGET}


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
    """Train one configuration on every seed and summarize on the validation split (the reported
    unseen part is not read). Never raises: errors go in `error`."""
    import harness
    import learners
    t0 = time.perf_counter()
    task = harness.SequenceLookup()
    cls = learners.get(learner)
    rows, error = [], None
    for s in seeds:
        try:
            r = harness.train(cls.for_task(task, **hyper), task, seed=int(s), sweeps=int(sweeps))
            rows.append({"validation": r.validation_acc, "train": r.train_acc,
                         "conv": r.converged_sweep})
        except Exception as e:   # a diverged or failing seed scores 0 and is named
            error = f"seed {s}: {type(e).__name__}: {e}"
            rows.append({"validation": 0.0, "train": 0.0, "conv": None})
    val = np.array([r["validation"] for r in rows])
    conv = [r["conv"] for r in rows if r["conv"] is not None]
    return {
        "score": float(np.median(val)),
        "validation_min": float(val.min()), "validation_max": float(val.max()),
        "validation_mean": float(val.mean()),
        "train_acc_median": float(np.median([r["train"] for r in rows])),
        "converged_median": float(np.median(conv)) if conv else None,
        "n_converged": len(conv),
        "validation_per_seed": " ".join(f"{u:.4f}" for u in val),
        "wall_s": time.perf_counter() - t0,
        "error": error,
    }


def trial_run(spec: dict) -> dict:
    """The runner of one trial: the configuration `hyper` trained on every seed of `seeds`."""
    return run_trial(spec["learner"], spec.get("hyper") or {}, spec["seeds"], spec["sweeps"])


trial_run.fields = ("score", "validation_min", "validation_max", "n_converged")


def load_done(path: Path) -> pd.DataFrame:
    if path.exists():
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, OSError):
            pass
    return pd.DataFrame()


def ranked(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["score", "train_acc_median", "validation_mean"],
                          ascending=False, kind="stable")


def best_hyper(path) -> dict | None:
    """The best configuration of a tuning CSV (as keyword hyperparameters), or None."""
    df = load_done(Path(path))
    if df.empty:
        return None
    return json.loads(ranked(df).iloc[0]["hyper"])


def _plan(learner: str, budget, search_seed):
    import learners
    cls = learners.get(learner)        # fail early on an unknown name
    # a built-in is named by its registered name; a 'module:Class' path keeps the path (its class
    # may carry any `name`, even a built-in's), and trials load it by that path
    name = learner if ":" in learner else cls.name
    space = space_for(name)
    configs = trial_configs(space["grid"], budget or space["budget"], search_seed)
    for _, h in configs:               # fail early on a bad grid
        cls(**h)
    return name, configs


def tune(learner, budget: int | None = None, seeds=DEFAULT_SEEDS, sweeps: int = DEFAULT_SWEEPS,
         workers: int | None = 2, search_seed: int = 0, out=DEFAULTS["out"], progress: bool = True,
         backend: str = "local", run_timeout: float | None = None):
    """Run (or resume) the search of one learner (a name: returns its trials, best first) or of
    several (a list: every trial in one pool; returns {name: trials, best first}); each table is
    written to `<out>/tune_<name>.csv`."""
    names = [learner] if isinstance(learner, str) else list(learner)
    plans = [_plan(n, budget, search_seed) for n in names]
    specs = [{"runner": "studies.tune:trial_run", "learner": name, "hyper": h,
              "seeds": [int(x) for x in seeds], "sweeps": int(sweeps), "task": {}}
             for name, configs in plans for _, h in configs]
    results = iter(run_sweep(specs, out, workers=workers, backend=backend, progress=progress,
                             desc="tune", run_timeout=run_timeout))
    tables = {}
    for name, configs in plans:
        rows = []
        for (i, h), res in zip(configs, results):
            rec = {k: res.get(k) for k in ("score", "validation_min", "validation_max",
                                           "validation_mean", "train_acc_median",
                                           "converged_median", "n_converged",
                                           "validation_per_seed", "wall_s", "error")}
            if res.get("score") is None:   # the trial process itself failed: it scores nothing
                rec.update(score=0.0, validation_min=0.0, validation_max=0.0,
                           validation_mean=0.0, train_acc_median=0.0, n_converged=0)
            rows.append({"grid_index": i, "learner": name,
                         **{f"hp_{k}": ("None" if v is None else v) for k, v in h.items()},
                         "hyper": json.dumps(h, sort_keys=True),
                         "seeds": " ".join(map(str, seeds)), "sweeps": int(sweeps), **rec,
                         "key": res["key"]})
        df = pd.DataFrame(rows).sort_values("grid_index", kind="stable")
        atomic_write_csv(Path(out) / f"tune_{name.replace(':', '_')}.csv", df)
        tables[name] = ranked(df)
    return tables[names[0]] if isinstance(learner, str) else tables


TUNED_JSON = Path(__file__).resolve().parents[1] / "learners" / "tuned.json"


def adopt(tables: dict, source_dir: str, path=TUNED_JSON) -> dict:
    """Write each built-in rule's best configuration to learners/tuned.json (keeping entries of
    rules not searched now): {name: {"hyper", "score" (median validation_acc), "trials",
    "seeds", "sweeps", "source"}}."""
    from harness.io import atomic_write_json
    path = Path(path)
    table = json.loads(path.read_text()) if path.exists() else {}
    for name, df in tables.items():
        if ":" in name:
            continue                   # outside rules are not presets of the project
        best = df.iloc[0]
        table[name] = {"hyper": json.loads(best["hyper"]), "score": float(best["score"]),
                       "trials": int(len(df)), "seeds": best["seeds"], "sweeps": int(best["sweeps"]),
                       "source": f"{source_dir}/tune_{name}.csv"}
    atomic_write_json(path, dict(sorted(table.items())))
    return table


def parse_args(argv=None):
    p = study_parser("python -m studies.tune", __doc__, DEFAULTS, QUICK, measures=False)
    p.add_argument("--budget", type=positive_int, default=None,
                   help=f"max trials per rule (default {BUDGET}, every rule alike; --quick 2)")
    p.add_argument("--tune-seeds", type=nonneg_int, nargs="+", default=None, metavar="SEED",
                   help="the model seeds every trial is scored on (default 100 101 102, disjoint "
                        "from the report's 0-9; --quick 100)")
    p.add_argument("--sweeps", type=positive_int, default=None,
                   help=f"sweeps per run (default {DEFAULT_SWEEPS}; --quick {QUICK['sweeps']})")
    p.add_argument("--search-seed", type=nonneg_int, default=None,
                   help="seed of the random subset of a grid larger than the budget (default 0)")
    p.add_argument("--adopt", action="store_true",
                   help="write each searched built-in rule's best configuration to "
                        "learners/tuned.json (the rules' tuned presets)")
    a = finish_args(p, argv, {**DEFAULTS, "tune_seeds": DEFAULT_SEEDS}, QUICK)
    if a.hyper:
        p.error("--hyper does not apply to tune (the search sets the hyperparameters)")
    return a


def main(argv=None):
    return cli(_main, argv)


def _main(argv):
    a = parse_args(argv)
    names = learner_names(a.learners)  # the same checks and message as every study
    out = prepare_out(a.out, STUDY, a.force)
    try:
        tables = tune(names, a.budget, a.tune_seeds, a.sweeps, a.workers, a.search_seed, out,
                      progress=not a.no_progress, backend=a.backend, run_timeout=a.run_timeout)
    except (TypeError, ValueError) as e:
        raise StudyError(f"--learners {a.learners}: {e}") from None
    for name, df in tables.items():
        cols = [c for c in df.columns if c.startswith("hp_")] + [
            "score", "validation_min", "validation_max", "train_acc_median", "n_converged",
            "converged_median"]
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(f"== {name}")
            print(df[cols].head(5).to_string(index=False))
        print(f"best: {json.loads(df.iloc[0]['hyper'])}  median validation_acc "
              f"{df.iloc[0]['score']:.4f}")
    if a.adopt:
        adopt(tables, str(a.out))
        print(f"adopted into {TUNED_JSON}")
    report_written(out, [f"tune_{n.replace(':', '_')}.csv" for n in tables])
    return 0


if __name__ == "__main__":
    sys.exit(main())
