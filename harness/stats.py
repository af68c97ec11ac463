"""Statistics behind every number the studies report: bootstrap intervals, censored medians of
cost to criterion, paired comparisons, and one format for "estimate [lo, hi]".

Conventions (docs/protocol.md states them for readers of the results):
- Percentile bootstrap over the given units (runs, or (data set, seed) pairs): `n_boot`
  resamples of the same size with replacement from `numpy.random.default_rng(seed)`; the
  interval is the pair of order statistics of the resampled statistic at (1 - level)/2 (numpy
  quantile method "lower") and (1 + level)/2 (method "higher"): no interpolation, so infinite
  values (censored costs) pass through unchanged.
- Costs to criterion of runs that never reach the criterion are right-censored at the run's whole
  budget (same unit as the costs: sweeps, elements, ByteDMD). Three medians are reported, named:
  `km` (Kaplan-Meier), `at_budget` (censored runs counted at their budget) and `converged_only`.
- Paired comparisons use differences d = x - y over matched (data set, seed) pairs.

numpy and scipy only; this module knows nothing of learners or tasks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

KM_TIE_TOL = 1e-9     # |S(t) - 0.5| below this counts as S(t) = 0.5 exactly (the median rule)
DIFF_REL_TOL = 1e-9   # paired differences equal to this fraction of the data's scale are ties


# ---- input checks -------------------------------------------------------------------------
def _as_1d(values, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty: a statistic needs at least one value")
    return a


def _check_level(level):
    if not isinstance(level, (float, int)) or isinstance(level, bool) or not 0 < level < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")


def _check_n_boot(n_boot):
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot <= 0:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")


def _interval(boots: np.ndarray, level: float) -> tuple[float, float]:
    """Order-statistic percentile interval of resampled statistics."""
    if np.isnan(boots).any():
        raise ValueError("the statistic is NaN on some bootstrap resamples (are +inf and -inf "
                         "mixed in the data?)")
    lo = np.quantile(boots, (1 - level) / 2, method="lower")
    hi = np.quantile(boots, (1 + level) / 2, method="higher")
    return float(lo), float(hi)


# ---- bootstrap ----------------------------------------------------------------------------
def bootstrap_ci(values, stat=np.median, level: float = 0.95, n_boot: int = 10_000,
                 seed: int = 0, nan_policy: str = "raise") -> tuple[float, float, float]:
    """Percentile bootstrap interval of `stat` over `values` -> (estimate, lo, hi).

    estimate = stat(values); lo, hi as in the module docstring. `stat` is called as
    stat(samples, axis=1) on a (resamples, n) array when it accepts `axis` (numpy reductions do),
    else once per resample. NaN means "no value": nan_policy="raise" (default) refuses it, "omit"
    drops NaN values first (say so where it is used). +inf/-inf are kept as values (e.g. a
    censored cost), so the estimate or a bound may be inf. One value gives the degenerate
    interval (v, v, v). Deterministic for a given seed.
    """
    a = _as_1d(values, "values")
    _check_level(level)
    _check_n_boot(n_boot)
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    if np.isnan(a).any():
        if nan_policy == "raise":
            raise ValueError(f"values contain {int(np.isnan(a).sum())} NaN; pass "
                             f"nan_policy='omit' to drop them (and report that you did)")
        a = a[~np.isnan(a)]
        if a.size == 0:
            raise ValueError("values are all NaN: nothing to bootstrap")
    est = float(stat(a))
    rng = np.random.default_rng(seed)
    n = a.size
    chunk = max(1, 2_000_000 // n)          # bound memory: at most ~2e6 resampled elements
    boots = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        samples = a[rng.integers(0, n, size=(m, n))]
        try:
            out = np.asarray(stat(samples, axis=1), dtype=float)
        except TypeError:
            out = np.array([stat(row) for row in samples], dtype=float)
        if out.shape != (m,):
            raise ValueError(f"stat must reduce each resample to one number; got shape "
                             f"{out.shape} for {m} resamples")
        boots[start:start + m] = out
    lo, hi = _interval(boots, level)
    return est, lo, hi


# ---- censored costs -----------------------------------------------------------------------
def kaplan_meier(times, censored) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival curve of right-censored times -> (event_times, survival).

    event_times: the distinct times of uncensored observations, ascending; survival[i]: the
    estimate of P(T > event_times[i]), i.e. prod over event times t_j <= t_i of (1 - d_j / n_j),
    with d_j the events at t_j and n_j the observations with time >= t_j (a run censored at t_j
    is still at risk at t_j: censoring is taken to happen just after events at the same time).
    """
    t = _as_1d(times, "times")
    c = np.asarray(censored, dtype=bool)
    if c.shape != t.shape:
        raise ValueError(f"censored has shape {c.shape}, times has {t.shape}")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("times must be finite and non-negative")
    ev_times, d = np.unique(t[~c], return_counts=True)            # events d_j at t_j
    n_at_risk = t.size - np.searchsorted(np.sort(t), ev_times, side="left")   # time >= t_j
    return ev_times, np.cumprod(1.0 - d / n_at_risk)


