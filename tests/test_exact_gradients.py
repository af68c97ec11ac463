"""The exact rules (bptt, tbptt with k >= T, rtrl) against central finite differences of the loss,
on the v1 network (alpha = 1) and a leaky one (alpha = 0.3); float64, small H, a few sequences.
And the issue-11 pin: leaky RTRL follows leaky BPTT to 1e-10 over 30 sweeps at seed 0."""
import numpy as np
import pytest

import harness
import learners
from harness.task import Batch
from learners.rnn import RNN_PARAMS, RNNLearner

import gradient_checks
from gradient_checks import final_output_loss

EXACT = [("bptt", {}), ("tbptt", {"k": 50}), ("rtrl", {})]


def case(seed, variable):
    """A random network of H = 4 units (biases non-zero), A = 3 letters, and a batch: one segment
    of 3 sequences of 5 steps, or (variable) two segments of different lengths."""
    rng = np.random.default_rng(seed)
    A, H = 3, 4

    class _Task:
        n_letters = A
    state = RNNLearner(n_hidden=H, init_scale=1.0).init(_Task, rng)
    state["b_h"] = 0.3 * rng.standard_normal(H)
    state["b_y"] = 0.3 * rng.standard_normal(3)
    if variable:
        segs = [np.eye(A)[rng.integers(0, A, size=(2, 3))], np.eye(A)[rng.integers(0, A, size=(1, 6))]]
    else:
        segs = [np.eye(A)[rng.integers(0, A, size=(3, 5))]]
    B = sum(s.shape[0] for s in segs)
    targets = np.where(rng.standard_normal((B, 3)) >= 0, 1.0, -1.0)
    return state, Batch(segments=segs, targets=targets)


def numerical_gradient(learner, state, batch, eps=1e-6):
    """Central differences of the final-output loss for every parameter entry."""
    return gradient_checks.numerical_gradient(final_output_loss(learner, batch), state, eps=eps)


@pytest.mark.parametrize("variable", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("name, kw", EXACT)
def test_exact_rule_matches_finite_differences(name, kw, alpha, variable):
    state, batch = case(11 + int(variable), variable)
    L = learners.get(name)(alpha=alpha, **kw)
    g = L.credit(state, batch, L.forward(state, batch))
    num = numerical_gradient(L, state, batch)
    for k in RNN_PARAMS:
        assert g[k].dtype == np.float64
        np.testing.assert_allclose(g[k], num[k], rtol=1e-6, atol=1e-9, err_msg=f"{name} {k}")


@pytest.mark.parametrize("name", ["tbptt", "bptt"])
def test_the_leak_changes_the_gradient(name):
    """The finite-difference test can fail: alpha = 0.3's gradient is not alpha = 1's."""
    state, batch = case(11, False)
    kw = {"k": 50} if name == "tbptt" else {}
    g1 = learners.get(name)(alpha=1.0, **kw)
    g3 = learners.get(name)(alpha=0.3, **kw)
    a = g1.credit(state, batch, g1.forward(state, batch))
    b = g3.credit(state, batch, g3.forward(state, batch))
    assert not np.allclose(a["W_hh"], b["W_hh"])


def test_truncated_leaky_gradient_is_not_the_full_one():
    """tbptt with k < T on the leaky network drops credit (it is exact only for k >= T)."""
    state, batch = case(11, False)
    L = learners.get("tbptt")(alpha=0.3, k=2)
    g = L.credit(state, batch, L.forward(state, batch))
    num = numerical_gradient(L, state, batch)
    np.testing.assert_allclose(g["W_hy"], num["W_hy"], rtol=1e-6, atol=1e-9)
    assert not np.allclose(g["W_xh"], num["W_xh"], rtol=1e-6, atol=1e-9)


def test_leaky_tbptt_with_k_ge_T_is_leaky_bptt_bit_for_bit():
    task = harness.SequenceLookup()
    a = harness.train(learners.get("bptt")(alpha=0.3), task, seed=0, sweeps=30)
    b = harness.train(learners.get("tbptt")(alpha=0.3, k=5, lr=0.05, clip=5.0), task, seed=0,
                      sweeps=30)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k


def test_leaky_rtrl_follows_leaky_bptt_for_30_sweeps():
    """Issue 11's pin: learners.get("rtrl")(alpha=0.3) and learners.get("bptt")(alpha=0.3) give
    parameters equal to 1e-10 after 30 sweeps on seed 0."""
    task = harness.SequenceLookup()
    a = harness.train(learners.get("bptt")(alpha=0.3), task, seed=0, sweeps=30)
    r = harness.train(learners.get("rtrl")(alpha=0.3), task, seed=0, sweeps=30)
    assert r.history["train_acc"].tolist() == a.history["train_acc"].tolist()
    for k in a.params:
        np.testing.assert_allclose(r.params[k], a.params[k], rtol=0, atol=1e-10, err_msg=k)
    assert not np.allclose(a.params["W_hh"],
                           harness.train(learners.get("bptt")(), task, seed=0, sweeps=30)
                           .params["W_hh"])


@pytest.mark.parametrize("alpha", [0.3, 0.6])
def test_rflo_trace_is_exact_without_recurrence(alpha):
    """e-prop's RFLO trace (trace_decay=None: kappa = 1 - alpha) with readout feedback is the exact
    gradient when W_hh = 0 (nothing flows between units): checked against finite differences."""
    state, batch = case(3, False)
    state["W_hh"] = np.zeros_like(state["W_hh"])
    L = learners.get("eprop")(feedback="readout", trace_decay=None, alpha=alpha)
    assert L.config.kappa == pytest.approx(1 - alpha)
    g = L.credit(state, batch, L.forward(state, batch))
    num = numerical_gradient(L, state, batch)
    for k in ("W_xh", "b_h", "W_hy", "b_y"):
        np.testing.assert_allclose(g[k], num[k], rtol=1e-6, atol=1e-9, err_msg=k)
