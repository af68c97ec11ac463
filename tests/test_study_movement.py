"""The main study with data movement: CSV columns and types, budgets, whole run vs per update,
failure isolation and resume."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from studies import compare_learners  # noqa: E402

INT_COLUMNS = ["seed", "updates", "bytedmd_per_update", "reads", "writes", "read_bytes",
               "update_peak_live_bytes", "bytedmd_forward", "bytedmd_credit", "bytedmd_update",
               "escapes", "per_update_x_updates"]
FLOAT_COLUMNS = ["train_acc", "test_acc", "unseen_acc", "ard", "dmc", "wall_s"]


def study(out, learners="bptt,tbptt,failing_rules:Explodes", *extra):
    return compare_learners.main(["--learners", learners, "--seeds", "2", "--sweeps", "12",
                                  "--out", str(out), "--workers", "2", "--no-progress",
                                  "--measure-seeds", "1", "--whole-run-seeds", "1", "--no-v1-row",
                                  *extra])


@pytest.fixture(scope="module")
def movement_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("movement") / "out"
    assert study(out) == 0
    return out


def test_columns_and_types(movement_out):
    df = pd.read_csv(movement_out / "results.csv")
    assert list(df.columns) == compare_learners.MOVEMENT_COLUMNS + ["error"]
    ok = df[df["error"].isna()]
    assert sorted(ok["learner"].unique()) == ["bptt", "tbptt"] and len(ok) == 4
    for c in INT_COLUMNS:
        v = ok[c].to_numpy(float)
        assert np.isfinite(v).all() and (v == np.round(v)).all() and (v >= 0).all(), c
    for c in FLOAT_COLUMNS:
        assert np.isfinite(ok[c].to_numpy(float)).all(), c
    assert ok[["train_acc", "test_acc", "unseen_acc"]].stack().between(0, 1).all()
    assert (ok["updates"] == 12).all()
    measured = ok[ok["per_update_measured"]]
    assert (measured["update_peak_heap_bytes"] > 0).all()    # memray: measured runs only
    assert (ok["energy_pj_per_update"] > 0).all()
    # reads are mostly of float64 values (8 bytes); a few are of 1-byte booleans (comparisons)
    assert (ok["read_bytes"] <= 8 * ok["reads"]).all() and (ok["read_bytes"] > 7.9 * ok["reads"]).all()
    # the phases add up to the whole update
    parts = ok["bytedmd_forward"] + ok["bytedmd_credit"] + ok["bytedmd_update"]
    assert (parts == ok["bytedmd_per_update"]).all()
    # truncation moves less data than full BPTT in every phase that differs
    by = ok.groupby("learner")["bytedmd_per_update"].first()
    assert by["tbptt"] < by["bptt"]


def test_measured_seed_and_filled_seed(movement_out):
    df = pd.read_csv(movement_out / "results.csv")
    ok = df[df["error"].isna()].set_index(["learner", "seed"])
    for name in ("bptt", "tbptt"):
        m, f = ok.loc[(name, 0)], ok.loc[(name, 1)]
        assert bool(m["per_update_measured"]) and not bool(f["per_update_measured"])
        assert f["bytedmd_per_update"] == m["bytedmd_per_update"]
        assert "identical program" in f["update_note"]
        assert pd.isna(f["bytedmd_whole_run"]) and "not requested" in f["whole_run_note"]
        # the whole run traced as one program is close to, and not below, per update x updates
        ratio = m["bytedmd_whole_run"] / m["per_update_x_updates"]
        assert 1.0 <= ratio < 1.05, ratio
        assert m["whole_run_reads"] == m["reads"] * m["updates"] or \
            abs(m["whole_run_reads"] / (m["reads"] * m["updates"]) - 1) < 0.01
        if not pd.isna(m["converged_sweep"]):
            assert m["bytedmd_to_criterion"] == (m["converged_sweep"] - 1) * m["bytedmd_per_update"]


def test_failing_learner_reported_others_measured(movement_out):
    df = pd.read_csv(movement_out / "results.csv")
    bad = df[df["learner"] == "failing_rules:Explodes"]
    assert len(bad) == 2 and bad["error"].str.contains("deliberate failure").all()
    summary = (movement_out / "summary.md").read_text()
    assert "## Data movement" in summary and "| bptt |" in summary
    assert "failing_rules:Explodes | 0/2 | failed" in summary
    for plot in ("curves.png", "pareto.png", "cost_breakdown.png", "reuse.png"):
        assert (movement_out / plot).stat().st_size > 1000, plot
    prov = json.loads((movement_out / "results.json").read_text())
    assert prov["config"]["measure_seeds"] == 1 and prov["git_commit"] is not None


def test_resume_redoes_nothing(movement_out, monkeypatch):
    runs = sorted((movement_out / "runs").glob("*.json"))
    before = (movement_out / "results.csv").read_text()
    ok_runs = [p for p in runs if json.loads(p.read_text()).get("error") is None]
    stamps = {p: p.stat().st_mtime_ns for p in ok_runs}

    def boom(spec):
        raise AssertionError("a finished run was run again")
    monkeypatch.setattr(compare_learners, "movement_run", boom)
    # only the learners that finished: their runs must all come from runs/
    assert study(movement_out, "bptt,tbptt") == 0
    assert {p: p.stat().st_mtime_ns for p in ok_runs} == stamps
    after = pd.read_csv(movement_out / "results.csv")
    kept = pd.read_csv(pd.io.common.StringIO(before))
    kept = kept[kept["learner"].isin(["bptt", "tbptt"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(after.drop(columns=["wall_s"]), kept.drop(columns=["wall_s"]),
                                  check_dtype=False)


def test_update_over_budget_is_skipped_with_reason(tmp_path):
    out = tmp_path / "out"
    assert study(out, "bptt", "--max-update-reads", "1000") == 0
    df = pd.read_csv(out / "results.csv")
    assert df["error"].isna().all()
    m = df[df["seed"] == 0].iloc[0]
    assert "skipped: one update makes more than 1e+03 reads" in m["update_note"]
    assert pd.isna(m["bytedmd_per_update"]) and "skipped" in m["whole_run_note"]
    assert "Not measured:" in (out / "summary.md").read_text()


def test_bad_budget_flag_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit):
        compare_learners.main(["--measure-seeds", "-1", "--out", str(tmp_path)])


def test_quick_runs_every_learner(tmp_path):
    """The smoke-test mode as a user runs it: every built-in learner, a row per seed."""
    import subprocess
    import learners
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "quick"
    p = subprocess.run([sys.executable, "-m", "studies.compare_learners", "--quick", "--out",
                        str(out), "--no-progress"], cwd=root, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    df = pd.read_csv(out / "results.csv")
    rows = learners.available() + ["bptt_v1"]
    assert sorted(df["learner"].unique()) == sorted(rows)
    assert len(df) == 2 * len(rows) and df["error"].isna().all()
    assert "## Data movement" in p.stdout and "## Paired against bptt" in p.stdout


def test_figures_are_png_and_pdf_and_replot_rebuilds_them(movement_out):
    from studies import replot
    figs = ("curves", "pareto", "cost_breakdown", "reuse")
    for f in figs:
        assert (movement_out / f"{f}.pdf").read_bytes()[:4] == b"%PDF", f
        (movement_out / f"{f}.png").unlink()
        (movement_out / f"{f}.pdf").unlink()
    assert replot.main([str(movement_out)]) == 0
    for f in figs:
        assert (movement_out / f"{f}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f
        assert (movement_out / f"{f}.pdf").exists(), f


def test_learner_colours_are_fixed():
    from studies.common import STYLE, learner_style
    import learners
    assert set(learners.available()) <= set(STYLE)
    assert len({STYLE[n] for n in learners.available()}) == len(learners.available())
    assert learner_style("my_rules:X") == learner_style("my_rules:X")
    assert learner_style("my_rules:X")[0] not in {c for c, _ in STYLE.values()}


def test_curves_csv_is_tidy_with_cumulative_bytedmd(movement_out):
    cur = pd.read_csv(movement_out / "curves.csv")
    res = pd.read_csv(movement_out / "results.csv")
    assert list(cur.columns[:3]) == ["learner", "seed", "sweep"]
    ok = res[res["error"].isna()]
    assert len(cur) == int(ok["updates"].sum())        # one row per sweep of every finished run
    for _, r in ok.iterrows():
        c = cur[(cur["learner"] == r["learner"]) & (cur["seed"] == r["seed"])]
        assert list(c["sweep"]) == list(range(1, int(r["updates"]) + 1))
        assert c["bytedmd_cumulative"].iloc[-1] == (r["updates"] - 1) * r["bytedmd_per_update"]
