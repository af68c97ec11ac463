"""The 8-3-8 encoder updates of the public hinton-problems v2 ByteDMD study, in scalar order.

hinton-problems (github cybertronai/hinton-problems, folder v2-bytedmd, 2026-05) measured one
full-batch update of two learners on the 8-3-8 encoder (8 one-hot patterns through 3 hidden
units, 48 weights each) with the reference ByteDMD tracer at 1 byte per element:

    backprop (W1 8x3, b1 3, W2 3x8, b2 8)          18,327   (forward alone 6,489)
    Boltzmann CD-1 (W 16x3, b_v 16, b_h 3)         24,641   (positive phase alone 7,484)
    Boltzmann CD-5                                  67,581

Their kernels are pure Python over scalars: every output element's chain (a sum of products, its
bias, its sigmoid) is finished before the next one starts. The functions below do the same
arithmetic in the same order, written for this project's tracked arrays: every operation is on
one-element (0-d) tracked values, and where the reference leaves its tracer (the sigmoid's clamp
tests `bool()`, its `math.exp(float())`, `range(k)`) these kernels leave the model the same way,
through the tracker's escapes. Pass them plain numpy arrays through `metrics.bytedmd(kernel,
args, bytes_per_element=1)`; the arguments are pushed as the reference pushes its nested lists
(the last argument first, rows in C order).

Arithmetic order shared by both learners (the study's, restated):
- a sum starts from the integer 0 (Python's `sum`): `s = 0 + p_0`, then `s = s + p_k`;
- sigmoid(z) = 1 / (1 + exp(-clamp(z, -50, 50))) with the clamp as two comparisons whose truth
  value is tested (`z < 50`, then `z > -50`), then `-z`, then `float()` into `math.exp`: the
  activation is a plain Python float from then on (free to read, never on the stack).

For comparison, the same updates with numpy's evaluation order (docs/cost_model_order.md):
- `*_whole_array`: the very same scalar instructions (same reads, same escapes, bit-identical
  results), but each numpy operation runs over the whole batch before the next one starts;
- `*_matmul`: the updates as numpy code is usually written (`@`, `.sum(axis=0)`, as in the
  study's own numpy stubs), with the same escaping sigmoid on whole arrays: slightly different
  arithmetic (a matmul's sum starts from its first product, not from 0).
"""
from __future__ import annotations

import math
import random

import numpy as np

N_PATTERNS = 8     # one-hot patterns
N_IN = 8           # backprop: input = output width
N_HID = 3          # hidden units (log2 8)
N_VIS = 16         # Boltzmann: V1 (8) || V2 (8)


# ---- data and initial parameters (plain numpy; the study's shapes, values do not matter) -----

def one_hot_patterns() -> np.ndarray:
    """(8, 8) float64: row p is the p-th unit vector (backprop's inputs and targets)."""
    return np.eye(N_PATTERNS)


def paired_patterns() -> np.ndarray:
    """(8, 16) float64: row p has V1[p] = V2[p] = 1 (the Boltzmann encoder's visible vectors)."""
    return np.hstack([np.eye(N_PATTERNS), np.eye(N_PATTERNS)])


def init_backprop(seed: int = 0):
    """W1 (8, 3), b1 (3,), W2 (3, 8), b2 (8,): uniform(-0.1, 0.1) weights, zero biases."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-0.1, 0.1, (N_IN, N_HID)), np.zeros(N_HID),
            rng.uniform(-0.1, 0.1, (N_HID, N_IN)), np.zeros(N_IN))


def init_boltzmann(seed: int = 0):
    """W (16, 3) normal(0, 0.1), b_v (16,) and b_h (3,) zero."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.1, (N_VIS, N_HID)), np.zeros(N_VIS), np.zeros(N_HID)


# ---- scalar helpers ---------------------------------------------------------------------------

def sigmoid_escaping(z) -> float:
    """1 / (1 + exp(-clamp(z, -50, 50))) as the study computes it; returns a plain float.

    On a tracked z: `z < 50` and `z > -50` are instructions whose results leave through bool(),
    `-z` is an instruction, and its result leaves through float() (6 reads in all)."""
    if not (z < 50.0):
        z = 50.0
    if not (z > -50.0):
        z = -50.0
    return 1.0 / (1.0 + math.exp(float(-z)))


