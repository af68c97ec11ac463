"""harness.pool, the local process pool, on its own (no learner): every job reports exactly once,
a job that dies or hangs is reported with its cause and costs only itself, at most `workers` run
at a time; and the sweep records such a job as a failed run, never as a result."""
import json
import os
import signal
import time

import pytest

from harness.pool import exit_cause, run_jobs
from harness.sweep import run_sweep


def _ok(log, tag):
    with open(log, "a") as f:
        f.write(f"{tag} {os.getpid()}\n")


def _raises(log, tag):
    raise RuntimeError("deliberate")


def _exits(log, tag):
    os._exit(3)


def _segfault():
    """Die by SIGSEGV (without pytest's faulthandler printing a traceback first)."""
    import faulthandler
    faulthandler.disable()
    os.kill(os.getpid(), signal.SIGSEGV)


def _signal(log, tag):
    _segfault()


def _hangs(log, tag):
    time.sleep(60)


def _spans(log, tag):
    """Record this job's start and end (monotonic clock) and stay alive a little while."""
    t0 = time.monotonic()
    time.sleep(0.2)
    with open(log, "a") as f:
        f.write(f"{t0} {time.monotonic()}\n")


def _dispatch(kind, log, tag):
    {"ok": _ok, "raises": _raises, "exits": _exits, "signal": _signal, "hangs": _hangs,
     "spans": _spans}[kind](log, tag)


def test_exit_causes_name_why_the_process_ended():
    assert exit_cause(0) is None
    assert exit_cause(3) == "worker process exited with code 3"
    assert exit_cause(1) == "worker process exited with code 1"
    assert exit_cause(None) == "worker did not exit"
    assert exit_cause(-signal.SIGSEGV) == "worker process killed by SIGSEGV"
    assert exit_cause(-signal.SIGKILL) == ("worker process killed by SIGKILL (out of memory, or "
                                           "killed from outside)")
    assert exit_cause(-200) == "worker process killed by signal 200"


def test_each_failure_costs_only_its_own_job(tmp_path):
    log = tmp_path / "log"
    kinds = ["ok", "raises", "exits", "signal", "hangs", "ok"]
    jobs = [(kind, str(log), i) for i, kind in enumerate(kinds)]
    seen = []
    run_jobs(jobs, _dispatch, workers=2, on_exit=lambda job, cause: seen.append((job, cause)),
             timeout=3)
    assert sorted(job[2] for job, _ in seen) == list(range(len(kinds)))   # each exactly once
    cause = {job[0] + str(job[2]): c for job, c in seen}
    assert cause["ok0"] is None and cause["ok5"] is None
    assert cause["raises1"] == "worker process exited with code 1"
    assert cause["exits2"] == "worker process exited with code 3"
    assert cause["signal3"] == "worker process killed by SIGSEGV"
    assert cause["hangs4"] == "timed out after 3 s (--run-timeout); killed"
    # the two good jobs ran, each in a process of its own (not the parent's)
    lines = log.read_text().split()
    assert sorted(lines[0::2]) == ["0", "5"]
    pids = set(lines[1::2])
    assert len(pids) == 2 and str(os.getpid()) not in pids


@pytest.mark.parametrize("workers", [1, 2])
def test_at_most_workers_jobs_run_at_once(tmp_path, workers):
    log = tmp_path / "spans"
    jobs = [("spans", str(log), i) for i in range(4)]
    ends = []
    run_jobs(jobs, _dispatch, workers=workers, on_exit=lambda job, cause: ends.append(cause))
    assert ends == [None] * 4
    spans = [tuple(map(float, line.split())) for line in log.read_text().splitlines()]
    assert len(spans) == 4
    events = sorted([(t0, 1) for t0, _ in spans] + [(t1, -1) for _, t1 in spans])
    running, most = 0, 0
    for _, step in events:
        running += step
        most = max(most, running)
    assert most <= workers
    if workers == 1:
        assert most == 1


def crash_runner(spec):
    """A sweep runner (harness.sweep's `runner`) whose process dies without a result."""
    if spec["seed"] == 1:
        os._exit(5)
    if spec["seed"] == 2:
        _segfault()
    return {"value": spec["seed"] * 10}


def test_a_crashed_worker_is_recorded_as_a_failed_run(tmp_path):
    specs = [{"runner": "test_pool:crash_runner", "seed": s} for s in range(4)]
    rows = run_sweep(specs, tmp_path, workers=2, progress=False, log=lambda msg: None)
    assert [r["seed"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["error"] is None and rows[0]["value"] == 0
    assert rows[3]["error"] is None and rows[3]["value"] == 30
    assert rows[1]["error"] == "worker process exited with code 5" and "value" not in rows[1]
    assert rows[2]["error"] == "worker process killed by SIGSEGV" and "value" not in rows[2]
    # on disk too, so a resumed sweep retries them rather than taking them as results
    for r in rows:
        saved = json.loads((tmp_path / "runs" / f"{r['key']}.json").read_text())
        assert saved["error"] == r["error"]
    again = run_sweep(specs, tmp_path, workers=2, progress=False, retry_failed=False,
                      log=lambda msg: None)
    assert [r["error"] for r in again] == [r["error"] for r in rows]
