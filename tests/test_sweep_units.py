"""harness.sweep piece by piece, with runners that take milliseconds: what a spec resolves to and
its key, how a run's failure becomes its row, which run files are trusted (each refusal and its
reason), and what the sweep logs, skips, retries and refuses."""
import dataclasses
import io
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harness import sweep
from harness.sweep import (DEFAULT_RUNNER, SCHEMA, check_run_file, execute, make_task,
                           resolve, resolve_spec, run_sweep, spec_key, task_params)
from harness.task import SequenceLookup
from learners.bptt import BPTT


# ---- runners reached by "test_sweep_units:<name>" -----------------------------------------------

def value_run(spec):
    return {"value": spec["seed"] * 10}


value_run.fields = ("value",)


def raising_run(spec):
    raise ValueError("bad thing\nsecond line")


def timed_run(spec):
    return {"value": 1, "wall_s": 123.0}


def unsaveable_run(spec):
    return {"value": object()}


def silent_exit_run(spec):
    os._exit(0)                      # exits cleanly without writing its result


def fails_then_crashes_run(spec):
    """Raises on its first attempt, then its worker dies with exit code 3 on the next."""
    tried = Path(spec["attempts"])
    if tried.exists():
        os._exit(3)
    tried.touch()
    raise ValueError("first attempt")


class NeedsHyper(BPTT):
    """A rule that cannot be built without a hyperparameter (for_task() alone raises)."""
    name = ""

    @classmethod
    def for_task(cls, task, **hyper):
        if not hyper:
            raise TypeError("NeedsHyper needs lr")
        return super().for_task(task, **hyper)


def quiet(msg):
    pass


# ---- what determines a run ------------------------------------------------------------------------

def test_a_runner_is_module_colon_function_and_a_bad_one_is_named():
    assert resolve("harness.sweep:train_run") is sweep.train_run
    assert resolve("test_sweep_units:value_run") is value_run
    with pytest.raises(ValueError, match=r"^runner 'harness.sweep:nope': "):
        resolve("harness.sweep:nope")
    with pytest.raises(ValueError, match=r"^runner 'no_such_module_x:f': "):
        resolve("no_such_module_x:f")
    with pytest.raises(ValueError, match=r"^runner 'harness.sweep': "):    # no colon
        resolve("harness.sweep")


def test_tasks_are_built_once_per_parameter_set_and_report_their_init_parameters():
    assert make_task(None) is make_task({})
    a = make_task({"dataset_seed": 3, "teacher_seed": 4})
    assert a is make_task({"teacher_seed": 4, "dataset_seed": 3})      # key order is irrelevant
    assert a is not make_task({})
    params = task_params(a)
    assert params["dataset_seed"] == 3 and params["teacher_seed"] == 4
    assert set(params) == {f.name for f in dataclasses.fields(SequenceLookup) if f.init}
    assert "sequences" not in params                                    # derived, not a parameter
    assert (SequenceLookup(**params).sequences == a.sequences).all()


def test_a_resolved_spec_holds_everything_that_determines_the_run():
    spec = {"learner": "bptt", "hyper": {"lr": 0.05, "momentum": 0.5}}
    r = resolve_spec(spec)
    assert spec == {"learner": "bptt", "hyper": {"lr": 0.05, "momentum": 0.5}}   # not changed
    assert r["runner"] == DEFAULT_RUNNER and r["seed"] == 0 and r["resolved"] is True
    assert r["learner_class"] == "learners.bptt:BPTT"
    assert r["task"] == json.loads(json.dumps(task_params(make_task({}))))
    assert r["config"] == dataclasses.asdict(BPTT.for_task(make_task({}), momentum=0.5).config)
    assert r["hyper"] == {"momentum": 0.5}            # lr 0.05 is the default: dropped
    assert r["code"] == {"source": sweep.source_hash()}
    assert resolve_spec(r) is r                       # idempotent
    assert resolve_spec({"learner": "bptt", "seed": 4, "runner": "m:f"})["seed"] == 4
    assert resolve_spec({"learner": "bptt", "seed": 4, "runner": "m:f"})["runner"] == "m:f"


