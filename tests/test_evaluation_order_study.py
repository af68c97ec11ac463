"""studies.evaluation_order: every rule's update priced in numpy order and with its elementwise
chains fused (metrics.reorder), end to end on a tiny task."""
import json

import pandas as pd

from studies import evaluation_order as eo


def test_study_writes_consistent_tables(tmp_path):
    out = tmp_path / "eo"
    code = eo.main(["--learners", "bptt,eprop", "--lengths", "3", "--schedules",
                    "batched,online", "--workers", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    for f in eo.OUTPUTS:
        assert (out / f).stat().st_size > 0, f
    df = pd.read_csv(out / "evaluation_order.csv")
    assert list(df.columns) == eo.COLUMNS
    assert set(zip(df["learner"], df["schedule"])) == {("bptt", "batched"), ("bptt", "online"),
                                                       ("eprop", "batched"), ("eprop", "online")}
    assert (df["status"] == "measured").all()
    # the shares and ratios are the arithmetic of the measured columns
    share = 1 - df["bytedmd_demand"] / df["bytedmd_numpy"]
    assert (abs(df["op_at_a_time_share"] - share) < 1e-12).all()
    bptt = df[df["learner"] == "bptt"].set_index("schedule")
    for _, r in df.iterrows():
        ref = bptt.loc[r["schedule"]]
        assert abs(r["vs_bptt_numpy"] - r["bytedmd_numpy"] / ref["bytedmd_numpy"]) < 1e-12
        assert abs(r["vs_bptt_demand"] - r["bytedmd_demand"] / ref["bytedmd_demand"]) < 1e-12
    # fusing e-prop's elementwise trace updates saves a large part of its batched cost
    e = df[(df["learner"] == "eprop") & (df["schedule"] == "batched")].iloc[0]
    assert e["bytedmd_demand"] < 0.8 * e["bytedmd_numpy"]
    prov = json.loads((out / "results.json").read_text())
    assert prov["config"]["fuse"] == "elementwise" and prov["config"]["config"] == "tuned"
    assert "| eprop | batched |" in (out / "summary.md").read_text()


def test_over_budget_update_is_skipped_with_its_reason(tmp_path):
    out = tmp_path / "eo"
    assert eo.main(["--learners", "bptt", "--lengths", "3", "--schedules", "batched",
                    "--max-reads", "1000", "--workers", "1", "--no-progress",
                    "--out", str(out)]) == 1            # nothing measured
    df = pd.read_csv(out / "evaluation_order.csv")
    assert list(df["status"]) == ["skipped"] and "max-reads" in df["note"].iloc[0]


def test_bad_fuse_is_a_one_line_error(tmp_path, capsys):
    try:
        code = eo.main(["--fuse", "some", "--out", str(tmp_path / "x")])
    except SystemExit as e:
        code = e.code
    assert code == 2
    assert "--fuse" in capsys.readouterr().err
