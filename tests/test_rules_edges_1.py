"""Edges of five rules (issue 8): checkpointed_bptt, feedback_alignment, rtrl, snap1, uoro.

What tests/test_rules_fa_ckpt_wp.py, test_rules_rtrl_family.py, test_per_step_rules.py,
test_exact_gradients.py and test_formats.py leave out:
- every rule on a per_step batch: its output cache["y"] is the final step's (predict's) and each
  step's readout is computed once (the final output is not recomputed);
- their hyperparameters at the edges of their ranges, with the exact one-line messages;
- feedback alignment's fixed feedback drawn after the network with the documented scales
  (B_hy like W_hy^T, B_hh like W_hh^T), and its credit (fa and dfa, final and per_step targets,
  with and without the leak) against a per-sequence reference written from its docstring, with
  random feedback (not the transposes, where it is BPTT);
and further properties of rtrl, snap1 and uoro listed in their sections.
"""
from types import SimpleNamespace

import numpy as np
import pytest

import learners
from harness.task import Batch
from learners.rnn import RNN_PARAMS, RNNLearner

H_UNITS, A_LETTERS = 4, 3           # H != 3: a (b, 3) tanh output is the readout's


def case(seed, per_step, variable=True, H=H_UNITS):
    """A random network (H units, A = 3 letters, init_scale 1, non-zero biases) and a batch of
    random +-1 targets: two segments of 2 x 3 and 1 x 6 steps (variable) or one of 3 x 5 steps;
    per_step: a target at every step, the last one equal to `targets`."""
    rng = np.random.default_rng(seed)
    state = RNNLearner(n_hidden=H, init_scale=1.0).init(SimpleNamespace(n_letters=A_LETTERS), rng)
    state["b_h"] = 0.3 * rng.standard_normal(H)
    state["b_y"] = 0.3 * rng.standard_normal(3)
    shapes = [(2, 3), (1, 6)] if variable else [(3, 5)]
    segs = [np.eye(A_LETTERS)[rng.integers(0, A_LETTERS, size=s)] for s in shapes]
    steps = [np.where(rng.standard_normal(s + (3,)) >= 0, 1.0, -1.0) for s in shapes]
    targets = np.concatenate([S[:, -1] for S in steps])
    return state, Batch(segments=segs, targets=targets, step_targets=steps if per_step else None)


def grads_of(learner, state, batch):
    return learner.credit(state, batch, learner.forward(state, batch))


def readout_calls(monkeypatch):
    """Record the shape of every np.tanh output with 3 columns (the readout: H != 3)."""
    calls, real = [], np.tanh

    def counting(x, *a, **k):
        out = real(x, *a, **k)
        if np.ndim(out) == 2 and np.shape(out)[1] == 3:
            calls.append(np.shape(out))
        return out
    monkeypatch.setattr(np, "tanh", counting)
    return calls


# ---- every rule of this file: the per_step output --------------------------------------------
RULES = [("checkpointed_bptt", {}), ("checkpointed_bptt", {"k": 2}), ("feedback_alignment", {}),
         ("rtrl", {}), ("snap1", {}), ("uoro", {})]


def _with_rule_state(name, hyper, state):
    L = learners.get(name)(n_hidden=H_UNITS, **hyper)
    full = L.init(SimpleNamespace(n_letters=A_LETTERS), np.random.default_rng(5))
    return L, dict(full, **state)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("name, hyper", RULES)
def test_per_step_output_is_the_final_steps(name, hyper, alpha):
    """On a per_step batch, cache["y"] is y_{T-1} = predict's output, bit for bit, in batch order
    (segments of 3 and 6 steps: not the first or the second-to-last step's)."""
    state, batch = case(21, per_step=True)
    L, state = _with_rule_state(name, dict(hyper, alpha=alpha), state)
    y = L.forward(state, batch)["y"]
    assert y.shape == (3, 3)
    assert np.array_equal(y, L.predict(state, batch))


@pytest.mark.parametrize("name, hyper", RULES)
def test_each_readout_is_computed_once(name, hyper, monkeypatch):
    """The forward computes the readout tanh once per step on a per_step batch (the final output
    is y_{T-1}, not recomputed) and once per segment on a final batch: a measurement prices
    exactly these."""
    for per_step, want in ((True, [(2, 3)] * 3 + [(1, 3)] * 6), (False, [(2, 3), (1, 3)])):
        state, batch = case(22, per_step=per_step)
        L, state = _with_rule_state(name, hyper, state)
        calls = readout_calls(monkeypatch)
        L.forward(state, batch)
        monkeypatch.undo()
        assert calls == want, (per_step, calls)


