"""Scalar instruction templates: how the instructions of one numpy operation are appended to a
Tracker as whole numpy arrays (one append per operation, never one Python object per element).

Every template takes operand ids (int64, -1 = a constant: free, never read) and returns the ids
of the values it creates. An instruction whose inputs are all constants is not emitted: its
output is a constant (-1), as in a plain Python loop on constants.

    emit(tr, live, build, width)         the general form: a (P, L) grid of instruction slots
    elementwise(tr, operand_ids, shape)  one instruction per output element, operands in order
    matmul(tr, A, B)                     s = A0*B0; then t = Ak*Bk; s = s + t    (per row of A, B)
    sum_of_products(tr, ops)             the same with n >= 2 factors per term (einsum)
    fold(tr, T)                          s = T0; s = op(s, Tk)                   (per row of T)
"""
from __future__ import annotations

import numpy as np

from metrics.tracking.layout import I64


def emit(tr, live: np.ndarray, build, width: int, all_live: bool) -> np.ndarray:
    """Instructions from a template: `live` (P, L) marks which of the P x L instruction slots
    (C order) exist; `build(idt)` returns their reads (P, L, r) given the ids `idt` (P, L) (-1
    for a slot that does not exist; a read of -1 is a constant: not read). Returns idt."""
    P, L = live.shape
    first = tr.n_values
    if all_live:
        idt = np.arange(first, first + P * L, dtype=I64).reshape(P, L)
        R = build(idt)
        tr._append(P * L, R.shape[-1], R.reshape(-1), width)
        return idt
    flat = live.reshape(-1)
    cnt = int(np.count_nonzero(flat))
    idt = np.full(P * L, -1, I64)
    idt[flat] = np.arange(first, first + cnt, dtype=I64)
    idt = idt.reshape(P, L)
    R = build(idt)
    Rl = R.reshape(P * L, R.shape[-1])[flat]
    m = Rl >= 0
    tr._append(cnt, m.sum(axis=1).astype(np.uint8), Rl[m], width)
    return idt


def elementwise(tr, operand_ids, shape, width) -> np.ndarray:
    """One instruction per element of `shape` (C order) reading the operands (broadcast) in
    order. Returns the output ids (C order, shape `shape`)."""
    n = int(np.prod(shape, dtype=np.int64))
    if not operand_ids or n == 0:
        return np.full(shape, -1, I64)
    R = np.stack([np.broadcast_to(i, shape) for i in operand_ids], axis=-1).reshape(n, 1, -1)
    all_live = n == 0 or R.min() >= 0
    live = np.ones((n, 1), bool) if all_live else (R >= 0).any(axis=-1)
    first = tr.n_values
    idt = emit(tr, live, lambda idt: R, width, all_live)
    if tr.n_values > first:
        tr._elementwise_runs.append((first, tr.n_values - first))
    return idt.reshape(shape)


def matmul(tr, A: np.ndarray, B: np.ndarray, width: int) -> np.ndarray:
    """A, B (P, K): per output s = A0*B0; t = Ak*Bk; s = s + t. Returns (P,) ids."""
    P, K = A.shape
    if K == 0:
        return np.full(P, -1, I64)
    L = 2 * K - 1
    all_live = P == 0 or (A.min() >= 0 and B.min() >= 0)
    if all_live:
        live = np.ones((P, L), bool)
    else:
        plive = (A >= 0) | (B >= 0)
        slive = np.logical_or.accumulate(plive, axis=1)
        live = np.empty((P, L), bool)
        live[:, 0] = plive[:, 0]
        live[:, 1::2] = plive[:, 1:]
        live[:, 2::2] = slive[:, 1:]

    def build(idt):
        R = np.empty((P, L, 2), I64)
        R[:, 0, 0] = A[:, 0]
        R[:, 0, 1] = B[:, 0]
        R[:, 1::2, 0] = A[:, 1:]
        R[:, 1::2, 1] = B[:, 1:]
        if all_live:                # slot 2k reads s_{k-1} (slot 2k-2) and p_k (slot 2k-1)
            R[:, 2::2, 0] = idt[:, 0:L - 1:2]
            R[:, 2::2, 1] = idt[:, 1:L - 1:2]
            return R
        pid = np.concatenate([idt[:, :1], idt[:, 1::2]], axis=1)    # products p_0..p_{K-1}
        sid = np.concatenate([idt[:, :1], idt[:, 2::2]], axis=1)    # sums s_0 = p_0 .. s_{K-1}
        R[:, 2::2, 0] = sid[:, :-1]
        R[:, 2::2, 1] = pid[:, 1:]
        return R

    idt = emit(tr, live, build, width, all_live)
    return idt[:, L - 1]


