import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from studies.analysis import crossing_point, fit_power_law, median_spread, pareto_front


@given(k=st.floats(0.2, 4.0), c=st.floats(1e-3, 1e6))
@settings(max_examples=50, deadline=None)
def test_power_law_fit_recovers_exponent(k, c):
    T = np.array([5, 10, 20, 40, 80])
    fit = fit_power_law(T, c * T ** k)
    assert fit["exponent"] == pytest.approx(k, rel=1e-9, abs=1e-9)
    assert fit["coef"] == pytest.approx(c, rel=1e-7)
    assert fit["r2"] == pytest.approx(1.0)


def test_power_law_fit_with_noise_and_errors():
    rng = np.random.default_rng(0)
    T = np.array([5, 10, 20, 40, 80, 160])
    y = 3.0 * T ** 1.5 * np.exp(0.05 * rng.standard_normal(len(T)))
    fit = fit_power_law(T, y)
    assert abs(fit["exponent"] - 1.5) < 0.1 and 0.9 < fit["r2"] < 1.0
    with pytest.raises(ValueError, match="two distinct"):
        fit_power_law([5, 5], [1, 2])


def test_crossing_point():
    T = np.array([5, 10, 20, 40, 80])
    ref = 100 * T ** 2.0          # grows faster
    rule = 1000 * T ** 1.0        # crosses where 100 T^2 = 1000 T: T = 10
    assert crossing_point(T, rule, ref) == pytest.approx(10.0)
    rule2 = 1500 * T ** 1.0       # T = 15, between the measured 10 and 20
    assert crossing_point(T, rule2, ref) == pytest.approx(15.0, rel=1e-9)
    assert crossing_point(T, 100 * T ** 3.0, ref) is None
    assert crossing_point(T, 0.5 * ref, ref) == 5.0


def test_pareto_front():
    cost = [1, 2, 3, 4, 2.5]
    acc = [0.2, 0.5, 0.4, 0.9, 0.5]
    assert pareto_front(cost, acc).tolist() == [0, 1, 3]


def test_median_spread():
    assert median_spread(pd.Series([1, 2, 10])) == "2 [1–10]"
    assert median_spread(pd.Series([None, np.nan])) == "–"
