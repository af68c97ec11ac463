"""Linear algebra (docs/cost_model.md section 2): A @ B, np.matmul, np.dot, np.outer, np.tensordot,
np.einsum and np.linalg.norm, all as sums of products.

    A @ B, np.dot     per output (i, j) in C order: s = A[i,0]*B[0,j]; then for k = 1..K-1:
                      t = A[i,k]*B[k,j]; s = s + t (vectors as rows/columns; a stacked
                      matmul loops over the batch first)
    np.tensordot      the same, with A's free axes as rows and the summed axes, in the order
                      given, as k (C order over them): numpy's own reshape-and-dot
    np.outer          one instruction a[i]*b[j] per output (i, j) in C order
    np.einsum         explicit subscripts only ('ij,jk->ik'), no optimize. Per output element
                      in C order of the output: for each combination of the summed indices (in
                      order of first appearance in the inputs, C order over them, so the last
                      one fastest) the product of the operands left to right, c = x0*x1;
                      c = c*x2 ...; then s = s + c from the second term on. Two operands give
                      exactly the matmul program ('ij,jk->ik' costs what A @ B costs); one
                      operand is a left-fold sum ('ij->i' costs what a.sum(axis=1) costs); no
                      summed index and one operand is a rearrangement (no instruction).
    np.linalg.norm    vector 2-norm and Frobenius norm (ord None, 2 for vectors, 'fro'):
                      the squares x*x elementwise (C order), the left-fold sum per output,
                      then one sqrt per output -- the program of np.sqrt((x * x).sum(axis)).
The numbers are numpy's own (the same call on the plain data); the order above is the model's.
"""
from __future__ import annotations

import numpy as np

from metrics.tracking import templates
from metrics.tracking.array import TrackedArray, ids_of, peek
from metrics.tracking.errors import not_modelled
from metrics.tracking.layout import I64, norm_axes
from metrics.tracking.registry import implements


def _record_matmul(tr, ai, bi, rd) -> np.ndarray:
    """The matmul program of ids ai @ bi (any shapes numpy's matmul takes); ids shaped like rd."""
    a2 = ai[None, :] if ai.ndim == 1 else ai
    b2 = bi[:, None] if bi.ndim == 1 else bi
    M, K = a2.shape[-2:]
    N = b2.shape[-1]
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    full = batch + (M, N, K)
    P = int(np.prod(full[:-1], dtype=np.int64))
    A = np.broadcast_to(a2[..., :, None, :], full).reshape(P, K)
    B = np.broadcast_to(np.swapaxes(b2, -1, -2)[..., None, :, :], full).reshape(P, K)
    return templates.matmul(tr, A, B, tr._width(rd.dtype)).reshape(rd.shape)


def matmul(tr, a, b, out=None):
    """A @ B and np.matmul (called by the ufunc handler)."""
    ad, bd = np.asarray(peek(a)), np.asarray(peek(b))
    if ad.ndim == 0 or bd.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if out is None:
        rd = np.asarray(np.matmul(peek(a), peek(b)))
    else:
        od = peek(out)
        np.matmul(ad, bd, out=od)
        rd = od
    new = _record_matmul(tr, ids_of(a), ids_of(b), rd)
    tr._read_events([a, b])
    return tr._store(rd, new, out)


@implements(np.dot)
def dot(tr, a, b, out=None):
    if out is not None:
        raise not_modelled("numpy.dot with out=")
    a, b = tr.operands((a, b))
    ad, bd = np.shape(peek(a)), np.shape(peek(b))
    if len(ad) == 0 or len(bd) == 0:
        return np.multiply(a, b)
    if len(ad) > 2 or len(bd) > 2:
        raise not_modelled("numpy.dot of arrays with more than 2 dimensions")
    rd = np.asarray(np.dot(peek(a), peek(b)))
    new = _record_matmul(tr, ids_of(a), ids_of(b), rd)
    tr._read_events([a, b])
    return tr._store(rd, new, None)


@implements(np.outer)
def outer(tr, a, b, out=None):
    if out is not None:
        raise not_modelled("numpy.outer with out=")
    a, b = tr.operands((a, b))
    rd = np.asarray(np.outer(peek(a), peek(b)))
    ai = ids_of(a).ravel()[:, None]
    bi = ids_of(b).ravel()[None, :]
    ops = [i for i, x in ((ai, a), (bi, b)) if isinstance(x, TrackedArray)]
    new = templates.elementwise(tr, ops, rd.shape, tr._width(rd.dtype))
    tr._read_events([a, b])
    return tr._store(rd, new, None)


