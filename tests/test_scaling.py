"""The scaling study (studies/scaling.py): outputs, skipped points, failure isolation, resume."""
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from studies import scaling  # noqa: E402

# bptt's tracked update reads about 1.2e6 (T=5), 2.4e6 (T=10), 4.9e6 (T=20) elements at H=30:
# a budget of 3e6 keeps T=5 and T=10 and skips T=20.
SMALL_BUDGET = "3e6"


def quick(out, learners="bptt", *extra):
    return scaling.main(["--quick", "--learners", learners, "--out", str(out), "--workers", "1",
                         "--no-progress", "--max-reads", SMALL_BUDGET, *extra])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling") / "out"
    code = quick(out, "bptt,failing_rules:Explodes,failing_rules:Diverges")
    return code, out


def test_quick_writes_every_output(quick_run):
    code, out = quick_run
    assert code == 0
    for f in ("scaling.csv", "scaling_fits.csv", "summary.md", "scaling.png", "results.json"):
        assert (out / f).stat().st_size > 0, f
    assert (out / "scaling.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = pd.read_csv(out / "scaling.csv")
    assert list(df.columns) == scaling.CSV_COLUMNS
    fits = pd.read_csv(out / "scaling_fits.csv")
    assert list(fits.columns) == scaling.FIT_COLUMNS
    prov = json.loads((out / "results.json").read_text())
    assert prov["config"]["quick"] is True and prov["config"]["lengths"] == [5, 10, 20]
    assert prov["packages"]["numpy"] == np.__version__ and prov["git_commit"]


def test_quick_bptt_measured_points_and_exponent(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    b = df[df["learner"] == "bptt"].set_index("T")
    assert list(b.index) == [5, 10, 20] and set(b["n_hidden"]) == {30}
    assert list(b["status"]) == ["measured", "measured", "skipped"]
    # the measured cost grows with T, and the reads estimate was within 2x of the measurement
    assert 0 < b.loc[5, "bytedmd"] < b.loc[10, "bytedmd"]
    assert b.loc[5, "bytedmd_forward"] + b.loc[5, "bytedmd_credit"] + b.loc[5, "bytedmd_update"] \
        == b.loc[5, "bytedmd"]
    for t in (5, 10):
        assert 0.5 < b.loc[t, "est_reads"] / b.loc[t, "reads"] < 2
    # trained at every T (the training budget is separate), with accuracies in [0, 1]
    assert (b["train_ok"] == 1).all() and b["unseen_acc"].between(0, 1).all()
    assert b["test_acc"].between(0, 1).all()
    assert b["peak_memory_of"].str.startswith("plain training run").all()
    assert (b["peak_memory_bytes"] > 0).all() and (b["peak_memory_update_bytes"] > 0).all()
    fits = pd.read_csv(out / "scaling_fits.csv").set_index("learner")
    k = fits.loc["bptt", "exponent"]
    assert math.isfinite(k) and 0.5 < k < 1.5          # two points, T=5 and T=10
    assert fits.loc["bptt", "points"] == 2 and fits.loc["bptt", "crossing_note"] == "reference"


def test_skipped_point_carries_its_reason(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    row = df[(df["learner"] == "bptt") & (df["T"] == 20)].iloc[0]
    assert row["status"] == "skipped" and pd.isna(row["bytedmd"])
    assert "ByteDMD not measured" in row["skip_reason"] and "--max-reads 3e+06" in row["skip_reason"]
    assert row["est_reads"] > 3e6
    assert "bptt H=30 T=20: ByteDMD not measured" in (out / "summary.md").read_text()


def test_failing_learners_do_not_stop_the_study(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    exp = df[df["learner"] == "failing_rules:Explodes"]
    assert len(exp) == 3 and (exp["status"] == "failed").all()
    assert exp["error"].str.contains("deliberate failure in update").all()
    # Diverges is measurable (NaN values are still read) but its training fails
    div = df[df["learner"] == "failing_rules:Diverges"]
    assert div["error"].str.contains("DivergenceError").all()
    assert div["unseen_acc"].isna().all() and (div["train_ok"] == 0).all()
    summary = (out / "summary.md").read_text()
    assert "## Failures" in summary and "deliberate failure in update" in summary


def test_resume_redoes_nothing(quick_run, monkeypatch):
    _, out = quick_run
    before = (out / "scaling.csv").read_text()
    runs = sorted((out / "runs").glob("*.json"))
    mtimes = {p: p.stat().st_mtime_ns for p in runs}
    n_failed = sum(json.loads(p.read_text()).get("error") is not None for p in runs)

    def boom(spec):
        raise AssertionError("a finished point was run again")
    monkeypatch.setattr(scaling, "measure_point", boom)
    monkeypatch.setattr(scaling, "train_point", boom)
    # failed runs are retried by run_sweep (retry_failed): drop the failing learners here
    assert quick(out, "bptt") == 0
    df = pd.read_csv(out / "scaling.csv")
    assert (df["error"].isna()).all()
    old = pd.read_csv(io.StringIO(before)).query("learner == 'bptt'").reset_index(drop=True)
    pd.testing.assert_frame_equal(df, old, check_dtype=False)
    assert n_failed > 0
    assert {p: p.stat().st_mtime_ns for p in runs} == mtimes


def test_estimate_reads_extrapolates_linearly_in_T():
    model = lambda T, H: 1e9                      # noqa: E731  (not used once points exist)
    assert scaling.estimate_reads(40, [(10, 200), (20, 300)], model, 30) == 500
    assert scaling.estimate_reads(40, [(10, 200)], model, 30) == 800
    assert scaling.estimate_reads(40, [], model, 30) == 1e9
    # probe model: reads = a(H) + b(H) T with a, b power laws in H
    probe = {(2, 8): 2 * 64 + 100, (3, 8): 3 * 64 + 100,
             (2, 16): 2 * 256 + 400, (3, 16): 3 * 256 + 400}
    est = scaling.probe_model(probe)
    assert est(10, 32) == pytest.approx(10 * 1024 + 1600)


def test_unknown_learner_is_a_clear_error(tmp_path, capsys):
    assert scaling.main(["--quick", "--learners", "nope", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "unknown learner 'nope'" in err and len(err.strip().splitlines()) == 1
