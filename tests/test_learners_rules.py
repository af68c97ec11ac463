"""The credit-assignment rules tbptt, rtrl, eprop and node_perturbation.

Fast (well under a minute on an idle 2-core machine); the one slow test (RTRL's full 800-sweep
v1 pin) is marked @slow: `python -m pytest -m slow tests/test_learners_rules.py`.
"""
import numpy as np
import pytest

import harness
import learners
from harness.task import Batch
from learners.rnn import RNNLearner

RULES = ["tbptt", "rtrl", "eprop", "node_perturbation"]


@pytest.fixture(scope="module")
def task():
    return harness.SequenceLookup()


@pytest.fixture(scope="module")
def bptt_seed0(task):
    return harness.train(learners.get("bptt")(), task, seed=0)


def init_rnn(A, H, scale, rng):
    """The shared network's initialization for A letters and H hidden units."""
    class _Task:
        n_letters = A
    return RNNLearner(n_hidden=H, init_scale=scale).init(_Task, rng)


def random_case(seed, variable=False):
    """A random network (larger than v1 init, biases non-zero) and a random batch."""
    rng = np.random.default_rng(seed)
    H, A = int(rng.integers(2, 9)), int(rng.integers(2, 6))
    state = init_rnn(A, H, float(rng.uniform(0.5, 1.5)), rng)
    state["b_h"] = 0.3 * rng.standard_normal(H)
    state["b_y"] = 0.3 * rng.standard_normal(3)
    if variable:     # one segment per sequence, lengths differ
        segs = [np.eye(A)[rng.integers(0, A, size=int(rng.integers(1, 8)))][None] for _ in range(4)]
    else:
        B, T = int(rng.integers(1, 7)), int(rng.integers(1, 8))
        segs = [np.eye(A)[rng.integers(0, A, size=(B, T))]]
    B = sum(s.shape[0] for s in segs)
    targets = np.where(rng.standard_normal((B, 3)) >= 0, 1.0, -1.0)
    return state, Batch(segments=segs, targets=targets), H


def grads_of(learner, state, batch):
    return learner.credit(state, batch, learner.forward(state, batch))


# ---- registry --------------------------------------------------------------------------------
def test_rules_are_registered():
    for name in RULES:
        assert learners.get(name).name == name
        assert name in learners.available()


# ---- tbptt -----------------------------------------------------------------------------------
def test_tbptt_k_ge_T_is_bptt_bit_for_bit(task, bptt_seed0):
    for k in (5, 9):
        r = harness.train(learners.get("tbptt")(k=k, lr=0.05, clip=5.0, init_scale=0.5), task, seed=0)
        for name in bptt_seed0.params:
            assert np.array_equal(r.params[name], bptt_seed0.params[name]), (k, name)
        assert r.converged_sweep == bptt_seed0.converged_sweep == 22


def test_tbptt_k_ge_T_is_bptt_variable_timing():
    vt = harness.SequenceLookup(variable_timing=True)
    a = harness.train(learners.get("bptt").for_task(vt), vt, seed=0, sweeps=40)
    b = harness.train(learners.get("tbptt").for_task(vt, k=10, lr=0.02, clip=1.0), vt, seed=0,
                      sweeps=40)
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name])


def test_tbptt_truncation_changes_only_recurrent_credit():
    state, batch, _ = random_case(3)
    full = grads_of(learners.get("bptt")(), state, batch)
    for k in (1, 2):
        g = grads_of(learners.get("tbptt")(k=k), state, batch)
        assert np.array_equal(g["W_hy"], full["W_hy"]) and np.array_equal(g["b_y"], full["b_y"])
    # k = 1: only the last transition is credited
    x = batch.segments[0]
    g1 = grads_of(learners.get("tbptt")(k=1), state, batch)
    if x.shape[1] > 1:
        assert not np.allclose(g1["W_xh"], full["W_xh"])


# ---- rtrl ------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_rtrl_gradient_is_bptt_gradient(seed):
    state, batch, _ = random_case(seed, variable=seed % 3 == 2)
    gb = grads_of(learners.get("bptt")(), state, batch)
    gr = grads_of(learners.get("rtrl")(), state, batch)
    assert set(gr) == set(gb)
    for name in gb:
        assert gr[name].shape == gb[name].shape
        np.testing.assert_allclose(gr[name], gb[name], rtol=0, atol=1e-10, err_msg=name)


