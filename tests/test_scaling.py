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
# a budget of 3e6 keeps T=5 and T=10 and skips T=20; an energy budget of 2e6 prices T=5 only.
SMALL_BUDGET = "3e6"
ENERGY_BUDGET = "2e6"


def quick(out, learners="bptt", *extra):
    return scaling.main(["--quick", "--learners", learners, "--out", str(out), "--workers", "1",
                         "--no-progress", "--max-reads", SMALL_BUDGET, *extra])


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling") / "out"
    code = quick(out, "bptt,failing_rules:Explodes,failing_rules:Diverges", "--schedules",
                 "batched,online", "--max-energy-reads", ENERGY_BUDGET)
    return code, out


def test_quick_writes_every_output(quick_run):
    code, out = quick_run
    assert code == 0
    for f in scaling.OUTPUTS:
        assert (out / f).stat().st_size > 0, f
    for f in ("scaling.png", "scaling_energy.png"):
        assert (out / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = pd.read_csv(out / "scaling.csv")
    assert list(df.columns) == scaling.CSV_COLUMNS
    fits = pd.read_csv(out / "scaling_fits.csv")
    assert list(fits.columns) == scaling.FIT_COLUMNS
    assert list(pd.read_csv(out / "crossings.csv").columns) == scaling.CROSSING_COLUMNS
    assert list(pd.read_csv(out / "history_overflow.csv").columns) == scaling.OVERFLOW_COLUMNS
    prov = json.loads((out / "results.json").read_text())
    assert prov["config"]["quick"] is True and prov["config"]["lengths"] == [5, 10, 20]
    assert prov["packages"]["numpy"] == np.__version__ and prov["git_commit"]
    # every rule runs at its tuned configuration unless --config defaults
    import learners
    assert prov["config"]["config"] == "tuned"
    tuned = learners.get("bptt").tuned_hyper()
    got = prov["learners"]["bptt"]["config"]
    assert {k: got[k] for k in tuned} == tuned and got["alpha"] != 1.0


def test_quick_bptt_measured_points_and_exponent(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    b = df[(df["learner"] == "bptt") & (df["schedule"] == "batched")].set_index("T")
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
    fits = pd.read_csv(out / "scaling_fits.csv").set_index(["learner", "schedule"])
    k = fits.loc[("bptt", "batched"), "exponent"]
    assert math.isfinite(k) and 0.5 < k < 1.5          # two points, T=5 and T=10
    assert fits.loc[("bptt", "batched"), "points"] == 2
    # bptt is the reference: no crossing rows of its own
    assert "bptt" not in set(pd.read_csv(out / "crossings.csv")["learner"])


def test_skipped_point_carries_its_reason(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    row = df[(df["learner"] == "bptt") & (df["T"] == 20) & (df["schedule"] == "batched")].iloc[0]
    assert row["status"] == "skipped" and pd.isna(row["bytedmd"])
    assert "ByteDMD not measured" in row["skip_reason"] and "--max-reads 3e+06" in row["skip_reason"]
    assert row["est_reads"] > 3e6
    assert "bptt batched H=30 T=20: ByteDMD not measured" in (out / "summary.md").read_text()


def test_failing_learners_do_not_stop_the_study(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    exp = df[df["learner"] == "failing_rules:Explodes"]
    assert len(exp) == 6 and (exp["status"] == "failed").all()      # 3 lengths x 2 schedules
    assert exp["error"].str.contains("deliberate failure in update").all()
    # Diverges is measurable (NaN values are still read) but its training fails
    div = df[df["learner"] == "failing_rules:Diverges"]
    trained = div["schedule"] == "batched"                # training runs batched only
    assert div.loc[trained, "error"].str.contains("DivergenceError").all()
    assert div["unseen_acc"].isna().all() and (div.loc[trained, "train_ok"] == 0).all()
    assert (div.loc[~trained, "train_runs"] == 0).all() and div.loc[~trained, "error"].isna().all()
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
    assert quick(out, "bptt", "--schedules", "batched,online", "--max-energy-reads",
                 ENERGY_BUDGET) == 0
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


# ---- schedules, energy, peak live bytes -------------------------------------------------------

def test_new_columns_present_and_typed(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    b = df[df["learner"] == "bptt"]
    assert set(b["schedule"]) == {"batched", "online"}
    text = (out / "scaling.csv").read_text()        # whole numbers written without a fraction
    assert str(int(b["peak_live_bytes"].iloc[0])) in text
    assert f"{int(b['peak_live_bytes'].iloc[0])}.0," not in text
    for sched, g in b.groupby("schedule"):
        g = g.set_index("T")
        assert list(g.loc[[5, 10], "status"]) == ["measured", "measured"], sched
        # exact peak live bytes: a positive whole number of bytes, growing with T
        live = g.loc[[5, 10], "peak_live_bytes"]
        assert (live == live.round()).all() and 0 < live[5] < live[10]
        mem = g["peak_memory_update_bytes"].dropna()
        assert (mem == mem.round()).all()
        assert (g.loc[[5, 10], "peak_memory_update_bytes"] > 0).all()
        # energy in pJ: priced at T=5 (reads within --max-energy-reads), above the arithmetic
        # alone (20 pJ per instruction, fewer instructions than reads)
        e5 = g.loc[5, "energy_pj_per_update"]
        assert pd.api.types.is_float_dtype(g["energy_pj_per_update"]) and e5 > 0
        assert e5 > 20.0 * g.loc[5, "writes"] / 2
    # the online schedule keeps one sequence's history at a time: fewer live bytes than batched
    live = b.set_index(["schedule", "T"])["peak_live_bytes"]
    assert live[("online", 10)] < live[("batched", 10)]


def test_energy_over_budget_is_skipped_with_a_note(quick_run):
    _, out = quick_run
    df = pd.read_csv(out / "scaling.csv")
    r = df[(df["learner"] == "bptt") & (df["T"] == 10)]
    assert (r["status"] == "measured").all() and r["bytedmd"].notna().all()
    assert r["energy_pj_per_update"].isna().all()
    assert (r["reads"] > float(ENERGY_BUDGET)).all()
    assert r["skip_reason"].str.startswith("energy not priced: ").all()
    assert r["skip_reason"].str.contains(
        f"reads > --max-energy-reads {float(ENERGY_BUDGET):.2g}", regex=False).all()
    assert "bptt online H=30 T=10: energy not priced" in (out / "summary.md").read_text()


def test_unsupported_schedule_is_recorded(tmp_path):
    out = tmp_path / "o"
    code = scaling.main(["--learners", "bptt,forward_gradient", "--schedules", "online",
                         "--hidden", "8", "--lengths", "3", "--seeds", "0", "--workers", "1",
                         "--no-progress", "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out / "scaling.csv")
    fg = df[df["learner"] == "forward_gradient"].iloc[0]
    assert fg["status"] == "unsupported" and fg["schedule"] == "online" and pd.isna(fg["bytedmd"])
    assert "schedule 'online' not supported" in fg["skip_reason"]
    bp = df[df["learner"] == "bptt"].iloc[0]
    assert bp["status"] == "measured" and bp["schedule"] == "online"
    summary = (out / "summary.md").read_text()
    assert "## Not supported (a schedule, or the task's target kind)" in summary
    assert "forward_gradient online" in summary
    assert "| forward_gradient | online | 8 | n/a |" in summary
    assert "forward_gradient" not in set(pd.read_csv(out / "crossings.csv")["learner"])


# ---- the report on hand-made frames ------------------------------------------------------------

def _frame(rows):
    """rows: (learner, schedule, T, bytedmd, energy, peak_live_bytes)."""
    return pd.DataFrame([{"learner": n, "schedule": s, "n_hidden": 30, "T": t, "bytedmd": b,
                          "energy_pj_per_update": e, "peak_live_bytes": p,
                          "status": "measured" if b is not None else "skipped"}
                         for n, s, t, b, e, p in rows])


def test_crossing_none_up_to_largest_measured_T():
    df = _frame([("bptt", "online", t, 100 * t, 10 * t, 1) for t in (5, 10, 20, 40)]
                + [("eprop", "online", t, 300 * t, 30 * t, 1) for t in (5, 10, 20, 40, 80)])
    c = scaling.crossings_frame(df).set_index(["cost", "versus"])
    for cost in ("ByteDMD", "energy"):
        r = c.loc[(cost, "bptt online")]
        assert pd.isna(r["crossing_T"]) and r["T_max_common"] == 40 and r["common_T"] == 4
        assert r["note"].startswith("none up to T = 40") and r["ratio_at_T_max"] == pytest.approx(3)


def test_crossing_measured_between_bracketing_lengths_same_and_best_schedule():
    # bptt: batched cheaper than online at every T; eprop online crosses online bptt between
    # T=10 and 20 (ratio 2 -> 1/2: the log-log midpoint, T = sqrt(200)), and the best
    # (batched) bptt between T=20 and 40; batched bptt is missing at T=80, so the best-schedule
    # comparison stops at T=40 while the same-schedule one goes to 80.
    T = (5, 10, 20, 40, 80)
    on = {5: 100, 10: 200, 20: 400, 40: 800, 80: 1600}
    bat = {5: 50, 10: 100, 20: 200, 40: 400, 80: None}
    ep = {5: 300, 10: 400, 20: 200, 40: 300, 80: 400}
    df = _frame([("bptt", "online", t, on[t], on[t], 1) for t in T]
                + [("bptt", "batched", t, bat[t], bat[t], 1) for t in T]
                + [("eprop", "online", t, ep[t], ep[t], 1) for t in T])
    c = scaling.crossings_frame(df).set_index(["cost", "versus"])
    same = c.loc[("ByteDMD", "bptt online")]
    assert same["crossing_T"] == pytest.approx(np.sqrt(200)) and same["T_max_common"] == 80
    assert same["note"].startswith("drops below bptt online at T ≈ 14.1")
    best = c.loc[("ByteDMD", "bptt best schedule")]
    assert best["T_max_common"] == 40 and best["common_T"] == 4
    # at T=10 400 > 100, at T=20 eprop 200 = bptt batched 200 (equal, not below), at T=40
    # 300 < 400: the costs meet at T=20
    assert best["crossing_T"] == pytest.approx(20)
    # already below at the first common length
    df2 = _frame([("bptt", "online", t, 10 * t, 10 * t, 1) for t in T]
                 + [("eprop", "online", t, 5 * t, 5 * t, 1) for t in T])
    r = scaling.crossings_frame(df2).set_index(["cost", "versus"]).loc[("energy", "bptt online")]
    assert r["crossing_T"] == 5 and r["note"].startswith("below bptt online already at the "
                                                          "smallest common T = 5")
    assert r["below_at_T_max"]
    # below at T=5 only, then above: the first crossing is kept and the note says it does not last
    ep3 = {5: 50, 10: 150, 20: 300, 40: 600, 80: 1700}
    df3 = _frame([("bptt", "online", t, on[t], on[t], 1) for t in T]
                 + [("eprop", "online", t, ep3[t], ep3[t], 1) for t in T])
    r = scaling.crossings_frame(df3).set_index(["cost", "versus"]).loc[("ByteDMD", "bptt online")]
    assert r["crossing_T"] == 5 and not r["below_at_T_max"]
    assert "not below at the largest common T = 80" in r["note"]
    assert "cross more than once" in r["note"]


def test_history_overflow_marks_on_a_hand_made_frame():
    from metrics.hierarchy import DEFAULT_HIERARCHY
    caps = [int(lv.capacity_bytes) for lv in DEFAULT_HIERARCHY.levels[:-1]]
    assert caps == [8192, 32768, 1048576]
    live = {5: 5000, 10: 8192, 20: 8193, 40: 40000, 80: 600000, 160: 1048577}
    df = _frame([("bptt", "online", t, 1, 1, p) for t, p in live.items()]
                + [("bptt", "batched", t, 1, 1, 9000 * t) for t in (5, 10)]
                + [("eprop", "online", t, 1, 1, 10**9) for t in (5, 10)])
    o = scaling.history_overflow(df).set_index(["schedule", "level"])
    # first measured T whose peak is strictly above the capacity (8192 itself still fits)
    assert o.loc[("online", "SRAM 8 KiB"), "overflow_T"] == 20
    assert o.loc[("online", "SRAM 32 KiB"), "overflow_T"] == 40
    assert o.loc[("online", "SRAM 1 MiB"), "overflow_T"] == 160
    assert o.loc[("online", "SRAM 1 MiB"), "peak_live_bytes_at_T"] == 1048577
    assert o.loc[("batched", "SRAM 8 KiB"), "overflow_T"] == 5
    assert "already at the smallest measured T = 5" in o.loc[("batched", "SRAM 8 KiB"), "note"]
    b = o.loc[("batched", "SRAM 1 MiB")]
    assert pd.isna(b["overflow_T"]) and b["note"].startswith("not exceeded up to T = 10")
    assert set(o.index.get_level_values("schedule")) == {"online", "batched"}   # bptt only


def test_report_only_redraws_from_the_results_folder(quick_run, tmp_path, monkeypatch):
    import shutil
    _, out = quick_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    rows_before = (copy / "scaling.csv").read_bytes()
    for f in ("crossings.csv", "history_overflow.csv", "summary.md", "scaling.png"):
        (copy / f).unlink()

    def boom(spec):
        raise AssertionError("--report-only measured something")
    monkeypatch.setattr(scaling, "measure_point", boom)
    assert scaling.main(["--report-only", "--out", str(copy)]) == 0
    assert (copy / "scaling.csv").read_bytes() == rows_before          # the rows are kept
    for f in ("crossings.csv", "history_overflow.csv", "summary.md"):
        assert (copy / f).read_text() == (out / f).read_text(), f
    assert (copy / "scaling.png").stat().st_size > 0
    prov = json.loads((copy / "results.json").read_text())
    assert prov["report"]["command"].endswith(f"--report-only --out {copy}")
    assert prov["git_commit"] == json.loads((out / "results.json").read_text())["git_commit"]
    assert scaling.main(["--report-only", "--out", str(tmp_path / "nothing")]) == 2


def test_energy_on_a_given_hierarchy(tmp_path):
    """--hierarchy FILE prices energy on that hierarchy (recorded in results.json and in the
    runs' keys); dropping the 1 MiB level can only make a read dearer."""
    from pathlib import Path
    docs = Path(__file__).resolve().parents[1] / "docs"
    runs = {}
    for name, extra in (("default", []), ("no_llc", ["--hierarchy",
                                                     str(docs / "hierarchy_no_llc.toml")])):
        out = tmp_path / name
        assert scaling.main(["--learners", "bptt", "--lengths", "3", "--hidden", "8",
                             "--seeds", "0", "--workers", "1", "--no-progress",
                             "--out", str(out), *extra]) == 0
        runs[name] = (pd.read_csv(out / "scaling.csv"), json.loads((out / "results.json").read_text()))
    (d, pd_), (n, pn) = runs["default"], runs["no_llc"]
    assert pd_["config"]["hierarchy_levels"] is None
    assert [lv["name"] for lv in pn["config"]["hierarchy_levels"]["levels"]] == [
        "SRAM 8 KiB", "SRAM 32 KiB", "DRAM"]
    assert d["bytedmd"].iloc[0] == n["bytedmd"].iloc[0]
    assert n["energy_pj_per_update"].iloc[0] >= d["energy_pj_per_update"].iloc[0]
    assert "hierarchy_no_llc.toml" in (tmp_path / "no_llc" / "summary.md").read_text()


def test_bad_hierarchy_file_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "h.toml"
    bad.write_text("levels = 3\n")
    try:
        code = scaling.main(["--hierarchy", str(bad), "--out", str(tmp_path / "o")])
    except SystemExit as e:
        code = e.code
    assert code == 2
    assert "--hierarchy" in capsys.readouterr().err
