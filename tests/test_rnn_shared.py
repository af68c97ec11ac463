"""learners.rnn, the shared network: its optimizer on hand-computed numbers, its config checks,
the leak and its backward, the readout delta, the initialization, and every built-in rule on it."""
import dataclasses

import numpy as np
import pytest

import harness
import learners
from learners.rnn import (MAX_HIDDEN, RNN_PARAMS, WEIGHT_MATRICES, RNNConfig, RNNLearner,
                          join_segments, optimizer_step)


class _Task:
    n_letters = 2


def tiny_state(H=2):
    """A state of the shared network (A = 2 letters, H hidden) with every entry set to zero."""
    s = RNNLearner(n_hidden=H).init(_Task, np.random.default_rng(0))
    return {k: np.zeros_like(v) for k, v in s.items()}


def zero_grads(H=2):
    return {k: np.zeros_like(v) for k, v in tiny_state(H).items() if not k.startswith("v_")}


# ---- the optimizer ------------------------------------------------------------------------------
def test_weight_decay_only_on_the_weight_matrices():
    state = tiny_state()
    for k in RNN_PARAMS:
        state[k] = np.full_like(state[k], 2.0)
    new = RNNLearner(lr=0.1, weight_decay=0.5, momentum=0.0).update(state, zero_grads())
    for k in RNN_PARAMS:
        expect = 2.0 * (1 - 0.1 * 0.5) if k in WEIGHT_MATRICES else 2.0
        np.testing.assert_array_equal(new[k], np.full_like(state[k], expect), err_msg=k)
    assert set(WEIGHT_MATRICES) == {"W_xh", "W_hh", "W_hy"}


def test_momentum_arithmetic_by_hand():
    """v' = momentum v - lr g = 0.9 * 0.5 - 0.1 * 2 = 0.25;  p' = (1 + 0.25) (1 - lr wd) for a
    matrix, 1 + 0.25 for a bias (no clipping: the gradient norm is below the bound)."""
    state = tiny_state()
    grads = zero_grads()
    for k in RNN_PARAMS:
        state[k] = np.ones_like(state[k])
        state["v_" + k] = np.full_like(state[k], 0.5)
    grads["W_hh"][0, 1] = 2.0
    grads["b_y"][2] = 2.0
    L = RNNLearner(lr=0.1, momentum=0.9, weight_decay=0.01, clip=5.0)
    new = L.update(state, grads)
    assert new["v_W_hh"][0, 1] == pytest.approx(0.25, abs=1e-15)
    assert new["W_hh"][0, 1] == pytest.approx(1.25 * (1 - 0.001), abs=1e-15)
    assert new["W_hh"][0, 0] == pytest.approx((1 + 0.45) * (1 - 0.001), abs=1e-15)  # g = 0
    assert new["v_b_y"][2] == pytest.approx(0.25, abs=1e-15)
    assert new["b_y"][2] == pytest.approx(1.25, abs=1e-15)
    assert new["b_y"][0] == pytest.approx(1.45, abs=1e-15)
    # a new dict; the argument is not changed
    assert new is not state and np.all(state["W_hh"] == 1.0) and np.all(state["v_W_hh"] == 0.5)


def clip_case():
    """Gradient entries 3 (W_xh), 4 (b_h), 0.5 (W_hy): whole norm sqrt(25.25), array norms 3, 4, 0.5.
    With lr 1, momentum 0, no decay, from zero parameters, the new parameters are -g_clipped."""
    grads = zero_grads()
    grads["W_xh"][0, 0], grads["b_h"][1], grads["W_hy"][2, 0] = 3.0, 4.0, 0.5
    return tiny_state(), grads


def run_clip(**kw):
    state, grads = clip_case()
    new = RNNLearner(lr=1.0, momentum=0.0, weight_decay=0.0, **kw).update(state, grads)
    return -new["W_xh"][0, 0], -new["b_h"][1], -new["W_hy"][2, 0]


def test_global_clip_scales_the_whole_gradient_by_its_norm():
    norm = np.sqrt(3.0 ** 2 + 4.0 ** 2 + 0.5 ** 2)
    s = 1.0 / (norm + 1e-12)
    got = run_clip(clip=1.0, clip_mode="global")
    np.testing.assert_allclose(got, (3.0 * s, 4.0 * s, 0.5 * s), rtol=1e-14)


def test_per_parameter_clip_uses_each_arrays_own_norm():
    got = run_clip(clip=1.0, clip_mode="per_parameter")
    # W_xh (norm 3) and b_h (norm 4) are brought to norm 1; W_hy (norm 0.5) is below: unchanged
    np.testing.assert_allclose(got, (3.0 / (3 + 1e-12), 4.0 / (4 + 1e-12), 0.5), rtol=1e-14)


