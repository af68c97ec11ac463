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


@pytest.mark.parametrize("name", ["rtrl", "snap1", "uoro"])
def test_gradient_accumulators_only_for_per_step_credit(name, monkeypatch):
    """The real-time rules credit a per_step batch inside the forward, into five accumulators
    shaped like the parameters; on a final batch their forward allocates none (a measurement
    prices an allocation's writes)."""
    for per_step in (False, True):
        state, batch = case(23, per_step=per_step)
        L, state = _with_rule_state(name, {}, state)
        calls, real = [], np.zeros_like

        def spy(a, *args, **kw):
            calls.append(np.shape(a))
            return real(a, *args, **kw)
        monkeypatch.setattr(np, "zeros_like", spy)
        L.forward(state, batch)
        monkeypatch.undo()
        assert calls == ([state[k].shape for k in RNN_PARAMS] if per_step else []), per_step


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


def readout_dz(state, batch, S, start, j, t, h):
    """dL/dz_y of the batch's sequence start + j at step t, from the hidden state h after that
    step: against the final target (the loss averaged over the batch's B sequences) or, with
    the segment's per-step targets S (b, T, 3), against step t's (over B sequences, T steps)."""
    y = np.tanh(state["W_hy"] @ h + state["b_y"])
    if S is None:
        return (y - batch.targets[start + j]) / batch.size * (1 - y * y)
    return (y - S[j, t]) / (batch.size * S.shape[1]) * (1 - y * y)


def fa_reference(state, batch, alpha, direct):
    """Feedback alignment's direction, sequence by sequence, from its docstring: the readout's
    exact local gradient; e_t = B_hy dz_y,t (at h_{t+1}); fa: dh_{t+1} = e_t + (1 - alpha)
    dh_{t+2} + B_hh dz_{t+1}; dfa: dz_t = alpha (e_t + ... + e_{T-1}) (1 - r_t^2)."""
    W_xh, W_hh, b_h, W_hy, b_y = (state[k] for k in RNN_PARAMS)
    B_hy, B_hh = state["B_hy"], state.get("B_hh")
    g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
    Hn, start = W_hh.shape[0], 0
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
                dz = readout_dz(state, batch, S, start, j, t, hs[t + 1])
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


# ---- storage formats of rtrl's and snap1's influences ------------------------------------------
@pytest.mark.parametrize("name", ["rtrl", "snap1"])
def test_influence_dtype_message_and_accepted_values(name):
    cls = learners.get(name)
    for ok in ("float64", "float32", "float16"):
        assert cls(influence_dtype=ok).config.influence_dtype == ok
    for bad, shown in (("int8", "'int8'"), ("Float32", "'Float32'"), (np.float32, "<class "
                                                                     "'numpy.float32'>")):
        with pytest.raises(ValueError) as e:
            cls(influence_dtype=bad)
        assert str(e.value) == (f"{cls.Config.__qualname__}: influence_dtype must be one of "
                                f"('float64', 'float32', 'float16'), got {shown}")


def zeros_calls(monkeypatch):
    """Record (shape, dtype) of every np.zeros call."""
    calls, real = [], np.zeros

    def spy(shape, dtype=float, *a, **k):
        out = real(shape, dtype, *a, **k)
        calls.append((out.shape, out.dtype))
        return out
    monkeypatch.setattr(np, "zeros", spy)
    return calls


@pytest.mark.parametrize("alpha", [1.0, 0.3])
@pytest.mark.parametrize("dt", ["float32", "float16"])
@pytest.mark.parametrize("name", ["rtrl", "snap1"])
def test_influences_live_in_their_format_from_the_start(name, dt, alpha, monkeypatch):
    """The influences start as zeros in influence_dtype (a measurement prices P_0's reads at that
    width) and every stored step keeps it; the state h stays float64; the output is the float64
    forward's, bit for bit."""
    state, batch = case(40, per_step=False)
    L = learners.get(name)(n_hidden=H_UNITS, alpha=alpha, influence_dtype=dt)
    calls = zeros_calls(monkeypatch)
    cache = L.forward(state, batch)
    monkeypatch.undo()
    H, A = H_UNITS, A_LETTERS
    want = []
    for b in (2, 1):
        if name == "rtrl":
            want += [((b, H), np.float64), ((H, b, H, H), dt), ((H, b, H, A), dt),
                     ((H, b, H), dt)]
        else:
            want += [((b, H), np.float64), ((b, H, H), dt), ((b, H, A), dt), ((b, H), dt)]
    assert [(s, np.dtype(d)) for s, d in calls] == [(s, np.dtype(d)) for s, d in want]
    key = "P" if name == "rtrl" else "S"
    assert all(a.dtype == np.dtype(dt) for seg in cache[key] for a in seg)
    ref = learners.get(name)(n_hidden=H_UNITS, alpha=alpha).forward(state, batch)
    assert np.array_equal(cache["y"], ref["y"])


