"""Running many independent runs: in parallel, failure-tolerant, resumable, never trusting a
stale result.

A run is described by a JSON-able spec dict:

    {"runner": "harness.sweep:train_run",   # what executes it: 'module:function'
     "learner": "bptt", "hyper": {...},      # registered name or 'module:Class', keyword hyperparameters
     "seed": 0, "sweeps": 800, "task": {...}}  # model seed, sweep budget, SequenceLookup keywords

`resolve_spec` completes it with everything that determines the result: the learner's class path
and its full resolved hyperparameters (`config`, the learner's dataclass as constructed for the
task), every task parameter, and the code version (`code`: a hash of the project's source; for a
learner outside the project, also a hash of its source file). The run's key hashes the resolved
spec, so a changed default, task or code is a new run, never a reused one.
Optional: "eval_every": k logs validation_acc and unseen_acc in the history every k sweeps
(harness.training.train; unlogged sweeps are null in the saved history).

`run_sweep(specs, out_dir)` executes every spec whose result is not already in
`out_dir/runs/<key>.json`. A run file is used only when it is valid: JSON with this module's
schema, its spec equal to the requested one, the runner's result fields present; any other file
is named on stderr and recomputed. Results are written atomically as each run finishes. A run
that raises, dies (os._exit, a signal) or exceeds `run_timeout` is recorded with its error
(`row["error"]`) and the others go on (harness.pool). Ctrl-C raises harness.pool.Interrupted.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import inspect
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

from harness.io import atomic_write_json, json_default
from harness.pool import Interrupted, one_blas_thread, run_jobs

DEFAULT_RUNNER = "harness.sweep:train_run"
SCHEMA = 2
ROOT = Path(__file__).resolve().parents[1]
CODE_PACKAGES = ("harness", "learners", "metrics", "studies")


# ---- what determines a run ---------------------------------------------------------------------

def _sha256_files(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """A hash of every .py file of the project's packages, as they are on disk."""
    return _sha256_files(sorted(p for pkg in CODE_PACKAGES for p in (ROOT / pkg).rglob("*.py")))


@functools.lru_cache(maxsize=1)
def git_state() -> dict:
    """{"commit": HEAD or None, "dirty": uncommitted changes to tracked files, or None}."""
    def git(*a):
        return subprocess.run(["git", *a], capture_output=True, text=True, cwd=ROOT,
                              timeout=20).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD") or None
        dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"commit": commit, "dirty": dirty}


def learner_source(cls) -> dict | None:
    """For a learner defined outside the project's packages: its source file and a hash of it."""
    try:
        path = Path(inspect.getsourcefile(cls)).resolve()
    except (TypeError, OSError):
        return {"file": None, "sha256": None}
    if any(path.is_relative_to(ROOT / pkg) for pkg in CODE_PACKAGES):
        return None
    return {"file": str(path), "sha256": _sha256_files([path])}


def resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"runner {dotted!r}: {e}") from e


@functools.lru_cache(maxsize=32)
def _task(blob: str):
    from harness.task import SequenceLookup
    return SequenceLookup(**json.loads(blob))


def make_task(task_kwargs: dict | None):
    return _task(json.dumps(task_kwargs or {}, sort_keys=True, default=json_default))


def task_params(task) -> dict:
    return {f.name: getattr(task, f.name) for f in dataclasses.fields(task) if f.init}


def make_learner(spec: dict, task):
    import learners
    cls = learners.get(spec["learner"])
    return cls.for_task(task, **(spec.get("hyper") or {}))


def _plain(obj):
    """obj as JSON values: numpy numbers and arrays as the Python numbers and lists they hold
    (a seed from np.arange or a rate from np.logspace stays a number), anything else JSON
    cannot hold as its str()."""
    def value(o):
        try:
            return json_default(o)
        except TypeError:
            return str(o)
    return json.loads(json.dumps(obj, sort_keys=True, default=value))