@pytest.mark.parametrize("mode", ["global", "per_parameter"])
def test_no_clip_below_the_bound_or_when_disabled(mode):
    for kw in (dict(clip=100.0), dict(clip=None), dict(clip=0)):
        assert run_clip(clip_mode=mode, **kw) == (3.0, 4.0, 0.5), kw


def every_parameter_case():
    """One gradient entry per parameter, 1 (W_xh), 2 (W_hh), 2 (b_h), 4 (W_hy), 12 (b_y): whole
    norm 13, which leaving out any one parameter changes. lr 1, momentum 0, no decay, zero
    parameters: the new parameters are -g_clipped."""
    grads = zero_grads()
    entries = {"W_xh": (0, 1), "W_hh": (1, 0), "b_h": (0,), "W_hy": (2, 1), "b_y": (1,)}
    values = dict(zip(RNN_PARAMS, (1.0, 2.0, 2.0, 4.0, 12.0)))
    for k, idx in entries.items():
        grads[k][idx] = values[k]
    return tiny_state(), grads, entries, values


@pytest.mark.parametrize("mode", ["global", "per_parameter"])
def test_which_parameters_enter_the_clipping_norm(mode):
    state, grads, entries, values = every_parameter_case()
    new = RNNLearner(lr=1.0, momentum=0.0, weight_decay=0.0, clip=3.0, clip_mode=mode).update(
        state, grads)
    for k, idx in entries.items():
        g = values[k]
        if mode == "global":        # every parameter's entry in one norm: 13
            want = g * 3.0 / (13.0 + 1e-12)
        else:                       # each by its own norm (its one entry); 1 and 2 are below 3
            want = g * 3.0 / (g + 1e-12) if g > 3.0 else g
        assert -new[k][idx] == want, (k, -new[k][idx], want)
        assert np.count_nonzero(new[k]) == 1, k         # the other entries had zero gradient


@pytest.mark.parametrize("mode", ["global", "per_parameter"])
def test_a_norm_exactly_at_the_bound_is_not_clipped(mode):
    """Clipping acts when the norm exceeds the bound; at the bound the gradient is unchanged
    (bit for bit: scaling by clip / (norm + 1e-12) would change it)."""
    state, grads, entries, values = every_parameter_case()
    clip = 13.0 if mode == "global" else 12.0           # the whole norm; the largest array norm
    new = RNNLearner(lr=1.0, momentum=0.0, weight_decay=0.0, clip=clip, clip_mode=mode).update(
        state, grads)
    for k, idx in entries.items():
        assert -new[k][idx] == values[k], k


def test_weight_decay_and_momentum_with_a_clipped_gradient():
    """All four steps at once on every parameter: v' = m v - lr g_clipped, p' = p + v', then
    p' *= 1 - lr wd on the matrices only (decoupled: the decay never enters v)."""
    state, grads, entries, values = every_parameter_case()
    for k in RNN_PARAMS:
        state[k] = np.full_like(state[k], 2.0)
        state["v_" + k] = np.full_like(state[k], -1.0)
    lr, m, wd = 0.5, 0.25, 0.1
    new = RNNLearner(lr=lr, momentum=m, weight_decay=wd, clip=6.5).update(state, grads)
    for k, idx in entries.items():
        v = m * -1.0 - lr * values[k] * 6.5 / (13.0 + 1e-12)
        p = 2.0 + v
        if k in WEIGHT_MATRICES:
            p *= 1 - lr * wd
        assert new["v_" + k][idx] == pytest.approx(v, rel=1e-15), k
        assert new[k][idx] == pytest.approx(p, rel=1e-15), k
        other = tuple(0 if i else 1 for i in idx) if len(idx) == 2 else ((idx[0] + 1) % 2,)
        v0 = m * -1.0                                       # an entry with zero gradient
        assert new["v_" + k][other] == pytest.approx(v0, rel=1e-15), k
        assert new[k][other] == pytest.approx((2.0 + v0) * ((1 - lr * wd) if k in WEIGHT_MATRICES
                                                            else 1.0), rel=1e-15), k


def test_optimizer_step_on_a_subset_leaves_the_rest():
    state, grads = clip_case()
    cfg = RNNConfig(lr=1.0, momentum=0.0, weight_decay=0.0, clip=0.25)
    new = optimizer_step(state, {k: grads[k] for k in ("W_hy", "b_y")}, cfg, names=("W_hy", "b_y"))
    # the global norm is the subset's (0.5, not 5.02): 0.5 is brought to 0.25
    assert new["W_hy"][2, 0] == pytest.approx(-0.25, abs=1e-12)
    assert np.array_equal(new["W_xh"], state["W_xh"]) and np.array_equal(new["b_h"], state["b_h"])