def _weighted_sum(terms):
    """Left fold from the integer 0, as Python's sum(): s = 0 + t0, then s = s + tk."""
    s = 0
    for t in terms:
        s = s + t
    return s


# ---- backprop, one full-batch gradient -------------------------------------------------------

def backprop_forward(W1, b1, W2, b2, X):
    """Forward pass over the 8 patterns, pattern by pattern; activations are plain floats.
    Returns (hidden (8 lists of 3), outputs (8 lists of 8))."""
    hidden, outputs = [], []
    for p in range(N_PATTERNS):
        h = [sigmoid_escaping(_weighted_sum(X[p, i] * W1[i, j] for i in range(N_IN)) + b1[j])
             for j in range(N_HID)]
        y = [sigmoid_escaping(_weighted_sum(h[j] * W2[j, k] for j in range(N_HID)) + b2[k])
             for k in range(N_IN)]
        hidden.append(h)
        outputs.append(y)
    return hidden, outputs


def backprop_gradient(W1, b1, W2, b2, X):
    """One full-batch backprop gradient of the 8-3-8 autoencoder (targets = inputs X).

    Forward for all 8 patterns first, then per pattern: output error d = y - x, hidden error
    e_j = (sum_k d_k W2[j,k]) h_j (1 - h_j), and the accumulations dW1 += x e, dW2 += h d,
    db1 += e, db2 += d, in that order. Returns (dW1 (8,3), db1 (3,), dW2 (3,8), db2 (8,))."""
    hidden, outputs = backprop_forward(W1, b1, W2, b2, X)
    dW1, db1 = np.zeros_like(W1), np.zeros_like(b1)      # constants until first written
    dW2, db2 = np.zeros_like(W2), np.zeros_like(b2)
    for p in range(N_PATTERNS):
        h, y = hidden[p], outputs[p]
        d = [y[k] - X[p, k] for k in range(N_IN)]
        e = [_weighted_sum(d[k] * W2[j, k] for k in range(N_IN)) * h[j] * (1.0 - h[j])
             for j in range(N_HID)]
        for i in range(N_IN):
            for j in range(N_HID):
                dW1[i, j] = dW1[i, j] + X[p, i] * e[j]
        for j in range(N_HID):
            for k in range(N_IN):
                dW2[j, k] = dW2[j, k] + h[j] * d[k]
        for j in range(N_HID):
            db1[j] = db1[j] + e[j]
        for k in range(N_IN):
            db2[k] = db2[k] + d[k]
    return dW1, db1, dW2, db2


# ---- Boltzmann encoder (bipartite RBM), one full-batch CD-k gradient -------------------------

def _hidden_given_visible(W, b_h, v):
    """[sigmoid(sum_i v_i W[i,j] + b_h[j]) for j] (plain floats)."""
    return [sigmoid_escaping(_weighted_sum(v[i] * W[i, j] for i in range(N_VIS)) + b_h[j])
            for j in range(N_HID)]


def _visible_given_hidden(W, b_v, h):
    """[sigmoid(sum_j h_j W[i,j] + b_v[i]) for i] (plain floats)."""
    return [sigmoid_escaping(_weighted_sum(h[j] * W[i, j] for j in range(N_HID)) + b_v[i])
            for i in range(N_VIS)]


def _bernoulli(probs, rng: random.Random):
    return [1.0 if rng.random() < q else 0.0 for q in probs]


def boltzmann_positive(W, b_v, b_h, V, k):
    """The positive phase alone: hidden probabilities of the 8 data vectors."""
    return [_hidden_given_visible(W, b_h, V[p]) for p in range(N_PATTERNS)]


