"""harness.stats: bootstrap intervals, Kaplan-Meier and censored medians, paired Wilcoxon
comparisons and the verdict the README may state. Expected values are computed by hand in the
comments or independently (scipy called directly, numpy medians)."""
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import harness.stats
from harness.stats import (PairedComparison, bootstrap_ci, censored_median, censored_median_ci,
                           fmt_ci, kaplan_meier, km_median, paired_comparison, verdict)


def record_calls(monkeypatch, name, record):
    """Replace harness.stats.<name> by a wrapper that passes record(*args, **kwargs) what it
    returns into a list, then calls the original; returns the list."""
    seen, real = [], getattr(harness.stats, name)

    def wrapper(*a, **kw):
        seen.append(record(*a, **kw))
        return real(*a, **kw)
    monkeypatch.setattr(harness.stats, name, wrapper)
    return seen


# ---- bootstrap ----------------------------------------------------------------------------
@pytest.mark.parametrize("level, lo_cov, hi_cov", [(0.95, 0.91, 0.98), (0.5, 0.40, 0.60)])
def test_bootstrap_coverage_on_a_known_distribution(level, lo_cov, hi_cov):
    # median of N(0, 1) is 0; 300 fixed samples of 30 with fixed bootstrap seeds: deterministic,
    # and the coverage follows the requested level (a too narrow or too wide interval fails)
    rng = np.random.default_rng(1)
    hits = 0
    for k in range(300):
        _, lo, hi = bootstrap_ci(rng.normal(size=30), level=level, n_boot=1000, seed=k)
        hits += lo <= 0 <= hi
    assert lo_cov <= hits / 300 <= hi_cov


def test_bootstrap_mean_matches_normal_theory_for_large_n():
    v = np.random.default_rng(2).exponential(size=400)
    est, lo, hi = bootstrap_ci(v, np.mean, n_boot=4000)
    half = 1.959964 * v.std(ddof=1) / math.sqrt(v.size)
    assert est == v.mean()
    assert lo == pytest.approx(est - half, abs=0.15 * half)
    assert hi == pytest.approx(est + half, abs=0.15 * half)


def test_bootstrap_degenerate_and_deterministic():
    assert bootstrap_ci([0.7]) == (0.7, 0.7, 0.7)
    assert bootstrap_ci([2.0, 2.0, 2.0], n_boot=50) == (2.0, 2.0, 2.0)
    v = np.random.default_rng(3).normal(size=25)
    assert bootstrap_ci(v, seed=5, n_boot=500) == bootstrap_ci(v, seed=5, n_boot=500)
    assert bootstrap_ci(v, seed=5, n_boot=500) != bootstrap_ci(v, seed=6, n_boot=500)
    est, lo, hi = bootstrap_ci(v, n_boot=500)
    assert est == np.median(v) and lo <= est <= hi and v.min() <= lo and hi <= v.max()


def test_bootstrap_stat_without_axis_gives_the_same_interval():
    v = np.random.default_rng(4).normal(size=17)
    a = bootstrap_ci(v, np.median, n_boot=300, seed=2)
    b = bootstrap_ci(v, lambda s: float(np.median(s)), n_boot=300, seed=2)
    assert a == b


def test_bootstrap_nan_and_inf():
    with pytest.raises(ValueError, match="1 NaN.*nan_policy='omit'"):
        bootstrap_ci([1.0, np.nan, 2.0])
    assert bootstrap_ci([1.0, np.nan, 3.0], nan_policy="omit", n_boot=200)[0] == 2.0
    # +inf is a value (e.g. a censored cost): the median of 4 inf among 7 is inf
    est, lo, hi = bootstrap_ci([1, 2, 3, np.inf, np.inf, np.inf, np.inf], n_boot=500)
    assert est == math.inf and hi == math.inf and lo < math.inf
    with pytest.raises(ValueError, match=r"^the statistic is NaN on some bootstrap resamples "
                                         r"\(are \+inf and -inf mixed in the data\?\)$"), \
            np.errstate(invalid="ignore"):
        bootstrap_ci([-np.inf, np.inf], np.mean, n_boot=200)


