"""Rules 5-7 of issue 12: feedback_alignment (FA / DFA through time), checkpointed_bptt and
weight_perturbation, on the shared RNN (learners/rnn.py).

Fast (a few seconds each on an idle 2-core machine); the larger unbiasedness check of weight
perturbation is marked @slow: `python -m pytest -m slow tests/test_rules_fa_ckpt_wp.py`.
"""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import harness
import learners
from harness.task import Batch
from learners.checkpointed_bptt import ceil_sqrt

import gradient_checks
from gradient_checks import final_output_loss

RULES = ["feedback_alignment", "checkpointed_bptt", "weight_perturbation"]
HIDDEN = ("W_xh", "W_hh", "b_h")


@pytest.fixture(scope="module")
def task():
    return harness.SequenceLookup()


def random_case(rule, seed, variable=False, **hyper):
    """A learner of `rule` on a random small network (larger than v1 init, biases non-zero) and a
    random batch; fixed timing has one segment, variable timing one segment per sequence."""
    rng = np.random.default_rng(seed)
    H, A = int(rng.integers(2, 9)), int(rng.integers(2, 6))
    L = learners.get(rule)(n_hidden=H, init_scale=float(rng.uniform(0.5, 1.5)), **hyper)
    state = L.init(SimpleNamespace(n_letters=A), rng)
    state["b_h"] = 0.3 * rng.standard_normal(H)
    state["b_y"] = 0.3 * rng.standard_normal(3)
    if variable:
        segs = [np.eye(A)[rng.integers(0, A, size=int(rng.integers(1, 12)))][None]
                for _ in range(4)]
    else:
        B, T = int(rng.integers(1, 7)), int(rng.integers(1, 12))
        segs = [np.eye(A)[rng.integers(0, A, size=(B, T))]]
    B = sum(s.shape[0] for s in segs)
    targets = np.where(rng.standard_normal((B, 3)) >= 0, 1.0, -1.0)
    return L, state, Batch(segments=segs, targets=targets)


def grads_of(learner, state, batch):
    return learner.credit(state, batch, learner.forward(state, batch))


def numerical_gradient(learner, state, batch, eps=1e-6):
    """Central differences of the final-output loss through learner.predict."""
    return gradient_checks.numerical_gradient(final_output_loss(learner, batch), state,
                                              learners.get("bptt").PARAMS, eps)


def bptt_grads(state, batch, alpha=1.0):
    B = learners.get("bptt")(alpha=alpha) if alpha != 1.0 else learners.get("bptt")()
    return grads_of(B, state, batch)


def cosine(a, b):
    return float(a @ b / np.sqrt(a @ a) / np.sqrt(b @ b))


def flat(g, names=HIDDEN):
    return np.concatenate([g[k].ravel() for k in names])


# ---- registry, hyperparameters -------------------------------------------------------------------
def test_rules_are_registered():
    for name in RULES:
        assert learners.get(name).name == name
        assert name in learners.available()


@pytest.mark.parametrize("name, bad, match", [
    ("feedback_alignment", {"feedback": "transpose"}, "feedback"),
    ("feedback_alignment", {"alpha": 0.0}, "alpha"),
    ("checkpointed_bptt", {"k": 0}, "k"), ("checkpointed_bptt", {"k": 2.5}, "k"),
    ("checkpointed_bptt", {"k": True}, "k"), ("checkpointed_bptt", {"lr": 0}, "lr"),
    ("weight_perturbation", {"sigma": 0.0}, "sigma"),
    ("weight_perturbation", {"n_perturb": 0}, "n_perturb"),
    ("weight_perturbation", {"n_perturb": 2.0}, "n_perturb"),
    ("weight_perturbation", {"alpha": 1.5}, "alpha"),
])
def test_bad_hyperparameters_raise(name, bad, match):
    with pytest.raises(ValueError, match=match):
        learners.get(name)(**bad)