def boltzmann_cd_gradient(W, b_v, b_h, V, k, seed: int = 99):
    """One full-batch CD-k gradient of the 16-3 bipartite Boltzmann encoder.

    Positive phase: hidden probabilities of every data vector, then binary samples. k rounds of
    Gibbs sampling on the 8 chains (visible probabilities -> samples -> hidden probabilities ->
    samples), then dW[i,j] = sum_b (v_bi hpos_bj - vneg_bi hneg_bj) / 8, db_v[i] = sum_b (v_bi -
    vneg_bi) / 8, db_h[j] = sum_b (hpos_bj - hneg_bj) / 8 (plain floats). `k` is an argument
    like the others (the study's tracer pushes it too; a Python int becomes a 0-d tracked array)
    and is read once, by range(). Returns (dW (16,3), db_v (16,), db_h list of 3 floats)."""
    rng = random.Random(seed)
    h_pos = [_hidden_given_visible(W, b_h, V[p]) for p in range(N_PATTERNS)]
    h_chain = [_bernoulli(hp, rng) for hp in h_pos]
    v_neg, h_neg = V, h_pos          # k = 0: the data (as the study's kernel)
    for _ in range(k):
        v_neg = [_bernoulli(_visible_given_hidden(W, b_v, h), rng) for h in h_chain]
        h_neg = [_hidden_given_visible(W, b_h, v) for v in v_neg]
        h_chain = [_bernoulli(hp, rng) for hp in h_neg]
    dW, db_v = np.zeros_like(W), np.zeros_like(b_v)
    for i in range(N_VIS):
        for j in range(N_HID):
            s = _weighted_sum(V[b, i] * h_pos[b][j] - v_neg[b][i] * h_neg[b][j]
                              for b in range(N_PATTERNS))
            dW[i, j] = s / N_PATTERNS
    for i in range(N_VIS):
        db_v[i] = _weighted_sum(V[b, i] - v_neg[b][i] for b in range(N_PATTERNS)) / N_PATTERNS
    db_h = [sum(h_pos[b][j] - h_neg[b][j] for b in range(N_PATTERNS)) / N_PATTERNS
            for j in range(N_HID)]
    return dW, db_v, db_h


# ---- the same updates, one whole-array operation after another --------------------------------
# Same scalar instructions as the kernels above (same products, the same folds from 0, the same
# escapes, so the same reads and bit-identical results), but each numpy operation runs over the
# whole batch before the next starts: all products of a layer, then the sums, then the biases,
# then the sigmoid tests. Only the order differs.

def sigmoid_escaping_array(Z) -> np.ndarray:
    """sigmoid_escaping on every element of Z, one operation at a time: all `Z < 50` tests
    (their results leave, np.asarray), all `Z > -50` tests, all `-Z`, which leave into np.exp.
    Clamped elements become constants (no instruction), as the scalar kernel's z = 50.0."""
    Z = Z.copy()
    Z[~np.asarray(Z < 50.0)] = 50.0
    Z[~np.asarray(Z > -50.0)] = -50.0
    E = np.array([math.exp(t) for t in np.asarray(-Z).ravel()]).reshape(Z.shape)  # as math.exp
    return 1.0 / (1.0 + E)


def sum_from_zero(P, axis: int):
    """Python's sum() along `axis`, over whole slices: S = 0 + P[0]; S = S + P[k]."""
    S = 0
    for term in np.moveaxis(P, axis, 0):
        S = S + term
    return S


def backprop_gradient_whole_array(W1, b1, W2, b2, X):
    """backprop_gradient with whole-array operations. X (8, 8): patterns in rows."""
    H = sigmoid_escaping_array(sum_from_zero(X[:, :, None] * W1, axis=1) + b1)   # (8, 3) plain
    Y = sigmoid_escaping_array(sum_from_zero(H[:, :, None] * W2, axis=1) + b2)   # (8, 8) plain
    D = Y - X                                                                     # (8, 8)
    E = sum_from_zero(D[:, None, :] * W2, axis=2) * H * (1.0 - H)                 # (8, 3)
    dW1 = sum_from_zero(X[:, :, None] * E[:, None, :], axis=0)                    # (8, 3)
    dW2 = sum_from_zero(H[:, :, None] * D[:, None, :], axis=0)                    # (3, 8)
    return dW1, sum_from_zero(E, axis=0), dW2, sum_from_zero(D, axis=0)


def _bernoulli_array(P, rng: random.Random) -> np.ndarray:
    """Binary samples of the plain probabilities P, drawn in C order (as the scalar kernel)."""
    return np.array([[1.0 if rng.random() < q else 0.0 for q in row] for row in P])