@pytest.mark.parametrize("kw, msg", [
    (dict(values=[]), "empty"), (dict(values=[[1, 2]]), "one-dimensional"),
    (dict(values=[1, 2], level=1.0), "level must be"), (dict(values=[1, 2], n_boot=0), "n_boot"),
    (dict(values=[1, 2], nan_policy="drop"), "nan_policy"),
    (dict(values=[np.nan], nan_policy="omit"), "all NaN"),
])
def test_bootstrap_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg):
        bootstrap_ci(**kw)


@pytest.mark.parametrize("kw, msg", [
    (dict(values=[]), "values is empty: a statistic needs at least one value"),
    (dict(values=[[1, 2]]), r"values must be one-dimensional, got shape \(1, 2\)"),
    (dict(values=[1, 2], level=0), "level must be a number strictly between 0 and 1, got 0"),
    (dict(values=[1, 2], level=True), "level must be a number strictly between 0 and 1, got True"),
    (dict(values=[1, 2], level="0.9"), "level must be a number strictly between 0 and 1, got '0.9'"),
    (dict(values=[1, 2], n_boot=0), "n_boot must be a positive integer, got 0"),
    (dict(values=[1, 2], n_boot=True), "n_boot must be a positive integer, got True"),
    (dict(values=[1, 2], n_boot=10.0), r"n_boot must be a positive integer, got 10\.0"),
    (dict(values=[1, 2], nan_policy="drop"), "nan_policy must be 'raise' or 'omit', got 'drop'"),
    (dict(values=[1, np.nan, np.nan]), "values contain 2 NaN; pass nan_policy='omit' to drop "
                                       r"them \(and report that you did\)"),
    (dict(values=[np.nan], nan_policy="omit"), "values are all NaN: nothing to bootstrap"),
    (dict(values=[1, 2], stat=lambda s, axis=None: np.median(s) if axis is None else s),
     "stat must reduce each resample to one "
                                                        r"number; got shape \(7, 2\) for 7 resamples"),
])
def test_bootstrap_bad_input_word_for_word(kw, msg):
    kw.setdefault("n_boot", 7)
    with pytest.raises(ValueError, match=f"^{msg}$"):
        bootstrap_ci(**kw)


def test_bootstrap_defaults_are_ten_thousand_resamples_from_seed_zero(monkeypatch):
    v = np.random.default_rng(12).normal(size=50)
    assert bootstrap_ci(v) == bootstrap_ci(v, np.median, level=0.95, n_boot=10_000, seed=0)
    assert bootstrap_ci(v, np.mean) == bootstrap_ci(v, np.mean, seed=0)
    assert bootstrap_ci(v, np.mean) != bootstrap_ci(v, np.mean, seed=1)
    sizes = record_calls(monkeypatch, "_interval", lambda boots, level: (boots.size, level))
    bootstrap_ci(v)
    assert sizes == [(10_000, 0.95)]


def test_one_resample_is_allowed_and_gives_its_own_statistic_as_both_bounds():
    est, lo, hi = bootstrap_ci([1.0, 2.0, 4.0], np.mean, n_boot=1, seed=0)
    assert est == 7 / 3 and lo == hi
    sample = np.array([1.0, 2.0, 4.0])[np.random.default_rng(0).integers(0, 3, size=(1, 3))]
    assert lo == sample.mean()


def test_small_unsigned_integers_are_compared_as_numbers_not_wrapped_around():
    """Values are taken as float64: 0 - 10 in uint8 would wrap around to 246."""
    x = np.array([0, 250, 7, 9, 30], dtype=np.uint8)
    y = np.array([10, 5, 3, 4, 20], dtype=np.uint8)
    ref = paired_comparison(x.astype(float), y.astype(float), n_boot=200)
    assert paired_comparison(x, y, n_boot=200) == ref
    assert (ref.won, ref.lost) == (4, 1)
    assert bootstrap_ci(np.array([200, 100], dtype=np.uint8), np.sum, n_boot=50)[0] == 300.0


def test_bootstrap_accepts_numpy_integers_and_levels_given_as_int_fractions():
    v = np.random.default_rng(8).normal(size=30)
    assert bootstrap_ci(v, n_boot=np.int64(200)) == bootstrap_ci(v, n_boot=200)


