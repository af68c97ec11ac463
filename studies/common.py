"""What every study shares, written once: the command line, errors, provenance, table cells,
figures, learner colours, and results folders (studies/folders.py, re-exported here).

    parser = study_parser(prog, doc, defaults, quick)   # the shared flags + the study's own
    args = finish_args(parser, argv, defaults, quick)    # --quick fills only what was not given
    sys.exit(cli(main))                                  # StudyError -> one line, exit 2; Ctrl-C -> 130
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path

from harness.pool import Interrupted
from harness.task import TARGET_KINDS
from studies.folders import (MARKER, TASK_MARKER, StudyError, folder_owner,  # noqa: F401
                             folder_task, prepare_out, remove_stale, report_written)
from studies.figures import STYLE, learner_style, pyplot, save_figure  # noqa: F401 (re-exported)
from studies import number_format


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---- argument types ------------------------------------------------------------------------------

def _number(kind, low, what):
    def parse(s):
        try:
            v = kind(float(s)) if kind is float else int(s)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}") from None
        if kind is float and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"expected a finite {what}, got {s!r}")
        if v < low or (low == 0 and what.startswith("a positive") and v == 0):
            raise argparse.ArgumentTypeError(f"expected {what}, got {s!r}")
        return v
    parse.__name__ = what
    return parse


positive_int = _number(int, 1, "a positive whole number")
nonneg_int = _number(int, 0, "a whole number >= 0")
positive_float = _number(float, 0, "a positive number")
nonneg_float = _number(float, 0.0, "a number >= 0")


def int_list(s):
    """'5,10,20' -> (5, 10, 20): positive whole numbers, sorted, duplicates removed."""
    parts = [p.strip() for p in str(s).split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("expected comma-separated whole numbers")
    return tuple(sorted({positive_int(p) for p in parts}))


def hyper_setting(s):
    """'bptt.lr=0.02' -> ('bptt', 'lr', 0.02); the value is read as JSON, else kept as text."""
    name, eq, value = str(s).partition("=")
    learner, dot, key = name.rpartition(".")
    if not eq or not dot or not learner or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected LEARNER.NAME=VALUE, got {s!r}")
    try:
        v = json.loads(value)
    except json.JSONDecodeError:
        v = value
    return learner, key, v


# ---- the shared command line ---------------------------------------------------------------------

COMMON = ("learners", "seeds", "workers", "out", "backend", "run_timeout")
TASK_KINDS = TARGET_KINDS             # --task: the task's target kinds (harness/task.py)


def study_parser(prog: str, doc: str, defaults: dict, quick: dict, min_seeds: int = 1,
                 measures: bool = True) -> Parser:
    """A parser with the flags every study shares (same meaning everywhere), help showing this
    study's defaults and what --quick changes. The study adds its own flags. measures=False: a
    study that measures no data movement (it refuses the number-format flags)."""
    def d(k, fmt=str):
        q = f"; --quick: {fmt(quick[k])}" if k in quick else ""
        return f"default {fmt(defaults[k])}{q}"
    p = Parser(prog=prog, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.measures = measures
    g = p.add_argument_group("common to every study")
    if "learners" in defaults:
        g.add_argument("--learners", default=None, metavar="A,B",
                       help="comma-separated learner names or 'module:Class' paths "
                            f"(default: {defaults['learners'] or 'every built-in'})")
    if "seeds" in defaults:
        g.add_argument("--seeds", type=positive_int if min_seeds else nonneg_int,
                       default=None, metavar="N", help=f"model seeds 0..N-1 ({d('seeds')})")
    if "task" in defaults:
        g.add_argument("--task", choices=TASK_KINDS, default=None,
                       help="the targets: final (the teacher's code at the last step, v1) or "
                            "per_step (the code of the prefix seen so far at every step; "
                            "harness/task.py); accuracy is scored on the final code either way. "
                            "A rule that does not learn from per_step targets is skipped with "
                            f"the reason; --out defaults to DIR_per_step ({d('task')})")
    g.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help=f"parallel worker processes of the local backend (default: "
                        f"{os.cpu_count() or 1}, the cores)")
    g.add_argument("--out", default=None, metavar="DIR",
                   help=f"results folder ({d('out')}); rerunning into it resumes")
    g.add_argument("--spill-dir", default=None, metavar="DIR",
                   help="where whole-run traces are stored while priced (about 1.2 bytes per "
                        "read, removed when priced; the free space is checked first) (default: "
                        "DIR/spill under --out)")
    g.add_argument("--force", action="store_true",
                   help="replace --out whole when it holds another study's results")
    g.add_argument("--quick", action="store_true",
                   help="a fast smoke run: sets every flag you did not give to its --quick value")
    g.add_argument("--no-progress", action="store_true",
                   help="no progress bar: one line per finished run (the default in a log file)")
    g.add_argument("--backend", default=None, choices=["local", "ray"],
                   help="local process pool or a Ray cluster (default local)")
    g.add_argument("--run-timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="record a run that takes longer as failed (default: no limit)")
    g.add_argument("--hyper", type=hyper_setting, action="append", default=[],
                   metavar="LEARNER.NAME=VALUE",
                   help="set a hyperparameter, e.g. bptt.lr=0.05 (repeatable)")
    number_format.add_format_flags(g)
    return p


def add_flag(p, flag: str, type, help: str, defaults: dict, quick: dict, fmt=str, **kw):
    """A study's own flag, its help ending in its default and --quick value."""
    k = flag.lstrip("-").replace("-", "_")
    q = f"; --quick {fmt(quick[k])}" if k in quick else ""
    p.add_argument(flag, type=type, default=None,
                   help=f"{help} (default {fmt(defaults[k]) if defaults.get(k) is not None else kw.pop('default_text', 'none')}{q})",
                   **kw)