def boltzmann_cd_gradient_whole_array(W, b_v, b_h, V, k, seed: int = 99):
    """boltzmann_cd_gradient with whole-array operations. V (8, 16): data vectors in rows."""
    rng = random.Random(seed)
    H_pos = sigmoid_escaping_array(sum_from_zero(V[:, :, None] * W, axis=1) + b_h)    # (8, 3)
    H_chain = _bernoulli_array(H_pos, rng)
    V_neg, H_neg = V, H_pos
    for _ in range(k):
        V_neg = _bernoulli_array(
            sigmoid_escaping_array(sum_from_zero(H_chain[:, None, :] * W, axis=2) + b_v), rng)
        H_neg = sigmoid_escaping_array(sum_from_zero(V_neg[:, :, None] * W, axis=1) + b_h)
        H_chain = _bernoulli_array(H_neg, rng)
    T = V[:, :, None] * H_pos[:, None, :] - V_neg[:, :, None] * H_neg[:, None, :]  # (8, 16, 3)
    dW = sum_from_zero(T, axis=0) / N_PATTERNS
    db_v = sum_from_zero(V - V_neg, axis=0) / N_PATTERNS
    db_h = [sum(H_pos[b, j] - H_neg[b, j] for b in range(N_PATTERNS)) / N_PATTERNS
            for j in range(N_HID)]
    return dW, db_v, db_h


def backprop_gradient_matmul(W1, b1, W2, b2, X):
    """backprop_gradient as numpy code is usually written (matmuls, column sums)."""
    H = sigmoid_escaping_array(X @ W1 + b1)              # (8, 3) plain
    Y = sigmoid_escaping_array(H @ W2 + b2)              # (8, 8) plain
    D = Y - X
    E = (D @ W2.T) * H * (1.0 - H)
    return X.T @ E, E.sum(axis=0), H.T @ D, D.sum(axis=0)


def boltzmann_cd_gradient_matmul(W, b_v, b_h, V, k, seed: int = 99):
    """boltzmann_cd_gradient as numpy code is usually written (matmuls, column sums)."""
    rng = random.Random(seed)
    H_pos = sigmoid_escaping_array(V @ W + b_h)          # (8, 3) plain
    H_chain = _bernoulli_array(H_pos, rng)
    V_neg, H_neg = V, H_pos
    for _ in range(k):
        V_neg = _bernoulli_array(sigmoid_escaping_array(H_chain @ W.T + b_v), rng)
        H_neg = sigmoid_escaping_array(V_neg @ W + b_h)
        H_chain = _bernoulli_array(H_neg, rng)
    dW = (V.T @ H_pos - V_neg.T @ H_neg) / N_PATTERNS
    db_v = (V - V_neg).sum(axis=0) / N_PATTERNS
    db_h = ((H_pos - H_neg).sum(axis=0) / N_PATTERNS).tolist()
    return dW, db_v, db_h


if __name__ == "__main__":      # PYTHONPATH=. python tests/scalar_kernels.py
    import metrics
    from metrics.api import trace_call

    bp_args = (*init_backprop(0), one_hot_patterns())
    rows = [("backprop", (backprop_gradient, backprop_gradient_whole_array,
                          backprop_gradient_matmul), bp_args)]
    for k in (1, 5):
        rows.append((f"CD-{k}", (boltzmann_cd_gradient, boltzmann_cd_gradient_whole_array,
                                 boltzmann_cd_gradient_matmul),
                     (*init_boltzmann(0), paired_patterns(), k)))
    print("ByteDMD per full-batch update, 8-3-8 encoder, 1 byte per element "
          "(reads, escapes in brackets)")
    print(f"{'':10}{'scalar order':>24}{'whole-array order':>30}{'numpy with @':>30}")
    for name, kernels, args in rows:
        cells, base = [], None
        for kernel in kernels:
            _, tr = trace_call(kernel, args, bytes_per_element=1)
            cost = metrics.bytedmd(kernel, args, bytes_per_element=1)
            base = base or cost
            rel = "" if cost == base else f" {cost / base - 1:+.0%}"
            cells.append(f"{cost:,}{rel} ({tr.n_reads:,}, {tr.escapes})")
        print(f"{name:10}" + "".join(f"{c:>30}" if i else f"{c:>24}" for i, c in enumerate(cells)))