def test_bootstrap_is_the_lower_and_higher_order_statistics_of_one_stream_of_resamples():
    """In chunks (here 2,000,000 // 1000 = 2000 resamples at a time) or not, the resamples are
    one stream from default_rng(seed), and the interval is the (1 - level)/2 'lower' and the
    (1 + level)/2 'higher' quantile of their statistics."""
    a = np.random.default_rng(6).exponential(size=1000)
    est, lo, hi = bootstrap_ci(a, np.mean, level=0.9, n_boot=4500, seed=3)
    rng = np.random.default_rng(3)
    boots = a[rng.integers(0, a.size, size=(4500, a.size))].mean(axis=1)
    assert est == a.mean()
    assert lo == np.quantile(boots, 0.05, method="lower")
    assert hi == np.quantile(boots, 0.95, method="higher")
    assert lo in boots and hi in boots


# ---- Kaplan-Meier -------------------------------------------------------------------------
def test_km_hand_computed():
    # times 1..6, censored at 2 and 5.
    # t=1: 6 at risk, 1 event -> 5/6; t=3: 4 at risk -> 5/6*3/4 = 5/8;
    # t=4: 3 at risk -> 5/8*2/3 = 5/12 (first <= 0.5: median 4); t=6: 1 at risk -> 0
    t, s = kaplan_meier([1, 2, 3, 4, 5, 6], [False, True, False, False, True, False])
    assert t.tolist() == [1, 3, 4, 6]
    assert s == pytest.approx([5 / 6, 5 / 8, 5 / 12, 0.0], abs=1e-15)
    assert km_median([1, 2, 3, 4, 5, 6], [False, True, False, False, True, False]) == 4.0


def test_km_takes_censoring_flags_as_any_truth_values():
    t, s = kaplan_meier([1, 2, 3, 4, 5, 6], [0, 1, 0, 0, 1, 0])
    assert t.tolist() == [1, 3, 4, 6]
    assert s == pytest.approx([5 / 6, 5 / 8, 5 / 12, 0.0], abs=1e-15)


@pytest.mark.parametrize("args, msg", [
    (([], []), "times is empty: a statistic needs at least one value"),
    (([[1, 2]], [[False, False]]), r"times must be one-dimensional, got shape \(1, 2\)"),
    (([1, 2], [False]), r"censored has shape \(1,\), times has \(2,\)"),
    (([-1, 2], [False, False]), "times must be finite and non-negative"),
    (([np.inf, 2], [False, False]), "times must be finite and non-negative"),
    (([np.nan, 2], [True, False]), "times must be finite and non-negative"),
])
def test_km_bad_input_word_for_word(args, msg):
    with pytest.raises(ValueError, match=f"^{msg}$"):
        kaplan_meier(*args)


def test_km_ties_between_events_and_censoring():
    # times 2,2,3,3,5 with one of the 2s and the 5 censored; a run censored at t is at risk at t.
    # t=2: 5 at risk, 1 event -> 4/5; t=3: 3 at risk, 2 events -> 4/5 * 1/3 = 4/15
    t, s = kaplan_meier([2, 2, 3, 3, 5], [False, True, False, False, True])
    assert t.tolist() == [2, 3] and s == pytest.approx([0.8, 4 / 15], abs=1e-15)
    assert km_median([2, 2, 3, 3, 5], [False, True, False, False, True]) == 3.0


def test_km_median_exact_half_and_never():
    # S = 0.5 exactly after the 2nd of 4 events: midpoint with the next event (numpy's median)
    assert km_median([1, 2, 3, 4], [False] * 4) == 2.5
    # S(1) = 2/3 and no later event: the curve never falls to 0.5
    assert km_median([1, 5, 5], [False, True, True]) == math.inf


def test_km_without_censoring_is_numpy_median():
    rng = np.random.default_rng(5)
    for n in range(1, 30):
        v = rng.integers(0, 8, size=n).astype(float)       # ties included
        assert km_median(v, np.zeros(n, bool)) == np.median(v)


def test_km_against_exact_fractions():
    # a slow, obviously-correct oracle in exact arithmetic on random censored data
    rng = np.random.default_rng(6)
    for _ in range(30):
        n = int(rng.integers(1, 15))
        t = rng.integers(0, 6, size=n)
        c = rng.random(n) < 0.4
        s, ev, surv = Fraction(1), [], []
        for tj in sorted(set(t[~c].tolist())):
            at_risk = sum(1 for x in t if x >= tj)
            d = sum(1 for x, ci in zip(t, c) if x == tj and not ci)
            s *= 1 - Fraction(d, at_risk)
            ev.append(tj)
            surv.append(float(s))
        got_t, got_s = kaplan_meier(t, c)
        assert got_t.tolist() == ev and got_s == pytest.approx(surv, abs=1e-12)


