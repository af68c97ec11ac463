"""The evidence behind every comparison a study states: medians with bootstrap intervals, costs to
a criterion with censoring, and paired tests against a reference rule.

Input is the tidy frame of a study, one row per run, with at least the columns

    learner, dataset_seed, seed, error            (error: None for a run that finished)
    unseen_acc, validation_acc                    fractions in [0, 1]; unseen = the reported test part
    converged_sweep                               first sweep (1-based, logged before its update)
                                                  with 100% train accuracy; NaN if never
    updates                                       the run's budget: updates made (= sweeps)
    bytedmd_per_update                            ByteDMD of one update (cost units), NaN if unmeasured

and optionally `gen_sweep` (first sweep whose validation accuracy reached the generalization
target, NaN if never). A run is paired with the reference rule's run of the same
(dataset_seed, seed).

Costs to a criterion (ByteDMD, cost units) count the updates made before the criterion was first
met: a criterion met at sweep c was met after c - 1 updates (the logged figures are pre-update).
A run that never meets it is right-censored at its whole budget (updates x cost per update).
Three summaries are reported, and the table says which is which:

  - KM median: the Kaplan-Meier estimate of the median cost, censored runs as censored
    observations (">budget" when fewer than half the runs ever reach the criterion);
  - censored at budget: the plain median with a censored run counted at its budget (a lower
    bound on the true median when runs are censored);
  - converged only: the median over runs that met the criterion (biased low; shown for
    comparison with earlier versions of this study, which reported only this).

Comparative sentences are produced by `harness.stats.verdict`: "X < Y" only when the paired test
and the bootstrap interval of the paired difference agree; otherwise "no detectable difference".
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from harness import stats

PAIR_KEYS = ("dataset_seed", "seed")


def finished(df: pd.DataFrame) -> pd.DataFrame:
    """The runs that finished (no error)."""
    return df[df["error"].isna()] if "error" in df else df


def cost_to_criterion(df: pd.DataFrame, sweep_col: str = "converged_sweep") -> pd.DataFrame:
    """Per run: `cost` (ByteDMD until the criterion, or the whole budget when censored) and
    `censored` (True when the criterion was never met). Runs without a per-update cost get NaN."""
    per = pd.to_numeric(df["bytedmd_per_update"], errors="coerce").astype(float)
    sweep = pd.to_numeric(df[sweep_col], errors="coerce").astype(float)
    budget = pd.to_numeric(df["updates"], errors="coerce").astype(float)
    censored = sweep.isna()
    updates = np.where(censored, budget, sweep - 1.0)
    return pd.DataFrame({"cost": updates * per, "censored": censored.to_numpy(),
                         "budget_cost": budget * per}, index=df.index)


def _ci_cell(values, digits: int = 3, style: str = "f") -> str:
    """'median [lo, hi]' (95% percentile bootstrap) of the finite values, '–' when none."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(float)
    if v.size == 0:
        return "–"
    est, lo, hi = stats.bootstrap_ci(v)
    return stats.fmt_ci(est, lo, hi, digits, style)


def accuracy_table(df: pd.DataFrame, n_heldout: int) -> str:
    """Markdown: per learner, finished runs, medians with 95% bootstrap CIs of held-out (correct
    of n_heldout), validation and unseen (test) accuracy, and runs that fit the training set."""
    lines = [f"| learner | runs ok | held-out (of {n_heldout}) | validation acc | unseen (test) acc "
             f"| fit train set | converged sweep (converged runs) |",
             "|---|---|---|---|---|---|---|"]
    for name, g in df.groupby("learner", sort=False):
        ok = finished(g)
        if ok.empty:
            err = str(g["error"].iloc[0]).splitlines()[0] if "error" in g else ""
            lines.append(f"| {name} | 0/{len(g)} | failed: {err} | | | | |")
            continue
        conv = pd.to_numeric(ok["converged_sweep"], errors="coerce").dropna()
        lines.append(
            f"| {name} | {len(ok)}/{len(g)} | "
            f"{_ci_cell(ok['test_acc'].astype(float) * n_heldout, 1)} | "
            f"{_ci_cell(ok['validation_acc'])} | {_ci_cell(ok['unseen_acc'])} | "
            f"{len(conv)}/{len(ok)} | {_ci_cell(conv, 0) if len(conv) else 'never'} |")
    return "\n".join(lines) + "\n"