def finish_args(p: Parser, argv, defaults: dict, quick: dict) -> argparse.Namespace:
    """Parse; every flag left unset takes its --quick value (with --quick) or its default."""
    args = p.parse_args(argv)
    out_given = getattr(args, "out", None) is not None
    base = {"backend": "local", "run_timeout": None, **defaults}
    for k, v in base.items():
        if getattr(args, k, None) is None:
            setattr(args, k, quick[k] if args.quick and k in quick else v)
    number_format.finish_format(p, args, getattr(p, "measures", True))
    if getattr(args, "task", "final") != "final" and not out_given:
        args.out = f"{args.out}_{args.task}"        # a task kind's results never share a folder
    if args.backend == "ray" and args.workers is not None:
        p.error("--workers sets the local process pool; with --backend ray the cluster's CPUs "
                "decide (drop --workers)")
    if args.backend == "ray" and args.run_timeout is not None:
        p.error("--run-timeout applies to the local backend only")
    return args


def schedule_list(p, value) -> tuple:
    """--schedules as a tuple of distinct schedule names (harness/schedules.py); a tuple or list
    (a study's default) passes through; anything else is a parser error (one line, exit 2)."""
    from harness.schedules import SCHEDULES
    if isinstance(value, (tuple, list)):
        return tuple(value)
    scheds = [x.strip() for x in str(value).split(",") if x.strip()]
    if not scheds or any(x not in SCHEDULES for x in scheds) or len(set(scheds)) < len(scheds):
        p.error(f"--schedules {value!r}: a comma-separated list of distinct names of "
                f"{', '.join(SCHEDULES)}")
    return tuple(scheds)


def learner_names(arg: str | None, default: list[str] | None = None) -> list[str]:
    """The learners named by --learners (default: every built-in), checked: unknown names and a
    learner named twice (also as its class path) are errors."""
    import learners
    if arg is None:
        return list(default) if default is not None else learners.available()
    names = [n.strip() for n in str(arg).split(",")]
    if not any(names):
        raise StudyError("--learners: no learner named")
    if not all(names):
        raise StudyError(f"--learners {arg!r}: an empty name between commas")
    seen = {}
    for n in names:
        try:
            cls = learners.get(n)
        except ValueError as e:
            raise StudyError(f"--learners: {e}") from None
        except Exception as e:       # the rule's module itself is broken (a syntax error, ...)
            raise StudyError(f"--learners: cannot load {n!r}: {type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''}") from None
        if n in seen.values():
            raise StudyError(f"--learners: {n!r} is listed twice; list each learner once")
        if cls in seen:
            raise StudyError(f"--learners: {n!r} names the same learner as {seen[cls]!r}; "
                             "list each learner once")
        seen[cls] = n
    return names


def hyper_by_learner(settings, names: list[str]) -> dict[str, dict]:
    """--hyper settings grouped per learner, each learner named in `names`."""
    out: dict[str, dict] = {}
    for learner, key, value in settings:
        if learner not in names:
            raise StudyError(f"--hyper {learner}.{key}: {learner!r} is not among the learners "
                             f"of this study ({', '.join(names)})")
        out.setdefault(learner, {})[key] = value
    return out


def check_learners(names: list[str], hyper: dict[str, dict], task_kwargs: dict | None = None):
    """Construct every learner with its hyperparameters on the task: a bad value is a StudyError
    naming the learner, before any run starts."""
    from harness.sweep import make_learner, make_task
    try:
        task = make_task(task_kwargs)
    except (TypeError, ValueError) as e:
        raise StudyError(f"task: {e}") from None
    for n in names:
        try:
            make_learner({"learner": n, "hyper": hyper.get(n, {})}, task)
        except (TypeError, ValueError) as e:
            raise StudyError(f"learner {n}: {e}") from None
    return task