def test_km_against_lifelines_if_installed():
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(7)
    t = rng.exponential(size=40).round(2) + 0.01
    c = rng.random(40) < 0.3
    kmf = lifelines.KaplanMeierFitter().fit(t, event_observed=~c)
    ev, s = kaplan_meier(t, c)
    assert s == pytest.approx(kmf.survival_function_at_times(ev).to_numpy(), abs=1e-12)


# ---- censored medians ---------------------------------------------------------------------
def test_censored_medians_hand_computed():
    # converged 1, 2; two runs censored at budget 10: at_budget = median(1, 2, 10, 10) = 6;
    # KM: S(2) = 0.5 exactly, no later event -> midpoint with the largest observed time 10 = 6
    m = censored_median([1, 2, np.nan, np.nan], [False, False, True, True], 10)
    assert (m.km, m.at_budget, m.converged_only, m.n, m.n_censored) == (6.0, 6.0, 1.5, 4, 2)


def test_censored_medians_with_per_run_budgets():
    # runs: converged 4, censored at budget 2, converged 6, censored at budget 10, converged 8.
    # KM: t=4: 4 at risk -> 3/4; t=6: 3 at risk -> 1/2 exactly -> midpoint with next event 8 = 7.
    # at_budget: median(4, 2, 6, 10, 8) = 6; converged only: median(4, 6, 8) = 6
    m = censored_median([4, 99, 6, np.nan, 8], [False, True, False, True, False],
                        [20, 2, 20, 10, 20])
    assert (m.km, m.at_budget, m.converged_only) == (7.0, 6.0, 6.0)


def test_km_equals_at_budget_under_one_budget():
    rng = np.random.default_rng(8)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        cens = rng.random(n) < rng.random()
        costs = np.where(cens, np.nan, rng.integers(1, 50, size=n).astype(float))
        m = censored_median(costs, cens, 100.0)
        assert m.km == (m.at_budget if m.at_budget < 100.0 else math.inf)


def test_censored_median_when_most_or_all_runs_are_censored():
    m = censored_median([3, np.nan, np.nan], [False, True, True], 10)
    assert m.km == math.inf and m.at_budget == 10 and m.converged_only == 3
    m = censored_median([np.nan, np.nan], [True, True], 10)
    assert m.km == math.inf and m.at_budget == 10 and math.isnan(m.converged_only)
    ci = censored_median_ci([np.nan, np.nan], [True, True], 10, n_boot=50)
    assert all(math.isnan(v) for v in ci["converged_only"])
    assert ci["at_budget"] == (10.0, 10.0, 10.0) and ci["km"][0] == math.inf


def test_censored_ci_is_the_bootstrap_over_runs():
    rng = np.random.default_rng(9)
    costs = rng.integers(1, 80, size=25).astype(float)
    cens = rng.random(25) < 0.3
    ci = censored_median_ci(costs, cens, 100, n_boot=400, seed=3)
    observed = np.where(cens, 100.0, costs)
    # same resamples (same seed, same draw order) as bootstrap_ci over the observed costs
    assert ci["at_budget"] == bootstrap_ci(observed, np.median, n_boot=400, seed=3)
    m = censored_median(costs, cens, 100)
    for name in ("km", "at_budget", "converged_only"):
        est, lo, hi = ci[name]
        assert est == getattr(m, name) and lo <= est <= hi
    assert ci == censored_median_ci(costs, cens, 100, n_boot=400, seed=3)


def test_censored_ci_defaults_are_ten_thousand_resamples_from_seed_zero(monkeypatch):
    rng = np.random.default_rng(9)
    costs = rng.uniform(1, 80, size=50)
    cens = rng.random(50) < 0.3
    ci = censored_median_ci(costs, cens, 100)
    assert ci["at_budget"] == bootstrap_ci(np.where(cens, 100.0, costs), np.median, seed=0)
    assert ci != censored_median_ci(costs, cens, 100, seed=1)
    sizes = record_calls(monkeypatch, "_interval", lambda boots, level: (boots.size, level))
    censored_median_ci(costs, cens, 100)
    assert sizes == [(10_000, 0.95)] * 3


