"""The study's cost arithmetic (studies/movement.py) on runs that converge, so every identity is
checked on real numbers rather than skipped: cost to the train criterion = (updates before
convergence) x cost per update, for measured rows and for rows that take a measured row's
per-update cost; the curves' cumulative cost agrees with it; per update x updates."""
import pandas as pd
import pytest

from studies.movement import (MOVEMENT_COLUMNS, curves_frame, finish_movement_frame,
                              movement_run, results_frame)

# a task small enough that BPTT fits it in a handful of sweeps (converged sweeps 4 to 8)
TINY = {"n_letters": 3, "length": 2, "n_sequences": 5, "n_train": 4}
SWEEPS = 20


def run(seed, measure, learner="bptt", hyper=None):
    spec = {"learner": learner, "seed": seed, "sweeps": SWEEPS, "task": TINY,
            "hyper": hyper or {"lr": 0.2, "n_hidden": 8}, "measure": measure,
            "whole_run": measure}
    row = movement_run(spec)
    row.update(learner=learner, seed=seed)
    return row


@pytest.fixture(scope="module")
def rows():
    return [run(0, True), run(1, False), run(2, False)]


def test_cost_to_criterion_is_updates_before_convergence_times_cost_per_update(rows):
    df = finish_movement_frame(results_frame(rows, MOVEMENT_COLUMNS))
    assert df["error"].isna().all()
    conv = df["converged_sweep"]
    # the identity below must run: every run converges, after at least one update
    assert conv.notna().all() and (conv >= 2).all(), conv.tolist()
    assert df["per_update_measured"].tolist() == [True, False, False]
    per = int(df.loc[0, "bytedmd_per_update"])
    assert per > 0 and (df["bytedmd_per_update"] == per).all()   # one program: copied as is
    for _, r in df.iterrows():
        # sweep c is logged before its update: the criterion holds after c - 1 updates
        assert r["bytedmd_to_criterion"] == (r["converged_sweep"] - 1) * r["bytedmd_per_update"]
        assert r["updates"] == SWEEPS
        assert r["per_update_x_updates"] == r["bytedmd_per_update"] * r["updates"]
    # the whole run traced as one program costs at least its updates priced one at a time
    assert df.loc[0, "bytedmd_whole_run"] >= df.loc[0, "per_update_x_updates"]


def test_curves_cumulative_cost_agrees_with_the_cost_to_criterion(rows):
    df = finish_movement_frame(results_frame(rows, MOVEMENT_COLUMNS))
    curves = curves_frame(rows, df)
    assert len(curves) == SWEEPS * len(rows)
    for _, r in df.iterrows():
        c = curves[curves["seed"] == r["seed"]].set_index("sweep")
        assert list(c.index) == list(range(1, SWEEPS + 1))
        assert c.loc[1, "bytedmd_cumulative"] == 0                   # no update before sweep 1
        assert (c["bytedmd_cumulative"].diff().dropna() == r["bytedmd_per_update"]).all()
        assert c.loc[r["converged_sweep"], "bytedmd_cumulative"] == r["bytedmd_to_criterion"]
        # and the criterion is first met at that sweep in the logged train accuracy
        hit = c.index[c["train_acc"] >= 0.999]
        assert hit[0] == r["converged_sweep"]


def synthetic_rows(per_update_costs, converged):
    """Rows of one learner: measured ones with the given per-update costs, then unmeasured ones
    (per-update figures missing) with the given converged sweeps."""
    out = []
    for i, c in enumerate(per_update_costs):
        out.append({"learner": "r", "seed": i, "dataset_seed": 0, "per_update_measured": True,
                    "bytedmd_per_update": c, "reads": 10 * c, "converged_sweep": 3,
                    "bytedmd_to_criterion": 2 * c, "updates": 50})
    for j, conv in enumerate(converged):
        out.append({"learner": "r", "seed": len(per_update_costs) + j, "dataset_seed": 0,
                    "per_update_measured": False, "converged_sweep": conv, "updates": 50})
    return out


@pytest.mark.parametrize("costs, expect", [([100, 100], 100), ([100, 300, 250], 250)])
def test_filled_rows_take_the_measured_cost_and_keep_the_identity(costs, expect):
    """Unmeasured rows take the measured program's cost (identical programs) or the median of
    the measured costs (programs that differ), and their cost to criterion follows from it;
    a run that never converged has none."""
    rows = synthetic_rows(costs, [5, None, 1])
    df = finish_movement_frame(results_frame(rows, MOVEMENT_COLUMNS))
    filled = df[~df["per_update_measured"]]
    assert (filled["bytedmd_per_update"] == expect).all()
    assert filled["bytedmd_to_criterion"].tolist()[0] == 4 * expect
    assert pd.isna(filled["bytedmd_to_criterion"].tolist()[1])
    assert filled["bytedmd_to_criterion"].tolist()[2] == 0          # converged before any update
    assert (filled["per_update_x_updates"] == 50 * expect).all()
    note = filled["update_note"].iloc[0]
    assert ("identical program" in note) == (len(set(costs)) == 1)
    assert ("median" in note) == (len(set(costs)) > 1)
    # the measured rows are untouched
    measured = df[df["per_update_measured"]]
    assert measured["bytedmd_per_update"].tolist() == costs
    assert measured["bytedmd_to_criterion"].tolist() == [2 * c for c in costs]