# ---- feedback alignment --------------------------------------------------------------------------
def transposed_feedback(state):
    """The feedback matrices set to the true transposes of the forward weights."""
    s = dict(state, B_hy=state["W_hy"].T)
    if "B_hh" in state:
        s["B_hh"] = state["W_hh"].T
    return s


@pytest.mark.parametrize("seed", range(8))
def test_fa_with_true_transposes_is_bptt(seed):
    L, state, batch = random_case("feedback_alignment", seed, variable=seed % 4 == 3)
    g, gb = grads_of(L, transposed_feedback(state), batch), bptt_grads(state, batch)
    assert set(g) == set(gb)
    for name in gb:
        assert np.array_equal(g[name], gb[name]), name


@pytest.mark.parametrize("seed", range(6))
def test_fa_with_true_transposes_is_bptt_leaky(seed):
    """alpha = 0.3: BPTT through the leak, bit for bit, and the true gradient (finite
    differences)."""
    L, state, batch = random_case("feedback_alignment", seed, variable=seed % 3 == 2, alpha=0.3)
    g = grads_of(L, transposed_feedback(state), batch)
    gb = bptt_grads(state, batch, alpha=0.3)
    num = numerical_gradient(L, state, batch)
    for name in gb:
        assert np.array_equal(g[name], gb[name]), name
        np.testing.assert_allclose(g[name], num[name], rtol=0, atol=1e-8, err_msg=name)


def test_fa_random_feedback_is_not_the_gradient_but_the_readout_is():
    L, state, batch = random_case("feedback_alignment", 5)
    g, gb = grads_of(L, state, batch), bptt_grads(state, batch)
    assert np.array_equal(g["W_hy"], gb["W_hy"]) and np.array_equal(g["b_y"], gb["b_y"])
    assert not np.allclose(g["W_hh"], gb["W_hh"])


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_dfa_one_step_with_true_transpose_is_bptt(alpha):
    """At T = 1 the direct path is the only path: DFA with B_hy = W_hy^T is BPTT."""
    for seed in range(4):
        L, state, batch = random_case("feedback_alignment", seed, feedback="dfa", alpha=alpha)
        batch = Batch(segments=[batch.segments[0][:, :1]], targets=batch.targets)
        assert "B_hh" not in state
        g = grads_of(L, transposed_feedback(state), batch)
        gb = bptt_grads(state, batch, alpha)
        for name in gb:
            assert np.array_equal(g[name], gb[name]), name


def test_dfa_sends_the_output_error_to_every_step():
    """alpha = 1, B_hy = W_hy^T, B_hh unused: DFA's W_xh credit of every step is the readout
    error e = dz_y W_hy gated by that step's derivative, which BPTT gives only to the last step."""
    L, state, batch = random_case("feedback_alignment", 2, feedback="dfa")
    x = batch.segments[0]
    cache = L.forward(state, batch)
    g = L.credit(transposed_feedback(state), batch, cache)
    dz_y = L.readout_delta(cache["y"], batch.targets, batch.size)
    e = dz_y @ state["W_hy"]
    H = cache["hs"][0]                                  # alpha = 1: r_t = h_{t+1}
    want = sum((e * (1 - H[t + 1] * H[t + 1])).T @ x[:, t] for t in range(x.shape[1]))
    np.testing.assert_allclose(g["W_xh"], want, rtol=1e-12, atol=1e-14)


def test_fa_feedback_is_fixed_rule_state(task):
    for fb, keys in (("fa", {"B_hy", "B_hh"}), ("dfa", {"B_hy"})):
        L = learners.get("feedback_alignment")(feedback=fb)
        s0 = L.init(task, np.random.default_rng(0))
        assert keys <= set(s0) and not (keys & set(L.PARAMS))
        net = learners.get("bptt")().init(task, np.random.default_rng(0))
        for k in net:                                   # the network is drawn first, as v1
            assert np.array_equal(s0[k], net[k]), k
        r = harness.train(L, task, seed=0, sweeps=10)
        for k in keys:
            assert np.array_equal(r.state[k], s0[k]), k
        assert "B_hy" not in r.params


