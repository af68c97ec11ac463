"""SnAp-1: the sparse n-step approximation of RTRL with n = 1 (Menick, Elsen, Evci, Osindero,
Simonyan & Graves 2021, "Practical real-time recurrent learning with a sparse approximation",
ICLR 2021).

RTRL (learners/rtrl.py) carries the full influence P_t = dh_t/dtheta forward,
P_{t+1} = J_t P_t + M_t, with J_t = dh_{t+1}/dh_t the recurrent Jacobian and M_t the immediate
influence of the parameters on h_{t+1}. SnAp-n keeps only the entries of P that are non-zero after
n steps from a parameter's own unit and drops the rest after every step. For n = 1 that is the
pattern of M_t itself: the influence of unit i's own incoming weights on unit i. Of the Jacobian
only its diagonal is then ever used. Shapes: B sequences in a segment, T steps, A letters,
H hidden units.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  D_t = 1 - r_t^2             (B, H)
              h_{t+1} = (1 - alpha) h_t + alpha r_t                (alpha = 1: the v1 network)
              Jacobian diagonal  j_t[i] = dh_{t+1}[i]/dh_t[i] = (1 - alpha) + alpha D_t[i] W_hh[i,i]
              SnAp-1 influences, S_0 = 0, per sequence (S^hh_t[i,k] ~ dh_t[i]/dW_hh[i,k], ...):
                S^hh_{t+1}[i,k] = j_t[i] S^hh_t[i,k] + alpha D_t[i] h_t[k]                (B, H, H)
                S^xh_{t+1}[i,a] = j_t[i] S^xh_t[i,a] + alpha D_t[i] x_t[a]                (B, H, A)
                S^b_{t+1}[i]    = j_t[i] S^b_t[i]    + alpha D_t[i]                       (B, H)
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy                                                           (B, H)
              dW_hh[i,k] = sum_b dh_T[b,i] S^hh_T[b,i,k]   (likewise W_xh, b_h)
    update    the shared optimizer (learners.rnn: clip, momentum, weight decay)

Per-step targets (a per_step task; the loss of learners/rnn.py): as RTRL (learners/rtrl.py), the
loss of step t is credited at step t in the forward pass, with the influences as they are then:
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t;  dh = dz_y,t W_hy           (B, H)
              dW_hh[i,k] += sum_b dh[b,i] S^hh_{t+1}[b,i,k]   (likewise W_xh, b_h)
and the credit phase returns the sums.

Exactness. At T = 1 the influence is M_0 alone, which SnAp-1 keeps whole: the gradient is BPTT's.
When W_hh is diagonal the Jacobian is diagonal and P never leaves the kept pattern: SnAp-1 is RTRL
(at any alpha). Otherwise it drops every path through another unit: biased, like e-prop/RFLO
(learners/eprop.py), whose trace decay kappa it replaces by the exact diagonal j_t.
Cost: O(B H (H + A)) memory and work per step, like e-prop's traces; RTRL's are O(B H^2 (H + A)).

Number format of the influences (influence_dtype, default float64): "float32" or "float16"
stores each step's new S_t rounded to that precision (learners.rnn.store_as: one conversion
per element); the next step reads the rounded values (a product with a float64 operand is
computed in float64), so the gradient is that of narrower influences and a measurement prices
the stored values at their width (harness.formats, docs/formats.md).

What it needs that a synapse would not have: the trace of synapse k -> i uses only the unit's own
D_t[i], its self-connection W_hh[i,i] and the presynaptic h_t[k] (local), but the learning signal
dh_T = dz_y W_hy sends the output error back through the readout weights (weight transport of
W_hy^T), and the v1 "global" clip needs the norm of the whole gradient.

Defaults (lr 0.02, the rest v1): hand trials at 800 sweeps on tuning seeds 100-102 (lr 0.02 or
0.05).
The studies use `learners.get("snap1").tuned()`, the configuration the common search on the
validation split chose (docs/results/tune/tune_snap1.csv; learners/tuned.json): alpha 0.3, lr 0.005,
clip 5.0; median validation accuracy 0.656 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import one_of
from learners.rnn import STORAGE_DTYPES, RNNConfig, RNNLearner, join_segments, store_as


@dataclass
class SnAp1Config(RNNConfig):
    """Constructor defaults (hand trials, see the module docstring); the studies use `tuned()`."""
    lr: float = 0.02
    influence_dtype: str = "float64"    # the stored S_t: float64, float32 or float16

    def validate(self):
        super().validate()
        one_of(self, "influence_dtype", STORAGE_DTYPES)


class SnAp1(RNNLearner):
    name = "snap1"
    Config = SnAp1Config
    TARGETS = ("final", "per_step")

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        alpha = self.config.alpha
        Hn, A = W_xh.shape
        unit = np.arange(Hn)
        w_self = W_hh[unit, unit]                      # self-connections W_hh[i, i]: (H,)
        dt = self.config.influence_dtype               # the stored influences' format
        per_step = self.is_per_step(batch)
        g = self.zero_grads(state) if per_step else None   # per_step: credited in real time
        hTs, ys, infl = [], [], []
        for x, St in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            S_hh = np.zeros((b, Hn, Hn), dt)           # S_hh[b, i, k] ~ dh_i / dW_hh[i, k]
            S_xh = np.zeros((b, Hn, A), dt)            # S_xh[b, i, a] ~ dh_i / dW_xh[i, a]
            S_b = np.zeros((b, Hn), dt)                # S_b[b, i]     ~ dh_i / db_h[i]
            for t in range(x.shape[1]):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)          # r_t: (B, H)
                aD = self.alpha_times(1 - r * r)                         # alpha D_t: (B, H)
                j = aD * w_self if alpha == 1.0 else (1 - alpha) + aD * w_self   # j_t: (B, H)
                S_hh = store_as(j[:, :, None] * S_hh + aD[:, :, None] * h[:, None, :],
                                dt)                                                # (B, H, H)
                S_xh = store_as(j[:, :, None] * S_xh + aD[:, :, None] * x[:, t][:, None, :],
                                dt)                                                # (B, H, A)
                S_b = store_as(j * S_b + aD, dt)                                   # (B, H)
                h = self.leak(h, r)                                              # h_{t+1}
                if St is not None:                     # the loss of step t, credited now
                    y = np.tanh(h @ W_hy.T + b_y)                                # y_t: (B, 3)
                    dz_y = self.step_delta(y, St[:, t], batch.size, x.shape[1])  # (B, 3)
                    self.credit_at(g, state, dz_y, h, (S_xh, S_hh, S_b))
            hTs.append(h)
            infl.append((S_xh, S_hh, S_b))
            ys.append(y if per_step else np.tanh(h @ W_hy.T + b_y))      # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "g": g}
        return {"y": join_segments(ys), "h_T": hTs, "S": infl}

    def credit(self, state, batch, cache):
        if "g" in cache:                               # per_step: credited in the forward pass
            return cache["g"]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (_x, y, targets), h_T, S in zip(segments, cache["h_T"], cache["S"]):
            dz_y = self.readout_delta(y, targets, batch.size)                     # (b, 3)
            self.credit_at(g, state, dz_y, h_T, S)
        return g

    def credit_at(self, g, state, dz_y, h, S):
        """Add the credit of a readout error dz_y (b, 3) at the state h (b, H) with the SnAp-1
        influences S = (S_xh, S_hh, S_b) into the sums g."""
        S_xh, S_hh, S_b = S
        g["W_hy"] += dz_y.T @ h                                                   # (3, H)
        g["b_y"] += dz_y.sum(axis=0)
        dh = dz_y @ state["W_hy"]                                                 # dL/dh: (b, H)
        g["W_hh"] += (dh[:, :, None] * S_hh).sum(axis=0)                          # (H, H)
        g["W_xh"] += (dh[:, :, None] * S_xh).sum(axis=0)                          # (H, A)
        g["b_h"] += (dh * S_b).sum(axis=0)                                        # (H,)
