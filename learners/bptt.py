"""Full backpropagation through time (Rumelhart, Hinton & Williams 1986; Werbos 1990).

The v1 network and update, exactly. Shapes: B sequences in a segment, T steps, A letters,
H hidden units, 3 outputs.

    forward   h_0 = 0;  h_{t+1} = tanh(W_xh x_t + W_hh h_t + b_h);  y = tanh(W_hy h_T + b_y)
    loss      L = 0.5 * mean_b sum_i (y_i - target_i)^2
    credit    dz_y = (y - target) / B * (1 - y^2)
              dh_T = dz_y W_hy;  for t = T-1..0:  dz_t = dh_{t+1} * (1 - h_{t+1}^2)
                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t;  dh_t = dz_t W_hh
    update    global-norm clip, momentum, weight decay (learners.common.clip_momentum_decay)

Every hidden state of the sequence is stored in the forward pass and replayed backwards: the
memory (and data movement) that the other rules try to avoid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn


@dataclass
class BPTTConfig:
    n_hidden: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    clip: float = 5.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5

    def validate(self):
        positive(self, "n_hidden", "lr", "clip", "init_scale")
        nonnegative(self, "momentum", "weight_decay")


class BPTT(Learner):
    name = "bptt"
    Config = BPTTConfig
    PARAMS = RNN_PARAMS
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        return init_rnn(task.n_letters, self.config.n_hidden, 3, self.config.init_scale, rng)

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        hs, ys = [], []
        for x in batch.segments:                       # x: (B, T, A)
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # h_0: (B, H)
            H = [h]
            for t in range(x.shape[1]):
                h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)   # (B, H)
                H.append(h)
            hs.append(H)
            ys.append(np.tanh(h @ W_hy.T + b_y))       # (B, 3)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "hs": hs}

    def credit(self, state, batch, cache):
        W_hh, W_hy = state["W_hh"], state["W_hy"]
        B = batch.size
        g = {k: np.zeros_like(state[k]) for k in RNN_PARAMS}
        start = 0
        for x, H in zip(batch.segments, cache["hs"]):
            b = x.shape[0]
            y = cache["y"][start:start + b]                        # (b, 3)
            dy = (y - batch.targets[start:start + b]) / B          # dL/dy
            dz_y = dy * (1 - y * y)                                # (b, 3)
            g["W_hy"] += dz_y.T @ H[-1]                            # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            dh = dz_y @ W_hy                                       # (b, H)
            for t in range(x.shape[1] - 1, -1, -1):
                dz = dh * (1 - H[t + 1] * H[t + 1])                # (b, H)
                g["W_xh"] += dz.T @ x[:, t]                        # (H, A)
                g["W_hh"] += dz.T @ H[t]                           # (H, H)
                g["b_h"] += dz.sum(axis=0)
                dh = dz @ W_hh
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay)