# ---- checkpointed BPTT ---------------------------------------------------------------------------
def test_ceil_sqrt():
    for T in range(1, 2000):
        assert ceil_sqrt(T) == math.ceil(math.sqrt(T)), T


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [None, 1, 2, 3, 50])
def test_checkpointed_gradient_is_bptt_bit_for_bit(seed, k):
    L, state, batch = random_case("checkpointed_bptt", seed, variable=seed % 4 == 3, k=k)
    g, gb = grads_of(L, state, batch), bptt_grads(state, batch)
    assert set(g) == set(gb)
    for name in gb:
        assert np.array_equal(g[name], gb[name]), (name, k)


@pytest.mark.parametrize("seed", range(4))
def test_checkpointed_gradient_is_bptt_leaky(seed):
    L, state, batch = random_case("checkpointed_bptt", seed, variable=seed == 3, alpha=0.3)
    g, gb = grads_of(L, state, batch), bptt_grads(state, batch, alpha=0.3)
    num = numerical_gradient(L, state, batch)
    for name in gb:
        assert np.array_equal(g[name], gb[name]), name
        np.testing.assert_allclose(g[name], num[name], rtol=0, atol=1e-8, err_msg=name)


def test_checkpointed_stores_only_the_checkpoints():
    rng = np.random.default_rng(0)
    for T, k, n in ((5, None, 2), (20, None, 4), (80, None, 9), (10, 3, 4), (7, 7, 1), (7, 1, 7)):
        L = learners.get("checkpointed_bptt")(k=k)
        batch = Batch(segments=[np.eye(5)[rng.integers(0, 5, size=(4, T))]],
                      targets=np.ones((4, 3)))
        cache = L.forward(L.init(SimpleNamespace(n_letters=5), rng), batch)
        assert set(cache) == {"y", "checkpoints"}
        assert len(cache["checkpoints"][0]) == n == math.ceil(T / L.interval(T)), (T, k)


@pytest.mark.parametrize("hyper", [{}, {"k": 2}, {"alpha": 0.3}, {"alpha": 0.3, "k": 4}])
def test_checkpointed_training_is_bptt_bit_for_bit(task, hyper):
    """30 sweeps at seed 0 with BPTT's hyperparameters: the same parameters and history, bit for
    bit (alpha = 1: the v1 defaults, converged at sweep 22 as BPTT)."""
    alpha = hyper.get("alpha", 1.0)
    a = harness.train(learners.get("bptt")(**({"alpha": alpha} if alpha != 1.0 else {})),
                      task, seed=0, sweeps=30)
    b = harness.train(learners.get("checkpointed_bptt")(**hyper), task, seed=0, sweeps=30)
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name
    assert a.history.equals(b.history)
    if alpha == 1.0:
        assert a.converged_sweep == b.converged_sweep == 22


def test_checkpointed_training_is_bptt_variable_timing():
    vt = harness.SequenceLookup(variable_timing=True)
    a = harness.train(learners.get("bptt").for_task(vt), vt, seed=0, sweeps=20)
    b = harness.train(learners.get("checkpointed_bptt").for_task(vt), vt, seed=0, sweeps=20)
    for name in a.params:
        assert np.array_equal(a.params[name], b.params[name]), name


def peak_live_bytes(learner, task):
    """Peak live bytes (the largest ByteDMD stack, in bytes) of one tracked update from the
    initial state: computed by the ByteDMD engine, which the Report does not expose yet."""
    from harness.measure import measure_update
    from metrics.engine import bytedmd_price
    _, trace = measure_update(learner, task, seed=0, warm_sweeps=0, reuse=False,
                              return_trace=True)
    return bytedmd_price(trace).peak_live_bytes