@pytest.mark.parametrize("args, msg", [
    (([1, 20], [False, False], 10), "a converged run's cost exceeds its budget: check the inputs"),
    (([np.inf, 2], [False, False], 10),
     "costs of runs that reached the criterion must be finite and >= 0"),
    (([-0.5, 2], [False, False], 10),
     "costs of runs that reached the criterion must be finite and >= 0"),
    (([1, 2], [0, 1], 10), "censored must be booleans \\(True = never reached the criterion\\), "
                           "got dtype int64"),
    (([1, 2], [False], 10), r"censored has shape \(1,\), costs has \(2,\)"),
    (([], np.array([], bool), 10), "costs is empty: a statistic needs at least one value"),
    (([[1, 2]], [[False, False]], 10), r"costs must be one-dimensional, got shape \(1, 2\)"),
    (([1, 2], [False, False], [10, np.inf]),
     r"budget must be finite and positive \(a scalar or one per run\)"),
    (([1, 2], [False, False], -1), r"budget must be finite and positive \(a scalar or one per run\)"),
])
def test_censored_bad_input_word_for_word(args, msg):
    with pytest.raises(ValueError, match=f"^{msg}$"):
        censored_median(*args)


def test_censored_inputs_at_their_bounds():
    """A converged run may cost 0 (it met the criterion before any update) or a fraction of a
    unit, up to its budget exactly; budgets may be below 1 and come as a nullable integer column
    of a results frame."""
    m = censored_median([0.0, 0.25, 0.5], [False, False, False], 0.5)
    assert (m.km, m.at_budget, m.converged_only) == (0.25, 0.25, 0.25)
    m = censored_median([1.0, 2.0, 3.0], [False, True, False], pd.array([10, 20, 30], dtype="Int64"))
    assert (m.km, m.at_budget, m.converged_only, m.n_censored) == (3.0, 3.0, 2.0, 1)


@pytest.mark.parametrize("args, msg", [
    (([1, 20], [False, False], 10), "exceeds its budget"),
    (([np.nan, 2], [False, False], 10), "finite and >= 0"),
    (([1, 2], [0, 1], 10), "censored must be booleans"),
    (([1, 2], [False], 10), "shape"),
    (([1, 2], [False, False], 0), "budget must be finite and positive"),
])
def test_censored_bad_input(args, msg):
    with pytest.raises(ValueError, match=msg):
        censored_median(*args)


# ---- paired comparison --------------------------------------------------------------------
def test_wilcoxon_hand_computed():
    # d = 1, 2, 3, -4, 5: W- = 4. Subsets of {1..5} with sum <= 4: {}, {1}, {2}, {3}, {1,2},
    # {4}, {1,3} = 7 of 32 sign patterns, two-sided p = 2 * 7/32 = 0.4375
    y = np.zeros(5)
    c = paired_comparison(np.array([1, 2, 3, -4, 5.0]), y)
    assert c.p_value == pytest.approx(14 / 32, abs=1e-12) and c.method == "exact"
    assert (c.won, c.tied, c.lost) == (4, 0, 1)
    # all five positive: only the empty subset, p = 2/32
    assert paired_comparison(np.arange(1, 6.0), y).p_value == pytest.approx(2 / 32, abs=1e-12)
    # a zero difference is a tied pair, dropped from the test (Wilcoxon's zero_method)
    c = paired_comparison(np.array([1, 2, 3, -4, 5, 0.0]), np.zeros(6))
    assert c.p_value == pytest.approx(14 / 32, abs=1e-12) and c.tied == 1


def test_wilcoxon_hand_computed_with_tied_magnitudes():
    # d = 1, 1, 2, -2, 3: ranks 1.5, 1.5, 3.5, 3.5, 5; W- = 3.5. Sign patterns with W+ <= 3.5:
    # {}, {1.5a}, {1.5b}, {1.5a,1.5b}, {3.5a}, {3.5b} = 6 of 32; two-sided 12/32 = 0.375
    c = paired_comparison(np.array([1, 1, 2, -2, 3.0]), np.zeros(5))
    assert c.p_value == pytest.approx(12 / 32, abs=1e-12) and c.method == "permutation (exact)"


