"""Pieces every rule on the v1 network shares: the network's initialization and the v1 optimizer.

The network (v1): h_0 = 0, h_{t+1} = tanh(W_xh x_t + W_hh h_t + b_h), y = tanh(W_hy h_T + b_y).
The optimizer (v1): global-L2-norm clipping, momentum 0.9, decoupled weight decay on the matrices.
"""
from __future__ import annotations

import numpy as np

RNN_PARAMS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
WEIGHT_MATRICES = ("W_xh", "W_hh", "W_hy")


def init_rnn(n_in: int, n_hidden: int, n_out: int, init_scale: float,
             rng: np.random.Generator) -> dict:
    """v1 initialization, drawn in this order: W_xh (H, n_in), W_hh (H, H), W_hy (n_out, H);
    biases start at zero. Also zero momentum buffers `v_<name>` for every parameter."""
    s = init_scale
    params = {
        "W_xh": s * rng.standard_normal((n_hidden, n_in)),
        "W_hh": s * 0.7 / np.sqrt(n_hidden) * rng.standard_normal((n_hidden, n_hidden)),
        "b_h": np.zeros(n_hidden),
        "W_hy": s * rng.standard_normal((n_out, n_hidden)),
        "b_y": np.zeros(n_out),
    }
    params.update({"v_" + k: np.zeros_like(v) for k, v in list(params.items())})
    return params


def clip_momentum_decay(state: dict, grads: dict, lr: float, momentum: float, clip: float,
                        weight_decay: float, names=RNN_PARAMS) -> dict:
    """The v1 update, in order: clip by global L2 norm (if norm > clip, scale by
    clip / (norm + 1e-12)); v = momentum * v - lr * g; p = p + v; the weight matrices are then
    multiplied by (1 - lr * weight_decay). Returns a new state dict."""
    # (1) global-norm clipping
    norm = np.sqrt(sum((grads[k] * grads[k]).sum() for k in names))
    if clip is not None and norm > clip:
        scale = clip / (norm + 1e-12)
        grads = {k: grads[k] * scale for k in names}
    new = dict(state)
    for k in names:
        # (2) momentum, (3) step
        v = momentum * state["v_" + k] - lr * grads[k]
        p = state[k] + v
        # (4) weight decay on the matrices only
        if k in WEIGHT_MATRICES and weight_decay:
            p = p * (1.0 - lr * weight_decay)
        new["v_" + k], new[k] = v, p
    return new
