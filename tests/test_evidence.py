"""studies.evidence: costs to criterion with censoring, tables with intervals, paired verdicts."""
import numpy as np
import pandas as pd

from studies import evidence


def _frame(acc_x, acc_y, conv_x, conv_y, per_x=10.0, per_y=20.0, budget=100):
    rows = []
    for (name, accs, convs, per) in (("ref", acc_y, conv_y, per_y), ("x", acc_x, conv_x, per_x)):
        for i, (a, c) in enumerate(zip(accs, convs)):
            rows.append({"learner": name, "dataset_seed": i // 5, "seed": i % 5, "error": None,
                         "unseen_acc": a, "validation_acc": a, "test_acc": 0.8,
                         "converged_sweep": c, "updates": budget, "bytedmd_per_update": per})
    return pd.DataFrame(rows)


def test_cost_to_criterion_counts_updates_before_the_criterion_and_censors_at_budget():
    df = _frame([0.5] * 2, [0.5] * 2, [23, np.nan], [1, 101])
    cc = evidence.cost_to_criterion(df)
    ref, x = cc.iloc[:2], cc.iloc[2:]
    # sweep c is logged before its update: c - 1 updates were made
    assert list(ref["cost"]) == [0.0, 2000.0] and list(ref["censored"]) == [False, False]
    assert x["cost"].iloc[0] == 22 * 10.0 and not x["censored"].iloc[0]
    assert x["censored"].iloc[1] and x["cost"].iloc[1] == 100 * 10.0
    assert list(cc["budget_cost"]) == [2000.0, 2000.0, 1000.0, 1000.0]


def test_paired_table_states_a_direction_only_when_supported():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.4, 0.6, 10)
    better = _frame(base + 0.1, base, [10] * 10, [10] * 10)
    table, sentences = evidence.paired_table(better, "ref")
    assert "x > ref" in table and "10 / 0 / 0" in table
    # x costs 9*10 = 90 per run, ref 9*20 = 180: x moves less
    assert any("ByteDMD" in s and "x < ref" in s for s in sentences)
    same = _frame(base, base, [10] * 10, [10] * 10, per_x=20.0)
    table, sentences = evidence.paired_table(same, "ref")
    assert "x > ref" not in table and "x < ref" not in table
    assert all("no detectable difference" in s for s in sentences)
    noisy = _frame(base + rng.normal(0, 0.05, 10), base, [10] * 10, [10] * 10)
    _, sentences = evidence.paired_table(noisy.iloc[:4].pipe(lambda d: pd.concat(
        [d, noisy[noisy.learner == "x"].iloc[:2]])), "ref")
    assert all("no detectable difference" in s for s in sentences)   # 2 pairs: never significant


def test_cost_table_reports_censoring():
    # 6 of 10 runs of x never converge: its KM median is not reached (inf); converged-only is not
    df = _frame([0.5] * 10, [0.5] * 10, [11, 11, 11, 11] + [np.nan] * 6, [11] * 10)
    table = evidence.cost_table(df)
    row = next(line for line in table.splitlines() if line.startswith("| x "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "4/10"
    assert cells[3].startswith("inf")                      # KM median
    assert cells[4].startswith("1.00e+03")                 # at budget: 100 updates x 10
    assert cells[5].startswith("1.00e+02")                 # converged only: 10 updates x 10
    ref = next(line for line in table.splitlines() if line.startswith("| ref "))
    assert "10/10" in ref and "2.00e+02 [2.00e+02, 2.00e+02]" in ref


def test_accuracy_table_has_intervals_and_counts_failures():
    df = _frame([0.5, 0.6, 0.7], [0.4, 0.4, 0.4], [5, np.nan, 7], [5, 5, 5])
    df.loc[df.index[-1], "error"] = "boom"
    table = evidence.accuracy_table(df, n_heldout=5)
    x = next(line for line in table.splitlines() if line.startswith("| x "))
    assert "| 2/3 |" in x and "1/2" in x            # one failed run; one of two fit the train set
    assert "0.550 [0.500, 0.600]" in x