def test_numpy_values_in_a_spec_stay_the_numbers_they_hold_and_others_their_text():
    """A seed from np.arange or a rate from a numpy grid: the resolved spec holds the Python
    number (not its str(), which the run would then refuse), with the key of the plain spec."""
    spec = {"learner": "bptt", "seed": np.int64(3), "sweeps": np.int64(1),
            "hyper": {"momentum": np.float64(0.5), "clip": np.float32(2.0)},
            "task": {"n_train": np.int64(19)}}
    plain = {"learner": "bptt", "seed": 3, "sweeps": 1, "hyper": {"momentum": 0.5, "clip": 2.0},
             "task": {"n_train": 19}}
    r = resolve_spec(spec)
    assert r == resolve_spec(plain) and type(r["seed"]) is int and spec_key(spec) == spec_key(plain)
    assert execute(spec)["error"] is None
    other = resolve_spec({"runner": "test_sweep_units:value_run", "out": Path("a") / "b"})
    assert other["out"] == str(Path("a") / "b")       # what JSON cannot hold: its str()


def test_a_hyperparameter_equal_in_value_but_not_in_type_is_kept():
    r = resolve_spec({"learner": "bptt", "hyper": {"clip": 5}})     # default clip 5.0
    assert r["hyper"] == {"clip": 5} and isinstance(r["hyper"]["clip"], int)


def test_a_rule_without_defaults_keeps_its_hyperparameters_and_names_its_source_file():
    r = resolve_spec({"learner": "test_sweep_units:NeedsHyper", "hyper": {"lr": 0.05}})
    assert r["hyper"] == {"lr": 0.05}                 # nothing to compare with: kept whole
    assert r["learner_class"] == "test_sweep_units:NeedsHyper"
    src = r["code"]["learner_source"]
    assert Path(src["file"]) == Path(__file__).resolve()
    assert re.fullmatch(r"[0-9a-f]{16}", src["sha256"])


def test_a_spec_without_a_learner_has_no_learner_fields():
    r = resolve_spec({"runner": "test_sweep_units:value_run", "seed": 2})
    assert "learner_class" not in r and "config" not in r
    assert r["code"] == {"source": sweep.source_hash()}
    assert re.fullmatch(r"run-s2-[0-9a-f]{12}", spec_key(r))


def test_spec_keys_name_the_learner_and_seed_and_hash_the_rest():
    k = spec_key({"learner": "bptt", "seed": 3})
    assert re.fullmatch(r"bptt-s3-[0-9a-f]{12}", k)
    assert k == spec_key({"learner": "bptt", "seed": 3})
    assert k == spec_key(resolve_spec({"learner": "bptt", "seed": 3}))
    assert k != spec_key({"learner": "bptt", "seed": 4})
    assert spec_key({"learner": "bptt"}).startswith("bptt-s0-")
    r = resolve_spec({"learner": "bptt", "seed": 3, "hyper": {"momentum": 0.5, "clip": 1.0}})
    shuffled = {k: ({kk: r[k][kk] for kk in reversed(list(r[k]))} if isinstance(r[k], dict)
                    else r[k]) for k in reversed(list(r))}    # the same spec, reordered
    assert list(shuffled) != list(r) and spec_key(shuffled) == spec_key(r)
    outside = spec_key({"learner": "test_sweep_units:NeedsHyper", "hyper": {"lr": 0.05}})
    assert outside.startswith("test_sweep_units_NeedsHyper-s0-")   # a safe file name