# ---- snap1: the SnAp-1 recursion on a dense W_hh ---------------------------------------------
def snap1_reference(state, batch, alpha):
    """SnAp-1's direction, sequence by sequence, from its docstring, on any W_hh:
    j_t = (1 - alpha) + alpha D_t diag(W_hh); S_{t+1} = j_t S_t + alpha D_t (h_t | x_t | 1)."""
    W_xh, W_hh, b_h, W_hy, b_y = (state[k] for k in RNN_PARAMS)
    g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
    Hn, start = W_hh.shape[0], 0
    steps = batch.step_targets or [None] * len(batch.segments)
    for x, S in zip(batch.segments, steps):
        b, T, A = x.shape
        for j in range(b):
            h = np.zeros(Hn)
            S_hh, S_xh, S_b = np.zeros((Hn, Hn)), np.zeros((Hn, A)), np.zeros(Hn)
            for t in range(T):
                r = np.tanh(W_xh @ x[j, t] + W_hh @ h + b_h)
                aD = alpha * (1 - r * r)
                jac = (1 - alpha) + aD * np.diag(W_hh)
                S_hh = jac[:, None] * S_hh + np.outer(aD, h)
                S_xh = jac[:, None] * S_xh + np.outer(aD, x[j, t])
                S_b = jac * S_b + aD
                h = (1 - alpha) * h + alpha * r
                if S is None and t < T - 1:
                    continue
                dz = readout_dz(state, batch, S, start, j, t, h)
                dh = W_hy.T @ dz
                g["W_hy"] += np.outer(dz, h)
                g["b_y"] += dz
                g["W_hh"] += dh[:, None] * S_hh
                g["W_xh"] += dh[:, None] * S_xh
                g["b_h"] += dh * S_b
        start += b
    return g


@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_snap1_on_a_dense_network_against_the_reference(alpha, per_step):
    state, batch = case(50 + int(per_step), per_step)
    g = grads_of(learners.get("snap1")(n_hidden=H_UNITS, alpha=alpha), state, batch)
    ref = snap1_reference(state, batch, alpha)
    for k in RNN_PARAMS:
        np.testing.assert_allclose(g[k], ref[k], rtol=1e-10, atol=1e-13, err_msg=k)
    assert np.abs(np.diag(state["W_hh"], 1)).min() > 0         # dense: paths SnAp-1 drops


# ---- uoro: the estimate for given signs, eps ---------------------------------------------------
def uoro_reference(state, batch, alpha, eps):
    """UORO's direction from its docstring, sequence by sequence, with the signs nu drawn as the
    rule draws them (np.random.default_rng(noise_key): per segment, per step, (b, H) signs)."""
    W_xh, W_hh, b_h, W_hy, b_y = (state[k] for k in RNN_PARAMS)
    g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
    Hn, start = W_hh.shape[0], 0
    rng = np.random.default_rng([int(v) for v in state["noise_key"]])
    steps = batch.step_targets or [None] * len(batch.segments)
    for x, S in zip(batch.segments, steps):
        b, T, A = x.shape
        nus = [2.0 * rng.integers(0, 2, size=(b, Hn)) - 1.0 for _ in range(T)]
        for j in range(b):
            h, ht = np.zeros(Hn), np.zeros(Hn)
            th = [np.zeros((Hn, A)), np.zeros((Hn, Hn)), np.zeros(Hn)]    # theta~: xh, hh, b
            for t in range(T):
                nu, xt = nus[t][j], x[j, t]
                r = np.tanh(W_xh @ xt + W_hh @ h + b_h)
                aD = alpha * (1 - r * r)
                Jht = (1 - alpha) * ht + aD * (W_hh @ ht)
                u = aD * nu
                M = [np.outer(u, xt), np.outer(u, h), u]                   # nu^T M_t
                n_theta = np.sqrt(sum((a * a).sum() for a in th))
                n_M = np.sqrt(sum((a * a).sum() for a in M))
                rho0 = np.sqrt((n_theta + eps) / (np.sqrt(Jht @ Jht) + eps))
                rho1 = np.sqrt((n_M + eps) / (np.sqrt(Hn) + eps))
                ht = rho0 * Jht + rho1 * nu
                th = [a / rho0 + m / rho1 for a, m in zip(th, M)]
                h = (1 - alpha) * h + alpha * r
                if S is None and t < T - 1:
                    continue
                dz = readout_dz(state, batch, S, start, j, t, h)
                c = (W_hy.T @ dz) @ ht
                g["W_hy"] += np.outer(dz, h)
                g["b_y"] += dz
                for k, a in zip(("W_xh", "W_hh", "b_h"), th):
                    g[k] += c * a
        start += b
    return g