def km_median(times, censored) -> float:
    """Kaplan-Meier median: the smallest event time t with S(t) <= 0.5; where S(t) is exactly
    0.5 (to KM_TIE_TOL) the midpoint between t and the next event time (or, if there is none,
    the largest observed time), the convention of R's survfit, which makes the KM median equal
    numpy's median when nothing is censored. Returns math.inf when the curve never falls to
    0.5: more than half the runs censored before reaching the criterion, so the median lies
    beyond the budget and is not estimable."""
    ev, surv = kaplan_meier(times, censored)
    below = np.nonzero(surv <= 0.5 + KM_TIE_TOL)[0]
    if below.size == 0:
        return math.inf
    i = int(below[0])
    if abs(surv[i] - 0.5) > KM_TIE_TOL:
        return float(ev[i])
    nxt = float(ev[i + 1]) if i + 1 < ev.size else float(np.max(np.asarray(times, float)))
    return (float(ev[i]) + nxt) / 2


@dataclass(frozen=True)
class CensoredMedians:
    """Three medians of cost to criterion over runs (unit: that of the costs).
    km: Kaplan-Meier median, censored runs right-censored at their budget (inf if the KM curve
    never falls to 0.5); at_budget: median with censored runs counted at their budget;
    converged_only: median over runs that reached the criterion (nan if none did)."""
    km: float
    at_budget: float
    converged_only: float
    n: int
    n_censored: int


def _censored_inputs(costs, censored, budget):
    c = np.asarray(censored)
    if c.dtype != bool:
        raise ValueError(f"censored must be booleans (True = never reached the criterion), got "
                         f"dtype {c.dtype}")
    x = _as_1d(costs, "costs")
    if c.shape != x.shape:
        raise ValueError(f"censored has shape {c.shape}, costs has {x.shape}")
    b = np.broadcast_to(np.asarray(budget, dtype=float), x.shape).copy()
    if not np.isfinite(b).all() or (b <= 0).any():
        raise ValueError("budget must be finite and positive (a scalar or one per run)")
    conv = x[~c]
    if not np.isfinite(conv).all() or (conv < 0).any():
        raise ValueError("costs of runs that reached the criterion must be finite and >= 0")
    if (conv > b[~c]).any():
        raise ValueError("a converged run's cost exceeds its budget: check the inputs")
    observed = np.where(c, b, x)        # censored runs: observed up to their whole budget
    return observed, c


def _medians(observed: np.ndarray, c: np.ndarray, empty_conv: float) -> tuple[float, float, float]:
    conv = observed[~c]
    return (km_median(observed, c), float(np.median(observed)),
            float(np.median(conv)) if conv.size else empty_conv)


