"""Sweeps that survive faults and results folders that cannot lie: hostile learners (raise, NaN,
os._exit, segfault, hang), damaged or stale run files, folders of other studies, Ctrl-C, a
killed parent, and a measurement failure that keeps its training row."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
sys.path.insert(0, str(TESTS))

from harness.sweep import check_run_file, resolve_spec, run_sweep, spec_key  # noqa: E402
from studies.common import StudyError, prepare_out  # noqa: E402


def spec(learner, seed=0, sweeps=3, **kw):
    return {"runner": "harness.sweep:train_run", "learner": learner, "seed": seed,
            "sweeps": sweeps, "task": {}, **kw}


def test_dead_and_hung_workers_cost_only_their_own_run(tmp_path):
    specs = [spec("bptt", 0), spec("failing_rules:ExitsProcess"), spec("failing_rules:Segfaults"),
             spec("failing_rules:Hangs"), spec("failing_rules:Explodes"),
             spec("failing_rules:Diverges"), spec("bptt", 1)]
    lines = []
    rows = run_sweep(specs, tmp_path, workers=2, progress=False, run_timeout=4,
                     log=lines.append)
    err = {r["learner"]: r["error"] for r in rows}
    assert rows[0]["error"] is None and rows[-1]["error"] is None
    assert rows[0]["train_acc"] is not None and rows[-1]["seed"] == 1
    assert "exited with code 3" in err["failing_rules:ExitsProcess"]
    assert "SIGSEGV" in err["failing_rules:Segfaults"]
    assert "timed out after 4 s" in err["failing_rules:Hangs"]
    assert "deliberate failure" in err["failing_rules:Explodes"]
    assert "DivergenceError" in err["failing_rules:Diverges"]
    # every failure is on disk under its own name, and the log names each finished run
    for r in rows:
        assert json.loads((tmp_path / "runs" / f"{r['key']}.json").read_text())["error"] == r["error"]
    assert sum("FAILED" in line for line in lines) == 5
    assert not list((tmp_path / "runs").glob(".*.tmp"))


def test_damaged_or_copied_run_files_are_named_and_recomputed(tmp_path):
    specs = [spec("bptt", s) for s in range(4)]
    first = run_sweep(specs, tmp_path, workers=2, progress=False, log=lambda m: None)
    runs = tmp_path / "runs"
    paths = [runs / f"{r['key']}.json" for r in first]
    paths[0].write_text("{}")
    paths[1].write_bytes(os.urandom(64))
    paths[2].write_text(paths[3].read_text())          # another seed's result copied over
    lines = []
    again = run_sweep(specs, tmp_path, workers=2, progress=False, log=lines.append)
    named = "\n".join(lines)
    assert f"{paths[0]}: not used (missing error, key, schema, spec)" in named
    assert f"{paths[1]}: not used (not valid JSON)" in named
    assert f"{paths[2]}: not used (its spec differs" in named
    assert paths[3].name not in named
    assert [r["seed"] for r in again] == [0, 1, 2, 3]
    for a, b in zip(first, again):
        assert a["unseen_acc"] == b["unseen_acc"] and a["train_acc"] == b["train_acc"]
    assert "0 already finished" not in named and "1 already finished" in named


def test_key_covers_resolved_hyperparameters_task_and_outside_source(tmp_path):
    import learners
    lr = learners.get("bptt").Config().lr
    # the same resolved configuration is the same run, however it is written
    assert spec_key(spec("bptt")) == spec_key(spec("bptt", hyper={"lr": lr}))
    assert spec_key(spec("bptt")) != spec_key(spec("bptt", hyper={"lr": lr * 2}))
    assert spec_key(spec("bptt")) != spec_key(spec("bptt", task={"dataset_seed": 1}))
    r = resolve_spec(spec("bptt"))
    assert r["config"]["lr"] == lr and r["learner_class"] == "learners.bptt:BPTT"
    assert r["task"]["length"] == 5 and r["code"]["source"]
    # an outside rule: its source file is hashed, so editing it makes a new run
    mod = tmp_path / "outside_rule_mod.py"
    mod.write_text("from learners.bptt import BPTT\n\nclass Rule(BPTT):\n    name = ''\n")
    sys.path.insert(0, str(tmp_path))
    try:
        k1 = spec_key(spec("outside_rule_mod:Rule"))
        assert resolve_spec(spec("outside_rule_mod:Rule"))["code"]["learner_source"]["file"] == str(mod)
        mod.write_text(mod.read_text() + "# edited\n")
        assert spec_key(spec("outside_rule_mod:Rule")) != k1
    finally:
        sys.path.remove(str(tmp_path))


def test_run_file_check_rejects_wrong_schema_and_missing_results(tmp_path):
    s = resolve_spec(spec("bptt"))
    key = spec_key(s)
    p = tmp_path / "r.json"
    base = {"schema": 2, "key": key, "spec": s, "error": None}
    p.write_text(json.dumps(base))
    assert "result fields missing" in check_run_file(p, s, key)[1]
    p.write_text(json.dumps(dict(base, schema=1)))
    assert "schema" in check_run_file(p, s, key)[1]
    p.write_text("[1, 2]")
    assert check_run_file(p, s, key)[1] == "not a JSON object"


def test_results_folder_of_another_study_is_refused_or_replaced(tmp_path):
    out = tmp_path / "out"
    prepare_out(out, "scaling")
    (out / "scaling.csv").write_text("x\n")
    with pytest.raises(StudyError, match="holds results of studies.scaling, not "
                                         "studies.compare_learners.*--force"):
        prepare_out(out, "compare_learners")
    prepare_out(out, "scaling")                           # the same study resumes
    assert (out / "scaling.csv").exists()
    prepare_out(out, "compare_learners", force=True)      # replaced whole
    assert not (out / "scaling.csv").exists() and (out / ".study").read_text() == "compare_learners\n"
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(StudyError, match="holds no study's results"):
        prepare_out(other, "scaling", force=True)
    assert (other / "notes.txt").exists()
    with pytest.raises(StudyError, match="not a folder"):
        prepare_out(other / "notes.txt", "scaling")


def test_committed_folders_are_recognised():
    from studies.common import folder_owner
    assert folder_owner(ROOT / "docs/results/compare_learners") == "compare_learners"
    assert folder_owner(ROOT / "docs/results/scaling_rtrl") == "scaling"
    assert folder_owner(ROOT / "docs/results/rule_report") == "rule_report"
    assert folder_owner(ROOT / "docs/results/tune") == "tune"


def test_measurement_failure_keeps_the_training_row(tmp_path):
    from studies import compare_learners
    out = tmp_path / "o"
    code = compare_learners.main(["--learners", "failing_rules:UsesNorm", "--seeds", "1",
                                  "--sweeps", "4", "--out", str(out), "--no-progress",
                                  "--no-v1-row", "--whole-run-seeds", "1"])
    assert code == 0
    import pandas as pd
    row = pd.read_csv(out / "results.csv").iloc[0]
    assert pd.isna(row["error"]) and 0 <= row["unseen_acc"] <= 1
    assert row["update_note"].startswith("failed: ") and "svd" in row["update_note"]
    assert "failed" in row["whole_run_note"]


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stuck_report(p):
    """What a study that did not stop was doing: its processes, signal masks and dispositions,
    then (faulthandler, on SIGABRT) the Python stack of each of its threads."""
    procs = [p.pid, *_children(p.pid)]
    lines = []
    for pid in procs:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        keep = [ln for ln in status if ln.startswith(("State", "Threads", "Sig", "ShdPnd"))]
        lines.append(f"pid {pid} ({'study' if pid == p.pid else 'child'}): " + "; ".join(keep))
    os.kill(p.pid, signal.SIGABRT)
    time.sleep(1)
    os.killpg(p.pid, signal.SIGKILL)
    _, err = p.communicate()
    return "\n".join(lines) + "\nstderr:\n" + err


HANG = ["-m", "studies.compare_learners", "--learners", "failing_rules:Hangs,bptt", "--seeds",
        "2", "--sweeps", "3", "--accuracy-only", "--workers", "2", "--no-progress"]


def _start(tmp_path, args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]))
    p = subprocess.Popen([sys.executable, "-X", "faulthandler", *args, "--out", str(tmp_path / "o")],
                         cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:
        kids = _children(p.pid)
        if len(kids) == 2 and all(_alive(k) for k in kids):
            return p, kids
        time.sleep(0.1)
    p.kill()
    raise AssertionError("the workers did not start")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_promptly_without_traceback(tmp_path):
    p, kids = _start(tmp_path, HANG)
    time.sleep(0.5)
    os.killpg(p.pid, signal.SIGINT)                   # what a terminal's Ctrl-C does
    try:
        out, err = p.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"not stopped 20 s after Ctrl-C: {_stuck_report(p)}") from None
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted:" in err and "Rerun the same command to resume" in err
    assert f"saved in {tmp_path / 'o' / 'runs'}" in err
    assert not any(_alive(k) for k in kids)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_when_the_parent_dies(tmp_path):
    p, kids = _start(tmp_path, HANG)
    p.kill()
    p.wait()
    t0 = time.monotonic()
    while any(_alive(k) for k in kids) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    assert not any(_alive(k) for k in kids)