def test_rtrl_follows_bptt_through_v1_convergence(task):
    """Seed 0, the v1 defaults: RTRL converges at sweep 22 like BPTT, and its parameters after 25
    sweeps are BPTT's to rounding. (The full 800-sweep pin is the slow test below: RTRL costs
    O(H^4) per step, ~30 BPTT runs.)"""
    a = harness.train(learners.get("bptt")(), task, seed=0, sweeps=25)
    r = harness.train(learners.get("rtrl")(), task, seed=0, sweeps=25)
    assert r.converged_sweep == a.converged_sweep == 22
    assert r.history["train_acc"].tolist() == a.history["train_acc"].tolist()
    for name in r.params:
        np.testing.assert_allclose(r.params[name], a.params[name], rtol=0, atol=1e-10)


@pytest.mark.slow
def test_rtrl_reproduces_v1_seed0(task, bptt_seed0):
    """The issue's pin, 800 sweeps: 20/20, 4/5, converged at 22, BPTT's parameters to 1e-9.
    Slow (20 s to minutes, by machine load): run with -m slow."""
    r = harness.train(learners.get("rtrl")(), task, seed=0)
    assert r.train_acc == 1.0
    assert round(r.test_acc * 5) == 4
    assert r.converged_sweep == 22
    for name in r.params:
        np.testing.assert_allclose(r.params[name], bptt_seed0.params[name], rtol=0, atol=1e-9)


# ---- eprop -----------------------------------------------------------------------------------
def test_eprop_memoryless_trace_with_readout_feedback_is_tbptt_k1():
    """alpha = 1, kappa = 0, feedback through W_hy: the trace is D_t x pre_t at the last step,
    which is exactly truncated BPTT with k = 1."""
    for seed in range(5):
        state, batch, _ = random_case(seed, variable=seed == 4)
        ge = grads_of(learners.get("eprop")(feedback="readout", trace_decay=0.0, alpha=1.0),
                      state, batch)
        gt = grads_of(learners.get("tbptt")(k=1), state, batch)
        for name in gt:
            np.testing.assert_allclose(ge[name], gt[name], rtol=0, atol=1e-12, err_msg=name)


def test_eprop_trace_is_exact_for_a_single_self_connected_unit_without_recurrence():
    """With W_hh = 0 and kappa = 1 - alpha, the trace is the exact dh_T/dW_xh of a leaky unit:
    e-prop equals the true gradient (computed here by finite differences)."""
    rng = np.random.default_rng(0)
    A, Hn, alpha = 3, 4, 0.6
    state = init_rnn(A, Hn, 1.0, rng)
    state["W_hh"] = np.zeros((Hn, Hn))
    batch = Batch(segments=[np.eye(A)[rng.integers(0, A, size=(2, 4))]],
                  targets=np.array([[1.0, -1, 1], [-1, -1, 1]]))
    L = learners.get("eprop")(feedback="readout", trace_decay=None, alpha=alpha)
    g = grads_of(L, state, batch)

    def loss(W):
        s = dict(state, W_xh=W)
        d = L.predict(s, batch) - batch.targets
        return 0.5 * np.mean(np.sum(d * d, axis=1))
    eps, num = 1e-6, np.zeros_like(state["W_xh"])
    for i in range(Hn):
        for a in range(A):
            Wp, Wm = state["W_xh"].copy(), state["W_xh"].copy()
            Wp[i, a] += eps
            Wm[i, a] -= eps
            num[i, a] = (loss(Wp) - loss(Wm)) / (2 * eps)
    np.testing.assert_allclose(g["W_xh"], num, atol=1e-8)


def test_eprop_defaults_are_local_on_the_shared_network():
    c = learners.get("eprop")().config
    assert (c.feedback, c.alpha, c.clip_mode, c.trace_decay, c.lr) == (
        "random", 1.0, "per_parameter", 0.9, 0.02)
    assert learners.get("node_perturbation")().config.clip_mode == "per_parameter"
    for name in ("bptt", "tbptt", "rtrl"):
        assert learners.get(name)().config.clip_mode == "global"
        assert learners.get(name)().config.alpha == 1.0


def test_eprop_random_feedback_is_fixed(task):
    r = harness.train(learners.get("eprop")(feedback="random"), task, seed=0, sweeps=20)
    L = learners.get("eprop")(feedback="random")
    B0 = L.init(task, np.random.default_rng(0))["B_fb"]
    assert np.array_equal(r.state["B_fb"], B0)
    assert "B_fb" not in r.params