@implements(np.tensordot)
def tensordot(tr, a, b, axes=2):
    a, b = tr.operands((a, b))
    rd = np.asarray(np.tensordot(peek(a), peek(b), axes))     # numpy validates the axes
    ai, bi = ids_of(a), ids_of(b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ax_a, ax_b = list(range(ai.ndim - n, ai.ndim)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a = [int(x) % ai.ndim for x in ax_a]
    ax_b = [int(x) % bi.ndim for x in ax_b]
    free_a = [d for d in range(ai.ndim) if d not in ax_a]
    free_b = [d for d in range(bi.ndim) if d not in ax_b]
    K = int(np.prod([ai.shape[d] for d in ax_a], dtype=np.int64))
    M = int(np.prod([ai.shape[d] for d in free_a], dtype=np.int64))
    N = int(np.prod([bi.shape[d] for d in free_b], dtype=np.int64))
    A = np.transpose(ai, free_a + ax_a).reshape(M, K)
    B = np.transpose(bi, ax_b + free_b).reshape(K, N)
    new = _record_matmul(tr, A, B, rd.reshape(M, N))
    tr._read_events([a, b])
    return tr._store(rd, new.reshape(rd.shape), None)


def _einsum_terms(spec: str, shapes):
    """(inputs, output letters, summed letters, sizes) of explicit einsum subscripts."""
    if not isinstance(spec, str):
        raise not_modelled("numpy.einsum with operands and sublists (use a subscripts string)")
    spec = spec.replace(" ", "")
    if "->" not in spec:
        raise not_modelled("numpy.einsum without explicit output subscripts ('->')")
    if "." in spec:
        raise not_modelled("numpy.einsum with an ellipsis")
    lhs, out = spec.split("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {len(ins)} subscripts for {len(shapes)} operands")
    sizes = {}
    for sub, shape in zip(ins, shapes):
        if len(sub) != len(shape):
            raise ValueError(f"einsum: subscripts {sub!r} for an operand of shape {shape}")
        for c, n in zip(sub, shape):
            if sizes.get(c, 1) == 1:          # a 1 broadcasts against any size, 0 included
                sizes[c] = n
    summed = []
    for sub in ins:
        for c in sub:
            if c not in out and c not in summed:
                summed.append(c)
    return ins, out, summed, sizes


@implements(np.einsum)
def einsum(tr, *operands, out=None, optimize=False, **kw):
    """See the module docstring."""
    if out is not None:
        raise not_modelled("numpy.einsum with out=")
    if optimize is not False:
        raise not_modelled("numpy.einsum with optimize=")
    spec, ops = operands[0], tr.operands(operands[1:])
    ins, outl, summed, sizes = _einsum_terms(spec, [np.shape(peek(x)) for x in ops])
    rd = np.asarray(np.einsum(spec, *[peek(x) for x in ops], optimize=False, **kw))
    letters = list(outl) + summed                       # the grid: outputs, then summed indices
    grid = np.indices([sizes[c] for c in letters], dtype=I64, sparse=True)
    P = int(np.prod([sizes[c] for c in outl], dtype=np.int64))
    K = int(np.prod([sizes[c] for c in summed], dtype=np.int64))
    full = tuple(sizes[c] for c in letters)
    factors = []
    for sub, x in zip(ins, ops):
        ids = ids_of(x)
        idx = tuple(grid[letters.index(c)] if n != 1 else 0 for c, n in zip(sub, ids.shape))
        factors.append(np.broadcast_to(ids[idx], full).reshape(P, K))
    width = tr._width(rd.dtype)
    if len(ops) == 1 and K == 1:                        # a rearrangement: the same values
        new = factors[0][:, 0]
        if np.asarray(peek(ops[0])).dtype.itemsize != rd.dtype.itemsize:
            new = templates.elementwise(tr, [new], new.shape, width)
    elif len(ops) == 1:
        new = templates.fold(tr, factors[0], width)
    elif len(ops) == 2:
        new = templates.matmul(tr, factors[0], factors[1], width)
    else:
        new = templates.sum_of_products(tr, factors, width)
    tr._read_events(ops)
    return tr._store(rd, np.asarray(new).reshape(rd.shape), None)


@implements(np.linalg.norm)
def norm(tr, x, ord=None, axis=None, keepdims=False):
    """Vector 2-norm and Frobenius norm: sqrt of the left-fold sum of x*x."""
    if not isinstance(x, TrackedArray):
        raise not_modelled("numpy.linalg.norm of an untracked argument")
    tr._check(x)
    rd = np.asarray(np.linalg.norm(x.data, ord=ord, axis=axis, keepdims=keepdims))
    axes = norm_axes(axis, x.ndim)
    vector = ord in (None, 2) and len(axes) == 1
    frobenius = ord in (None, "fro") and (axis is None or len(axes) == 2)
    if not (vector or frobenius):
        raise not_modelled(f"numpy.linalg.norm with ord={ord!r} over {len(axes)} axes")
    width = tr._width(rd.dtype)
    squares = templates.elementwise(tr, [x.ids, x.ids], x.shape, width)
    kept = [d for d in range(x.ndim) if d not in axes]
    T = np.transpose(squares, kept + list(axes)).reshape(rd.size, -1)
    sums = templates.fold(tr, T, width)
    new = templates.elementwise(tr, [sums], sums.shape, width)
    tr._read_events([x])
    return tr._store(rd, new.reshape(rd.shape), None)
