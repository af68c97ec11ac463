"""harness.sweep's Ray driver (`run_sweep(..., backend="ray")`) on an in-process stand-in for
Ray: rows saved and logged as results arrive, a lost worker, the cluster it connects to, Ctrl-C,
Ray missing. tests/test_ray_backend.py runs the same backend on a real local Ray instance."""
import json
import sys

import pytest

from harness import sweep
from harness.sweep import run_sweep, spec_key
from test_sweep_units import _specs, quiet


class FakeRay:
    """What harness.sweep uses of Ray, in this process: remote functions run when submitted;
    `wait` hands back the most recently submitted pending run first (not submission order); a
    run whose spec has seed in `dies` fails in ray.get (a lost worker); `interrupt_at`: the
    wait call (1-based) that raises KeyboardInterrupt."""

    def __init__(self, dies=(), interrupt_at=None, initialized=True):
        self.dies, self.interrupt_at, self.initialized = set(dies), interrupt_at, initialized
        self.results, self.cancelled, self.inits, self.waits = {}, [], [], 0

    def is_initialized(self):
        return self.initialized

    def init(self, **kw):
        self.inits.append(kw)
        self.initialized = True

    def remote(self, fn):
        fake = self

        class Remote:
            def remote(self, spec):
                ref = object()
                fake.results[ref] = (None if spec["seed"] in fake.dies else fn(spec))
                return ref
        return Remote()

    def wait(self, pending, num_returns):
        assert num_returns == 1
        self.waits += 1
        if self.waits == self.interrupt_at:
            raise KeyboardInterrupt
        return pending[-1:], pending[:-1]

    def get(self, ref):
        if self.results[ref] is None:
            raise RuntimeError("the worker died")
        return self.results[ref]

    def cancel(self, ref, force):
        self.cancelled.append((ref, force))


@pytest.fixture
def fake_ray(monkeypatch):
    blas = []
    monkeypatch.setattr(sweep, "one_blas_thread", lambda: blas.append(1))

    def install(**kw):
        ray = FakeRay(**kw)
        ray.blas = blas
        monkeypatch.setitem(sys.modules, "ray", ray)
        return ray
    return install


def test_the_ray_driver_writes_each_row_as_it_arrives_and_reports_a_lost_worker(tmp_path,
                                                                                fake_ray):
    ray = fake_ray(dies={1})
    lines = []
    rows = run_sweep(_specs(0, 1, 2), tmp_path, backend="ray", progress=False, log=lines.append)
    assert [r["seed"] for r in rows] == [0, 1, 2] and rows[0]["value"] == 0 and rows[2]["value"] == 20
    assert rows[1]["error"] == "RuntimeError: the worker died" and "value" not in rows[1]
    assert rows[1]["key"] == spec_key(rows[1]["spec"])
    for r in rows:
        saved = json.loads((tmp_path / "runs" / f"{r['key']}.json").read_text())
        assert saved == json.loads(json.dumps(r))
    assert lines[0].endswith(", 3 to run (ray)")
    assert [line.split()[0] for line in lines[1:]] == ["[1/3]", "[2/3]", "[3/3]"]
    assert rows[2]["key"] in lines[1] and "FAILED: RuntimeError: the worker died" in lines[2]
    assert len(ray.blas) == 2 and ray.inits == [] and ray.cancelled == []     # one per run done


def test_the_ray_driver_connects_to_the_named_cluster_without_dashboard_or_worker_logs(
        tmp_path, fake_ray, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.7:6379")
    ray = fake_ray(initialized=False)
    run_sweep(_specs(0), tmp_path, backend="ray", progress=False, log=quiet)
    assert ray.inits == [{"address": "10.0.0.7:6379", "ignore_reinit_error": True,
                          "include_dashboard": False, "log_to_driver": False}]


def test_ctrl_c_under_ray_cancels_the_pending_runs_and_keeps_the_finished(tmp_path, fake_ray):
    from harness.pool import Interrupted
    ray = fake_ray(interrupt_at=2)
    with pytest.raises(Interrupted) as info:
        run_sweep(_specs(0, 1, 2), tmp_path, backend="ray", progress=False, log=quiet)
    assert (info.value.finished, info.value.cancelled) == (1, 2)
    assert info.value.runs_dir == tmp_path / "runs"
    assert [force for _, force in ray.cancelled] == [True, True] and len(set(
        id(ref) for ref, _ in ray.cancelled)) == 2
    assert len(list((tmp_path / "runs").glob("*.json"))) == 1      # the finished run, saved
    rows = run_sweep(_specs(0, 1, 2), tmp_path, backend="ray", progress=False, log=quiet)
    assert [r["value"] for r in rows] == [0, 10, 20]


def test_the_ray_backend_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RuntimeError, match=r"^backend 'ray' needs Ray: "
                       r"pip install 'rnn-data-movement\[ray\]'$"):
        run_sweep(_specs(0), tmp_path, backend="ray", progress=False, log=quiet)