# ---- node perturbation -----------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_node_perturbation_estimate_follows_the_gradient(task, alpha):
    L = learners.get("node_perturbation")(sigma=1e-3, n_perturb=400, alpha=alpha)
    state = L.init(task, np.random.default_rng(0))
    batch = task.train_batch()
    g = grads_of(L, state, batch)
    gb = grads_of(learners.get("bptt")(alpha=alpha), state, batch)
    for name in ("W_hh", "W_xh", "b_h"):
        a, b = g[name].ravel(), gb[name].ravel()
        cos = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
        assert cos > 0.8, (name, cos)
        # the size too (a cosine passes any positive scale, e.g. a missing 1/sigma): the
        # projection on the gradient in its units is 1 when unbiased (measured 0.94 to 1.00), the
        # norm ratio 1 plus the noise left in 400 draws (measured 1.00 to 1.15)
        proj, norm = a @ b / (b @ b), np.linalg.norm(a) / np.linalg.norm(b)
        assert 0.85 < proj < 1.15 and 0.9 < norm < 1.3, (name, proj, norm)
    assert np.array_equal(g["W_hy"], gb["W_hy"])         # readout: the exact local gradient


def test_node_perturbation_predict_draws_no_noise(task):
    L = learners.get("node_perturbation")()
    state = L.init(task, np.random.default_rng(0))
    before = state["noise_rng"].copy()
    y1 = L.predict(state, task.test_batch())
    assert np.array_equal(state["noise_rng"], before)
    np.testing.assert_array_equal(y1, learners.get("bptt")().predict(state, task.test_batch()))


def test_node_perturbation_keeps_its_noise_in_the_state(task):
    """No state on the instance; forward does not change its argument; the update stores the
    generator's new state; the stream is the one a generator seeded in init draws."""
    L = learners.get("node_perturbation")(n_perturb=2)
    rng = np.random.default_rng(5)
    state = L.init(task, rng)
    assert set(vars(L)) == {"config"}
    assert state["noise_rng"].dtype == np.uint64 and state["noise_rng"].shape == (6,)
    before = state["noise_rng"].copy()
    batch = task.train_batch()
    cache = L.forward(state, batch)
    assert np.array_equal(state["noise_rng"], before)
    new = L.update(state, L.credit(state, batch, cache))
    assert not np.array_equal(new["noise_rng"], before)
    assert np.array_equal(new["noise_rng"], cache["noise_rng"])
    # the same noise as a generator seeded like init's: the run's generator after the network
    rng2 = np.random.default_rng(5)
    RNNLearner().init(task, rng2)
    gen = np.random.default_rng(int(rng2.integers(2 ** 63)))
    x = batch.segments[0]
    B, T, Hn = x.shape[0], x.shape[1], L.config.n_hidden
    for _ in range(L.config.n_perturb):
        for _ in range(T):
            gen.standard_normal((B, Hn))
    from learners.node_perturbation import pack_generator, unpack_generator
    assert np.array_equal(pack_generator(gen), new["noise_rng"])
    # a second forward from the same state draws the same noise: a pure function
    again = L.forward(state, batch)
    for (yp1, _), (yp2, _) in zip(cache["perturbed"][0], again["perturbed"][0]):
        assert np.array_equal(yp1, yp2)
    # packing round-trips
    g2 = unpack_generator(pack_generator(gen))
    assert np.array_equal(g2.standard_normal(7), gen.standard_normal(7))


# ---- every rule: learns, reproducible, validates ----------------------------------------------
# rtrl: its learning is BPTT's (test_rtrl_follows_bptt_through_v1_convergence)
# The e-prop tuned before issue 11 (symmetric feedback, leaky network, global clipping), reachable
# by its hyperparameters; e-prop's defaults (random feedback on the v1 network, per-parameter
# clipping) are provisional until the re-tune, and fit the training set only partly: they are
# checked to learn (loss halved, unseen accuracy above initialization and the baselines) but not
# held to a training-accuracy bar.
EPROP_TUNED_V0 = dict(feedback="readout", trace_decay=0.9, alpha=0.3, lr=0.02, clip_mode="global")
LEARNS = [("tbptt", {}, 0.8), ("eprop", {}, None), ("eprop", EPROP_TUNED_V0, 0.8),
          ("node_perturbation", {}, 0.8)]


@pytest.mark.parametrize("name, kw, min_train_acc", LEARNS)
def test_rule_learns_above_its_initialization(task, name, kw, min_train_acc):
    """800 sweeps at seed 0."""
    L = learners.get(name)(**kw)
    init = L.init(task, np.random.default_rng(0))
    r = harness.train(L, task, seed=0)
    tb = task.fixed_train_batch()
    ub = task.unseen_batch()
    init_loss = harness.training.mse_loss(L.predict(init, tb), tb.targets)
    init_unseen = harness.accuracy(L.predict(init, ub), ub.targets)
    final_loss = harness.training.mse_loss(L.predict(r.state, tb), tb.targets)
    assert final_loss < 0.5 * init_loss
    if min_train_acc is not None:
        assert r.train_acc >= min_train_acc
    assert r.unseen_acc > max(init_unseen, r.baseline_unseen_acc)


