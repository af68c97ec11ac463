"""Independent jobs in child processes, one process per job, at most `workers` at a time.

A job that kills its process (os._exit, a segfault, an out-of-memory kill) or hangs past
`timeout` costs only itself: its exit cause is reported and the next job starts in a fresh
process. Ctrl-C stops every running job at once (queued ones never start) and raises
`Interrupted`. Children ignore Ctrl-C (the parent decides) and die with their parent
(PR_SET_PDEATHSIG on Linux, a watchdog thread elsewhere). Each child runs with one BLAS thread.

A Ctrl-C that arrives while a child is being started waits (SIGINT blocked) until the child is
on the parent's list and ignores SIGINT itself: otherwise the parent, interrupted between the
fork and its bookkeeping, would leave a child it never kills (holding the study's output pipes
open), or the child, interrupted before it ignores SIGINT, would die with a traceback.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections import deque
from multiprocessing.connection import wait

THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during run_jobs: `finished` jobs completed, `cancelled` were stopped or never ran."""

    def __init__(self, finished: int, cancelled: int):
        super().__init__(f"interrupted: {finished} finished, {cancelled} cancelled")
        self.finished, self.cancelled = finished, cancelled


def one_blas_thread():
    """Limit BLAS/OpenMP pools of this process to one thread (already loaded libraries through
    threadpoolctl, later ones through the environment)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)


def thread_settings() -> dict:
    """The BLAS/OpenMP thread pools of this process, for provenance."""
    from threadpoolctl import threadpool_info
    return {"env": {v: os.environ.get(v) for v in THREAD_VARS},
            "pools": [{k: i.get(k) for k in ("internal_api", "num_threads", "version")}
                      for i in threadpool_info()]}


def _die_with_parent(parent_pid: int):
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() != parent_pid:          # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)
    threading.Thread(target=watch, daemon=True).start()


def _child(parent_pid, func, args):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # a Ctrl-C pending since the fork is dropped
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent(parent_pid)
    code = 0
    try:
        one_blas_thread()
        func(*args)
    except BaseException:                   # noqa: BLE001 - reported as the exit cause
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)                          # no inherited atexit handlers, no double flushes


def exit_cause(exitcode: int | None) -> str | None:
    """None for a clean exit, else a sentence naming why the process ended."""
    if exitcode == 0:
        return None
    if exitcode is None:
        return "worker did not exit"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (out of memory, or killed from outside)" if name == "SIGKILL" else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with code {exitcode}"


def _defer_sigint():
    """Block (defer) SIGINT in this thread; returns the mask to restore (None where signal masks
    do not exist)."""
    if hasattr(signal, "pthread_sigmask"):
        return signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return None


def _restore_mask(mask):
    """Undo _defer_sigint: a SIGINT that arrived meanwhile is delivered (KeyboardInterrupt) now."""
    if mask is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _context():
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def run_jobs(jobs, func, workers: int, on_exit, timeout: float | None = None):
    """Run func(*job) for every job (a tuple), each in its own process, `workers` at a time.
    on_exit(job, cause) is called in the parent as each ends: cause None (exited cleanly), or
    why it did not (exit code, signal, timeout)."""
    ctx = _context()
    queue, running, finished = deque(jobs), {}, 0
    parent = os.getpid()
    try:
        while queue or running:
            while queue and len(running) < max(1, workers):
                job = queue.popleft()
                p = ctx.Process(target=_child, args=(parent, func, job), daemon=True)
                mask = _defer_sigint()      # the child inherits the block, then ignores SIGINT
                try:
                    p.start()
                    running[p.sentinel] = (job, p, time.monotonic())
                finally:
                    _restore_mask(mask)             # a Ctrl-C meanwhile is raised here
            wait_s = None
            if timeout is not None:
                now = time.monotonic()
                wait_s = max(0.0, min(t0 + timeout - now for _, _, t0 in running.values()))
            for s in wait(list(running), timeout=wait_s):
                job, p, _ = running.pop(s)
                p.join()
                finished += 1
                on_exit(job, exit_cause(p.exitcode))
            if timeout is not None:
                now = time.monotonic()
                for s, (job, p, t0) in list(running.items()):
                    if now - t0 >= timeout:
                        p.kill()
                        p.join()
                        del running[s]
                        finished += 1
                        on_exit(job, f"timed out after {timeout:g} s (--run-timeout); killed")
    except KeyboardInterrupt:
        for _, p, _ in running.values():
            p.kill()
        for _, p, _ in running.values():
            p.join()
        raise Interrupted(finished, len(running) + len(queue)) from None