def test_global_clip_is_the_v1_arithmetic():
    """The v1 update written out (the old learners.common.clip_momentum_decay), bit for bit."""
    rng = np.random.default_rng(4)
    L = RNNLearner(n_hidden=3)
    state = L.init(_Task, rng)
    state.update({k: rng.standard_normal(v.shape) for k, v in state.items()})
    grads = {k: 4.0 * rng.standard_normal(state[k].shape) for k in RNN_PARAMS}
    norm = np.sqrt(sum((grads[k] * grads[k]).sum() for k in RNN_PARAMS))
    assert norm > 5.0
    scale = 5.0 / (norm + 1e-12)
    new = L.update(state, grads)
    for k in RNN_PARAMS:
        v = 0.9 * state["v_" + k] - 0.05 * (grads[k] * scale)
        p = state[k] + v
        if k in WEIGHT_MATRICES:
            p = p * (1.0 - 0.05 * 1e-4)
        assert np.array_equal(new["v_" + k], v) and np.array_equal(new[k], p), k


# ---- config ------------------------------------------------------------------------------------
def test_defaults_are_the_v1_values():
    c = RNNConfig()
    assert (c.n_hidden, c.lr, c.momentum, c.clip, c.clip_mode, c.weight_decay, c.init_scale,
            c.alpha) == (30, 0.05, 0.9, 5.0, "global", 1e-4, 0.5, 1.0)


@pytest.mark.parametrize("field, edge, past", [
    ("n_hidden", 1, 0), ("n_hidden", MAX_HIDDEN, MAX_HIDDEN + 1),
    ("lr", 1e-300, 0.0), ("init_scale", 1e-300, 0.0),
    ("momentum", 0.0, -1e-300), ("weight_decay", 0.0, -1e-300),
    ("clip", 0.0, -1e-300), ("clip", None, float("nan")),
    ("alpha", 1.0, 1.0 + 1e-12), ("alpha", 1e-300, 0.0),
    ("clip_mode", "per_parameter", "Global"),
])
def test_shared_hyperparameters_at_their_bounds(field, edge, past):
    """Every shared field accepts the edge of its range and rejects the value just past it,
    with a one-line error naming the field."""
    cfg = RNNConfig(**{field: edge})
    cfg.validate()
    with pytest.raises(ValueError, match=field) as e:
        RNNConfig(**{field: past}).validate()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("bad, match", [
    ({"clip_mode": "layer"}, "clip_mode"), ({"alpha": 0.0}, "alpha"), ({"alpha": 1.5}, "alpha"),
    ({"alpha": True}, "alpha"), ({"clip": -1.0}, "clip"), ({"n_hidden": 2.5}, "n_hidden"),
    ({"n_hidden": 0}, "n_hidden"), ({"lr": 0}, "lr"), ({"weight_decay": -1e-3}, "weight_decay"),
])
def test_bad_shared_hyperparameters_raise_one_line(bad, match):
    for name in learners.available():
        with pytest.raises(ValueError, match=match) as e:
            learners.get(name)(**bad)
        assert "\n" not in str(e.value)


def test_every_builtin_rule_is_on_the_shared_network():
    for name in learners.available():
        cls = learners.get(name)
        assert issubclass(cls, RNNLearner) and issubclass(cls.Config, RNNConfig), name
        assert cls.PARAMS == RNN_PARAMS
        fields = {f.name for f in dataclasses.fields(cls.Config)}
        assert {f.name for f in dataclasses.fields(RNNConfig)} <= fields


@pytest.mark.parametrize("name", ["bptt", "tbptt", "rtrl", "eprop", "node_perturbation"])
def test_every_builtin_rule_takes_alpha(name):
    task = harness.SequenceLookup()
    kw = {"n_hidden": 6} if name == "rtrl" else {}
    L = learners.get(name)(alpha=0.3, **kw)
    assert L.config.alpha == 0.3
    r = harness.train(L, task, seed=0, sweeps=5)
    assert np.isfinite(r.history["loss"]).all()
    # its predict is the leaky network's forward output
    state = L.init(task, np.random.default_rng(1))
    batch = task.train_batch()
    np.testing.assert_array_equal(L.predict(state, batch), L.forward(state, batch)["y"])


def test_rules_keep_no_state_on_the_instance():
    task = harness.SequenceLookup()
    for name in learners.available():
        L = learners.get(name)(**({"n_hidden": 4} if name == "rtrl" else {}))
        before = dict(vars(L))
        state = L.init(task, np.random.default_rng(0))
        batch = task.train_batch()
        L.update(state, L.credit(state, batch, L.forward(state, batch)))
        assert vars(L) == before, name