@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("alpha, eps", [(1.0, 1e-7), (0.3, 1e-7), (0.3, 0.5)])
def test_uoro_estimate_for_its_signs_against_the_reference(alpha, eps, per_step):
    """One draw, exactly: the rank-one recursion with its variance-minimizing rho0, rho1 (any
    positive rho keeps the estimate unbiased, so the statistical tests cannot pin them), with the
    default eps and a large one (eps enters both ratios)."""
    state, batch = case(60 + int(per_step), per_step)
    state["noise_key"] = np.array([123, 4], dtype=np.int64)
    L = learners.get("uoro")(n_hidden=H_UNITS, alpha=alpha, eps=eps)
    g = grads_of(L, state, batch)
    ref = uoro_reference(state, batch, alpha, eps)
    for k in RNN_PARAMS:
        np.testing.assert_allclose(g[k], ref[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_uoro_defaults_and_eps_edges():
    c = learners.get("uoro")().config
    assert (c.eps, c.lr) == (1e-7, 0.005)
    assert learners.get("uoro")(eps=5e-324).config.eps == 5e-324          # any eps > 0
    for bad, shown in ((0.0, "0.0 (float)"), (-1e-7, "-1e-07 (float)"), (float("inf"),
                                                                          "inf (float)")):
        with pytest.raises(ValueError) as e:
            learners.get("uoro")(eps=bad)
        assert str(e.value) == f"UOROConfig: eps must be a finite number in (0, inf), got {shown}"


def test_documented_constructor_defaults():
    """The module docstrings' defaults: checkpointed_bptt and rtrl BPTT's v1 values (k None,
    float64 influences); feedback_alignment "fa" at lr 0.02 (drawing B_hh); snap1 lr 0.02;
    every other shared value v1's."""
    from learners.rnn import RNNConfig
    v1 = RNNConfig()
    shared = [f for f in vars(v1)]
    expect = {"checkpointed_bptt": {"k": None}, "rtrl": {"influence_dtype": "float64"},
              "feedback_alignment": {"feedback": "fa", "lr": 0.02, "history_dtype": "float64"},
              "snap1": {"lr": 0.02, "influence_dtype": "float64"},
              "uoro": {"lr": 0.005, "eps": 1e-7}}
    for name, own in expect.items():
        c = learners.get(name)().config
        for f in shared:
            assert getattr(c, f) == own.get(f, getattr(v1, f)), (name, f)
        for f, v in own.items():
            assert getattr(c, f) == v, (name, f)
    fa = learners.get("feedback_alignment")()
    assert "B_hh" in fa.init(SimpleNamespace(n_letters=3), np.random.default_rng(0))


# ---- the v1 network (alpha = 1) computes no leak term ------------------------------------------
class _Spy(np.ndarray):
    """An array that logs every ufunc applied to it (name, its scalar operands); results stay
    _Spy, so everything computed from the state and the batch is logged."""
    log: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kw):
        scalars = [float(i) for i in inputs if np.ndim(i) == 0 and not isinstance(i, np.ndarray)]
        _Spy.log.append((ufunc.__name__, method, scalars))
        args = [i.view(np.ndarray) if isinstance(i, _Spy) else i for i in inputs]
        given = kw.get("out")                          # in place (+=): write into its base
        if given:
            kw["out"] = tuple(o.view(np.ndarray) if isinstance(o, _Spy) else o for o in given)
        out = getattr(ufunc, method)(*args, **kw)
        if given:
            return given[0] if len(given) == 1 else given
        return out.view(_Spy) if isinstance(out, np.ndarray) else out


def leak_terms(name, hyper, per_step):
    """The ufunc calls of one forward + credit at alpha = 1 that multiply by 0 or 1 or add 0
    (a leak term (1 - alpha) x or alpha x written out at alpha = 1)."""
    state, batch = case(70 + int(per_step), per_step)
    L, state = _with_rule_state(name, dict(hyper, alpha=1.0), state)
    spy = {k: (v.view(_Spy) if v.dtype.kind == "f" else v) for k, v in state.items()}
    batch = Batch(segments=[x.view(_Spy) for x in batch.segments], targets=batch.targets,
                  step_targets=batch.step_targets)
    _Spy.log = []
    L.credit(spy, batch, L.forward(spy, batch))
    assert len(_Spy.log) > 50                          # the spy sees the rule's arithmetic
    return [(u, s) for u, m, s in _Spy.log if m == "__call__" and (
        (u == "multiply" and any(v in (0.0, 1.0) for v in s)) or (u == "add" and 0.0 in s))]


@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("name, hyper", RULES + [("feedback_alignment", {"feedback": "dfa"})])
def test_the_v1_network_computes_no_leak_term(name, hyper, per_step):
    """Documented in learners/rnn.py (leak, alpha_times: "no extra operation on the v1
    network"): at alpha = 1 no operation multiplies by 1 - alpha = 0 or by alpha = 1, or adds
    0; a measurement of the v1 network prices no leak."""
    assert leak_terms(name, hyper, per_step) == []
