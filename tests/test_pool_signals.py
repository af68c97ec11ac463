"""harness.pool and a Ctrl-C that lands while a child is being started (os.fork wrapped to send
SIGINT at that instant, deterministically): in the parent, between the fork and the child's
registration, it must still stop that child (not leave it running, holding the study's output
pipes open); in the child, before the child has set SIGINT to ignored, it must not kill the
job."""
import json
import os
import signal
import time
from pathlib import Path

import pytest

from harness.pool import Interrupted, run_jobs

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask") or not hasattr(os, "fork"),
                                reason="POSIX signal masks and fork")


def _hang(log):
    Path(log).write_text(str(os.getpid()))
    time.sleep(60)


def _write(log):
    Path(log).write_text("ran")


def _write_signal_state(log):
    blocked = sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    Path(log).write_text(json.dumps({"blocked": blocked,
                                     "sigint_ignored": signal.getsignal(signal.SIGINT)
                                     == signal.SIG_IGN}))


def _fork_then_interrupt(monkeypatch, side, forked):
    """Wrap os.fork: right after it returns on `side` ("parent" or "child"), this process gets
    SIGINT. A KeyboardInterrupt it raises in the child ends the child with code 99 (the run is
    then reported as failed) instead of unwinding a copy of the test process."""
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if (pid == 0) == (side == "child"):
            if pid:
                forked.append(pid)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)            # a pending handler runs here, if SIGINT is not blocked
            except KeyboardInterrupt:
                if pid == 0:
                    os._exit(99)
                raise
        return pid
    monkeypatch.setattr(os, "fork", fork)


def _gone(pid, within=10.0):
    """True once pid is no longer a process (reaped by the pool, or never a child)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_during_a_fork_stops_the_new_child(tmp_path, monkeypatch):
    forked = []
    _fork_then_interrupt(monkeypatch, "parent", forked)
    reports = []
    try:
        with pytest.raises(Interrupted) as e:
            run_jobs([(str(tmp_path / "a"),), (str(tmp_path / "b"),)], _hang, workers=1,
                     on_exit=lambda job, cause: reports.append(cause))
        assert (e.value.finished, e.value.cancelled) == (0, 2)
        assert reports == []
        assert len(forked) == 1                 # the second job never started
        assert _gone(forked[0])                 # killed and reaped, not left hanging
    finally:
        for pid in forked:                      # do not leave a stray child if the test fails
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def test_ctrl_c_in_a_child_before_it_ignores_sigint_does_not_kill_the_job(tmp_path, monkeypatch):
    _fork_then_interrupt(monkeypatch, "child", [])
    reports = []
    jobs = [(str(tmp_path / f"r{i}"),) for i in range(3)]
    run_jobs(jobs, _write, workers=2, on_exit=lambda job, cause: reports.append((job, cause)))
    assert sorted(reports) == [(j, None) for j in jobs]
    assert all(Path(j[0]).read_text() == "ran" for j in jobs)


def test_the_parents_signal_mask_is_restored(tmp_path):
    """Blocking SIGINT around each start is undone: a caller's own mask survives run_jobs."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    run_jobs([(str(tmp_path / "r"),)], _write, workers=1, on_exit=lambda job, cause: None)
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        run_jobs([(str(tmp_path / "s"),)], _write, workers=1, on_exit=lambda job, cause: None)
        assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before | {signal.SIGUSR1}
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def test_a_job_runs_with_sigint_ignored_and_the_callers_signal_mask(tmp_path):
    """SIGINT is blocked around each start, so the child inherits the block; the child ignores
    SIGINT and then undoes the block: a job, and every process it starts (they inherit the mask),
    sees the caller's mask, so a handler it installs for SIGINT or any other blocked-at-start
    signal is not silently deferred forever."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})     # the caller's own block
    try:
        log = tmp_path / "state.json"
        reports = []
        run_jobs([(str(log),)], _write_signal_state, workers=1,
                 on_exit=lambda job, cause: reports.append(cause))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
    assert reports == [None]
    state = json.loads(log.read_text())
    assert state == {"blocked": sorted(int(s) for s in before | {signal.SIGUSR1}),
                     "sigint_ignored": True}