@pytest.mark.parametrize("name", RULES)
def test_same_seed_same_run(task, name):
    kw = {"n_hidden": 8} if name == "rtrl" else {}
    a = harness.train(learners.get(name)(**kw), task, seed=3, sweeps=25)
    b = harness.train(learners.get(name)(**kw), task, seed=3, sweeps=25)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    assert a.history.equals(b.history)


def test_node_perturbation_noise_depends_on_seed(task):
    a = harness.train(learners.get("node_perturbation")(), task, seed=1, sweeps=10)
    L = learners.get("node_perturbation")()
    b = harness.train(L, task, seed=1, sweeps=10)
    c = harness.train(L, task, seed=2, sweeps=10)      # the same instance reseeds in init
    assert np.array_equal(a.params["W_hh"], b.params["W_hh"])
    assert not np.array_equal(a.params["W_hh"], c.params["W_hh"])


@pytest.mark.parametrize("name, bad, match", [
    ("tbptt", {"k": 0}, "k"), ("tbptt", {"k": 1.5}, "k"), ("tbptt", {"k": True}, "k"),
    ("tbptt", {"lr": 0}, "lr"), ("rtrl", {"n_hidden": 0}, "n_hidden"),
    ("rtrl", {"lr": -1}, "lr"), ("eprop", {"feedback": "transpose"}, "feedback"),
    ("eprop", {"trace_decay": 1.5}, "trace_decay"), ("eprop", {"alpha": 0.0}, "alpha"),
    ("eprop", {"alpha": 1.2}, "alpha"), ("node_perturbation", {"sigma": 0.0}, "sigma"),
    ("node_perturbation", {"n_perturb": 0}, "n_perturb"),
    ("node_perturbation", {"momentum": -0.1}, "momentum"),
])
def test_bad_hyperparameters_raise(name, bad, match):
    with pytest.raises(ValueError, match=match):
        learners.get(name)(**bad)


@pytest.mark.parametrize("name", RULES)
def test_unknown_hyperparameter_is_named(name):
    with pytest.raises(TypeError, match="window"):
        learners.get(name)(window=3)


@pytest.mark.parametrize("name", RULES)
def test_variable_timing_runs(name):
    vt = harness.SequenceLookup(variable_timing=True)
    kw = {"n_hidden": 6} if name == "rtrl" else {}
    L = learners.get(name).for_task(vt, **kw)
    assert L.config.lr == 0.02
    r = harness.train(L, vt, seed=0, sweeps=3)
    assert np.isfinite(r.history["loss"]).all()


# ---- tracked arrays: every built-in rule runs unchanged and bit-identically ----------------------
@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("name", sorted(set(learners.available())))
def test_rule_tracked_is_bit_identical_to_plain(task, name, alpha):
    """The learner's code run on tracked arrays (harness.measure.TrackedStep, what measure_update
    and measure_run use) gives the plain run's parameters, state and history bit for bit."""
    from harness.measure import TrackedStep
    from metrics.tracking import TrackedArray, Tracker
    kw = {"n_hidden": 6} if name == "rtrl" else {}     # RTRL's O(H^4) program, traced, is slow
    kw["alpha"] = alpha
    plain = harness.train(learners.get(name)(**kw), task, seed=1, sweeps=3)
    tr = Tracker()
    try:
        stepper = TrackedStep(tr)
        tracked = harness.train(learners.get(name)(**kw), task, seed=1, sweeps=3, step=stepper)
        assert stepper.updates == 3 and tr.trace().n_reads > 0
    finally:
        tr.close()
    assert set(plain.params) == set(tracked.params) == set(learners.get(name).PARAMS)
    for k in plain.params:
        assert np.array_equal(plain.params[k], tracked.params[k]), k
    for k in plain.state:
        v = tracked.state[k]
        if plain.state[k].dtype.kind in "iub":          # bookkeeping (a packed generator): untracked
            assert isinstance(v, np.ndarray) and np.array_equal(plain.state[k], v), k
            continue
        assert isinstance(v, TrackedArray), k
        assert np.array_equal(plain.state[k], v.peek()), k
    assert plain.history.equals(tracked.history)
