"""Real-time recurrent learning (Williams & Zipser 1989, "A learning algorithm for continually
running fully recurrent neural networks", Neural Computation 1(2)).

The shared network (learners/rnn.py, v1 at alpha = 1) and optimizer. Instead of storing the past
and replaying it backwards, RTRL carries forward, for every sequence in the batch, the influence
(sensitivity) of the current hidden state on every recurrent parameter, and combines it with dL/dh
at the step where the loss is read. Shapes: B sequences in a segment, T steps, A letters, H hidden.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  D_t = 1 - r_t^2
              h_{t+1} = (1 - alpha) h_t + alpha r_t                 (alpha = 1: h_{t+1} = r_t, v1)
              influences, P_0 = 0 (per sequence b; delta_ij is the Kronecker delta):
                P^hh_{t+1}[i,j,k] = (1 - alpha) P^hh_t[i,j,k]
                                    + alpha D_t[i] ( sum_m W_hh[i,m] P^hh_t[m,j,k] + delta_ij h_t[k] )  (H,H,H)
                P^xh_{t+1}[i,j,a] = (1 - alpha) P^xh_t[i,j,a]
                                    + alpha D_t[i] ( sum_m W_hh[i,m] P^xh_t[m,j,a] + delta_ij x_t[a] )  (H,H,A)
                P^b_{t+1}[i,j]    = (1 - alpha) P^b_t[i,j]
                                    + alpha D_t[i] ( sum_m W_hh[i,m] P^b_t[m,j] + delta_ij )            (H,H)
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy                                                (B, H)
              dW_hh[j,k] = sum_b sum_i dh_T[b,i] P^hh_T[b,i,j,k]   (likewise W_xh, b_h)
    update    the shared optimizer (learners.rnn: clip, momentum, weight decay)

Per-step targets (a per_step task; the loss of learners/rnn.py): the loss of step t is credited
at step t, in the forward pass, as soon as h_{t+1} and P_{t+1} exist (real time: nothing of step
t is kept for later):
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t;  dh = dz_y,t W_hy         (B, H)
              dW_hh[j,k] += sum_b sum_i dh[b,i] P^hh_{t+1}[b,i,j,k]   (likewise W_xh, b_h)
and the credit phase returns the sums. dL/dW = sum_t dL_t/dh_{t+1} . dh_{t+1}/dW: BPTT's per-step
gradient (to rounding).

With the loss at the last step only, dL/dW = dL/dh_T . dh_T/dW exactly: RTRL computes BPTT's
gradient (to rounding, at every alpha), at O(H^4) work per step and O(H^3) memory per sequence,
but with no storage of past states: the forward pass keeps only h_t and the influences.

Number format of the influences (influence_dtype, default float64): "float32" or "float16"
stores each step's new P_t rounded to that precision (learners.rnn.store_as: one conversion
per element); the next step reads the rounded values (a product with a float64 operand is
computed in float64), so the gradient is that of narrower influences and a measurement prices
the stored values at their width (harness.formats, docs/formats.md).

What it needs that a synapse would not have: the influence matrix, H x P per sequence (P the
recurrent parameters: every unit's influence on every one of them, O(H^3) numbers), updated with
W_hh applied to it (a unit's trace reads every other unit's: non-local); the readout's error sent
back through W_hy^T (weight transport); and, with clip_mode "global" (the v1 default), the global
norm of the whole gradient. Not local.

Defaults: BPTT's v1 values, by construction (RTRL computes BPTT's gradient, so with the same
hyperparameters it follows BPTT's trajectory to rounding: seed 0 gives 20/20, 4/5, converged at
sweep 22). The studies use `learners.get("rtrl").tuned()`, the configuration the common search
on the validation split chose (the same 20 configurations and tuning seeds as every rule; its
table is docs/results/tune/tune_rtrl*.csv and its entry learners/tuned.json): BPTT's tuned
configuration, every configuration scoring exactly what BPTT's scored.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import one_of
from learners.rnn import STORAGE_DTYPES, RNNConfig, RNNLearner, join_segments, store_as


@dataclass
class RTRLConfig(RNNConfig):
    """The shared network's hyperparameters (v1 defaults) and the influences' number format."""
    influence_dtype: str = "float64"    # the stored P_t: float64, float32 or float16

    def validate(self):
        super().validate()
        one_of(self, "influence_dtype", STORAGE_DTYPES)


class RTRL(RNNLearner):
    name = "rtrl"
    Config = RTRLConfig
    SCHEDULES = ("batched", "per_sequence", "online")    # online: one sequence at a time
    TARGETS = ("final", "per_step")

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        Hn, A = W_xh.shape                              # hidden units, letters
        eye = np.eye(Hn)                                # delta_ij: a constant
        dt = self.config.influence_dtype                # the stored influences' format
        per_step = self.is_per_step(batch)
        g = self.zero_grads(state) if per_step else None   # per_step: credited in real time
        hTs, ys, Ps = [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                       # h_0: (B, H)
            # influences, laid out unit-first so that one matmul propagates the whole batch:
            P_hh = np.zeros((Hn, b, Hn, Hn), dt)        # P_hh[i, b, j, k] = dh_i/dW_hh[j, k]
            P_xh = np.zeros((Hn, b, Hn, A), dt)         # P_xh[i, b, j, a] = dh_i/dW_xh[j, a]
            P_b = np.zeros((Hn, b, Hn), dt)             # P_b[i, b, j]     = dh_i/db_h[j]
            for t in range(x.shape[1]):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)              # r_t: (B, H)
                D = (1 - r * r).T                                              # D_t: (H, B)
                # propagate: sum_m W_hh[i, m] P[m, ...]
                prop_hh = (W_hh @ P_hh.reshape(Hn, b * Hn * Hn)).reshape(Hn, b, Hn, Hn)
                prop_xh = (W_hh @ P_xh.reshape(Hn, b * Hn * A)).reshape(Hn, b, Hn, A)
                prop_b = (W_hh @ P_b.reshape(Hn, b * Hn)).reshape(Hn, b, Hn)
                # immediate: delta_ij * presynaptic activity
                imm_hh = eye[:, None, :, None] * h[None, :, None, :]          # (H, B, H, H)
                imm_xh = eye[:, None, :, None] * x[:, t][None, :, None, :]    # (H, B, H, A)
                imm_b = eye[:, None, :]                                        # (H, 1, H)
                # P_{t+1} = (1 - alpha) P_t + alpha D_t (prop + imm): the leak of the state itself
                P_hh = store_as(self.leak(P_hh, D[:, :, None, None] * (prop_hh + imm_hh)), dt)
                P_xh = store_as(self.leak(P_xh, D[:, :, None, None] * (prop_xh + imm_xh)), dt)
                P_b = store_as(self.leak(P_b, D[:, :, None] * (prop_b + imm_b)), dt)
                h = self.leak(h, r)                                            # h_{t+1}: (B, H)
                if S is not None:                       # the loss of step t, credited now
                    y = np.tanh(h @ W_hy.T + b_y)                                  # y_t: (B, 3)
                    dz_y = self.step_delta(y, S[:, t], batch.size, x.shape[1])     # (B, 3)
                    self.credit_at(g, state, dz_y, h, (P_xh, P_hh, P_b))
            hTs.append(h)
            Ps.append((P_xh, P_hh, P_b))
            ys.append(y if per_step else np.tanh(h @ W_hy.T + b_y))        # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "g": g}
        return {"y": join_segments(ys), "h_T": hTs, "P": Ps}

    def credit(self, state, batch, cache):
        if "g" in cache:                                # per_step: credited in the forward pass
            return cache["g"]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), h_T, P in zip(segments, cache["h_T"], cache["P"]):
            dz_y = self.readout_delta(y, targets, batch.size)     # (b, 3)
            self.credit_at(g, state, dz_y, h_T, P)
        return g

    def credit_at(self, g, state, dz_y, h, P):
        """Add the credit of a readout error dz_y (b, 3) at the state h (b, H) with influences
        P = dh/dtheta into the sums g: the readout's gradient and dL/dW = dL/dh . P."""
        P_xh, P_hh, P_b = P
        Hn, b, A = P_xh.shape[0], P_xh.shape[1], P_xh.shape[3]
        g["W_hy"] += dz_y.T @ h                                    # (3, H)
        g["b_y"] += dz_y.sum(axis=0)
        dh = dz_y @ state["W_hy"]                                  # dL/dh: (b, H)
        # dL/dW = sum over units i and sequences b of dh[b, i] * P[i, b, ...]
        dh_flat = dh.T.reshape(1, Hn * b)                          # (1, H*b), unit-major
        g["W_hh"] += (dh_flat @ P_hh.reshape(Hn * b, Hn * Hn)).reshape(Hn, Hn)
        g["W_xh"] += (dh_flat @ P_xh.reshape(Hn * b, Hn * A)).reshape(Hn, A)
        g["b_h"] += (dh_flat @ P_b.reshape(Hn * b, Hn)).reshape(Hn)