def begin(args, study: str, task_kwargs: dict | None = None, reserved: dict | None = None):
    """The first steps of every study: its learners (checked), their --hyper settings (each
    learner constructed on the task; `reserved` hyperparameters, {name: flag}, are the study's
    own), then its results folder claimed (refused when it holds results at another number
    format: studies/number_format.py). Returns (names, hyper, task, out)."""
    names = learner_names(getattr(args, "learners", None))
    hyper = hyper_by_learner(args.hyper, names)
    for name, flag in (reserved or {}).items():
        if any(name in h for h in hyper.values()):
            raise StudyError(f"--hyper: {name} is set by {flag} in this study")
    task = check_learners(names, hyper, task_kwargs)
    fmt = number_format.study_format(args)
    conflict = None if args.force else number_format.folder_conflict(args.out, fmt)
    if conflict and folder_owner(Path(args.out)) == study:
        raise StudyError(conflict)
    out = prepare_out(args.out, study, args.force, getattr(args, "task", None))
    number_format.record(out, fmt)
    use_spill_dir(getattr(args, "spill_dir", None), out)
    return names, hyper, task, out


def split_by_targets(names: list[str], kind: str) -> tuple[list[str], dict[str, str]]:
    """The learners that learn from `kind` targets (harness/task.py; a rule's TARGETS), and
    {name: reason} for the others, which a study skips and reports rather than fails on."""
    import learners
    from harness.schedules import target_kinds
    keep, skipped = [], {}
    for n in names:
        kinds = target_kinds(learners.get(n))
        if kind in kinds:
            keep.append(n)
        else:
            skipped[n] = f"does not support {kind} targets; it supports {', '.join(kinds)}"
    return keep, skipped


def use_spill_dir(spill_dir, out: Path) -> Path:
    """Set $RNN_DM_SPILL_DIR (metrics/trace_store.py) for this study and its workers: --spill-dir,
    else <out>/spill. A path that exists and is not a folder is a StudyError."""
    from metrics.trace_store import SPILL_ENV
    path = Path(spill_dir) if spill_dir else Path(out) / "spill"
    if path.exists() and not path.is_dir():
        raise StudyError(f"--spill-dir {path}: exists and is not a folder")
    os.environ[SPILL_ENV] = str(path.resolve())
    return path


def cli(main, argv=None) -> int:
    """Run a study's main: a StudyError is one line on stderr and exit 2; Ctrl-C stops the runs,
    says what finished and how to resume, exit 130."""
    try:
        return main(argv)
    except StudyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        where = getattr(e, "runs_dir", None)
        print(f"\ninterrupted: {e.finished} runs finished in this invocation"
              + (f" and are saved in {where}" if where else "")
              + f"; {e.cancelled} stopped or not started. Rerun the same command to resume.",
              file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


# ---- provenance ----------------------------------------------------------------------------------

PACKAGES = ("numpy", "numba", "pandas", "matplotlib", "memray", "threadpoolctl", "ray")


def provenance(study: str, config: dict, learners_used: list[str] | None = None,
               hyper: dict | None = None, task_kwargs: dict | None = None, **extra) -> dict:
    """What reproduces a study's outputs: its config, every learner's resolved class and
    hyperparameters (and source hash for an outside rule), code version, packages, machine and
    BLAS thread settings."""
    import importlib.metadata as md
    from harness.pool import thread_settings
    from harness.sweep import git_state, resolve_spec, source_hash
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    resolved = {}
    for n in learners_used or []:
        s = resolve_spec({"learner": n, "hyper": (hyper or {}).get(n, {}), "task": task_kwargs})
        resolved[n] = {"class": s["learner_class"], "config": s["config"],
                       "source": s["code"].get("learner_source")}
    git = git_state()
    cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.items()}
    return {"study": study, "config": cfg, "learners": resolved, "git_commit": git["commit"],
            "git_dirty": git["dirty"], "source_hash": source_hash(),
            "python": platform.python_version(), "packages": versions,
            "machine": {"platform": platform.platform(), "machine": platform.machine(),
                        "cpus": os.cpu_count()},
            "threads": {"study_process": thread_settings(),
                        "run_processes": "one BLAS/OpenMP thread each (harness.pool.one_blas_thread)"},
            "command": " ".join([f"python -m studies.{study}"] + sys.argv[1:]), **extra}


# ---- table cells ---------------------------------------------------------------------------------

def _finite(values) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def median_spread(values, fmt="{:.3g}") -> str:
    """'median [min–max]' of the finite values, or '–' when there are none."""
    import numpy as np
    v = _finite(values)
    if not v:
        return "–"
    return f"{fmt.format(float(np.median(v)))} [{fmt.format(min(v))}–{fmt.format(max(v))}]"


def cell(v, fmt="{:.3g}") -> str:
    """One number as a table cell, '–' when missing."""
    v = _finite([v])
    return fmt.format(v[0]) if v else "–"
