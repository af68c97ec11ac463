"""Small, tested analysis helpers the studies share: power-law fits, crossings, Pareto fronts."""
from __future__ import annotations

import numpy as np

from studies.common import median_spread  # noqa: F401 (the cell format, written once there)


def fit_power_law(x, y) -> dict:
    """Least-squares fit of log y = log c + k log x. Returns {"exponent": k, "coef": c, "r2"}.
    Needs at least two points with x, y > 0."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    if len(np.unique(x)) < 2:
        raise ValueError("fit_power_law needs at least two distinct positive x values")
    lx, ly = np.log(x), np.log(y)
    k, b = np.polyfit(lx, ly, 1)
    pred = k * lx + b
    ss_res = float(np.sum((ly - pred) ** 2))
    ss_tot = float(np.sum((ly - ly.mean()) ** 2))
    return {"exponent": float(k), "coef": float(np.exp(b)),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0}


def crossing_point(x, y_rule, y_ref) -> float | None:
    """The smallest x at which y_rule drops below y_ref, interpolated linearly in log-log between
    the measured points that bracket it; x[0] if it is already below at the first point; None if
    it never does in the measured range."""
    x = np.asarray(x, float)
    a, b = np.asarray(y_rule, float), np.asarray(y_ref, float)
    order = np.argsort(x)
    x, a, b = x[order], a[order], b[order]
    d = np.log(a) - np.log(b)
    if d[0] < 0:
        return float(x[0])
    for i in range(1, len(x)):
        if d[i] < 0 <= d[i - 1]:
            lx0, lx1 = np.log(x[i - 1]), np.log(x[i])
            t = d[i - 1] / (d[i - 1] - d[i])
            return float(np.exp(lx0 + t * (lx1 - lx0)))
    return None


def pareto_front(cost, quality) -> np.ndarray:
    """Indices of the points no other point beats: lower cost and higher quality (ties: equal in
    both do not dominate). Sorted by cost."""
    cost, quality = np.asarray(cost, float), np.asarray(quality, float)
    idx = [i for i in range(len(cost))
           if not np.any((cost <= cost[i]) & (quality >= quality[i])
                         & ((cost < cost[i]) | (quality > quality[i])))]
    return np.array(sorted(idx, key=lambda i: (cost[i], -quality[i])), dtype=int)