def censored_median(costs, censored, budget) -> CensoredMedians:
    """The three medians of cost to criterion (see CensoredMedians). `costs[i]` is run i's cost
    to criterion, ignored when `censored[i]` is True (it may be NaN); `budget` is the whole
    budget's cost, a scalar or one per run. With one budget above every converged cost, km
    equals at_budget whenever at_budget is below the budget, and is inf otherwise."""
    observed, c = _censored_inputs(costs, censored, budget)
    km, at_b, conv = _medians(observed, c, math.nan)
    return CensoredMedians(km=km, at_budget=at_b, converged_only=conv, n=int(c.size),
                           n_censored=int(c.sum()))


def censored_median_ci(costs, censored, budget, level: float = 0.95, n_boot: int = 10_000,
                       seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """Bootstrap over runs (a run keeps its cost, censoring and budget) of the three medians:
    {"km": (est, lo, hi), "at_budget": ..., "converged_only": ...}. A resample whose KM curve
    stays above 0.5, or that holds no converged run, gives +inf for that median; so an upper
    bound is inf when that happens in more than (1 - level)/2 of the resamples. converged_only
    is (nan, nan, nan) when no run converged."""
    observed, c = _censored_inputs(costs, censored, budget)
    _check_level(level)
    _check_n_boot(n_boot)
    est = _medians(observed, c, math.nan)
    rng = np.random.default_rng(seed)
    n = observed.size
    boots = np.empty((n_boot, 3))
    for k in range(n_boot):
        idx = rng.integers(0, n, size=n)
        boots[k] = _medians(observed[idx], c[idx], math.inf)
    out = {}
    for j, name in enumerate(("km", "at_budget", "converged_only")):
        if math.isnan(est[j]):
            out[name] = (math.nan, math.nan, math.nan)
        else:
            out[name] = (est[j], *_interval(boots[:, j], level))
    return out


# ---- paired comparisons -------------------------------------------------------------------
@dataclass(frozen=True)
class PairedComparison:
    """x against y over matched pairs. won/tied/lost count pairs where x is better / equal /
    worse (better = larger if higher_is_better, else smaller). p_value: two-sided Wilcoxon
    signed-rank test of the differences (1.0 when every pair ties); method: how scipy computed
    it. median_diff [ci_lo, ci_hi]: median of x - y with its percentile bootstrap interval."""
    n: int
    won: int
    tied: int
    lost: int
    p_value: float
    method: str
    median_diff: float
    ci_lo: float
    ci_hi: float
    level: float
    higher_is_better: bool

    @property
    def frac_won(self) -> float:
        return self.won / self.n

    @property
    def frac_tied(self) -> float:
        return self.tied / self.n

    @property
    def frac_lost(self) -> float:
        return self.lost / self.n


def paired_comparison(x, y, higher_is_better: bool = True, level: float = 0.95,
                      n_boot: int = 10_000, seed: int = 0) -> PairedComparison:
    """Compare x with y over matched pairs (x[i] and y[i] from the same data set and seed).

    Differences d = x - y are snapped to a grid of DIFF_REL_TOL times the data's scale
    (max |x|, |y|) so that float noise neither breaks a tie (d = 0) nor separates equal |d|
    (which share their average rank); the test uses the snapped d, the median difference and
    its interval the raw d with ties set to exactly 0. Tied pairs (d = 0) are dropped before
    the test (Wilcoxon's own treatment, scipy's zero_method="wilcox") and count as ties in
    won/tied/lost. The p-value is the two-sided scipy.stats.wilcoxon of the non-zero
    differences, with the method chosen here as scipy's "auto" would (and named in `method`):
    the exact null distribution for <= 50 differences without tied magnitudes, the exact
    permutation distribution (every sign pattern) for <= 13 with tied magnitudes, otherwise
    the normal approximation with the tie correction and no continuity correction. When every
    pair ties there is no evidence of a difference: p = 1.0, method "all pairs tied". x and y
    must be finite (set censored costs to their budget, or compare ranks, before calling).
    """
    xa, ya = _as_1d(x, "x"), _as_1d(y, "y")
    if xa.shape != ya.shape:
        raise ValueError(f"x and y must be paired: {xa.size} vs {ya.size} values")
    if not (np.isfinite(xa).all() and np.isfinite(ya).all()):
        raise ValueError("x and y must be finite (set censored costs to their budget first)")
    _check_level(level)
    d = xa - ya
    scale = max(float(np.max(np.abs(xa))), float(np.max(np.abs(ya))))
    if scale > 0:
        q = DIFF_REL_TOL * scale
        d_test = np.round(d / q) * q           # snap: float-noise differences become equal
    else:
        d_test = d
    nz = d_test[d_test != 0]
    if nz.size == 0:
        p, method = 1.0, "all pairs tied"
    else:
        _, counts = np.unique(np.abs(nz), return_counts=True)
        tied_ranks = bool((counts > 1).any())
        if nz.size <= 50 and not tied_ranks:
            method, how = "exact", "exact"
        elif nz.size <= 13:          # 2**13 <= 9999 resamples: every sign pattern, deterministic
            method, how = "permutation (exact)", _sps.PermutationMethod()
        else:
            method, how = "normal approximation", "asymptotic"
        res = _sps.wilcoxon(nz, zero_method="wilcox", correction=False,
                            alternative="two-sided", method=how)
        p = float(res.pvalue)
    better = d_test > 0 if higher_is_better else d_test < 0
    worse = d_test < 0 if higher_is_better else d_test > 0
    d_report = np.where(d_test == 0, 0.0, d)     # raw differences, ties exactly 0
    est, lo, hi = bootstrap_ci(d_report, np.median, level=level, n_boot=n_boot, seed=seed)
    return PairedComparison(n=int(d.size), won=int(better.sum()), tied=int((d_test == 0).sum()),
                            lost=int(worse.sum()), p_value=p, method=method, median_diff=est,
                            ci_lo=lo, ci_hi=hi, level=level,
                            higher_is_better=bool(higher_is_better))


def verdict(cmp: PairedComparison, alpha: float = 0.05, names: tuple[str, str] = ("X", "Y")) -> str:
    """What may be said of x against y: "X > Y" (x's values are larger: higher accuracy, or for a
    cost, more cost), "X < Y", or "no detectable difference". A direction needs both the
    Wilcoxon p-value < alpha and the (1 - alpha) bootstrap interval of the median difference
    x - y excluding 0 on that side; `cmp` must have been computed at level = 1 - alpha."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be strictly between 0 and 1, got {alpha!r}")
    if abs((1 - cmp.level) - alpha) > 1e-12:
        raise ValueError(f"the comparison's interval is at level {cmp.level}, which does not "
                         f"match alpha={alpha}: use paired_comparison(level={1 - alpha:g})")
    x, y = names
    if cmp.p_value < alpha and cmp.ci_lo > 0:
        return f"{x} > {y}"
    if cmp.p_value < alpha and cmp.ci_hi < 0:
        return f"{x} < {y}"
    return "no detectable difference"


# ---- formatting ---------------------------------------------------------------------------
def _fmt(v, digits: int, style: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    v = float(v)
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}{style}}"


def fmt_ci(est, lo, hi, digits: int = 3, style: str = "f") -> str:
    """"est [lo, hi]", e.g. fmt_ci(0.506, 0.424, 0.586) -> "0.506 [0.424, 0.586]". style "f"
    (digits after the point), "e" (costs spanning decades: "6.8e+09 [...]" with digits=1) or
    "g" (digits significant). NaN/None -> "n/a", inf -> "inf". The caller's table header says
    what the interval is (e.g. "median [95% CI]")."""
    if style not in ("f", "e", "g"):
        raise ValueError(f"style must be 'f', 'e' or 'g', got {style!r}")
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"digits must be a non-negative integer, got {digits!r}")
    return f"{_fmt(est, digits, style)} [{_fmt(lo, digits, style)}, {_fmt(hi, digits, style)}]"
