"""Checkpointed backpropagation through time (Chen, Xu, Zhang & Guestrin 2016, "Training deep nets
with sublinear memory cost", arXiv:1604.06174; Gruslys, Munos, Danihelka, Lanctot & Graves 2016,
"Memory-efficient backpropagation through time", NIPS 29).

BPTT's gradient, exactly, from less stored state: the forward pass keeps only every k-th hidden
state (the checkpoints h_0, h_k, h_2k, ...); the backward pass walks the segments [s, s + k) from
the last to the first, recomputes each segment's states from its checkpoint, and runs BPTT's
backward step through them. Stored states: ceil(T / k) checkpoints + one segment of k, against
BPTT's T; the price is a second forward pass over all T steps, run in the backward pass.
k = ceil(sqrt(T)) (the default, per segment of the batch) gives the O(sqrt(T)) memory of Chen et
al. Shapes: B sequences in a segment, T steps, A letters, H hidden units, 3 outputs.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  h_{t+1} = (1-alpha) h_t + alpha r_t
              store h_s for s = 0, k, 2k, ... < T;   y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2)                                        (B, 3)
              for each segment start s = the last .. 0, e = min(s + k, T):
                recompute r_t, h_{t+1} for t = s..e-1 from the checkpoint h_s (as in forward)
                if e = T:  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y;  dh_T = dz_y W_hy
                for t = e-1..s:  dz_t = alpha (dh_{t+1} * (1 - r_t^2))                  (B, H)
                                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t
                                 dh_t = (1 - alpha) dh_{t+1} + dz_t W_hh
    update    the shared optimizer (learners.rnn.RNNLearner.update)

Per-step targets (a per_step task; the loss of learners/rnn.py): the forward also emits
y_t = tanh(W_hy h_{t+1} + b_y) at every step and keeps these outputs (3 numbers per sequence and
step, not the states); in the backward walk, at every step t = e-1..s, before dz_t:
                 dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2);  dW_hy += dz_y,t^T h_{t+1};
                 db_y += sum_b dz_y,t;  dh_{t+1} = (t = T-1 ? 0 : dh_{t+1}) + dz_y,t W_hy
(h_{t+1} the recomputed state), BPTT's per-step credit in BPTT's order.

Every floating-point operation of the gradient is learners/bptt.py's, in BPTT's order, with the
shared leak helpers (the recomputed states are the forward's states bit for bit: the same
operations on the same numbers), so with BPTT's hyperparameters training gives BPTT's parameters
bit for bit (the test). What changes is what is kept live between the passes, hence the data
movement: in the ByteDMD model the recomputation's extra reads can outweigh the shallower stack.

What it needs that a synapse would not have: everything BPTT needs (weight transport: W_hh^T and
W_hy^T carry the error backwards; the backward pass in time over stored states; with clip_mode
"global" the gradient's global norm), plus the recomputation. It is a cheaper way to run BPTT,
not a more local rule.

Defaults: BPTT's (the v1 values), k = None (ceil(sqrt(T))), so that it reproduces BPTT bit for bit.
The studies use `learners.get("checkpointed_bptt").tuned()`, the configuration the common search on
the validation split chose (docs/results/tune/tune_checkpointed_bptt.csv; learners/tuned.json):
alpha 0.3, lr 0.005, clip 1.0; median validation accuracy 0.652 over tuning seeds 100-102 at 800
sweeps. (BPTT's choice and score: the same gradient).
"""
from __future__ import annotations

from dataclasses import dataclass
from math import isqrt

import numpy as np

from learners.rnn import RNNConfig, RNNLearner, join_segments
from learners.base import integer


@dataclass
class CheckpointedBPTTConfig(RNNConfig):
    """Constructor defaults: BPTT's (v1); k None = ceil(sqrt(T)) for each segment of T steps.
    The studies use `tuned()` (the module docstring)."""
    k: int | None = None             # checkpoint interval in steps

    def validate(self):
        super().validate()
        integer(self, "k", 1, allow_none=True)   # the checkpoint interval


