"""Truncated backpropagation through time (Williams & Peng 1990; Williams & Zipser 1995).

The v1 network and optimizer; the backward pass is cut after the last `k` steps. With the loss at
the last step only (the v1 task), the error reaches h_T and is carried back through k transitions;
earlier steps receive no credit. Shapes: B sequences in a segment, T steps, A letters, H hidden.

    forward   h_0 = 0;  h_{t+1} = tanh(W_xh x_t + W_hh h_t + b_h);  y = tanh(W_hy h_T + b_y)
    loss      L = 0.5 * mean_b sum_i (y_i - target_i)^2
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy;  for t = T-1 .. max(T-k, 0):
                 dz_t = dh_{t+1} * (1 - h_{t+1}^2)
                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t;  dh_t = dz_t W_hh
    update    global-norm clip, momentum, weight decay (learners.common.clip_momentum_decay)

Only the last k + 1 hidden states are needed by the backward pass (the forward keeps just those).
With k >= T this is full BPTT, with exactly the same floating-point operations in the same order
(learners/bptt.py), so training gives bit-identical parameters (at the same lr, clip, init_scale).

Defaults: lr 0.02 and clip 1.0 (BPTT's v1 values are 0.05 and 5.0) come from the seeded search
`python -m studies.tune --learner tbptt`, results in docs/results/tune/tune_tbptt.csv: the best
median unseen_acc at the 800-sweep budget; k = 2 is kept as the rule's defining choice.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn


@dataclass
class TBPTTConfig:
    """Defaults: k = 2 (the rule's defining choice, not tuned; k >= T is bptt); lr, clip and
    init_scale are the best of `python -m studies.tune --learner tbptt` (16-point grid, median
    unseen_acc over tuning seeds 100-102 at 800 sweeps: 0.496), docs/results/tune/tune_tbptt.csv.
    The rest are the v1 values."""
    k: int = 2                 # truncation window: credit flows back through the last k steps
    n_hidden: int = 30
    lr: float = 0.02
    momentum: float = 0.9
    clip: float = 1.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5

    def validate(self):
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"TBPTTConfig: k (truncation window) must be an integer >= 1, "
                             f"got {self.k!r}")
        positive(self, "n_hidden", "lr", "clip", "init_scale")
        nonnegative(self, "momentum", "weight_decay")


class TBPTT(Learner):
    name = "tbptt"
    Config = TBPTTConfig
    PARAMS = RNN_PARAMS
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        return init_rnn(task.n_letters, self.config.n_hidden, 3, self.config.init_scale, rng)

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        k = self.config.k
        hs, ys = [], []
        for x in batch.segments:                       # x: (B, T, A)
            T = x.shape[1]
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # h_0: (B, H)
            H = {0: h}                                 # kept: h_t for t >= T - k
            for t in range(T):
                h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)   # h_{t+1}: (B, H)
                if t + 1 >= T - k:
                    H[t + 1] = h
            if T - k > 0:
                del H[0]
            hs.append(H)
            ys.append(np.tanh(h @ W_hy.T + b_y))       # (B, 3)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "hs": hs}

    def credit(self, state, batch, cache):
        W_hh, W_hy = state["W_hh"], state["W_hy"]
        B, k = batch.size, self.config.k
        g = {name: np.zeros_like(state[name]) for name in RNN_PARAMS}
        start = 0
        for x, H in zip(batch.segments, cache["hs"]):
            b, T = x.shape[0], x.shape[1]
            y = cache["y"][start:start + b]                        # (b, 3)
            dy = (y - batch.targets[start:start + b]) / B          # dL/dy
            dz_y = dy * (1 - y * y)                                # (b, 3)
            g["W_hy"] += dz_y.T @ H[T]                             # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            dh = dz_y @ W_hy                                       # dL/dh_T: (b, H)
            for t in range(T - 1, max(T - k, 0) - 1, -1):          # the last k steps only
                dz = dh * (1 - H[t + 1] * H[t + 1])                # (b, H)
                g["W_xh"] += dz.T @ x[:, t]                        # (H, A)
                g["W_hh"] += dz.T @ H[t]                           # (H, H)
                g["b_h"] += dz.sum(axis=0)
                dh = dz @ W_hh                                     # dL/dh_t (through the window)
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay)