def _censored_cells(cc: pd.DataFrame) -> list[str]:
    """KM median, median with censored runs at their budget, converged-only median; each with a
    95% bootstrap CI over runs ("inf": the KM curve does not fall to 0.5; "n/a": no run met it)."""
    cc = cc.dropna(subset=["budget_cost"])
    if cc.empty:
        return ["–", "–", "–"]
    ci = stats.censored_median_ci(cc["cost"].to_numpy(float), cc["censored"].to_numpy(bool),
                                  cc["budget_cost"].to_numpy(float))
    return [stats.fmt_ci(*ci[key], 2, "e") for key in ("km", "at_budget", "converged_only")]


def cost_table(df: pd.DataFrame) -> str:
    """Markdown: per learner, ByteDMD per update and to the train criterion (and to the
    generalization criterion when `gen_sweep` is present), three censoring summaries each, with
    95% bootstrap CIs."""
    has_gen = "gen_sweep" in df
    head = ["learner", "ByteDMD / update", "reached train criterion",
            "to train criterion: KM median", "censored at budget", "converged only"]
    if has_gen:
        head += ["reached validation target", "to validation target: KM median",
                 "censored at budget", "converged only"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, g in df.groupby("learner", sort=False):
        ok = finished(g)
        if ok.empty:
            continue
        per = pd.to_numeric(ok["bytedmd_per_update"], errors="coerce").dropna()
        cells = [name, _ci_cell(per, 2, "e") if len(per) else "not measured"]
        for col in (["converged_sweep"] + (["gen_sweep"] if has_gen else [])):
            cc = cost_to_criterion(ok, col)
            reached = int((~cc["censored"]).sum())
            known = int(cc["budget_cost"].notna().sum())
            cells += [f"{reached}/{len(cc)}" + (f" (cost known for {known})" if known < len(cc)
                                                 else "")] + _censored_cells(cc)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def paired(df: pd.DataFrame, reference: str, column: str) -> pd.DataFrame:
    """Wide frame of `column` indexed by (dataset_seed, seed), one column per learner, keeping
    only the pairs where the reference and the learner both finished."""
    ok = finished(df)
    wide = ok.pivot_table(index=list(PAIR_KEYS), columns="learner", values=column,
                          aggfunc="first")
    if reference not in wide:
        raise ValueError(f"reference learner {reference!r} has no finished run")
    return wide


def paired_table(df: pd.DataFrame, reference: str,
                 metrics=(("unseen_acc", True, "unseen acc", (3, "f")),
                          ("cost_train", False, "ByteDMD to train criterion", (2, "e")))
                 ) -> tuple[str, list[str]]:
    """Markdown table of paired comparisons of every learner with `reference` over the
    (data set, seed) pairs, and the list of comparative sentences they license.

    Each metric is (column, higher_is_better, label, (digits, style) for stats.fmt_ci). The pseudo-column
    "cost_train" is ByteDMD to the train criterion, censored runs at their budget (a censored
    run compared with a censored run is a tie at equal budgets)."""
    work = finished(df).copy()
    if "bytedmd_per_update" in work:
        work["cost_train"] = cost_to_criterion(work)["cost"]
    lines = ["| learner | vs " + reference + ": metric | pairs | median paired difference "
             "(95% CI) | won / tied / lost | Wilcoxon p | verdict |",
             "|---|---|---|---|---|---|---|"]
    sentences = []
    for column, higher, label, digits in metrics:
        if column not in work or work[column].isna().all():
            continue
        wide = paired(work, reference, column)
        for name in dict.fromkeys(work["learner"]):
            if name == reference or name not in wide:
                continue
            both = wide[[name, reference]].dropna()
            if both.empty:
                continue
            x, y = both[name].to_numpy(float), both[reference].to_numpy(float)
            res = stats.paired_comparison(x, y, higher_is_better=higher)
            v = stats.verdict(res, names=(name, reference))
            lines.append(
                f"| {name} | {label} | {res.n} | "
                f"{stats.fmt_ci(res.median_diff, res.ci_lo, res.ci_hi, *digits)} | "
                f"{res.won} / {res.tied} / {res.lost} | {res.p_value:.3g} | {v} |")
            sentences.append(f"{label}: {v}" if v != "no detectable difference"
                             else f"{label}: {name} vs {reference}: no detectable difference")
    return "\n".join(lines) + "\n", sentences