def resolve_spec(spec: dict) -> dict:
    """The spec with everything that determines its result filled in (idempotent). Raises
    ValueError/TypeError for an unknown learner or hyperparameter, or a bad task."""
    if spec.get("resolved"):
        return spec
    s = dict(spec)
    s.setdefault("runner", DEFAULT_RUNNER)
    s.setdefault("seed", 0)
    task = make_task(s.get("task"))
    s["task"] = task_params(task)
    code = {"source": source_hash()}
    if s.get("learner") is not None:
        learner = make_learner(s, task)
        cls = type(learner)
        s["learner_class"] = f"{cls.__module__}:{cls.__qualname__}"
        s["config"] = dataclasses.asdict(learner.config)
        try:                         # hyper: only what differs from the task's defaults
            base = dataclasses.asdict(cls.for_task(task).config)
            s["hyper"] = {k: v for k, v in (s.get("hyper") or {}).items() if base.get(k) != v
                          or type(base.get(k)) is not type(v)}
        except (TypeError, ValueError):
            pass
        outside = learner_source(cls)
        if outside is not None:
            code["learner_source"] = outside
    s["code"] = code
    s["resolved"] = True
    return _plain(s)


def spec_key(spec: dict) -> str:
    """A stable short name for a spec: learner, seed and a hash of the whole resolved spec."""
    spec = resolve_spec(spec)
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    digest = hashlib.sha1(blob).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(spec.get("learner", "run")))
    return f"{safe}-s{spec.get('seed', 0)}-{digest}"


# ---- runners and execution ---------------------------------------------------------------------

def train_run(spec: dict) -> dict:
    """The plain training run: accuracies, convergence, wall time, and the per-sweep history."""
    from harness.training import train
    task = make_task(spec.get("task"))
    learner = make_learner(spec, task)
    r = train(learner, task, seed=spec.get("seed", 0), sweeps=spec.get("sweeps"),
              eval_every=spec.get("eval_every"))
    return {
        "train_acc": r.train_acc, "test_acc": r.test_acc, "unseen_acc": r.unseen_acc,
        "validation_acc": r.validation_acc,
        "converged_sweep": r.converged_sweep, "updates": r.sweeps, "wall_s": r.wall_s,
        "baseline_unseen_acc": r.baseline_unseen_acc,
        "majority_unseen_acc": r.majority_unseen_acc,
        "config": r.config,
        "history": {c: [None if v != v else v for v in r.history[c].tolist()]   # NaN -> null
                    for c in r.history.columns if c != "sweep"},
    }


train_run.fields = ("train_acc", "test_acc", "unseen_acc", "converged_sweep", "updates")


def _row(spec: dict, key: str, error: str | None = None) -> dict:
    return {"schema": SCHEMA, "key": key, "spec": spec, "learner": spec.get("learner"),
            "seed": spec.get("seed"), "error": error, "git": git_state()}


def execute(spec: dict) -> dict:
    """Run one spec, never raising: errors become `row["error"]` with the traceback."""
    t0 = time.perf_counter()
    spec = resolve_spec(spec)
    row = _row(spec, spec_key(spec))
    try:
        runner = resolve(spec["runner"])
        row.update(runner(spec))
        row["error"] = None
    except Exception as e:  # a failed run is reported, the sweep goes on
        row["error"] = f"{type(e).__name__}: {e}"
        row["traceback"] = traceback.format_exc()
    row.setdefault("wall_s", time.perf_counter() - t0)
    return row


def _run_and_save(spec: dict, path: str) -> dict:
    row = execute(spec)
    try:
        atomic_write_json(path, row)
    except (TypeError, ValueError) as e:     # the runner returned something JSON cannot hold
        row = _row(row["spec"], row["key"], f"the run's result cannot be saved as JSON: {e}")
        atomic_write_json(path, row)
    return row


def check_run_file(path: Path, spec: dict, key: str) -> tuple[dict | None, str | None]:
    """(row, None) for a valid run file of this spec, else (None, why it cannot be used)."""
    try:
        row = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "not valid JSON"
    except OSError as e:
        return None, f"unreadable ({e.strerror})"
    if not isinstance(row, dict):
        return None, "not a JSON object"
    missing = sorted({"schema", "key", "spec", "error"} - set(row))
    if missing:
        return None, f"missing {', '.join(missing)}"
    if row["schema"] != SCHEMA:
        return None, f"schema {row['schema']!r}, expected {SCHEMA}"
    if row["key"] != key or row["spec"] != spec:
        return None, "its spec differs from the requested run (a stale or copied file)"
    if row["error"] is None:
        try:
            fields = getattr(resolve(spec["runner"]), "fields", ())
        except ValueError:
            fields = ()
        absent = [f for f in fields if f not in row]
        if absent:
            return None, f"result fields missing: {', '.join(absent)}"
    return row, None


# ---- the sweep ---------------------------------------------------------------------------------

