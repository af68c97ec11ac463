"""Truncated backpropagation through time (Williams & Peng 1990; Williams & Zipser 1995).

The shared network (learners/rnn.py, v1 at alpha = 1) and optimizer; the backward pass is cut
after the last `k` steps. With the loss at the last step only (the v1 task), the error reaches h_T
and is carried back through k transitions; earlier steps receive no credit. Shapes: B sequences
in a segment, T steps, A letters, H hidden units.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  h_{t+1} = (1 - alpha) h_t + alpha r_t
              y = tanh(W_hy h_T + b_y)
    loss      L = 0.5 * mean_b sum_i (y_i - target_i)^2
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy;  for t = T-1 .. max(T-k, 0):
                 dz_t = alpha * dh_{t+1} * (1 - r_t^2)
                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t
                 dh_t = (1 - alpha) dh_{t+1} + dz_t W_hh
    update    the shared optimizer (learners.rnn: clip, momentum, weight decay)

Only the last k + 1 hidden states are needed by the backward pass (the forward keeps just those).
With k >= T this is full BPTT, with exactly the same floating-point operations in the same order
(learners/bptt.py), so training gives bit-identical parameters (at the same hyperparameters).

Not local: errors travel back through W_hh^T and W_hy^T (weight transport) over the window, and
clip_mode "global" (the default) needs the norm of the whole gradient.

Defaults: lr 0.02 and clip 1.0 (BPTT's v1 values are 0.05 and 5.0) come from the seeded search
`python -m studies.tune --learner tbptt` (16-point grid, median unseen_acc over tuning seeds
100-102 at 800 sweeps: 0.496), studies/results/tune_tbptt.csv; k = 2 is kept as the rule's
defining choice (not tuned; k >= T is bptt). The rest are the shared v1 values.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.rnn import RNNConfig, RNNLearner, join_segments


@dataclass
class TBPTTConfig(RNNConfig):
    k: int = 2                 # truncation window: credit flows back through the last k steps
    lr: float = 0.02
    clip: float | None = 1.0

    def validate(self):
        super().validate()
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"TBPTTConfig: k (truncation window) must be an integer >= 1, "
                             f"got {self.k!r}")


class TBPTT(RNNLearner):
    name = "tbptt"
    Config = TBPTTConfig

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        k = self.config.k
        hs, rs, ys = [], [], []
        for x in batch.segments:                       # x: (B, T, A)
            T = x.shape[1]
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # h_0: (B, H)
            H, R = {0: h}, {}                          # kept: h_t for t >= T - k, r_t for t >= T - k
            for t in range(T):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)   # r_t: (B, H)
                h = self.leak(h, r)                                # h_{t+1}: (B, H)
                if t + 1 >= T - k:
                    H[t + 1] = h
                if t >= T - k:
                    R[t] = r
            if T - k > 0:
                del H[0]
            hs.append(H)
            rs.append(R)
            ys.append(np.tanh(h @ W_hy.T + b_y))       # (B, 3)
        cache = {"y": join_segments(ys), "hs": hs}
        if self.config.alpha != 1.0:
            cache["rs"] = rs                           # at alpha = 1, r_t is h_{t+1}: kept once
        return cache

    def credit(self, state, batch, cache):
        W_hh, W_hy = state["W_hh"], state["W_hy"]
        k = self.config.k
        rs = cache["rs"] if "rs" in cache else [{t - 1: h for t, h in H.items() if t > 0}
                                                for H in cache["hs"]]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), H, R in zip(segments, cache["hs"], rs):
            T = x.shape[1]
            dz_y = self.readout_delta(y, targets, batch.size)     # (b, 3)
            g["W_hy"] += dz_y.T @ H[T]                             # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            dh = dz_y @ W_hy                                       # dL/dh_T: (b, H)
            for t in range(T - 1, max(T - k, 0) - 1, -1):          # the last k steps only
                dz = self.alpha_times(dh * (1 - R[t] * R[t]))      # dL/dz_t: (b, H)
                g["W_xh"] += dz.T @ x[:, t]                        # (H, A)
                g["W_hh"] += dz.T @ H[t]                           # (H, H)
                g["b_h"] += dz.sum(axis=0)
                dh = self.leak_back(dh, dz @ W_hh)                 # dL/dh_t (through the window)
        return g