# ---- checkpointed BPTT -------------------------------------------------------------------------
def test_checkpoint_interval_edges_and_message():
    C = learners.get("checkpointed_bptt")
    for T in (1, 2, 4, 5, 10):
        assert C().interval(T) == int(np.ceil(np.sqrt(T)))          # k None: ceil(sqrt(T))
    assert C(k=1).interval(100) == 1                                # k = 1: the lower edge
    k = C(k=np.int64(7)).interval(3)                                # k > T: one checkpoint
    assert k == 7 and type(k) is int
    for bad, shown in ((0, "0 (int)"), (-1, "-1 (int)"), (2.0, "2.0 (float)"),
                       (True, "True (bool)"), ("3", "'3' (str)")):
        with pytest.raises(ValueError) as e:
            C(k=bad)
        assert str(e.value) == ("CheckpointedBPTTConfig: k must be an integer >= 1 or None, "
                                f"got {shown}")


# ---- feedback alignment ------------------------------------------------------------------------
@pytest.mark.parametrize("feedback", ["fa", "dfa"])
def test_feedback_is_drawn_after_the_network_at_the_documented_scales(feedback):
    """B_hy = init_scale N(0, 1) (H, 3), then (fa only) B_hh = init_scale 0.7 / sqrt(H) N(0, 1)
    (H, H), drawn from the run's generator right after the network's draws."""
    H, s = 7, 0.8
    task = SimpleNamespace(n_letters=5)
    L = learners.get("feedback_alignment")(n_hidden=H, init_scale=s, feedback=feedback)
    state = L.init(task, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    net = RNNLearner(n_hidden=H, init_scale=s).init(task, rng)
    B_hy = s * rng.standard_normal((H, 3))
    want = {"B_hy": B_hy}
    if feedback == "fa":
        want["B_hh"] = s * 0.7 / np.sqrt(H) * rng.standard_normal((H, H))
    assert set(state) == set(net) | set(want)
    for k, v in {**net, **want}.items():
        assert np.array_equal(state[k], v), k


def fa_reference(state, batch, alpha, direct):
    """Feedback alignment's direction, sequence by sequence, from its docstring: the readout's
    exact local gradient; e_t = B_hy dz_y,t (at h_{t+1}); fa: dh_{t+1} = e_t + (1 - alpha)
    dh_{t+2} + B_hh dz_{t+1}; dfa: dz_t = alpha (e_t + ... + e_{T-1}) (1 - r_t^2)."""
    W_xh, W_hh, b_h, W_hy, b_y = (state[k] for k in RNN_PARAMS)
    B_hy, B_hh = state["B_hy"], state.get("B_hh")
    g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
    B, Hn, start = batch.size, W_hh.shape[0], 0
    steps = batch.step_targets or [None] * len(batch.segments)
    for x, S in zip(batch.segments, steps):
        b, T, _ = x.shape
        for j in range(b):
            hs, rs = [np.zeros(Hn)], []
            for t in range(T):
                r = np.tanh(W_xh @ x[j, t] + W_hh @ hs[-1] + b_h)
                rs.append(r)
                hs.append((1 - alpha) * hs[-1] + alpha * r)
            e = [np.zeros(Hn) for _ in range(T)]
            for t in range(T) if S is not None else [T - 1]:
                y = np.tanh(W_hy @ hs[t + 1] + b_y)
                tgt, scale = (S[j, t], B * T) if S is not None else (batch.targets[start + j], B)
                dz = (y - tgt) / scale * (1 - y * y)
                g["W_hy"] += np.outer(dz, hs[t + 1])
                g["b_y"] += dz
                e[t] = B_hy @ dz
            dh = np.zeros(Hn)
            for t in range(T - 1, -1, -1):
                dh = dh + e[t]
                dz = alpha * dh * (1 - rs[t] ** 2)
                g["W_xh"] += np.outer(dz, x[j, t])
                g["W_hh"] += np.outer(dz, hs[t])
                g["b_h"] += dz
                if not direct:
                    dh = (1 - alpha) * dh + B_hh @ dz
        start += b
    return g


@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("feedback", ["fa", "dfa"])
def test_feedback_alignment_credit_against_the_reference(feedback, alpha, per_step):
    state, batch = case(30 + 2 * int(per_step) + int(alpha == 1.0), per_step)
    L = learners.get("feedback_alignment")(n_hidden=H_UNITS, feedback=feedback, alpha=alpha)
    fb = L.init(SimpleNamespace(n_letters=A_LETTERS), np.random.default_rng(9))
    state = dict(state, **{k: v for k, v in fb.items() if k.startswith("B_")})
    g = grads_of(L, state, batch)
    ref = fa_reference(state, batch, alpha, feedback == "dfa")
    assert set(g) == set(RNN_PARAMS)
    for k in RNN_PARAMS:
        assert g[k].shape == ref[k].shape
        np.testing.assert_allclose(g[k], ref[k], rtol=1e-10, atol=1e-13, err_msg=k)
    assert np.abs(g["W_hh"]).max() > 1e-3             # the comparison has something to compare


def test_feedback_message():
    with pytest.raises(ValueError) as e:
        learners.get("feedback_alignment")(feedback="FA")
    assert str(e.value) == ("FeedbackAlignmentConfig: feedback must be one of ('fa', 'dfa'), "
                            "got 'FA'")