def run_sweep(specs: list[dict], out_dir, workers: int | None = None, backend: str = "local",
              progress: bool = True, retry_failed: bool = True, desc: str = "runs",
              run_timeout: float | None = None, log=None) -> list[dict]:
    """Execute `specs`, resuming from valid files in `out_dir/runs/`. Returns one row per spec,
    in spec order.

    backend: "local" (one child process per run, `workers` at a time, default the number of
    cores) or "ray" (a Ray cluster: `ray.init()` must find one, or starts a local instance).
    progress: a bar on a terminal; otherwise (or with progress=False) one line per finished run.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}; use 'local' or 'ray'")
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    specs = [resolve_spec(s) for s in specs]
    git_state()                                # once, before the workers fork
    runs_dir = Path(out_dir) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for tmp in runs_dir.glob(".*.tmp"):       # left by a killed run
        tmp.unlink(missing_ok=True)
    rows: dict[int, dict] = {}
    todo, seen = [], {}
    for i, spec in enumerate(specs):
        key = spec_key(spec)
        if key in seen:
            raise ValueError(f"two identical runs in one sweep ({key}): a learner or seed is "
                             "listed twice")
        seen[key] = i
        path = runs_dir / f"{key}.json"
        if path.exists():
            row, why = check_run_file(path, spec, key)
            if why is not None:
                log(f"{path}: not used ({why}); recomputing")
            elif row["error"] is None or not retry_failed:
                rows[i] = row
                continue
        todo.append((i, spec, str(path)))
    workers = max(1, workers or os.cpu_count() or 1)
    log(f"{desc}: {len(specs)} runs, {len(rows)} already finished in {runs_dir}, "
        f"{len(todo)} to run ({'ray' if backend == 'ray' else f'{workers} worker processes'})")

    bar = None
    if progress and sys.stderr.isatty() and todo:
        from tqdm.auto import tqdm
        tqdm.monitor_interval = 0              # no monitor thread in a process that forks
        bar = tqdm(total=len(specs), initial=len(rows), desc=desc, unit="run")
    t_start, n_new = time.monotonic(), [0]

    def done(i, row):
        rows[i] = row
        n_new[0] += 1
        status = "ok" if row.get("error") is None else f"FAILED: {str(row['error']).splitlines()[0]}"
        if bar is not None:
            bar.update(1)
            if row.get("error"):
                bar.write(f"run {row['key']} {status}")
            return
        left = len(todo) - n_new[0]
        eta = (time.monotonic() - t_start) / n_new[0] * left
        log(f"[{len(rows)}/{len(specs)}] {row['key']} {status} "
            f"({row.get('wall_s') or 0:.1f} s; about {eta:.0f} s left)")

    try:
        if backend == "ray":
            _run_ray(todo, done)
        else:
            by_path = {path: (i, spec) for i, spec, path in todo}

            def on_exit(job, cause):
                spec, path = job
                i = by_path[path][0]
                row, why = check_run_file(Path(path), spec, spec_key(spec)) if cause is None \
                    else (None, None)
                if row is None:
                    row = _row(spec, spec_key(spec), cause or f"the run wrote no result ({why})")
                    atomic_write_json(path, row)
                done(i, row)
            run_jobs([(spec, path) for _, spec, path in todo], _run_and_save, workers, on_exit,
                     timeout=run_timeout)
    except Interrupted as e:
        e.runs_dir = runs_dir                  # where the finished runs are, for the message
        raise
    finally:
        if bar is not None:
            bar.close()
    return [rows[i] for i in range(len(specs))]


def _run_ray(todo, done):
    try:
        import ray
    except ImportError as e:
        raise RuntimeError("backend 'ray' needs Ray: pip install 'rnn-data-movement[ray]'") from e
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), ignore_reinit_error=True,
                 include_dashboard=False, log_to_driver=False)

    def remote_execute(spec):
        one_blas_thread()
        return execute(spec)
    remote = ray.remote(remote_execute)      # workers return rows; the driver writes them
    refs = {remote.remote(spec): (i, spec, path) for i, spec, path in todo}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            ref = ready[0]
            i, spec, path = refs[ref]
            try:
                row = ray.get(ref)
            except Exception as e:
                row = _row(spec, spec_key(spec), f"{type(e).__name__}: {e}")
            atomic_write_json(path, row)
            done(i, row)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise Interrupted(len(todo) - len(pending), len(pending)) from None
