"""Running many independent runs: in parallel, failure-tolerant, resumable.

A run is described by a JSON-able spec dict:

    {"runner": "harness.sweep:train_run",   # what executes it: 'module:function'
     "learner": "bptt", "hyper": {...},      # registered name or 'module:Class', keyword hyperparameters
     "seed": 0, "sweeps": 800, "task": {...}}  # model seed, sweep budget, SequenceLookup keywords

Optional: "eval_every": k logs validation_acc and unseen_acc in the history every k sweeps
(harness.training.train; unlogged sweeps are null in the saved history).

`run_sweep(specs, out_dir)` executes every spec whose result is not already in
`out_dir/runs/<key>.json` (so an interrupted sweep resumes without redoing finished runs), writes
each result atomically as soon as it finishes, and returns one row per spec. A run that raises is
recorded with its error (`row["error"]`) and the others go on.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from harness.io import atomic_write_json

DEFAULT_RUNNER = "harness.sweep:train_run"


def spec_key(spec: dict) -> str:
    """A stable short name for a spec: learner, seed and a hash of the whole spec."""
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    digest = hashlib.sha1(blob).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(spec.get("learner", "run")))
    return f"{safe}-s{spec.get('seed', 0)}-{digest}"


def resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_task(task_kwargs: dict | None):
    from harness.task import SequenceLookup
    return SequenceLookup(**(task_kwargs or {}))


def make_learner(spec: dict, task):
    import learners
    cls = learners.get(spec["learner"])
    return cls.for_task(task, **(spec.get("hyper") or {}))


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


def execute(spec: dict) -> dict:
    """Run one spec, never raising: errors become `row["error"]` with the traceback."""
    t0 = time.perf_counter()
    row = {"key": spec_key(spec), "spec": spec, "learner": spec.get("learner"),
           "seed": spec.get("seed")}
    try:
        runner = resolve(spec.get("runner", DEFAULT_RUNNER))
        row.update(runner(spec))
        row["error"] = None
    except Exception as e:  # a failed run is reported, the sweep goes on
        row["error"] = f"{type(e).__name__}: {e}"
        row["traceback"] = traceback.format_exc()
    row.setdefault("wall_s", time.perf_counter() - t0)
    return row


def _run_and_save(spec: dict, path: str) -> dict:
    row = execute(spec)
    atomic_write_json(path, row)
    return row


def run_sweep(specs: list[dict], out_dir, workers: int | None = None, backend: str = "local",
              progress: bool = True, retry_failed: bool = True, desc: str = "runs") -> list[dict]:
    """Execute `specs`, resuming from `out_dir/runs/`. Returns one row per spec, in spec order.

    backend: "local" (a process pool of `workers`, default the number of cores; 1 runs inline)
    or "ray" (a Ray cluster: `ray.init()` must find one, or starts a local instance).
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}; use 'local' or 'ray'")
    runs_dir = Path(out_dir) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[int, dict] = {}
    todo = []
    for i, spec in enumerate(specs):
        path = runs_dir / f"{spec_key(spec)}.json"
        if path.exists():
            try:
                row = json.loads(path.read_text())
            except (json.JSONDecodeError, OSError):
                row = None
            if row is not None and (row.get("error") is None or not retry_failed):
                rows[i] = row
                continue
        todo.append((i, spec, str(path)))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(specs), initial=len(rows), desc=desc, unit="run")

    def done(i, row):
        rows[i] = row
        if bar is not None:
            bar.update(1)
            if row.get("error"):
                bar.write(f"run {row['key']} failed: {row['error']}")

    workers = workers or os.cpu_count() or 1
    if backend == "ray":
        _run_ray(todo, done)
    elif workers == 1 or len(todo) <= 1:
        for i, spec, path in todo:
            done(i, _run_and_save(spec, path))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_run_and_save, spec, path): (i, spec, path)
                       for i, spec, path in todo}
            for fut in as_completed(futures):
                i, spec, path = futures[fut]
                try:
                    row = fut.result()
                except Exception as e:  # the worker process itself died
                    row = {"key": spec_key(spec), "spec": spec, "learner": spec.get("learner"),
                           "seed": spec.get("seed"), "error": f"{type(e).__name__}: {e}"}
                    atomic_write_json(path, row)
                done(i, row)
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
    remote = ray.remote(execute)      # workers return rows; the driver writes them
    refs = {remote.remote(spec): (i, spec, path) for i, spec, path in todo}
    pending = list(refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        ref = ready[0]
        i, spec, path = refs[ref]
        try:
            row = ray.get(ref)
        except Exception as e:
            row = {"key": spec_key(spec), "spec": spec, "learner": spec.get("learner"),
                   "seed": spec.get("seed"), "error": f"{type(e).__name__}: {e}"}
        atomic_write_json(path, row)
        done(i, row)