def test_float_noise_neither_breaks_nor_makes_ties():
    # 0.3 - 0.1 and 0.5 - 0.3 differ in floating point but are the same difference
    x = np.array([0.3, 0.5, 0.6, 0.9, 0.4])
    y = np.array([0.1, 0.3, 0.3, 0.5, 0.4])
    c = paired_comparison(x, y)
    ref = paired_comparison(np.array([3, 5, 6, 9, 4.0]), np.array([1, 3, 3, 5, 4.0]))
    assert (c.p_value, c.method, c.tied) == (ref.p_value, ref.method, ref.tied)
    assert c.tied == 1 and c.median_diff == pytest.approx(0.2)


@pytest.mark.parametrize("n, ties", [(20, False), (40, False), (60, False), (30, True)])
def test_wilcoxon_against_scipy(n, ties):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = x - 0.3 + rng.normal(size=n)
    if ties:     # integer data: tied magnitudes and zeros with no float noise for scipy to see
        x, y = np.round(10 * x), np.round(10 * y)
    if ties:
        d = x - y
        assert (d == 0).any() and len(np.unique(np.abs(d))) < len(d)
        ref = sps.wilcoxon(d[d != 0], method="asymptotic", correction=False).pvalue
    else:
        ref = sps.wilcoxon(x, y).pvalue            # scipy's default ("auto")
    assert paired_comparison(x, y, n_boot=200).p_value == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("n, tied, method", [
    (50, False, "exact"), (51, False, "normal approximation"),
    (13, True, "permutation (exact)"), (14, True, "normal approximation"),
])
def test_the_wilcoxon_method_switches_at_50_differences_or_13_with_tied_magnitudes(n, tied, method):
    d = np.arange(1.0, n + 1) * np.where(np.arange(n) % 3 == 0, -1, 1)   # distinct magnitudes
    if tied:
        d[1] = d[0] = 1.0                                                # one tied magnitude
    c = paired_comparison(d, np.zeros(n), n_boot=100)
    assert c.method == method and c.tied == 0
    how = {"exact": "exact", "normal approximation": "asymptotic",
           "permutation (exact)": sps.PermutationMethod()}[method]
    ref = sps.wilcoxon(d, method=how, correction=False).pvalue
    assert c.p_value == pytest.approx(ref, rel=1e-12)


def test_ties_count_as_neither_won_nor_lost_in_either_direction():
    for higher in (True, False):
        c = paired_comparison([1, 2, 3, 9, 5], [2, 3, 4, 8, 5], higher_is_better=higher, n_boot=100)
        assert c.tied == 1 and c.won + c.lost == 4
        assert (c.won, c.lost) == ((1, 3) if higher else (3, 1))


def test_float_noise_differences_are_reported_as_exactly_zero():
    """A tie made by float noise (0.3 - 0.1 against 0.2) enters the median difference and its
    interval as exactly 0, not as the noise."""
    x = np.array([0.3, 0.3, 0.3, 0.7, 0.3])
    y = np.array([0.1, 0.1, 0.1, 0.1, 0.0]) + np.array([0.2, 0.2, 0.2, 0.0, 0.0])
    c = paired_comparison(x, y, n_boot=200)
    assert (x - y)[0] != 0 and c.tied == 3
    assert c.median_diff == 0.0 and c.ci_lo == 0.0


def test_all_pairs_tied():
    c = paired_comparison([0.5, 0.6, 0.7], [0.5, 0.6, 0.7], n_boot=100)
    assert (c.p_value, c.method, c.won, c.tied, c.lost) == (1.0, "all pairs tied", 0, 3, 0)
    assert (c.median_diff, c.ci_lo, c.ci_hi) == (0.0, 0.0, 0.0)
    assert verdict(c) == "no detectable difference"


def test_direction_for_costs():
    # lower is better: x costs less on 3 pairs, more on 1
    c = paired_comparison([1, 2, 3, 9], [2, 3, 4, 8], higher_is_better=False, n_boot=100)
    assert (c.won, c.tied, c.lost) == (3, 0, 1) and c.frac_won == 0.75
    assert c.median_diff == -1.0
    assert c.higher_is_better is False
    assert paired_comparison([1, 2], [0, 1], n_boot=10).higher_is_better is True
    assert paired_comparison([1, 2], [0, 1], higher_is_better=0, n_boot=10).higher_is_better is False


