"""The main study: columns, failure isolation, atomic results and resume."""
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from studies import compare_learners  # noqa: E402
from harness.sweep import run_sweep, spec_key  # noqa: E402


def run_study(tmp_path, *extra):
    out = tmp_path / "out"
    code = compare_learners.main(["--learners", ",".join(extra) or "bptt", "--seeds", "2",
                                  "--sweeps", "30", "--out", str(out), "--workers", "1",
                                  "--no-progress", "--accuracy-only", "--no-v1-row"])
    return code, out


def test_study_writes_results(tmp_path, capsys):
    code, out = run_study(tmp_path, "bptt")
    assert code == 0
    df = pd.read_csv(out / "results.csv")
    assert list(df.columns) == compare_learners.BASE_COLUMNS + ["error"]
    assert (df["dataset_seed"] == 0).all() and df["validation_acc"].between(0, 1).all()
    assert len(df) == 2 and df["train_acc"].between(0, 1).all()
    assert (out / "summary.md").read_text().count("| bptt |") == 1
    assert (out / "curves.png").stat().st_size > 1000
    prov = json.loads((out / "results.json").read_text())
    assert prov["config"]["seeds"] == 2 and "numpy" in prov["packages"]
    import learners
    assert prov["study"] == "compare_learners" and prov["git_dirty"] in (True, False, None)
    assert prov["learners"]["bptt"]["class"] == "learners.bptt:BPTT"
    bptt = learners.get("bptt")                 # the study runs every rule at its tuned config
    assert prov["learners"]["bptt"]["config"]["lr"] == bptt.tuned_hyper().get("lr", bptt.Config().lr)
    assert prov["threads"]["run_processes"] and prov["machine"]["cpus"] >= 1
    assert len(prov["runs"]) == 2 and all((out / "runs" / f"{k}.json").exists() for k in prov["runs"])
    assert "| bptt |" in capsys.readouterr().out


def test_failing_learner_is_reported_and_others_run(tmp_path):
    code, out = run_study(tmp_path, "bptt", "failing_rules:Explodes", "failing_rules:Diverges")
    assert code == 0
    df = pd.read_csv(out / "results.csv")
    ok = df[df["learner"] == "bptt"]
    assert ok["error"].isna().all() and len(ok) == 2
    bad = df[df["learner"] == "failing_rules:Explodes"]
    assert bad["error"].str.contains("deliberate failure in update").all()
    div = df[df["learner"] == "failing_rules:Diverges"]
    assert div["error"].str.contains("DivergenceError.*at sweep 2").all()
    summary = (out / "summary.md").read_text()
    assert "failing_rules:Explodes | 0/2 | failed" in summary
    assert "Failed runs:" in summary


def test_unknown_learner_in_study_is_a_clear_error(tmp_path, capsys):
    assert compare_learners.main(["--learners", "nope", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown learner 'nope'" in err and len(err.strip().splitlines()) == 1


def test_resume_skips_finished_runs(tmp_path):
    specs = [{"runner": "harness.sweep:train_run", "learner": "bptt", "seed": s, "sweeps": 5,
              "task": {}} for s in range(3)]
    rows = run_sweep(specs, tmp_path, workers=1, progress=False)
    assert all(r["error"] is None for r in rows)
    # mark the finished files, delete one: only that one is run again
    runs = tmp_path / "runs"
    stamp = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    (runs / f"{spec_key(specs[1])}.json").unlink()
    rows2 = run_sweep(specs, tmp_path, workers=1, progress=False)
    assert [r["train_acc"] for r in rows2] == [r["train_acc"] for r in rows]
    after = {p.name: p.stat().st_mtime_ns for p in runs.iterdir()}
    assert after[f"{spec_key(specs[0])}.json"] == stamp[f"{spec_key(specs[0])}.json"]
    assert after[f"{spec_key(specs[2])}.json"] == stamp[f"{spec_key(specs[2])}.json"]
    assert not [p for p in runs.iterdir() if p.name.endswith(".tmp")]


def test_parallel_pool_gives_same_rows(tmp_path):
    specs = [{"runner": "harness.sweep:train_run", "learner": "bptt", "seed": s, "sweeps": 5,
              "task": {}} for s in range(2)]
    a = run_sweep(specs, tmp_path / "a", workers=2, progress=False)
    b = run_sweep(specs, tmp_path / "b", workers=1, progress=False)
    assert [r["unseen_acc"] for r in a] == [r["unseen_acc"] for r in b]


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    from harness.io import atomic_write_json
    p = tmp_path / "x.json"
    atomic_write_json(p, {"a": 1})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"a": object()})
    assert json.loads(p.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["x.json"]


def test_numpy_values_are_written_as_the_json_numbers_they_hold(tmp_path):
    from harness.io import atomic_write_json
    p = tmp_path / "x.json"
    atomic_write_json(p, {"i": np.int64(3), "f": np.float32(0.5), "b": np.bool_(True),
                          "a": np.arange(2)})
    assert json.loads(p.read_text()) == {"i": 3, "f": 0.5, "b": True, "a": [0, 1]}
    assert isinstance(json.loads(p.read_text())["i"], int)


def test_stale_outputs_of_an_earlier_run_are_removed(tmp_path, capsys):
    code, out = run_study(tmp_path, "bptt")
    (out / "pareto.png").write_bytes(b"an earlier measured run's figure")
    (out / "pareto.pdf").write_bytes(b"%PDF old")
    code, out = run_study(tmp_path, "bptt")            # resumes; accuracy only: no pareto
    assert code == 0 and not (out / "pareto.png").exists() and not (out / "pareto.pdf").exists()
    assert (out / "curves.png").exists() and (out / "curves.pdf").exists()
    assert "2 already finished" in capsys.readouterr().err
