"""Per-step targets (issue 13, item 5): the rules' per-step gradients against finite differences of
the documented loss (learners/rnn.py), the exact relations between rules, e-prop's learning signal
at every step, and tracked runs bit-identical to plain ones on a per_step task."""
import numpy as np
import pytest

import harness
import learners
from harness.measure import measure_update
from harness.schedules import direction
from harness.task import Batch
from learners.rnn import RNN_PARAMS, RNNLearner
from gradient_checks import numerical_gradient
from test_schedules import assert_tracked_equals_plain

PER_STEP_RULES = [n for n in learners.available() if "per_step" in learners.get(n).TARGETS]


def case(seed, variable, H=4):
    """A random network (H units, A = 3 letters, non-zero biases) and a per_step batch with random
    +-1 targets at every step: one segment of 3 sequences of 5 steps, or (variable) two segments
    of lengths 3 and 6."""
    rng = np.random.default_rng(seed)
    A = 3

    class _Task:
        n_letters = A
    state = RNNLearner(n_hidden=H, init_scale=1.0).init(_Task, rng)
    state["b_h"] = 0.3 * rng.standard_normal(H)
    state["b_y"] = 0.3 * rng.standard_normal(3)
    shapes = [(2, 3), (1, 6)] if variable else [(3, 5)]
    segs = [np.eye(A)[rng.integers(0, A, size=s)] for s in shapes]
    steps = [np.where(rng.standard_normal(s + (3,)) >= 0, 1.0, -1.0) for s in shapes]
    targets = np.concatenate([S[:, -1] for S in steps])
    return state, Batch(segments=segs, targets=targets, step_targets=steps)


def per_step_loss(state, batch, alpha, window=None):
    """The documented loss, written out: L = 0.5 mean_b (1/T) sum_t sum_i (y_t,i - target_t,i)^2,
    y_t = tanh(W_hy h_{t+1} + b_y). With `window` = (k, frozen states), the state entering each
    window of k steps aligned at the sequence's end is the frozen one (truncated BPTT's loss)."""
    L, B = 0.0, batch.size
    for i, (x, S) in enumerate(zip(batch.segments, batch.step_targets)):
        b, T, _ = x.shape
        h = np.zeros((b, state["W_hh"].shape[0]))
        for t in range(T):
            if window is not None and (T - t) % window[0] == 0:
                h = window[1][i][t]                    # h_t, treated as a constant
            r = np.tanh(x[:, t] @ state["W_xh"].T + h @ state["W_hh"].T + state["b_h"])
            h = (1 - alpha) * h + alpha * r
            y = np.tanh(h @ state["W_hy"].T + state["b_y"])
            L += 0.5 * np.sum((y - S[:, t]) ** 2) / (B * T)
    return L


def grads(name, state, batch, schedule="batched", **kw):
    return direction(learners.get(name)(**kw), state, batch, schedule)[0]


def max_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in RNN_PARAMS)


def assert_close_to_numerical(g, num):
    for k in RNN_PARAMS:
        scale = max(1.0, float(np.max(np.abs(num[k]))))
        assert np.max(np.abs(g[k] - num[k])) < 1e-7 * scale, k