@pytest.mark.parametrize("T", [20, 80])
def test_checkpointed_peak_live_bytes_below_bptt(T):
    """H = 8 to keep the traces small (the comparison at H = 30 is in the report)."""
    H = 8
    task = harness.SequenceLookup(length=T)
    ckpt = peak_live_bytes(learners.get("checkpointed_bptt")(n_hidden=H), task)
    full = peak_live_bytes(learners.get("bptt")(n_hidden=H), task)
    assert 0 < ckpt < full
    # BPTT keeps every h_t (B x H x 8 bytes) live into the backward pass, checkpointing only
    # ceil(T / k) of them plus the k states of the segment being replayed (and its last r_t)
    B, k = task.n_train, ceil_sqrt(T)
    assert full - ckpt >= (T - math.ceil(T / k) - k - 1) * B * H * 8


# ---- weight perturbation -------------------------------------------------------------------------
def test_weight_perturbation_is_a_pure_function_of_the_state(task):
    L = learners.get("weight_perturbation")()
    state = L.init(task, np.random.default_rng(0))
    batch = task.train_batch()
    a, b = grads_of(L, state, batch), grads_of(L, state, batch)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    c = grads_of(L, dict(state, noise_key=state["noise_key"] + np.array([0, 1])), batch)
    assert not np.array_equal(a["W_hh"], c["W_hh"])
    assert np.array_equal(a["W_hy"], c["W_hy"])           # the readout: no noise
    new = L.update(state, a)
    assert new["noise_key"].dtype == np.int64
    assert np.array_equal(new["noise_key"], state["noise_key"] + np.array([0, 1]))
    np.testing.assert_array_equal(L.predict(state, batch), L.forward(state, batch)["y"])


def test_weight_perturbation_noise_depends_on_the_seed(task):
    a = harness.train(learners.get("weight_perturbation")(), task, seed=1, sweeps=5)
    b = harness.train(learners.get("weight_perturbation")(), task, seed=1, sweeps=5)
    c = harness.train(learners.get("weight_perturbation")(), task, seed=2, sweeps=5)
    assert np.array_equal(a.params["W_hh"], b.params["W_hh"])
    assert a.state["noise_key"][1] == 5 and a.state["noise_key"][0] != c.state["noise_key"][0]
    assert "noise_key" not in a.params


def wp_estimates(task, n_keys, n_perturb=500, sigma=1e-4):
    """n_keys weight-perturbation estimates of the hidden-layer gradient, each the mean of
    n_perturb draws, at the seed-0 initial state (rows of an array), and BPTT's gradient there."""
    L = learners.get("weight_perturbation")(sigma=sigma, n_perturb=n_perturb)
    state = L.init(task, np.random.default_rng(0))
    batch = task.train_batch()
    rows = []
    for i in range(n_keys):
        g = grads_of(L, dict(state, noise_key=np.array([12345, i], np.int64)), batch)
        rows.append(flat(g))
    gb = bptt_grads(state, batch)
    for k in ("W_hy", "b_y"):
        assert np.array_equal(g[k], gb[k]), k           # the readout's exact local rule
    return np.array(rows), flat(gb)


def test_weight_perturbation_is_unbiased(task):
    """10,000 draws at sigma 1e-4 (20 x 500): the mean's cosine with the BPTT gradient > 0.9
    (about 0.95 expected, against about 0.024 for one draw); its squared distance from the
    gradient within 3x the trace of its covariance (estimated from the 20 partial means: a bias
    would show as a larger distance); and the relative variance of one draw,
    E|g_hat - g|^2 / |g|^2, near its Gaussian value n + 1 (n = 1,080 perturbed weights)."""
    rows, g = wp_estimates(task, n_keys=20)
    mean = rows.mean(axis=0)
    assert cosine(mean, g) > 0.9
    var_of_mean = rows.var(axis=0, ddof=1).sum() / rows.shape[0]
    assert ((mean - g) ** 2).sum() < 3 * var_of_mean
    n = g.size
    rel_var = rows.var(axis=0, ddof=1).sum() * 500 / (g @ g)
    assert 0.8 * (n + 1) < rel_var < 1.25 * (n + 1)