@pytest.mark.parametrize("kw, msg", [
    (dict(x=[1, 2], y=[1]), "paired"), (dict(x=[1, np.inf], y=[1, 2]), "finite"),
    (dict(x=[], y=[]), "empty"), (dict(x=[1, 2], y=[2, 3], level=95), "level"),
])
def test_paired_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg):
        paired_comparison(**kw)


def test_paired_defaults_are_ten_thousand_resamples_from_seed_zero(monkeypatch):
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert paired_comparison(x, y) == paired_comparison(x, y, n_boot=10_000, seed=0)
    assert paired_comparison(x, y) != paired_comparison(x, y, seed=1)
    asked = record_calls(monkeypatch, "bootstrap_ci", lambda *a, **kw: kw)
    paired_comparison(x, y)
    assert asked == [{"level": 0.95, "n_boot": 10_000, "seed": 0}]


@pytest.mark.parametrize("kw, msg", [
    (dict(x=[[1, 2]], y=[1, 2]), r"^x must be one-dimensional, got shape \(1, 2\)$"),
    (dict(x=[1, 2], y=[[1, 2]]), r"^y must be one-dimensional, got shape \(1, 2\)$"),
    (dict(x=[], y=[1]), r"^x is empty: a statistic needs at least one value$"),
    (dict(x=[1], y=[]), r"^y is empty: a statistic needs at least one value$"),
    (dict(x=[1, 2], y=[1]), r"^x and y must be paired: 2 vs 1 values$"),
    (dict(x=[1, 2], y=[1, np.nan]),
     r"^x and y must be finite \(set censored costs to their budget first\)$"),
])
def test_paired_bad_input_names_the_argument(kw, msg):
    with pytest.raises(ValueError, match=msg):
        paired_comparison(**kw)


def test_all_pairs_tied_at_zero():
    """Data that are all zero (scale 0: no grid to snap to) tie on every pair."""
    c = paired_comparison([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], n_boot=100)
    assert (c.p_value, c.method, c.won, c.tied, c.lost) == (1.0, "all pairs tied", 0, 3, 0)
    assert (c.median_diff, c.ci_lo, c.ci_hi) == (0.0, 0.0, 0.0)
    c = paired_comparison([0.0, 0.0, 0.0], [0.0, -1.0, 0.0], n_boot=100)
    assert (c.won, c.tied, c.lost) == (1, 2, 0)


@pytest.mark.parametrize("c", [1e-300, 1e-6, 1e6, 1e300])
def test_the_comparison_does_not_depend_on_the_units(c):
    """Scaling x and y by c > 0 (bytes or gigabytes, pJ or J) changes the median difference and
    its interval by c and nothing else: the same ties, counts, test and p-value. Float-noise
    differences (below 1e-9 of the data's scale) are ties at every scale."""
    x = np.array([3.0, 5.0, 6.0, 9.0, 4.0, 7.0, 2.0, 8.0])
    y = np.array([1.0, 3.0, 3.0, 5.0, 4.0, 8.0, 2.0 + 1e-12, 1.0])
    ref = paired_comparison(x, y, n_boot=500)
    got = paired_comparison(c * x, c * y, n_boot=500)
    assert (got.won, got.tied, got.lost, got.method) == (ref.won, ref.tied, ref.lost, ref.method)
    assert ref.tied == 2 and got.p_value == pytest.approx(ref.p_value, rel=1e-12)
    assert got.median_diff == pytest.approx(c * ref.median_diff, rel=1e-9)
    assert (got.ci_lo, got.ci_hi) == pytest.approx((c * ref.ci_lo, c * ref.ci_hi), rel=1e-9)


# ---- verdict ------------------------------------------------------------------------------
def test_verdict_directions():
    rng = np.random.default_rng(11)
    y = rng.uniform(0.4, 0.6, size=20)
    x = y + 0.05 + 0.01 * rng.normal(size=20)
    assert verdict(paired_comparison(x, y), names=("e-prop", "BPTT")) == "e-prop > BPTT"
    assert verdict(paired_comparison(y, x), names=("e-prop", "BPTT")) == "e-prop < BPTT"
    assert verdict(paired_comparison(x, y)) == "X > Y"