@pytest.mark.parametrize("variable", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("name, kw", [("bptt", {}), ("checkpointed_bptt", {}), ("rtrl", {}),
                                      ("tbptt", {"k": 50}), ("checkpointed_bptt", {"k": 2})])
def test_per_step_gradient_matches_finite_differences(name, kw, alpha, variable):
    state, batch = case(3 + int(variable), variable)
    num = numerical_gradient(lambda s: per_step_loss(s, batch, alpha), state)
    assert_close_to_numerical(grads(name, state, batch, alpha=alpha, **kw), num)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_tbptt_per_step_is_the_gradient_with_the_state_frozen_at_each_window(k, alpha):
    """BPTT(k; k): windows of k steps aligned at the end; the state entering a window is a
    constant. The finite difference holds those states at their unperturbed values."""
    state, batch = case(5, True)
    frozen = []
    for x in batch.segments:                           # h_t of the unperturbed network
        h, H = np.zeros((x.shape[0], 4)), []
        for t in range(x.shape[1]):
            H.append(h)
            r = np.tanh(x[:, t] @ state["W_xh"].T + h @ state["W_hh"].T + state["b_h"])
            h = (1 - alpha) * h + alpha * r
        frozen.append(H)
    num = numerical_gradient(lambda s: per_step_loss(s, batch, alpha, (k, frozen)), state)
    g = grads("tbptt", state, batch, alpha=alpha, k=k)
    assert_close_to_numerical(g, num)
    assert max_diff(g, grads("bptt", state, batch, alpha=alpha)) > 1e-6     # truncation bites


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_exact_rules_agree_on_per_step(alpha):
    """rtrl = bptt to rounding; checkpointed_bptt and tbptt with k >= T are bptt bit for bit."""
    state, batch = case(7, True)
    ref = grads("bptt", state, batch, alpha=alpha)
    assert max_diff(grads("rtrl", state, batch, alpha=alpha), ref) < 1e-12
    for name, kw in (("checkpointed_bptt", {}), ("checkpointed_bptt", {"k": 2}),
                     ("tbptt", {"k": 6}), ("tbptt", {"k": 100})):
        g = grads(name, state, batch, alpha=alpha, **kw)
        assert all(np.array_equal(g[p], ref[p]) for p in RNN_PARAMS), (name, kw)
    for name in ("bptt", "rtrl"):                      # every schedule: the same sum, reordered
        for schedule in ("per_sequence", "online"):
            assert max_diff(grads(name, state, batch, schedule, alpha=alpha), ref) < 1e-12


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_sparse_and_feedback_rules_in_their_exact_cases_on_per_step(alpha):
    """snap1 with a diagonal W_hh and snap2 at density 1 are rtrl; feedback alignment with
    B_hy = W_hy^T, B_hh = W_hh^T is bptt bit for bit."""
    state, batch = case(8, True)
    diag = dict(state, W_hh=np.diag(np.diag(state["W_hh"])))
    assert max_diff(grads("snap1", diag, batch, alpha=alpha),
                    grads("rtrl", diag, batch, alpha=alpha)) < 1e-12
    dense = dict(state, connectivity=np.ones((4, 4), bool))
    assert max_diff(grads("snap2", dense, batch, alpha=alpha, density=1.0),
                    grads("rtrl", state, batch, alpha=alpha)) < 1e-12
    fa = dict(state, B_hy=state["W_hy"].T, B_hh=state["W_hh"].T)      # views: the same layout
    g, ref = grads("feedback_alignment", fa, batch, alpha=alpha), grads("bptt", fa, batch,
                                                                        alpha=alpha)
    assert all(np.array_equal(g[p], ref[p]) for p in RNN_PARAMS)


def test_forward_gradient_per_step_is_the_directional_derivative_of_the_per_step_loss():
    state, batch = case(9, True)
    state["noise_key"] = np.array([3, 0], dtype=np.int64)
    ref = grads("bptt", state, batch, alpha=0.3)
    for readout in (False, True):
        L = learners.get("forward_gradient")(alpha=0.3, n_tangents=3, tangent_readout=readout)
        cache = L.forward(state, batch)
        V = cache["tangent"]
        want = sum((ref[k][None] * V[k]).reshape(3, -1).sum(axis=1) for k in V)   # (K,)
        assert np.max(np.abs(cache["Ldot"] - want)) < 1e-12
        if not readout:                                 # the readout's exact gradient
            g = L.credit(state, batch, cache)
            assert max(np.max(np.abs(g[k] - ref[k])) for k in ("W_hy", "b_y")) < 1e-12


@pytest.mark.parametrize("name", ["node_perturbation", "weight_perturbation", "uoro", "eprop"])
def test_local_rules_take_the_readouts_exact_per_step_gradient(name):
    state, batch = case(10, True)
    L = learners.get(name)(alpha=0.3, n_hidden=4)
    state = dict(L.init(type("T", (), {"n_letters": 3}), np.random.default_rng(0)), **state)
    ref = grads("bptt", state, batch, alpha=0.3)
    for schedule in L.SCHEDULES:
        g = direction(L, state, batch, schedule)[0]
        assert max(np.max(np.abs(g[k] - ref[k])) for k in ("W_hy", "b_y")) < 1e-12, schedule


# ---- e-prop: the learning signal of every step ---------------------------------------------

def eprop_reference(state, batch, alpha, kappa, feedback):
    """dW = sum_b sum_t L_t e_{t+1}, written per sequence and step from the docstring."""
    g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
    B = batch.size
    for x, S in zip(batch.segments, batch.step_targets):
        for b in range(x.shape[0]):
            T = x.shape[1]
            h, e_hh, e_xh, e_b = np.zeros(4), np.zeros((4, 4)), np.zeros((4, 3)), np.zeros(4)
            for t in range(T):
                r = np.tanh(state["W_xh"] @ x[b, t] + state["W_hh"] @ h + state["b_h"])
                aD = alpha * (1 - r ** 2)
                e_hh = kappa * e_hh + np.outer(aD, h)
                e_xh = kappa * e_xh + np.outer(aD, x[b, t])
                e_b = kappa * e_b + aD
                h = (1 - alpha) * h + alpha * r
                y = np.tanh(state["W_hy"] @ h + state["b_y"])
                dz = (y - S[b, t]) / (B * T) * (1 - y ** 2)
                Ls = feedback @ dz                    # this step's learning signal (H,)
                g["W_hy"] += np.outer(dz, h)
                g["b_y"] += dz
                g["W_hh"] += Ls[:, None] * e_hh
                g["W_xh"] += Ls[:, None] * e_xh
                g["b_h"] += Ls * e_b
    return g


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("schedule", ["batched", "per_sequence", "online"])
def test_eprop_gates_each_steps_trace_with_that_steps_error(schedule, alpha):
    state, batch = case(12, True)
    state["B_fb"] = 0.5 * np.random.default_rng(1).standard_normal((4, 3))
    g = grads("eprop", state, batch, schedule, alpha=alpha)
    ref = eprop_reference(state, batch, alpha, 0.9, state["B_fb"])
    assert max_diff(g, ref) < 1e-12


@pytest.mark.parametrize("schedule", ["batched", "per_sequence", "online"])
def test_eprop_uses_the_error_of_an_early_step(schedule):
    """Changing only the target of step 0 changes the update: it would not if the learning signal
    were the final error alone."""
    state, batch = case(13, False)
    state["B_fb"] = 0.5 * np.random.default_rng(1).standard_normal((4, 3))
    S = batch.step_targets[0].copy()
    S[:, 0] = -S[:, 0]
    flipped = Batch(segments=batch.segments, targets=batch.targets, step_targets=[S])
    a = grads("eprop", state, batch, schedule)
    b = grads("eprop", state, flipped, schedule)
    assert np.array_equal(S[:, -1], batch.targets)
    assert max(np.max(np.abs(a[k] - b[k])) for k in ("W_hh", "W_xh", "b_h")) > 1e-4


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("schedule", ["batched", "per_sequence", "online"])
def test_symmetric_eprop_with_no_recurrence_is_bptt_on_per_step(schedule, alpha):
    """feedback "readout", kappa = 1 - alpha and W_hh = 0: the trace is dh_{t+1}/dW exactly."""
    state, batch = case(14, True)
    state["W_hh"] = np.zeros((4, 4))
    g = grads("eprop", state, batch, schedule, alpha=alpha, feedback="readout", trace_decay=None)
    assert max_diff(g, grads("bptt", state, batch, alpha=alpha)) < 1e-12


# ---- tracked = plain; the unsupported-rule error ---------------------------------------------

SMALL = {"node_perturbation": {"n_perturb": 2}, "weight_perturbation": {"n_perturb": 2},
         "forward_gradient": {"n_tangents": 2}, "snap2": {"density": 0.5}}


@pytest.mark.parametrize("name", PER_STEP_RULES)
def test_tracked_run_is_bit_identical_to_plain_on_per_step(name):
    task = harness.SequenceLookup(target_kind="per_step", length=3, n_sequences=20, n_train=15)
    kw = dict(n_hidden=5, alpha=0.3, **SMALL.get(name, {}))
    scheds = learners.get(name).SCHEDULES if name in ("eprop", "node_perturbation") else ("batched",)
    assert_tracked_equals_plain(name, kw, task, scheds)


def test_every_built_in_rule_learns_from_per_step_targets():
    assert set(PER_STEP_RULES) == set(learners.available())


class _FinalOnly(learners.get("bptt")):
    name = "final_only"
    TARGETS = ("final",)


def test_a_rule_without_per_step_targets_is_a_one_line_error():
    task = harness.SequenceLookup(target_kind="per_step")
    msg = r"^learner 'final_only' does not support per_step targets; it supports final$"
    with pytest.raises(ValueError, match=msg):
        harness.train(_FinalOnly(), task, sweeps=1)
    with pytest.raises(ValueError, match=msg):
        measure_update(_FinalOnly(), task)
    with pytest.raises(ValueError, match=msg):
        direction(_FinalOnly(), _FinalOnly().init(task, np.random.default_rng(0)),
                  task.train_batch())
    harness.train(_FinalOnly(), harness.SequenceLookup(), sweeps=1)        # final: fine


@pytest.mark.parametrize("k, T, final, per_step", [(3, 10, 7, 0), (3, 2, 0, 0), (10, 10, 0, 0)])
def test_tbptt_credits_its_last_k_steps_by_default_and_every_step_on_per_step(k, T, final,
                                                                               per_step):
    """first_credited(T): the earliest step credit reaches, max(T - k, 0) for final targets
    (the default) and 0 with per-step targets (every window is credited)."""
    rule = learners.get("tbptt")(k=k)
    assert rule.first_credited(T) == final
    assert rule.first_credited(T, per_step=False) == final
    assert rule.first_credited(T, per_step=True) == per_step


def test_weight_perturbation_per_step_losses_and_estimate():
    """Its clean and perturbed losses are the documented per-step loss of the clean and of each
    moved network, and its recurrent-layer gradient the estimate built from them:
    1 / (sigma n_perturb) sum_p (L(theta + sigma xi_p) - L(theta)) xi_p."""
    state, batch = case(11, True)
    state["noise_key"] = np.array([5, 0], dtype=np.int64)
    sigma, n = 0.05, 3
    L = learners.get("weight_perturbation")(alpha=0.3, n_hidden=4, sigma=sigma, n_perturb=n)
    cache = L.forward(state, batch)
    assert abs(cache["loss"] - per_step_loss(state, batch, 0.3)) < 1e-14
    assert len(cache["noise"]) == len(cache["loss_perturbed"]) == n
    for xi, L_p in zip(cache["noise"], cache["loss_perturbed"]):
        moved = dict(state, **{k: state[k] + sigma * xi[k] for k in xi})
        assert abs(L_p - per_step_loss(moved, batch, 0.3)) < 1e-14
    g = L.credit(state, batch, cache)
    for k in ("W_xh", "W_hh", "b_h"):
        want = sum((L_p - cache["loss"]) * xi[k]
                   for xi, L_p in zip(cache["noise"], cache["loss_perturbed"])) / (sigma * n)
        assert np.max(np.abs(want)) > 0 and np.max(np.abs(g[k] - want)) < 1e-12, k


@pytest.mark.parametrize("readout", [False, True])
@pytest.mark.parametrize("K", [1, 2, 3])
def test_forward_gradient_per_step_is_the_mean_over_tangents(K, readout):
    """dtheta = (1/K) sum_k Ldot_k V_k for every tangent count, 1 and 2 included, for every
    perturbed parameter: the readout too when it is perturbed (tangent_readout), else only the
    recurrent layer (the readout then takes its exact gradient, tested above)."""
    state, batch = case(12, False)
    state["noise_key"] = np.array([7, 0], dtype=np.int64)
    L = learners.get("forward_gradient")(alpha=0.3, n_tangents=K, tangent_readout=readout)
    cache = L.forward(state, batch)
    g = L.credit(state, batch, cache)
    assert ("W_hy" in cache["tangent"]) == readout
    for k, V in cache["tangent"].items():
        want = sum(cache["Ldot"][i] * V[i] for i in range(K)) / K
        assert np.max(np.abs(g[k] - want)) < 1e-14 * max(1.0, np.max(np.abs(want))), k


def _perturbed_pass(state, x, S, alpha, xi=None):
    """A pass over one segment with xi[t] (b, H) added to the hidden inputs, written out: each
    sequence's per-step loss l (b,) = 0.5 (1/T) sum_t |y_t - target_t|^2 and the eligibilities
    sum_t xi_t h_t^T (b, H, H), sum_t xi_t x_t^T (b, H, A), sum_t xi_t (b, H)."""
    b, T, A = x.shape
    H = state["W_hh"].shape[0]
    h, l = np.zeros((b, H)), np.zeros(b)
    E_hh, E_xh, E_b = np.zeros((b, H, H)), np.zeros((b, H, A)), np.zeros((b, H))
    for t in range(T):
        z = x[:, t] @ state["W_xh"].T + h @ state["W_hh"].T + state["b_h"]
        if xi is not None:
            E_hh += np.einsum("bi,bj->bij", xi[t], h)
            E_xh += np.einsum("bi,bj->bij", xi[t], x[:, t])
            E_b += xi[t]
            z = z + xi[t]
        h = (1 - alpha) * h + alpha * np.tanh(z)
        y = np.tanh(h @ state["W_hy"].T + state["b_y"])
        l += 0.5 * ((y - S[:, t]) ** 2).sum(axis=1) / T
    return l, (E_hh, E_xh, E_b)


def test_node_perturbation_per_step_estimate_from_its_noise():
    """With the noise it draws (sigma xi, per segment, per perturbed pass, per step, in that
    order), its recurrent-layer gradient is sum_p sum_b (l~_pb - l_b) / B / (sigma^2 n) times
    sequence b's eligibility, every loss the documented per-step loss of one sequence."""
    from learners.node_perturbation import unpack_generator
    sigma, n, alpha = 0.05, 2, 0.3
    L = learners.get("node_perturbation")(alpha=alpha, n_hidden=4, sigma=sigma, n_perturb=n)
    state, batch = case(13, True)
    state = dict(L.init(type("T", (), {"n_letters": 3}), np.random.default_rng(1)), **state)
    g = L.credit(state, batch, L.forward(state, batch))
    rng = unpack_generator(state["noise_rng"])
    want = {"W_hh": 0.0, "W_xh": 0.0, "b_h": 0.0}
    for x, S in zip(batch.segments, batch.step_targets):
        l, _ = _perturbed_pass(state, x, S, alpha)
        for _ in range(n):
            xi = [sigma * rng.standard_normal((x.shape[0], 4)) for _ in range(x.shape[1])]
            l_p, (E_hh, E_xh, E_b) = _perturbed_pass(state, x, S, alpha, xi)
            dL = (l_p - l) / batch.size / (sigma * sigma * n)
            want["W_hh"] = want["W_hh"] + np.einsum("b,bij->ij", dL, E_hh)
            want["W_xh"] = want["W_xh"] + np.einsum("b,bij->ij", dL, E_xh)
            want["b_h"] = want["b_h"] + dL @ E_b
    for k, w in want.items():
        assert np.max(np.abs(w)) > 0 and np.max(np.abs(g[k] - w)) < 1e-10 * np.max(np.abs(w)), k