@pytest.mark.slow
def test_weight_perturbation_is_unbiased_many_draws(task):
    """100,000 draws: cosine > 0.98 (about 0.995 expected) and the mean's norm within 5% of the
    gradient's."""
    rows, g = wp_estimates(task, n_keys=200)
    mean = rows.mean(axis=0)
    assert cosine(mean, g) > 0.98
    assert abs(np.sqrt(mean @ mean) / np.sqrt(g @ g) - 1) < 0.05


# ---- every rule: tracked = plain, measured, learns -----------------------------------------------
VARIANTS = [("feedback_alignment", {}), ("feedback_alignment", {"feedback": "dfa", "alpha": 0.3}),
            ("checkpointed_bptt", {}), ("checkpointed_bptt", {"k": 2, "alpha": 0.3}),
            ("weight_perturbation", {}), ("weight_perturbation", {"alpha": 0.3})]


TRACKED = [(name, hyper, False) for name, hyper in VARIANTS] + [
    ("checkpointed_bptt", {"k": 2, "alpha": 0.3}, True),
    ("feedback_alignment", {"feedback": "dfa"}, True),
    ("weight_perturbation", {"n_perturb": 2}, True)]


@pytest.mark.parametrize("name, hyper, variable", TRACKED)
def test_tracked_is_bit_identical_to_plain(name, hyper, variable):
    """The rule run on tracked arrays (what measure_update / measure_run use) gives the plain
    run's parameters, state and history bit for bit; integer state (the noise key) passes
    through untracked."""
    # through harness.measure: the tracker's own module is moving (harness -> metrics.tracking)
    from harness.measure import TrackedArray, TrackedStep, Tracker
    task = harness.SequenceLookup(variable_timing=variable)
    plain = harness.train(learners.get(name).for_task(task, **hyper), task, seed=1, sweeps=3)
    tr = Tracker()
    try:
        stepper = TrackedStep(tr)
        tracked = harness.train(learners.get(name).for_task(task, **hyper), task, seed=1,
                                sweeps=3, step=stepper)
        assert stepper.updates == 3 and tr.trace().n_reads > 0
    finally:
        tr.close()
    for k in plain.params:
        assert np.array_equal(plain.params[k], tracked.params[k]), k
    assert set(plain.state) == set(tracked.state)
    for k in plain.state:
        v = tracked.state[k]
        if plain.state[k].dtype.kind == "f":
            assert isinstance(v, TrackedArray), k
            v = v.peek()
        assert v.dtype == plain.state[k].dtype
        assert np.array_equal(plain.state[k], v), k
    assert plain.history.equals(tracked.history)


@pytest.mark.parametrize("name", RULES)
def test_measure_update_runs(name):
    """The default-size update is priced: all three phases read data, no unmodelled call."""
    from harness.measure import measure_update
    rep = measure_update(learners.get(name)(), seed=0, reuse=False)
    assert rep.bytedmd > 0 and set(rep.by_phase["phase"]) == {"forward", "credit", "update"}


@pytest.mark.parametrize("name, hyper", [("feedback_alignment", {}),
                                         ("feedback_alignment", {"feedback": "dfa"}),
                                         ("checkpointed_bptt", {}),
                                         ("weight_perturbation", {})])
def test_rule_learns_in_a_short_run(task, name, hyper):
    """300 sweeps at seed 0 with the (provisional) defaults: the training loss falls below half
    its initial value and more training sequences are right than at initialization."""
    L = learners.get(name)(**hyper)
    init = L.init(task, np.random.default_rng(0))
    tb = task.fixed_train_batch()
    r = harness.train(L, task, seed=0, sweeps=300)
    loss0 = harness.training.mse_loss(L.predict(init, tb), tb.targets)
    loss1 = harness.training.mse_loss(L.predict(r.state, tb), tb.targets)
    assert loss1 < 0.5 * loss0
    assert r.train_acc > harness.accuracy(L.predict(init, tb), tb.targets)