def test_verdict_needs_both_the_test_and_the_interval():
    # five wins of five: the interval excludes 0 but the smallest exact p is 2/32 > 0.05
    c = paired_comparison([1.1, 1.2, 1.3, 1.4, 1.5], [1.0] * 5, n_boot=500)
    assert c.ci_lo > 0 and c.p_value == pytest.approx(0.0625)
    assert verdict(c) == "no detectable difference"
    # 8 wins and 12 ties: p = 2/256 < 0.05 on the 8, but the median difference is 0
    x = np.r_[np.arange(1, 9.0), np.zeros(12)]
    c = paired_comparison(x, np.zeros(20), n_boot=500)
    assert c.p_value < 0.05 and c.ci_lo <= 0 <= c.ci_hi
    assert verdict(c) == "no detectable difference"


def _cmp(p_value, ci_lo, ci_hi):
    return PairedComparison(n=10, won=5, tied=0, lost=5, p_value=p_value, method="exact",
                            median_diff=(ci_lo + ci_hi) / 2, ci_lo=ci_lo, ci_hi=ci_hi,
                            level=0.95, higher_is_better=True)


@pytest.mark.parametrize("p_value, ci_lo, ci_hi, said", [
    (0.049, 0.1, 0.3, "X > Y"), (0.05, 0.1, 0.3, "no detectable difference"),
    (0.049, 0.0, 0.3, "no detectable difference"),
    (0.049, -0.3, -0.1, "X < Y"), (0.05, -0.3, -0.1, "no detectable difference"),
    (0.049, -0.3, 0.0, "no detectable difference"), (0.049, -0.3, 0.5, "no detectable difference"),
])
def test_verdict_at_its_boundaries(p_value, ci_lo, ci_hi, said):
    """A direction needs p strictly below alpha and an interval strictly on one side of 0."""
    assert verdict(_cmp(p_value, ci_lo, ci_hi)) == said


def test_verdict_level_must_match_alpha():
    c = paired_comparison([1, 2, 3, 4.0], [0, 0, 0, 0.0], n_boot=50)
    with pytest.raises(ValueError, match="level=0.99"):
        verdict(c, alpha=0.01)
    c99 = paired_comparison([1, 2, 3, 4.0], [0, 0, 0, 0.0], level=0.99, n_boot=50)
    assert isinstance(c99, PairedComparison) and verdict(c99, alpha=0.01) == "no detectable difference"


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0, -0.05, 1.5])
def test_verdict_rejects_an_alpha_outside_the_open_interval(alpha):
    """alpha must lie strictly between 0 and 1; the error says so (not a level mismatch)."""
    c = paired_comparison([1, 2, 3, 4.0], [0, 0, 0, 0.0], n_boot=50)
    with pytest.raises(ValueError, match="alpha must be strictly between 0 and 1"):
        verdict(c, alpha=alpha)


# ---- formatting ---------------------------------------------------------------------------
def test_fmt_ci():
    assert fmt_ci(0.506, 0.424, 0.586) == "0.506 [0.424, 0.586]"
    assert fmt_ci(0.5, 0.25, 0.75, digits=2) == "0.50 [0.25, 0.75]"
    assert fmt_ci(6.8e9, 5.04e9, 1.6e10, digits=1, style="e") == "6.8e+09 [5.0e+09, 1.6e+10]"
    assert fmt_ci(22, 18, math.inf, digits=0) == "22 [18, inf]"
    assert fmt_ci(math.nan, None, math.nan) == "n/a [n/a, n/a]"
    assert fmt_ci(*bootstrap_ci([0.7])) == "0.700 [0.700, 0.700]"
    with pytest.raises(ValueError, match="style"):
        fmt_ci(1, 0, 2, style="%")


def test_fmt_ci_styles_signs_and_bad_digits():
    assert fmt_ci(-math.inf, -math.inf, 0.5, digits=1) == "-inf [-inf, 0.5]"
    assert fmt_ci(1234.5, 1000, 2e6, digits=2, style="g") == "1.2e+03 [1e+03, 2e+06]"
    assert fmt_ci(np.float32(0.25), np.int64(0), 1) == "0.250 [0.000, 1.000]"
    assert fmt_ci(1, 0, 2, digits=0, style="e") == "1e+00 [0e+00, 2e+00]"
    with pytest.raises(ValueError, match=r"^style must be 'f', 'e' or 'g', got '%'$"):
        fmt_ci(1, 0, 2, style="%")
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match=f"^digits must be a non-negative integer, got {bad!r}$"):
            fmt_ci(1, 0, 2, digits=bad)