def ceil_sqrt(T: int) -> int:
    """ceil(sqrt(T)) in integer arithmetic, T >= 1."""
    return isqrt(T - 1) + 1


class CheckpointedBPTT(RNNLearner):
    name = "checkpointed_bptt"
    Config = CheckpointedBPTTConfig
    TARGETS = ("final", "per_step")

    def interval(self, T: int) -> int:
        """The checkpoint interval for a segment of T steps."""
        return ceil_sqrt(T) if self.config.k is None else int(self.config.k)

    def _steps(self, state, x, h, s, e):
        """r_t and h_{t+1} for t = s..e-1 from h = h_s: lists H (e - s + 1 states, H[0] = h_s)
        and R (e - s)."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        Hs, Rs = [h], []
        for t in range(s, e):
            r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)       # r_t: (B, H)
            h = self.leak(h, r)                                     # h_{t+1}: (B, H)
            Hs.append(h)
            Rs.append(r)
        return Hs, Rs

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        per_step = self.is_per_step(batch)
        ckpts, ys, steps = [], [], []
        for x in batch.segments:                                   # x: (B, T, A)
            T = x.shape[1]
            k = self.interval(T)
            h = np.zeros((x.shape[0], W_hh.shape[0]))              # h_0: (B, H)
            C, Y = [], []                                          # h_0, h_k, h_2k, ...; y_t
            for t in range(T):
                if t % k == 0:
                    C.append(h)
                h = self.leak(h, np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h))   # h_{t+1}
                if per_step:
                    Y.append(np.tanh(h @ W_hy.T + b_y))            # y_t: (B, 3)
            ckpts.append(C)
            ys.append(Y[-1] if per_step else np.tanh(h @ W_hy.T + b_y))   # (B, 3)
            steps.append(Y)
        cache = {"y": join_segments(ys), "checkpoints": ckpts}
        if per_step:
            cache["ys"] = steps                                    # y_t of every step
        return cache

    def credit(self, state, batch, cache):
        W_hh, W_hy = state["W_hh"], state["W_hy"]
        Ys = cache.get("ys") or [None] * len(batch.segments)
        g = self.zero_grads(state)
        for (x, y, targets), S, C, Y in zip(self.per_segment(batch, cache["y"]),
                                            self.step_targets(batch), cache["checkpoints"], Ys):
            T = x.shape[1]
            k = self.interval(T)
            if S is None:
                dz_y = self.readout_delta(y, targets, batch.size)     # (b, 3)
            dh = None
            for i in range(len(C) - 1, -1, -1):                    # segments, the last first
                s, e = i * k, min(i * k + k, T)
                Hs, Rs = self._steps(state, x, C[i], s, e)         # recomputed: Hs[t - s] = h_t
                if e == T and S is None:                           # the readout, as in BPTT
                    g["W_hy"] += dz_y.T @ Hs[-1]                   # (3, H)
                    g["b_y"] += dz_y.sum(axis=0)
                    dh = dz_y @ W_hy                               # dL/dh_T: (b, H)
                for t in range(e - 1, s - 1, -1):
                    if S is not None:                              # the loss of step t
                        dz_y = self.step_delta(Y[t], S[:, t], batch.size, T)   # (b, 3)
                        g["W_hy"] += dz_y.T @ Hs[t + 1 - s]        # (3, H)
                        g["b_y"] += dz_y.sum(axis=0)
                        e_t = dz_y @ W_hy                          # (b, H)
                        dh = e_t if dh is None else dh + e_t       # dL/dh_{t+1}
                    r = Rs[t - s]                                  # r_t: (b, H)
                    dz = self.alpha_times(dh * (1 - r * r))        # dL/dz_t: (b, H)
                    g["W_xh"] += dz.T @ x[:, t]                    # (H, A)
                    g["W_hh"] += dz.T @ Hs[t - s]                  # (H, H)
                    g["b_h"] += dz.sum(axis=0)
                    dh = self.leak_back(dh, dz @ W_hh)             # dL/dh_t: (b, H)
        return g