# ---- leak, readout ---------------------------------------------------------------------------------
def test_leak_and_its_backward():
    h, r = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    v1 = RNNLearner()
    assert v1.leak(h, r) is r                  # alpha = 1: no arithmetic at all
    assert v1.alpha_times(r) is r and v1.leak_back(h, r) is r
    L = RNNLearner(alpha=0.25)
    np.testing.assert_allclose(L.leak(h, r), [0.75 * 1.0 + 0.25 * 0.5, 0.75 * -2.0 + 0.25 * 0.25])
    np.testing.assert_allclose(L.alpha_times(r), [0.125, 0.0625])
    np.testing.assert_allclose(L.leak_back(h, r), [0.75 + 0.5, -1.5 + 0.25])


def test_readout_delta_by_hand_and_by_finite_differences():
    y = np.array([[0.5, -0.5, 0.0]])
    t = np.array([[1.0, -1.0, 1.0]])
    d = RNNLearner.readout_delta(y, t, 2)
    np.testing.assert_allclose(d, [[-0.5 / 2 * 0.75, 0.5 / 2 * 0.75, -1.0 / 2 * 1.0]])
    # dL/dz_y of L = 0.5 / B * sum (tanh(z) - t)^2 with B = 2
    z = np.arctanh(y)
    loss = lambda zz: 0.5 / 2 * np.sum((np.tanh(zz) - t) ** 2)
    eps = 1e-6
    num = np.array([[(loss(z + eps * e) - loss(z - eps * e)) / (2 * eps)
                     for e in np.eye(3)]])
    np.testing.assert_allclose(d, num, atol=1e-9)


def test_init_order_shapes_and_zeros():
    L = RNNLearner(n_hidden=4, init_scale=0.5)
    s = L.init(_Task, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(s["W_xh"], 0.5 * rng.standard_normal((4, 2)))
    np.testing.assert_array_equal(s["W_hh"], 0.5 * 0.7 / 2.0 * rng.standard_normal((4, 4)))
    np.testing.assert_array_equal(s["W_hy"], 0.5 * rng.standard_normal((3, 4)))
    assert s["b_h"].shape == (4,) and s["b_y"].shape == (3,)
    assert set(s) == set(RNN_PARAMS) | {"v_" + k for k in RNN_PARAMS}
    for k in s:
        if k.startswith(("v_", "b_")):
            assert not s[k].any(), k


def test_join_segments():
    a, b = np.ones((2, 3)), np.zeros((1, 3))
    assert join_segments([a]) is a
    np.testing.assert_array_equal(join_segments([a, b]), np.concatenate([a, b]))


def test_noise_seeds_span_the_int64_range():
    """A rule drawing fresh noise takes its noise seed from the run's generator over the
    non-negative int64 range, after the network: runs with different model seeds get
    independent noise streams (no two of 64 runs share a seed; seeds reach the top of the
    range), and the network's draws are those of the same seed without noise."""
    task = harness.SequenceLookup()
    L = learners.get("forward_gradient")()
    seeds = []
    for s in range(64):
        state = L.init(task, np.random.default_rng(s))
        assert state["noise_key"].dtype == np.int64 and state["noise_key"][1] == 0
        seeds.append(int(state["noise_key"][0]))
    assert len(set(seeds)) == 64 and min(seeds) >= 0
    assert max(seeds) >= 2 ** 62                      # P(all 64 below 2^62) = 2^-64
    plain = RNNLearner().init(task, np.random.default_rng(5))
    noisy = L.init(task, np.random.default_rng(5))
    for k in RNN_PARAMS:
        assert np.array_equal(plain[k], noisy[k]), k


def test_a_batch_without_step_targets_is_a_final_batch():
    """Learners know only numpy: a rule's own test may hand the network a plain object with just
    `segments`, `targets` and `size`. The shared helpers read it as a final-target batch, and a rule's
    gradients on it are those of the harness's Batch with step_targets=None."""
    from types import SimpleNamespace
    task = harness.SequenceLookup()
    batch = task.fixed_train_batch()
    plain = SimpleNamespace(segments=batch.segments, targets=batch.targets, size=batch.size)
    assert batch.step_targets is None
    assert RNNLearner.is_per_step(plain) is False
    assert RNNLearner.step_targets(plain) == [None] * len(batch.segments)
    L = learners.get("bptt")()
    state = L.init(task, np.random.default_rng(1))
    g_plain = L.credit(state, plain, L.forward(state, plain))
    g_batch = L.credit(state, batch, L.forward(state, batch))
    for k in RNN_PARAMS:
        np.testing.assert_array_equal(g_plain[k], g_batch[k], err_msg=k)