def test_source_hashes_cover_each_file_name_and_content(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 1\n")
    h = sweep._sha256_files([a])
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert h == sweep._sha256_files([a])
    assert h != sweep._sha256_files([b])               # same content, another file
    assert sweep._sha256_files([a, b]) != sweep._sha256_files([b, a])
    a.write_text("x = 2\n")
    assert sweep._sha256_files([a]) != h


def test_source_hashes_do_not_depend_on_where_the_checkout_lives(tmp_path, monkeypatch):
    """Files inside the project are named by their path in it: a copy of the project elsewhere
    (another clone, a moved results folder's machine) hashes the same and resumes the same
    runs; a file outside it is named by its whole path."""
    hashes = []
    for where in ("one", "two"):
        f = tmp_path / where / "harness" / "a.py"
        f.parent.mkdir(parents=True)
        f.write_text("x = 1\n")
        monkeypatch.setattr(sweep, "ROOT", tmp_path / where)
        hashes.append(sweep._sha256_files([f]))
    assert hashes[0] == hashes[1]
    assert sweep._sha256_files([tmp_path / "one" / "harness" / "a.py"]) != hashes[1]  # outside


def test_git_state_names_the_commit_or_none_outside_a_repository(tmp_path, monkeypatch):
    state = sweep.git_state()
    assert state["commit"] is None or re.fullmatch(r"[0-9a-f]{40}", state["commit"])
    assert state["dirty"] in (True, False, None)
    monkeypatch.setattr(sweep, "ROOT", tmp_path)      # not a git checkout
    sweep.git_state.cache_clear()
    try:
        assert sweep.git_state() == {"commit": None, "dirty": None}
    finally:
        sweep.git_state.cache_clear()


def test_learner_source_is_none_inside_the_project_and_unknown_without_a_file():
    assert sweep.learner_source(BPTT) is None
    assert sweep.learner_source(NeedsHyper)["file"] == str(Path(__file__).resolve())
    made = type("Made", (BPTT,), {"__module__": "no_such_module_y"})
    assert sweep.learner_source(made) == {"file": None, "sha256": None}


# ---- one run ----------------------------------------------------------------------------------

def test_a_failing_run_becomes_a_row_with_its_error_and_traceback():
    row = execute({"runner": "test_sweep_units:raising_run", "seed": 1})
    assert row["error"] == "ValueError: bad thing\nsecond line"
    assert "raising_run" in row["traceback"] and "bad thing" in row["traceback"]
    assert row["schema"] == SCHEMA and row["seed"] == 1 and row["learner"] is None
    assert row["key"] == spec_key(row["spec"]) and row["spec"]["resolved"] is True
    assert row["git"] == sweep.git_state()
    assert isinstance(row["wall_s"], float) and 0 <= row["wall_s"] < 60
    bad = execute({"runner": "harness.sweep:nope"})
    assert bad["error"].startswith("ValueError: runner 'harness.sweep:nope'")


def test_a_run_keeps_its_own_wall_time_and_its_result_fields():
    row = execute({"runner": "test_sweep_units:timed_run"})
    assert row["wall_s"] == 123.0 and row["value"] == 1 and row["error"] is None
    assert "traceback" not in row


def test_a_result_json_cannot_hold_is_saved_as_a_failed_run(tmp_path):
    path = tmp_path / "r.json"
    row = sweep._run_and_save({"runner": "test_sweep_units:unsaveable_run"}, str(path))
    assert row["error"].startswith("the run's result cannot be saved as JSON: ")
    assert "value" not in row
    assert json.loads(path.read_text()) == json.loads(json.dumps(row))


# ---- which run files are trusted ------------------------------------------------------------------

def _saved(tmp_path, **change):
    spec = resolve_spec({"runner": "test_sweep_units:value_run", "seed": 1})
    key = spec_key(spec)
    row = {"schema": SCHEMA, "key": key, "spec": spec, "error": None, "value": 10, **change}
    path = tmp_path / f"{key}.json"
    path.write_text(json.dumps(row))
    return path, spec, key, row


def test_a_valid_run_file_is_used(tmp_path):
    path, spec, key, row = _saved(tmp_path)
    assert check_run_file(path, spec, key) == (row, None)


@pytest.mark.parametrize("content,why", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"schema": 2, "spec": {}}', "missing error, key"),
])
def test_an_unusable_run_file_is_refused_with_its_reason(tmp_path, content, why):
    path, spec, key, _ = _saved(tmp_path)
    path.write_bytes(content)
    assert check_run_file(path, spec, key) == (None, why)


