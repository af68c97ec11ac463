"""Full backpropagation through time (Rumelhart, Hinton & Williams 1986; Werbos 1990).

The exact gradient of the shared network (learners/rnn.py), v1 by default (alpha = 1): the v1
network and update, exactly. Shapes: B sequences in a segment, T steps, A letters, H hidden
units, 3 outputs.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  h_{t+1} = (1 - alpha) h_t + alpha r_t
              y = tanh(W_hy h_T + b_y)                    (alpha = 1: h_{t+1} = r_t, the v1 network)
    loss      L = 0.5 * mean_b sum_i (y_i - target_i)^2
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy;  for t = T-1..0:
                 dz_t = alpha * dh_{t+1} * (1 - r_t^2)
                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t
                 dh_t = (1 - alpha) dh_{t+1} + dz_t W_hh
    update    the shared optimizer (learners.rnn: clip, momentum, weight decay)

Per-step targets (a per_step task; the loss of learners/rnn.py, a term at every step):
    forward   as above, and y_t = tanh(W_hy h_{t+1} + b_y) at every step (kept: (B, 3) each)
    loss      L = 0.5 * mean_b (1/T) sum_t sum_i (y_t,i - target_t,i)^2
    credit    for t = T-1..0:
                 dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2);  dW_hy += dz_y,t^T h_{t+1};
                 db_y += sum_b dz_y,t;  dh_{t+1} += dz_y,t W_hy   (dh_T = dz_y,T-1 W_hy)
                 then dz_t, dW_xh, dW_hh, db_h, dh_t as above

Every hidden state of the sequence is stored in the forward pass and replayed backwards: the
memory (and data movement) that the other rules try to avoid.

Number format of the stored history (history_dtype, default float64): "float32" or "float16"
stores each h_{t+1} (and r_t when alpha != 1) rounded to that precision as it is kept
(learners.rnn.store_as: one conversion per element), while the forward pass itself carries on in
float64; the backward pass reads the rounded history (numpy computes 1 - r_t^2 in the history's
dtype, each product with a float64 operand in float64), so the gradient is that of a narrower
history and a measurement prices the stored values at their width (harness.formats,
docs/formats.md). TBPTT shares this code and the option.

What it needs that a synapse would not have: weight transport (W_hh^T and W_hy^T carry the
error backwards), every hidden state of the sequence stored and replayed backwards in time, and,
with clip_mode "global" (the v1 default), the global norm of the whole gradient. Not local.

Defaults: the v1 values (learners.rnn.RNNConfig: lr 0.05, clip 5.0 global, alpha 1.0), so that
the constructor reproduces the v1 network and update.
The studies use `learners.get("bptt").tuned()`, the configuration the common search on the
validation split chose (docs/results/tune/tune_bptt.csv; learners/tuned.json): alpha 0.3, lr 0.005,
clip 1.0; median validation accuracy 0.652 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import one_of
from learners.rnn import STORAGE_DTYPES, RNNConfig, RNNLearner, join_segments, store_as


@dataclass
class BPTTConfig(RNNConfig):
    """The shared network's hyperparameters (v1 defaults) and the stored history's format."""
    history_dtype: str = "float64"    # the stored h_t (and r_t): float64, float32 or float16

    def validate(self):
        super().validate()
        one_of(self, "history_dtype", STORAGE_DTYPES)


class BPTT(RNNLearner):
    name = "bptt"
    Config = BPTTConfig
    SCHEDULES = ("batched", "per_sequence", "online")    # online: one sequence at a time
    TARGETS = ("final", "per_step")

    def first_credited(self, T: int, per_step: bool = False) -> int:
        """The earliest step t whose dz_t the backward pass reaches: 0, every step (tbptt:
        T - k with a final target). The forward keeps h_t and r_t from that step on."""
        return 0

    def starts_window(self, t: int, T: int) -> bool:
        """Per-step targets: whether the error reaching h_{t+1} from later steps is dropped
        there (the backward pass starts afresh at h_{t+1}): at t = T-1 only, nothing later
        (tbptt: at the end of each truncation window)."""
        return t == T - 1

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        dt = self.config.history_dtype                 # the stored history's format
        keep_r = self.config.alpha != 1.0              # at alpha = 1, r_t is h_{t+1}: kept once
        per_step = self.is_per_step(batch)
        hs, rs, ys, steps = [], [], [], []
        for x in batch.segments:                       # x: (B, T, A)
            T = x.shape[1]
            keep = self.first_credited(T, per_step)
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # h_0: (B, H)
            H, R = ({0: store_as(h, dt)} if keep == 0 else {}), {}   # H[t] = h_t, R[t] = r_t
            Y = []                                                   # per_step: Y[t] = y_t, (B, 3)
            for t in range(T):                                       # (stored for t >= keep)
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)   # r_t: (B, H)
                h = self.leak(h, r)                                # h_{t+1}: (B, H)
                if t >= keep and keep_r:
                    R[t] = store_as(r, dt)
                if t + 1 >= keep:
                    H[t + 1] = store_as(h, dt)
                if per_step:
                    Y.append(np.tanh(h @ W_hy.T + b_y))            # y_t: (B, 3)
            hs.append(H)
            rs.append(R)
            ys.append(Y[-1] if per_step else np.tanh(h @ W_hy.T + b_y))   # (B, 3)
            steps.append(Y)
        cache = {"y": join_segments(ys), "hs": hs}
        if keep_r:
            cache["rs"] = rs
        if per_step:
            cache["ys"] = steps                        # y_t of every step, per segment
        return cache

    def credit(self, state, batch, cache):
        W_hh, W_hy = state["W_hh"], state["W_hy"]
        rs = cache["rs"] if "rs" in cache else [{t - 1: h for t, h in H.items() if t > 0}
                                                for H in cache["hs"]]
        Ys = cache.get("ys") or [None] * len(batch.segments)
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), S, H, R, Y in zip(segments, self.step_targets(batch), cache["hs"],
                                               rs, Ys):
            T = x.shape[1]
            if S is None:                                          # the loss at step T-1 only
                dz_y = self.readout_delta(y, targets, batch.size)  # (b, 3)
                g["W_hy"] += dz_y.T @ H[T]                         # (3, H)
                g["b_y"] += dz_y.sum(axis=0)
                dh = dz_y @ W_hy                                   # dL/dh_T: (b, H)
            for t in range(T - 1, self.first_credited(T, S is not None) - 1, -1):
                if S is not None:                                  # the loss of step t
                    dz_y = self.step_delta(Y[t], S[:, t], batch.size, T)   # (b, 3)
                    g["W_hy"] += dz_y.T @ H[t + 1]                 # (3, H)
                    g["b_y"] += dz_y.sum(axis=0)
                    e = dz_y @ W_hy                                # (b, H)
                    dh = e if self.starts_window(t, T) else dh + e     # dL/dh_{t+1}
                dz = self.alpha_times(dh * (1 - R[t] * R[t]))      # dL/dz_t: (b, H)
                g["W_xh"] += dz.T @ x[:, t]                        # (H, A)
                g["W_hh"] += dz.T @ H[t]                           # (H, H)
                g["b_h"] += dz.sum(axis=0)
                dh = self.leak_back(dh, dz @ W_hh)                 # dL/dh_t: (b, H)
        return g
