"""run_sweep(..., backend="ray") against a local Ray instance: the same rows as the local backend,
failures reported while the other runs finish, resume. Skipped where Ray is not installed
(pip install -e '.[ray]')."""
import json
import os
import sys
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from harness.sweep import run_sweep, spec_key  # noqa: E402

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
COMPARED = ("train_acc", "test_acc", "unseen_acc", "converged_sweep", "updates",
            "baseline_unseen_acc", "majority_unseen_acc", "config", "history")


def crash_worker(spec):
    """A runner that kills its worker process (not an exception execute() could catch)."""
    os._exit(3)


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        ray.shutdown()
    # workers import harness/learners/tests modules: give them the driver's import path
    path = os.pathsep.join([str(ROOT), str(TESTS)] + [p for p in sys.path if p])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield ray
    ray.shutdown()


def bptt_specs(n=3, sweeps=8):
    return [{"runner": "harness.sweep:train_run", "learner": "bptt", "hyper": {}, "seed": s,
             "sweeps": sweeps, "task": {}} for s in range(n)]


def test_ray_rows_equal_local_rows(local_ray, tmp_path):
    specs = bptt_specs()
    local = run_sweep(specs, tmp_path / "local", workers=1, progress=False)
    remote = run_sweep(specs, tmp_path / "ray", backend="ray", progress=False)
    assert [r["key"] for r in remote] == [spec_key(s) for s in specs]
    for a, b in zip(local, remote):
        assert a["error"] is None and b["error"] is None, b.get("traceback")
        for c in COMPARED:
            assert b[c] == a[c], c
    # and each result was written where a resumed sweep finds it
    for s, r in zip(specs, remote):
        saved = json.loads((tmp_path / "ray" / "runs" / f"{spec_key(s)}.json").read_text())
        assert saved["unseen_acc"] == r["unseen_acc"] and saved["history"] == r["history"]


def test_ray_failures_are_reported_and_the_others_finish(local_ray, tmp_path):
    specs = bptt_specs(2) + [
        {"runner": "harness.sweep:train_run", "learner": "failing_rules:Explodes", "seed": 0,
         "sweeps": 8, "task": {}},
        {"runner": "test_ray_backend:crash_worker", "seed": 0},      # no learner: a bare runner
    ]
    rows = run_sweep(specs, tmp_path, backend="ray", progress=False)
    assert [r["error"] for r in rows[:2]] == [None, None]
    assert all(0 <= r["unseen_acc"] <= 1 for r in rows[:2])
    assert "deliberate failure in update" in rows[2]["error"]
    assert rows[3]["error"]                     # the dead worker is an error row, not a hang
    for s in specs:                             # every outcome, failures too, is on disk
        assert (tmp_path / "runs" / f"{spec_key(s)}.json").exists()


def test_ray_resume_runs_only_what_is_missing(local_ray, tmp_path):
    specs = bptt_specs(3, sweeps=5)
    first = run_sweep(specs[:2], tmp_path, backend="ray", progress=False)
    paths = [tmp_path / "runs" / f"{spec_key(s)}.json" for s in specs[:2]]
    mtimes = [p.stat().st_mtime_ns for p in paths]
    rows = run_sweep(specs, tmp_path, backend="ray", progress=False)
    assert [p.stat().st_mtime_ns for p in paths] == mtimes
    assert rows[:2] == first and rows[2]["error"] is None