def test_run_files_of_another_schema_spec_or_without_results_are_refused(tmp_path):
    path, spec, key, _ = _saved(tmp_path, schema=1)
    assert check_run_file(path, spec, key) == (None, f"schema 1, expected {SCHEMA}")
    stale = "its spec differs from the requested run (a stale or copied file)"
    path, spec, key, _ = _saved(tmp_path, key="other")
    assert check_run_file(path, spec, key) == (None, stale)
    path, spec, key, _ = _saved(tmp_path, spec={"seed": 1})
    assert check_run_file(path, spec, key) == (None, stale)
    path, spec, key, row = _saved(tmp_path)
    del row["value"]
    path.write_text(json.dumps(row))
    assert check_run_file(path, spec, key) == (None, "result fields missing: value")
    trained = resolve_spec({"learner": "bptt", "seed": 1})   # the training runner's fields
    other = tmp_path / "trained.json"
    other.write_text(json.dumps({"schema": SCHEMA, "key": spec_key(trained), "spec": trained,
                                 "error": None, "updates": 3}))
    assert check_run_file(other, trained, spec_key(trained)) == (
        None, "result fields missing: train_acc, test_acc, unseen_acc, converged_sweep")
    row["error"] = "RuntimeError: x"                   # a failed run has no result fields
    path.write_text(json.dumps(row))
    assert check_run_file(path, spec, key) == (row, None)


def test_an_unreadable_run_file_and_an_unknown_runner(tmp_path):
    path, spec, key, _ = _saved(tmp_path)
    path.unlink()
    path.mkdir()
    assert check_run_file(path, spec, key) == (None, "unreadable (Is a directory)")
    spec = dict(spec, runner="harness.sweep:nope")    # no result fields to ask for
    row = {"schema": SCHEMA, "key": "k", "spec": spec, "error": None}
    other = tmp_path / "k.json"
    other.write_text(json.dumps(row))
    assert check_run_file(other, spec, "k") == (row, None)


# ---- the sweep ----------------------------------------------------------------------------------

def _specs(*seeds, runner="value_run"):
    return [{"runner": f"test_sweep_units:{runner}", "seed": s} for s in seeds]


def test_the_sweep_refuses_an_unknown_backend_and_a_run_listed_twice(tmp_path):
    with pytest.raises(ValueError, match=r"^unknown backend 'dask'; use 'local' or 'ray'$"):
        run_sweep(_specs(0), tmp_path, backend="dask", log=quiet)
    with pytest.raises(ValueError, match=r"^two identical runs in one sweep \(run-s0-[0-9a-f]{12}\): a learner or "
                       r"seed is listed twice$"):
        run_sweep(_specs(0, 0), tmp_path, progress=False, log=quiet)


