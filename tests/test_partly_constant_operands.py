"""Operations whose operands are partly constant (-1 ids: plain numbers written into a tracked
array): an instruction whose inputs are all constants is no instruction, exactly as in the
scalar program of explicit loops (tests/test_tracking.py, tests/test_tracking_coverage.py). The
cases put the value with id 0 (the first value pushed, a tracked value like any other) after or
among constants, and rows that start, end or are made of constants: np.einsum with three or
more operands (templates.sum_of_products) and the left folds of the reductions and cumsum
(templates.fold, running_fold)."""
from __future__ import annotations

import numpy as np
import pytest

from test_tracking import s_cumsum, s_reduce
from test_tracking_coverage import _check, s_einsum


def _with_constants(masks, plain, scalar):
    """(func, scalar program) with the masked elements of each operand replaced by the constant
    0.5: on the tracked side by an assignment (the slot then holds a constant)."""
    def masked(ops):
        ops = [o.copy() for o in ops]
        for o, m in zip(ops, masks):
            o[m] = 0.5
        return ops
    return (lambda *ops: plain(*masked(ops))), (lambda rec, ops: scalar(rec, *masked(ops)))


EINSUMS = [
    # the first two factors constant, the third tracked and holding value id 0 (pushed first)
    ("i,i,i->i", [(3,), (3,), (3,)], [np.ones(3, bool), np.ones(3, bool), np.zeros(3, bool)]),
    # per row, only some terms have a tracked product: the sum starts at the first that does
    ("ij,ij,ij->i", [(3, 4)] * 3,
     [np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 1]], bool), np.zeros((3, 4), bool),
      np.array([[1, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]], bool)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)],
     [np.array([[1, 0, 1], [1, 1, 1]], bool), np.array([[1, 1], [0, 1], [1, 1]], bool),
      np.array([[1, 0], [1, 1]], bool)]),
    ("i,i,i,i->i", [(4,)] * 4,
     [np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool), np.array([1, 1, 1, 0], bool),
      np.array([0, 1, 1, 1], bool)]),
]


@pytest.mark.parametrize("spec, shapes, masks", EINSUMS, ids=[c[0] for c in EINSUMS])
def test_einsum_with_partly_constant_factors_matches_the_scalar_program(spec, shapes, masks):
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(s) + 2.0 for s in shapes]
    func, scalar = _with_constants(masks, lambda *ops: np.einsum(spec, *ops),
                                   lambda rec, *ops: s_einsum(rec, spec, ops))
    trace = _check(func, args, scalar)
    if spec == "i,i,i->i":                 # the only instructions: one product per output
        assert trace.n_values == 9 + 3 and trace.arrays()[1].tolist() == [0, 1, 2]


# row 0: only its first element (value id 0) tracked; row 1: a constant inside; row 2: all
# constants; row 3: constants first, then tracked values
FOLD_MASK = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]], bool)
FOLDS = {
    "sum axis=1": (lambda a: a.sum(axis=1), lambda rec, a: s_reduce(rec, a, 1, False)),
    "sum axis=0": (lambda a: a.sum(axis=0), lambda rec, a: s_reduce(rec, a, 0, False)),
    "sum": (lambda a: a.sum(), lambda rec, a: s_reduce(rec, a, None, False)),
    "mean axis=1": (lambda a: a.mean(axis=1), lambda rec, a: s_reduce(rec, a, 1, False, True)),
    "prod axis=1": (lambda a: a.prod(axis=1), lambda rec, a: s_reduce(rec, a, 1, False)),
    "cumsum axis=1": (lambda a: np.cumsum(a, axis=1), lambda rec, a: s_cumsum(rec, a, 1)),
    "cumsum axis=0": (lambda a: np.cumsum(a, axis=0), lambda rec, a: s_cumsum(rec, a, 0)),
}


@pytest.mark.parametrize("name", FOLDS)
def test_a_fold_over_partly_constant_terms_matches_the_scalar_program(name):
    plain, scalar_program = FOLDS[name]
    args = [np.arange(16, dtype=float).reshape(4, 4) / 4 + 1.0]
    func, scalar = _with_constants([FOLD_MASK], plain, scalar_program)
    _check(func, args, scalar)


# A's row 0 all tracked, row 1 a constant prefix, row 2 all constants; B's column 1 constant
# but for its last element: output (1, 1) has constant products first (its sum starts at the
# third), output (2, 1) only its last product, while output (0, 0), before them, has all
MATMUL_MASKS = [np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]], bool),
                np.array([[0, 1], [0, 1], [1, 1], [0, 0]], bool)]
MATMULS = {
    "a @ b": lambda a, b: a @ b,
    "np.dot": np.dot,
    "einsum ij,jk->ik": lambda a, b: np.einsum("ij,jk->ik", a, b),
}


@pytest.mark.parametrize("name", MATMULS)
def test_a_matrix_product_of_partly_constant_operands_matches_the_scalar_program(name):
    """templates.matmul: which products and partial sums are instructions is decided per output
    (a constant prefix in one row does not depend on the other rows)."""
    rng = np.random.default_rng(5)
    args = [rng.standard_normal((3, 4)) + 2.0, rng.standard_normal((4, 2)) + 2.0]
    func, scalar = _with_constants(MATMUL_MASKS, MATMULS[name],
                                   lambda rec, a, b: s_einsum(rec, "ij,jk->ik", (a, b)))
    _check(func, args, scalar)


def test_a_mean_whose_rows_end_in_their_only_tracked_term_divides_them():
    """mean's division (templates.fold with post) is an instruction when the row's sum is a
    tracked value: also when only the last term is tracked (the sum before it a constant), and
    not when every term is constant."""
    mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]], bool)
    args = [np.arange(12, dtype=float).reshape(3, 4) / 4 + 1.0]
    func, scalar = _with_constants([mask], lambda a: a.mean(axis=1),
                                   lambda rec, a: s_reduce(rec, a, 1, False, True))
    _check(func, args, scalar)
