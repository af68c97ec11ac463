"""UORO: unbiased online recurrent optimization (Tallec & Ollivier 2018, "Unbiased online recurrent
optimization", ICLR 2018).

RTRL (learners/rtrl.py) carries the full influence P_t = dh_t/dtheta (H x n_theta per sequence)
forward, P_{t+1} = J_t P_t + M_t, with J_t = dh_{t+1}/dh_t and M_t the immediate influence of the
recurrent parameters theta = (W_xh, W_hh, b_h) on h_{t+1}. UORO keeps instead a rank-one estimate
P_t ~ h~_t theta~_t^T (a state-space vector times a parameter-space vector per sequence) whose
expectation over random signs nu is exactly P_t: the cross terms of the update below vanish in
expectation because E[nu] = 0 and E[nu nu^T] = I. Shapes: B sequences in a segment, T steps,
A letters, H hidden units; theta~ is kept as three arrays shaped like the parameters.

    forward   h_0 = 0;  h~_0 = 0;  theta~_0 = 0;  per step t and sequence b:
              r_t = tanh(W_xh x_t + W_hh h_t + b_h);  D_t = 1 - r_t^2                       (B, H)
              nu_t: independent random signs +-1                                             (B, H)
              J_t h~_t = (1 - alpha) h~_t + alpha D_t * (W_hh h~_t)   (a forward-mode product) (B, H)
              nu_t^T M_t: u = alpha D_t * nu_t                            (vector-Jacobian product)
                  [W_hh]: u[i] h_t[k] (B, H, H);  [W_xh]: u[i] x_t[a] (B, H, A);  [b_h]: u[i] (B, H)
              rho0 = sqrt((|theta~_t| + eps) / (|J_t h~_t| + eps))
              rho1 = sqrt((|nu_t^T M_t| + eps) / (|nu_t| + eps)),
                  |nu^T M| = |u| sqrt(|h_t|^2 + |x_t|^2 + 1),  |nu| = sqrt(H)   (norms per sequence)
              h~_{t+1}     = rho0 J_t h~_t + rho1 nu_t
              theta~_{t+1} = theta~_t / rho0 + nu_t^T M_t / rho1
              h_{t+1} = (1 - alpha) h_t + alpha r_t;   y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y  (exact)
              dh_T = dz_y W_hy;  c[b] = dh_T[b] . h~_T[b]                                       (B,)
              dtheta = sum_b c[b] theta~_T[b]            (an unbiased estimate of BPTT's gradient)
    update    the shared optimizer (learners.rnn); the noise key's counter advances by one

Per-step targets (a per_step task; the loss of learners/rnn.py): the loss of step t is credited
at step t in the forward pass, with the rank-one estimate of dh_{t+1}/dtheta as it is then:
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t;  dh = dz_y,t W_hy
              c[b] = dh[b] . h~_{t+1}[b];  dtheta += sum_b c[b] theta~_{t+1}[b]
(Tallec & Ollivier's online gradient estimate, summed over the steps); credit returns the sums.

rho0, rho1 rescale the two factors so that the estimate's variance is least (Tallec & Ollivier,
Proposition 1); they depend on nu_t only through |nu_t[i]| = 1, so unbiasedness is kept. The loss
is read at the last step only, so the gradient is dL/dh_T P_T; the readout gets its exact local
gradient. Cost: O(B (H + A) H) memory (theta~, like e-prop's traces) and O(B H (H + A)) work per
step, with no storage of the past: e-prop's cost class, but unbiased. The price is variance: one
draw's relative variance E|g - E g|^2 / |E g|^2 (recurrent parameters, over the noise at a fixed
state and batch, 500 draws) is 46, 74, 60 at the v1 initialization of seeds 0, 1, 2, and 39-152
after 100 and 136-272 after 300 sweeps of UORO training (the gradient shrinks faster than the
noise); tests/test_rules_rtrl_family.py measures it at seed 0's initialization.

Randomness comes from the state (learners.rnn.FreshNoiseEachUpdate): forward draws the signs
from this update's generator, segment by segment, step by step. In a measurement the signs are
data the rule reads (they enter the stack when first used: docs/tracking.md, "Plain arrays"); the
generator's own work is not priced.

What it needs that a synapse would not have: h~ and the per-sequence norms |theta~|, |J h~|,
|nu^T M| are global quantities over all units and all synapses; J_t h~_t needs W_hh applied to a
second state vector; the learning signal dh_T = dz_y W_hy uses the readout weights (weight
transport) and c = dh_T . h~_T a network-wide dot product; the v1 "global" clip a global norm.

Defaults (lr 0.005, eps 1e-7, the rest v1): hand trials at 800 sweeps on tuning seeds 100-102
(lr 0.005, 0.01, or 0.02 with clip 1; at the v1 lr 0.05 the noisy estimate did not learn in 400
sweeps at seed 0).
The studies use `learners.get("uoro").tuned()`, the configuration the common search on the
validation split chose (docs/results/tune/tune_uoro.csv; learners/tuned.json): alpha 0.3, lr 0.01,
clip 1.0; median validation accuracy 0.658 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import positive
from learners.rnn import FreshNoiseEachUpdate, RNNConfig, RNNLearner, join_segments


@dataclass
class UOROConfig(RNNConfig):
    """Constructor defaults (hand trials, see the module docstring); the studies use `tuned()`."""
    eps: float = 1e-7              # stabilizer in rho0, rho1 (Tallec & Ollivier)
    lr: float = 0.005

    def validate(self):
        super().validate()
        positive(self, "eps")


class UORO(FreshNoiseEachUpdate, RNNLearner):
    name = "uoro"
    # per_sequence: one rank-one estimate per sequence (its own signs), not the batched estimate
    PER_SEQUENCE_EQUALS_BATCHED = False
    Config = UOROConfig
    TARGETS = ("final", "per_step")

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        alpha, eps = self.config.alpha, self.config.eps
        Hn, A = W_xh.shape
        rng = self.update_rng(state)                                  # this update's signs
        norm_nu = np.sqrt(Hn)                                         # |nu_t| for +-1 signs
        per_step = self.is_per_step(batch)
        g = self.zero_grads(state) if per_step else None   # per_step: credited in real time
        hTs, ys, rank1 = [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            ht = np.zeros((b, Hn))                     # h~: (B, H)
            T_xh = np.zeros((b, Hn, A))                # theta~, shaped like the parameters
            T_hh = np.zeros((b, Hn, Hn))
            T_b = np.zeros((b, Hn))
            for t in range(x.shape[1]):
                xt = x[:, t]                                               # (B, A)
                r = np.tanh(xt @ W_xh.T + h @ W_hh.T + b_h)                # r_t: (B, H)
                aD = self.alpha_times(1 - r * r)                           # alpha D_t: (B, H)
                nu = 2.0 * rng.integers(0, 2, size=(b, Hn)) - 1.0         # random signs (B, H)
                Jht = aD * (ht @ W_hh.T)                                   # J_t h~_t: (B, H)
                if alpha != 1.0:
                    Jht = (1 - alpha) * ht + Jht
                u = aD * nu                                                # (B, H)
                # per-sequence norms: |theta~|, |J h~|, |nu^T M|                     (B,)
                n_theta = np.sqrt((T_xh * T_xh).sum(axis=(1, 2)) + (T_hh * T_hh).sum(axis=(1, 2))
                                  + (T_b * T_b).sum(axis=1))
                n_Jht = np.sqrt((Jht * Jht).sum(axis=1))
                n_pre = (h * h).sum(axis=1) + (xt * xt).sum(axis=1) + 1.0   # |(h_t, x_t, 1)|^2
                n_M = np.sqrt((u * u).sum(axis=1) * n_pre)
                rho0 = np.sqrt((n_theta + eps) / (n_Jht + eps))            # (B,)
                rho1 = np.sqrt((n_M + eps) / (norm_nu + eps))              # (B,)
                ht = rho0[:, None] * Jht + rho1[:, None] * nu              # h~_{t+1}
                inv0, inv1 = (1.0 / rho0)[:, None], (1.0 / rho1)[:, None]  # (B, 1)
                ui = (u * inv1)[:, :, None]                                # u / rho1: (B, H, 1)
                T_hh = inv0[:, :, None] * T_hh + ui * h[:, None, :]        # theta~_{t+1}
                T_xh = inv0[:, :, None] * T_xh + ui * xt[:, None, :]
                T_b = inv0 * T_b + u * inv1
                h = self.leak(h, r)                                        # h_{t+1}
                if S is not None:                      # the loss of step t, credited now
                    y = np.tanh(h @ W_hy.T + b_y)                              # y_t: (B, 3)
                    dz_y = self.step_delta(y, S[:, t], batch.size, x.shape[1])  # (B, 3)
                    self.credit_at(g, state, dz_y, h, (ht, T_xh, T_hh, T_b))
            hTs.append(h)
            rank1.append((ht, T_xh, T_hh, T_b))
            ys.append(y if per_step else np.tanh(h @ W_hy.T + b_y))    # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "g": g}
        return {"y": join_segments(ys), "h_T": hTs, "uoro": rank1}

    def credit(self, state, batch, cache):
        if "g" in cache:                               # per_step: credited in the forward pass
            return cache["g"]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (_x, y, targets), h_T, est in zip(segments, cache["h_T"], cache["uoro"]):
            dz_y = self.readout_delta(y, targets, batch.size)                     # (b, 3)
            self.credit_at(g, state, dz_y, h_T, est)
        return g

    def credit_at(self, g, state, dz_y, h, est):
        """Add the credit of a readout error dz_y (b, 3) at the state h (b, H) with the
        rank-one estimate est = (h~, theta~_xh, theta~_hh, theta~_b) into the sums g."""
        ht, T_xh, T_hh, T_b = est
        g["W_hy"] += dz_y.T @ h                                                   # (3, H)
        g["b_y"] += dz_y.sum(axis=0)
        dh = dz_y @ state["W_hy"]                                                 # dL/dh: (b, H)
        c = (dh * ht).sum(axis=1)                                                 # (b,)
        g["W_hh"] += (c[:, None, None] * T_hh).sum(axis=0)                        # (H, H)
        g["W_xh"] += (c[:, None, None] * T_xh).sum(axis=0)                        # (H, A)
        g["b_h"] += (c[:, None] * T_b).sum(axis=0)                                # (H,)