def test_the_sweep_logs_its_plan_and_each_run_and_resumes(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / ".left-by-a-killed-run.json.tmp").write_text("half")
    lines = []
    rows = run_sweep(_specs(0, 1), tmp_path, workers=1, progress=False, desc="demo",
                     log=lines.append)
    assert [r["value"] for r in rows] == [0, 10] and [r["seed"] for r in rows] == [0, 1]
    assert not list(runs.glob(".*.tmp"))
    assert lines[0] == f"demo: 2 runs, 0 already finished in {runs}, 2 to run (1 worker processes)"
    keys = [r["key"] for r in rows]
    assert re.fullmatch(rf"\[1/2\] {keys[0]} ok \(\d+\.\d s; about \d+ s left\)", lines[1])
    assert re.fullmatch(rf"\[2/2\] {keys[1]} ok \(\d+\.\d s; about 0 s left\)", lines[2])
    assert len(lines) == 3
    lines.clear()
    again = run_sweep(_specs(0, 1), tmp_path, workers=3, progress=False, log=lines.append)
    assert again == rows
    assert lines == [f"runs: 2 runs, 2 already finished in {runs}, 0 to run (3 worker processes)"]


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_default_is_a_bar_counting_runs_and_naming_failures(tmp_path,
                                                                           monkeypatch):
    """The bar's tqdm starts no monitor thread: the workers fork while the bar is open."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(sys, "stdout", terminal)    # the bar's own lines, whichever stream
    threads_at_fork = []

    def run_jobs(*args, **kwargs):         # the bar exists by now; the workers fork in here
        threads_at_fork.extend(threading.enumerate())
        return real_run_jobs(*args, **kwargs)
    real_run_jobs = sweep.run_jobs
    monkeypatch.setattr(sweep, "run_jobs", run_jobs)
    lines = []
    rows = run_sweep(_specs(0, 1), tmp_path, workers=1, log=lines.append)
    assert threads_at_fork and all(type(t).__name__ != "TMonitor"
                                  for t in threads_at_fork)   # tqdm's monitor thread
    assert [r["value"] for r in rows] == [0, 10]
    assert len(lines) == 1 and lines[0].startswith("runs: 2 runs, 0 already finished")
    assert re.search(r"runs: 100%.*\b2/2 ", terminal.getvalue())
    assert re.search(r"\brun/s|s/run\b", terminal.getvalue())             # counted in runs
    terminal.seek(0)
    terminal.truncate()
    rows = run_sweep(_specs(0, 4) + _specs(5, runner="raising_run"), tmp_path, workers=1,
                     log=lines.append, desc="again")           # one finished, two to run
    shown = terminal.getvalue()
    assert re.search(r"again:  33%.*\b1/3 ", shown)                   # starts at the finished
    assert re.search(r"again: 100%.*\b3/3 ", shown) and "4/3" not in shown
    assert f"run {rows[2]['key']} FAILED: ValueError: bad thing\n" in shown   # a failure, named
    assert f"run {rows[1]['key']}" not in shown and len(lines) == 2            # a success, not


def test_elsewhere_or_when_asked_a_line_per_run_instead_of_a_bar(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    lines = []
    run_sweep(_specs(2), tmp_path, workers=1, log=lines.append, progress=False)
    assert len(lines) == 2 and lines[1].startswith("[1/1] run-s2-")      # asked for lines
    assert not sys.stderr.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())                   # not a terminal
    run_sweep(_specs(3), tmp_path, workers=1, log=lines.append)
    assert len(lines) == 4 and lines[3].startswith("[1/1] run-s3-") and not sys.stderr.getvalue()


def test_a_run_line_shows_its_time_and_the_time_left(tmp_path, monkeypatch):
    """The time left: the mean time per finished run times the runs left."""
    ticks = iter(range(100, 1000, 10))             # the sweep's clock: 10 s per reading
    run_ticks = iter(np.arange(0, 100, 2.5))       # a run's: each forked run reads 0, 2.5

    class Clock:
        perf_counter = staticmethod(lambda: float(next(run_ticks)))
        monotonic = staticmethod(lambda: next(ticks))
    monkeypatch.setattr(sweep, "time", Clock)
    lines = []
    run_sweep(_specs(0, 1, 2), tmp_path, workers=1, progress=False, log=lines.append)
    shown = [re.search(r"\((.*)\)$", x).group(1) for x in lines[1:]]
    assert shown == [f"2.5 s; about {left} s left" for left in (20, 10, 0)]   # run's own time


def test_failed_runs_are_logged_by_their_first_line_and_retried_unless_told(tmp_path):
    lines = []
    rows = run_sweep(_specs(0, runner="raising_run"), tmp_path, workers=1, progress=False,
                     log=lines.append)
    assert rows[0]["error"] == "ValueError: bad thing\nsecond line"
    assert re.fullmatch(rf"\[1/1\] {rows[0]['key']} FAILED: ValueError: bad thing \(.*\)", lines[1])
    lines.clear()
    run_sweep(_specs(0, runner="raising_run"), tmp_path, workers=1, progress=False,
              retry_failed=False, log=lines.append)
    assert lines[0].endswith("1 already finished in " f"{tmp_path / 'runs'}, 0 to run (1 worker processes)")
    lines.clear()
    run_sweep(_specs(0, runner="raising_run"), tmp_path, workers=1, progress=False,
              log=lines.append)
    assert ", 0 already finished in " in lines[0] and ", 1 to run " in lines[0]


def test_a_damaged_run_file_is_named_and_recomputed(tmp_path):
    rows = run_sweep(_specs(0), tmp_path, workers=1, progress=False, log=quiet)
    path = tmp_path / "runs" / f"{rows[0]['key']}.json"
    path.write_text("{damaged")
    lines = []
    again = run_sweep(_specs(0), tmp_path, workers=1, progress=False, log=lines.append)
    assert lines[0] == f"{path}: not used (not valid JSON); recomputing"
    assert again[0]["value"] == 0 and json.loads(path.read_text())["value"] == 0


def test_a_worker_that_exits_without_its_result_is_a_failed_run(tmp_path):
    rows = run_sweep(_specs(0, runner="silent_exit_run"), tmp_path, workers=1, progress=False,
                     log=quiet)
    assert rows[0]["error"] == "the run wrote no result (unreadable (No such file or directory))"
    saved = json.loads((tmp_path / "runs" / f"{rows[0]['key']}.json").read_text())
    assert saved["error"] == rows[0]["error"]


def test_a_retried_run_whose_worker_dies_reports_this_attempt_not_the_file_on_disk(tmp_path):
    specs = [dict(_specs(0, runner="fails_then_crashes_run")[0], attempts=str(tmp_path / "a"))]
    first = run_sweep(specs, tmp_path, workers=1, progress=False, log=quiet)
    assert first[0]["error"].startswith("ValueError: first attempt")
    lines = []
    again = run_sweep(specs, tmp_path, workers=1, progress=False, log=lines.append)  # retried
    assert again[0]["error"] == "worker process exited with code 3"
    saved = json.loads((tmp_path / "runs" / f"{again[0]['key']}.json").read_text())
    assert saved["error"] == again[0]["error"]
    assert re.fullmatch(rf"\[1/1\] {again[0]['key']} FAILED: worker process exited with code 3 "
                        r"\(0\.0 s; about 0 s left\)", lines[1])          # no time of its own


def test_the_default_worker_count_is_the_number_of_cores(tmp_path, monkeypatch):
    lines = []
    run_sweep(_specs(0), tmp_path, progress=False, log=lines.append)
    assert lines[0].endswith(f"({os.cpu_count()} worker processes)")
    monkeypatch.setattr(os, "cpu_count", lambda: None)      # the count cannot be determined
    run_sweep(_specs(1), tmp_path, progress=False, log=lines.append)
    assert lines[2].endswith("(1 worker processes)")


# ---- the plain training run, and a run saved by the process that ran it ---------------------------

def test_the_training_runner_reports_what_train_gives_with_unlogged_sweeps_as_null():
    from harness.training import train
    spec = {"learner": "bptt", "hyper": {}, "seed": 2, "sweeps": 3, "eval_every": 2, "task": {}}
    row = sweep.train_run(spec)
    task = make_task({})
    r = train(BPTT.for_task(task), task, seed=2, sweeps=3, eval_every=2)
    for f in ("train_acc", "test_acc", "unseen_acc", "validation_acc", "converged_sweep",
              "baseline_unseen_acc", "majority_unseen_acc", "config"):
        assert row[f] == getattr(r, f), f
    assert row["updates"] == 3 and set(sweep.train_run.fields) <= set(row)
    assert set(row["history"]) == set(r.history.columns) - {"sweep"}
    assert row["history"]["validation_acc"][1] is None                # sweep 2: not logged
    assert row["history"]["validation_acc"][0] == r.history["validation_acc"][0]
    assert row["history"]["unseen_acc"][2] == r.history["unseen_acc"][2]   # sweep 3 = 1 + 2
    assert row["history"]["loss"] == r.history["loss"].tolist()
    assert isinstance(row["wall_s"], float) and row["wall_s"] > 0
    no_seed = sweep.train_run({"learner": "bptt", "sweeps": 2})          # seed 0
    assert no_seed["history"]["loss"] == train(BPTT.for_task(task), task, seed=0,
                                               sweeps=2).history["loss"].tolist()


def test_a_run_row_holds_its_identity_its_result_and_nothing_else(tmp_path):
    path = tmp_path / "r.json"
    row = sweep._run_and_save({"runner": "test_sweep_units:value_run", "seed": 2}, str(path))
    assert row["error"] is None and row["value"] == 20
    assert set(row) == {"schema", "key", "spec", "learner", "seed", "error", "git", "value",
                        "wall_s"}
    assert json.loads(path.read_text()) == json.loads(json.dumps(row))
    assert check_run_file(path, row["spec"], row["key"]) == (json.loads(path.read_text()), None)
    bad = sweep._run_and_save({"runner": "test_sweep_units:unsaveable_run", "seed": 2},
                              str(tmp_path / "bad.json"))
    assert bad["error"].startswith("the run's result cannot be saved as JSON")
    assert bad["key"] == spec_key(bad["spec"]) and bad["key"] != row["key"]

