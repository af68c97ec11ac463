"""ByteDMD depends on the order of scalar work (docs/cost_model_order.md).

1. The published hinton-problems v2 per-update figures (8-3-8 encoder, 1 byte per element,
   reference ByteDMD tracer on pure-Python kernels) come out exactly from this project's tracked
   arrays running scalar-order kernels (tests/scalar_kernels.py).
2. The same updates in numpy's order (one whole-array operation after another) cost more: with
   the very same instructions and results (`*_whole_array`), and as numpy code is usually written
   (`*_matmul`). Those costs are this project's own measurements, pinned as regression values.
"""
import numpy as np
import pytest

import metrics
from metrics.api import trace_call

import scalar_kernels as sk

# Published: github cybertronai/hinton-problems, v2-bytedmd/README.md and PR #50 (2026-05),
# "Per full-batch update", reference tracer (cybertronai/ByteDMD), bytes_per_element=1.
PUBLISHED = {"backprop": 18_327, "backprop forward": 6_489,
             "CD-1": 24_641, "CD-1 positive phase": 7_484, "CD-5": 67_581}

# Measured by this project (python -m pytest tests/test_evaluation_order.py), not published.
WHOLE_ARRAY = {"backprop": 33_387, "CD-1": 75_192, "CD-5": 222_344}
MATMUL = {"backprop": 20_208, "CD-1": 37_108, "CD-5": 121_396}


def _backprop_args(seed=0):
    return (*sk.init_backprop(seed), sk.one_hot_patterns())


def _boltzmann_args(k, seed=0):
    return (*sk.init_boltzmann(seed), sk.paired_patterns(), k)


CASES = {  # name: (scalar kernel, whole-array kernel, matmul kernel, args)
    "backprop": (sk.backprop_gradient, sk.backprop_gradient_whole_array,
                 sk.backprop_gradient_matmul, _backprop_args()),
    "CD-1": (sk.boltzmann_cd_gradient, sk.boltzmann_cd_gradient_whole_array,
             sk.boltzmann_cd_gradient_matmul, _boltzmann_args(1)),
    "CD-5": (sk.boltzmann_cd_gradient, sk.boltzmann_cd_gradient_whole_array,
             sk.boltzmann_cd_gradient_matmul, _boltzmann_args(5)),
}


def _cost(func, args):
    return metrics.bytedmd(func, args, bytes_per_element=1)


def _plain(x):
    return np.asarray(x.peek() if hasattr(x, "peek") else x)


@pytest.mark.parametrize("name", ["backprop", "CD-1", "CD-5"])
def test_scalar_order_reproduces_published_update(name):
    scalar, _, _, args = CASES[name]
    assert _cost(scalar, args) == PUBLISHED[name]


def test_scalar_order_reproduces_published_phases():
    assert _cost(sk.backprop_forward, _backprop_args()) == PUBLISHED["backprop forward"]
    assert _cost(sk.boltzmann_positive, _boltzmann_args(1)) == PUBLISHED["CD-1 positive phase"]


def test_escapes_are_the_reference_tracers_float_and_bool():
    """Each sigmoid leaves the model three times (two clamp tests, one float), range(k) once."""
    _, tr = trace_call(sk.backprop_gradient, _backprop_args(), bytes_per_element=1)
    assert tr.escapes == 3 * (8 * 3 + 8 * 8)
    for k in (1, 5):
        _, tr = trace_call(sk.boltzmann_cd_gradient, _boltzmann_args(k), bytes_per_element=1)
        assert tr.escapes == 3 * (8 * 3 + k * 8 * (16 + 3)) + 1


def test_published_mean_over_seeds_is_every_seeds_cost():
    """The study reports the mean over seeds 0-4; the cost does not depend on the values."""
    assert {_cost(sk.backprop_gradient, _backprop_args(s)) for s in range(1, 5)} == \
        {PUBLISHED["backprop"]}
    assert {_cost(sk.boltzmann_cd_gradient, _boltzmann_args(1, s)) for s in range(1, 5)} == \
        {PUBLISHED["CD-1"]}


@pytest.mark.parametrize("name", ["backprop", "CD-1", "CD-5"])
def test_whole_array_order_same_work_costs_more(name):
    scalar, whole, _, args = CASES[name]
    r_s, t_s = trace_call(scalar, args, bytes_per_element=1)
    r_w, t_w = trace_call(whole, args, bytes_per_element=1)
    # the same instructions, reads, escapes and bit-identical results: only the order differs
    assert (t_w.n_values, t_w.n_reads, t_w.escapes) == (t_s.n_values, t_s.n_reads, t_s.escapes)
    for a, b in zip(r_s, r_w):
        assert np.array_equal(_plain(a), _plain(b))
    cost = _cost(whole, args)
    assert cost > PUBLISHED[name]
    assert cost == WHOLE_ARRAY[name]


@pytest.mark.parametrize("name", ["backprop", "CD-1", "CD-5"])
def test_usual_numpy_costs_more_with_fewer_reads(name):
    scalar, _, mm, args = CASES[name]
    r_s, t_s = trace_call(scalar, args, bytes_per_element=1)
    r_m, t_m = trace_call(mm, args, bytes_per_element=1)
    assert t_m.n_reads < t_s.n_reads and t_m.escapes == t_s.escapes
    for a, b in zip(r_s, r_m):
        np.testing.assert_allclose(_plain(a), _plain(b), rtol=0, atol=1e-15)
    cost = _cost(mm, args)
    assert cost > PUBLISHED[name]
    assert cost == MATMUL[name]
