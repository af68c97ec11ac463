"""harness.pool beyond tests/test_pool.py: what Ctrl-C reports and stops (Interrupted's counts and
message, running jobs killed, queued ones never started), the child's environment (one BLAS
thread, thread_settings' record of it, a daemon process, fork even when the process default is
spawn, spawn where fork is missing), a failing job's traceback printed once, a hung job killed
promptly once its timeout is up, the parent waiting without spinning, and a child dying with its
parent: by SIGKILL (PR_SET_PDEATHSIG) on Linux, by the watchdog's exit code 1 within about a
second when prctl is unavailable, and at once (code 1, the job not run) when the parent is
already gone."""
import json
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import harness.pool as pool
from harness.pool import THREAD_VARS, Interrupted, run_jobs

ROOT = Path(pool.__file__).resolve().parents[1]       # the copy of the project under test


# ---- jobs (module level: the pool forks, nothing is pickled) ---------------------------------
def _quick(log, tag):
    with open(log, "a") as f:
        f.write(f"{tag}\n")


def _hang_after_pid(log, tag):
    """Write this process's pid to log.<tag>, then hang."""
    Path(f"{log}.{tag}").write_text(str(os.getpid()))
    time.sleep(60)


def _wait_for_pid_then_return(log, tag):
    """Return once job 1 has written its pid (so it is running when this job is reported)."""
    deadline = time.monotonic() + 20
    while not Path(f"{log}.1").exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _dispatch(kind, log, tag):
    {"quick": _quick, "hang": _hang_after_pid, "first": _wait_for_pid_then_return,
     "sleep": lambda log, tag: time.sleep(0.5)}[kind](log, tag)


def _settings(path):
    import numpy  # noqa: F401 - its BLAS pool is what the limit is about
    info = {"settings": pool.thread_settings(),
            "daemon": mp.current_process().daemon}
    Path(path).write_text(json.dumps(info))


def _raises_once(path):
    raise RuntimeError("deliberate failure")


def _interrupt_at(n):
    """An on_exit that raises KeyboardInterrupt (a Ctrl-C) at its n-th call."""
    calls = []

    def on_exit(job, cause):
        calls.append((job, cause))
        if len(calls) == n:
            raise KeyboardInterrupt
    return on_exit, calls