def sum_of_products(tr, ops: list, width: int) -> np.ndarray:
    """ops: n >= 2 arrays (P, K) of factor ids. Per output p: for each term k in order, its
    product left to right, c = X0[k]*X1[k]; c = c*X2[k] ...; then (k >= 1) s = s + c, s
    starting as term 0. With n = 2 this is exactly `matmul`. Returns (P,) ids."""
    n = len(ops)
    P, K = ops[0].shape
    if K == 0:
        return np.full(P, -1, I64)
    X = np.stack(ops)                                         # (n, P, K)
    chain = np.logical_or.accumulate(X >= 0, axis=0)          # is factor-prefix j a tracked value?
    # slots per output, in order: for each term k, its n-1 products, then its addition (k >= 1)
    live = np.zeros((P, K, n), bool)
    live[:, :, :n - 1] = np.moveaxis(chain[1:], 0, -1)
    live[:, 1:, n - 1] = np.logical_or.accumulate(chain[-1], axis=1)[:, 1:]

    def build(idt):
        idt = idt.reshape(P, K, n)
        R = np.full((P, K, n, 2), -1, I64)
        R[:, :, 0, 0] = X[0]
        for j in range(1, n):
            if j >= 2:
                R[:, :, j - 1, 0] = idt[:, :, j - 2]
            R[:, :, j - 1, 1] = X[j]
        term = idt[:, :, n - 2]                               # the product of term k
        s_prev = np.concatenate([term[:, :1], idt[:, 1:-1, n - 1]], axis=1)
        R[:, 1:, n - 1, 0] = s_prev
        R[:, 1:, n - 1, 1] = term[:, 1:]
        return R.reshape(P, K * n, 2)

    idt = emit(tr, live.reshape(P, K * n), build, width, False).reshape(P, K, n)
    return idt[:, 0, n - 2].copy() if K == 1 else idt[:, K - 1, n - 1].copy()


def _fold(tr, T: np.ndarray, width: int, post: bool) -> np.ndarray:
    """The instruction ids (P, K-1 [+1]) of left folds over the rows of T (K >= 2 or post)."""
    P, K = T.shape
    L = K - 1 + (1 if post else 0)
    all_live = P == 0 or T.min() >= 0
    if all_live:
        live = np.ones((P, L), bool)
    else:
        slive = np.logical_or.accumulate(T >= 0, axis=1)
        live = np.empty((P, L), bool)
        live[:, :K - 1] = slive[:, 1:]
        if post:
            live[:, K - 1] = slive[:, -1]

    def build(idt):
        R = np.full((P, L, 2), -1, I64)
        s = np.concatenate([T[:, :1], idt[:, :K - 1]], axis=1)         # s_0 .. s_{K-1}
        R[:, :K - 1, 0] = s[:, :-1]
        R[:, :K - 1, 1] = T[:, 1:]
        if post:
            R[:, K - 1, 0] = s[:, -1]
        return R

    if all_live and post:
        # the division reads one value: nreads varies inside the op, use the masked path
        idt = np.arange(tr.n_values, tr.n_values + P * L, dtype=I64).reshape(P, L)
        R = build(idt).reshape(P * L, 2)
        m = R >= 0
        tr._append(P * L, m.sum(axis=1).astype(np.uint8), R[m], width)
        return idt
    return emit(tr, live, build, width, all_live)


def fold(tr, T: np.ndarray, width: int, post: bool = False) -> np.ndarray:
    """Left folds: T (P, K) term ids; per output s = T[0]; s = op(s, T[k]) for k >= 1; with
    `post`, one more instruction reading s (mean's division by a constant). Returns (P,) ids."""
    P, K = T.shape
    if K == 0:
        return np.full(P, -1, I64)
    if K == 1 and not post:
        return T[:, 0].copy()
    return _fold(tr, T, width, post)[:, -1]


def running_fold(tr, T: np.ndarray, width: int) -> np.ndarray:
    """The same left folds, returning every partial result (P, K): s_0 = T[:, 0] (no
    instruction: the same value), s_k = op(s_{k-1}, T[:, k]) (cumsum, cumprod)."""
    P, K = T.shape
    if K <= 1:
        return T.copy()
    return np.concatenate([T[:, :1], _fold(tr, T, width, False)], axis=1)