def _dead(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# ---- Ctrl-C ----------------------------------------------------------------------------------
def test_interrupted_names_its_counts():
    e = Interrupted(3, 2)
    assert isinstance(e, KeyboardInterrupt)
    assert str(e) == "interrupted: 3 finished, 2 cancelled"
    assert (e.finished, e.cancelled) == (3, 2)


def test_ctrl_c_kills_the_running_jobs_and_cancels_the_queue(tmp_path):
    """Jobs 0 (returns once job 1 runs), 1..4 hang; 2 workers; Ctrl-C as job 0 is reported:
    1 finished, 4 cancelled (job 1 killed and reaped, jobs 2..4 never started)."""
    log = str(tmp_path / "log")
    jobs = [("first", log, 0)] + [("hang", log, i) for i in range(1, 5)]
    on_exit, calls = _interrupt_at(1)
    t0 = time.monotonic()
    with pytest.raises(Interrupted) as e:
        run_jobs(jobs, _dispatch, workers=2, on_exit=on_exit, timeout=30)
    assert time.monotonic() - t0 < 15
    assert (e.value.finished, e.value.cancelled) == (1, 4)
    assert str(e.value) == "interrupted: 1 finished, 4 cancelled"
    assert calls == [(jobs[0], None)]
    assert _dead(int(Path(f"{log}.1").read_text()))          # killed and joined
    assert not any(Path(f"{log}.{i}").exists() for i in (2, 3, 4))


def test_ctrl_c_counts_every_finished_job(tmp_path):
    """Two jobs end cleanly before the Ctrl-C (at the second report): 2 finished, 3 cancelled."""
    log = str(tmp_path / "log")
    jobs = [("quick", log, 0), ("quick", log, 1)] + [("hang", log, i) for i in (2, 3, 4)]
    on_exit, calls = _interrupt_at(2)
    with pytest.raises(Interrupted) as e:
        run_jobs(jobs, _dispatch, workers=2, on_exit=on_exit, timeout=30)
    assert (e.value.finished, e.value.cancelled) == (2, 3)
    assert [c for _, c in calls] == [None, None]
    assert sorted(j[2] for j, _ in calls) == [0, 1]


def test_timed_out_jobs_count_as_finished(tmp_path):
    """Jobs that time out are finished (reported) ones: Ctrl-C at the second timeout of three
    hanging jobs run one at a time: 2 finished, 1 cancelled."""
    log = str(tmp_path / "log")
    jobs = [("hang", log, i) for i in range(3)]
    on_exit, calls = _interrupt_at(2)
    with pytest.raises(Interrupted) as e:
        run_jobs(jobs, _dispatch, workers=1, on_exit=on_exit, timeout=0.2)
    assert (e.value.finished, e.value.cancelled) == (2, 1)
    assert [c for _, c in calls] == ["timed out after 0.2 s (--run-timeout); killed"] * 2
    assert [j for j, _ in calls] == jobs[:2]


# ---- timing: the timeout is kept promptly, the parent sleeps while it waits -------------------
def test_a_hung_job_is_killed_soon_after_its_timeout(tmp_path):
    """0.05 s and a fork/kill, not a 1 s poll: the best of three tries (a loaded machine can
    delay one fork; a polling parent is never under 1 s)."""
    log = str(tmp_path / "log")
    took = []
    for _ in range(3):
        seen = []
        t0 = time.monotonic()
        run_jobs([("hang", log, 0)], _dispatch, workers=1, timeout=0.05,
                 on_exit=lambda job, cause: seen.append(cause))
        took.append(time.monotonic() - t0)
        assert seen == ["timed out after 0.05 s (--run-timeout); killed"]
        if took[-1] < 0.7:
            break
    assert min(took) < 0.7, took


def test_the_parent_waits_without_spinning(tmp_path):
    """While a 0.5 s job runs under a long timeout, the parent blocks in wait: it uses a small
    fraction of the wall time in CPU (a zero wait would poll at 100%)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    seen = []
    run_jobs([("sleep", "", 0)], _dispatch, workers=1, timeout=30,
             on_exit=lambda job, cause: seen.append(cause))
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert seen == [None] and wall >= 0.5
    assert cpu < 0.5 * wall, (cpu, wall)              # a polling parent is near 1.0


# ---- the child's environment -----------------------------------------------------------------
def test_children_run_one_blas_thread_as_daemons_and_record_it(tmp_path):
    out = tmp_path / "settings.json"
    seen = []
    run_jobs([(str(out),)], _settings, workers=1, on_exit=lambda job, cause: seen.append(cause))
    assert seen == [None]
    info = json.loads(out.read_text())
    assert info["daemon"] is True                       # dies with the parent's interpreter
    s = info["settings"]
    assert set(s) == {"env", "pools"}
    assert s["env"] == {v: "1" for v in THREAD_VARS}
    assert len(s["pools"]) >= 1                         # numpy's BLAS at least
    for p in s["pools"]:
        assert set(p) == {"internal_api", "num_threads", "version"}
        assert p["num_threads"] == 1 and isinstance(p["internal_api"], str)


def test_one_blas_thread_limits_this_process(monkeypatch):
    """In-process (a sweep's Ray workers call it so): every thread variable set to "1" and every
    loaded pool at one thread; the test process's own limits are restored afterwards."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info, threadpool_limits
    before = {p["prefix"]: p["num_threads"] for p in threadpool_info()}
    for v in THREAD_VARS:
        monkeypatch.setenv(v, "7")                     # restored by monkeypatch
    try:
        pool.one_blas_thread()
        assert {v: os.environ[v] for v in THREAD_VARS} == {v: "1" for v in THREAD_VARS}
        assert before and all(p["num_threads"] == 1 for p in threadpool_info())
    finally:
        threadpool_limits(limits=before)


def test_thread_settings_record_this_process_exactly(monkeypatch):
    """In-process (the study records its own process so): each thread variable as set, None
    where unset, and each loaded pool's API, thread count and version as threadpoolctl sees
    them."""
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_info
    for i, v in enumerate(THREAD_VARS):
        if i % 2:
            monkeypatch.setenv(v, str(i + 2))
        else:
            monkeypatch.delenv(v, raising=False)
    s = pool.thread_settings()
    assert s["env"] == {v: (str(i + 2) if i % 2 else None) for i, v in enumerate(THREAD_VARS)}
    assert s["pools"] == [{k: p[k] for k in ("internal_api", "num_threads", "version")}
                          for p in threadpool_info()]
    assert s["pools"] and all(p["num_threads"] >= 1 for p in s["pools"])     # numpy's BLAS


def _closure_job(path):
    """Run through a closure, which a spawned child could not receive (not picklable)."""
    marker = Path(path)

    def job():
        marker.write_text("ran")
    return job


def test_jobs_fork_even_when_the_default_start_method_is_spawn(tmp_path):
    marker = tmp_path / "ran"
    old = mp.get_start_method(allow_none=True)
    mp.set_start_method("spawn", force=True)
    try:
        seen = []
        run_jobs([()], _closure_job(marker), workers=1,
                 on_exit=lambda job, cause: seen.append(cause))
    finally:
        mp.set_start_method(old, force=True)
    assert seen == [None] and marker.read_text() == "ran"


@pytest.mark.parametrize("methods, want", [(["fork", "spawn", "forkserver"], "fork"),
                                           (["spawn"], "spawn")])
def test_spawn_where_fork_is_unavailable(monkeypatch, methods, want):
    monkeypatch.setattr(pool.mp, "get_all_start_methods", lambda: list(methods))
    assert pool._context().get_start_method() == want


def test_a_failing_jobs_traceback_is_printed_once(tmp_path, capfd):
    seen = []
    run_jobs([(str(tmp_path),)], _raises_once, workers=1,
             on_exit=lambda job, cause: seen.append(cause))
    err = capfd.readouterr().err
    assert seen == ["worker process exited with code 1"]
    assert err.count("Traceback (most recent call last)") == 1
    assert err.rstrip().endswith("RuntimeError: deliberate failure")


# ---- dying with the parent -------------------------------------------------------------------
def _marker_job(path):
    Path(path).write_text("ran")


def test_a_child_whose_parent_is_gone_exits_quietly_with_code_1(tmp_path, capfd):
    """_child started for a parent that is not (or no longer) its parent: exit code 1 at once,
    the job not run, nothing printed."""
    marker = tmp_path / "ran"
    not_parent = os.getppid()                           # alive, but not the child's parent
    p = pool._context().Process(target=pool._child, args=(not_parent, _marker_job, (marker,)))
    p.start()
    p.join(20)
    assert p.exitcode == 1
    assert not marker.exists()
    assert capfd.readouterr().err == ""


ORPHAN = r"""
import ctypes, json, os, signal, sys, time
mode, tmp = sys.argv[1], sys.argv[2]
pidfile = os.path.join(tmp, "child")
assert ctypes.CDLL("libc.so.6").prctl(36, 1) == 0       # PR_SET_CHILD_SUBREAPER: orphans come here

def job():
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {time.monotonic()}")
    os.rename(pidfile + ".tmp", pidfile)
    time.sleep(30)

parent = os.fork()
if parent == 0:                                         # the pool's parent process
    if mode == "watchdog":                              # as where prctl is unavailable
        def no_libc(*a, **k):
            raise OSError("no libc here")
        ctypes.CDLL = no_libc
    from harness.pool import run_jobs
    run_jobs([()], job, 1, on_exit=lambda j, c: None)
    os._exit(0)
deadline = time.monotonic() + 30
while not os.path.exists(pidfile) and time.monotonic() < deadline:
    time.sleep(0.005)
child, t_start = open(pidfile).read().split()
child, t_start = int(child), float(t_start)
os.kill(parent, signal.SIGKILL)
os.waitpid(parent, 0)
t_kill = time.monotonic()
status = "alive"
while time.monotonic() < t_kill + 10:
    pid, st = os.waitpid(child, os.WNOHANG)
    if pid:
        status = (f"signal {os.WTERMSIG(st)}" if os.WIFSIGNALED(st)
                  else f"exit {os.WEXITSTATUS(st)}")
        break
    time.sleep(0.005)
t_end = time.monotonic()
if status == "alive":
    os.kill(child, signal.SIGKILL)
    os.waitpid(child, 0)
print(json.dumps({"status": status, "after_kill": t_end - t_kill, "after_start": t_end - t_start}))
"""


def _orphan(mode, tmp_path):
    """Start a pool in a process, kill that process by SIGKILL while its job runs, and return
    how the job's process ended (seen from a subreaper) and when."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", ORPHAN, mode, str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_is_killed_by_sigkill_when_its_parent_dies(tmp_path):
    r = _orphan("prctl", tmp_path)
    assert r["status"] == "signal 9", r                  # the watchdog would exit with code 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="subreaper is Linux's")
def test_without_prctl_the_watchdog_ends_the_child_within_a_second(tmp_path):
    """The watchdog checks the parent every second: the orphan exits with code 1 about 1 s after
    it started (the parent is killed as soon as the job runs), not 2 s."""
    tries = []
    for _ in range(3):                                   # best of three on a loaded machine
        d = tmp_path / str(len(tries))
        d.mkdir()
        r = _orphan("watchdog", d)
        assert r["status"] == "exit 1", r
        tries.append(r["after_start"])
        if tries[-1] < 1.6:
            break
    assert min(tries) < 1.6, tries
