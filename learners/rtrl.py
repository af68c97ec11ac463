"""Real-time recurrent learning (Williams & Zipser 1989, "A learning algorithm for continually
running fully recurrent neural networks", Neural Computation 1(2)).

The v1 network and optimizer. Instead of storing the past and replaying it backwards, RTRL carries
forward, for every sequence in the batch, the influence (sensitivity) of the current hidden state
on every recurrent parameter, and combines it with dL/dh at the step where the loss is read.
Shapes: B sequences in a segment, T steps, A letters, H hidden units.

    forward   h_0 = 0;  z_t = W_xh x_t + W_hh h_t + b_h;  h_{t+1} = tanh(z_t);  D_t = 1 - h_{t+1}^2
              influences, P_0 = 0 (per sequence b; delta_ij is the Kronecker delta):
                P^hh_{t+1}[i,j,k] = D_t[i] * ( sum_m W_hh[i,m] P^hh_t[m,j,k] + delta_ij h_t[k] )  (H,H,H)
                P^xh_{t+1}[i,j,a] = D_t[i] * ( sum_m W_hh[i,m] P^xh_t[m,j,a] + delta_ij x_t[a] )  (H,H,A)
                P^b_{t+1}[i,j]    = D_t[i] * ( sum_m W_hh[i,m] P^b_t[m,j]    + delta_ij )         (H,H)
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy                                                (B, H)
              dW_hh[j,k] = sum_b sum_i dh_T[b,i] P^hh_T[b,i,j,k]   (likewise W_xh, b_h)
    update    global-norm clip, momentum, weight decay (learners.common.clip_momentum_decay)

With the loss at the last step only, dL/dW = dL/dh_T . dh_T/dW exactly: RTRL computes BPTT's
gradient (to rounding), at O(H^4) work per step and O(H^3) memory per sequence, but with no
storage of past states: the forward pass keeps only h_t and the influences.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn


@dataclass
class RTRLConfig:
    """Defaults: BPTT's v1 values, by construction (RTRL computes BPTT's gradient, so with the
    same hyperparameters it follows BPTT's trajectory to rounding: seed 0 gives 20/20, 4/5,
    converged at sweep 22). Not tuned separately: `python -m studies.tune --learner rtrl` only
    checks two step sizes against bptt's own rows, docs/results/tune/tune_rtrl.csv."""
    n_hidden: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    clip: float = 5.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5

    def validate(self):
        positive(self, "n_hidden", "lr", "clip", "init_scale")
        nonnegative(self, "momentum", "weight_decay")


class RTRL(Learner):
    name = "rtrl"
    Config = RTRLConfig
    PARAMS = RNN_PARAMS
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        return init_rnn(task.n_letters, self.config.n_hidden, 3, self.config.init_scale, rng)

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        Hn, A = W_xh.shape                              # hidden units, letters
        eye = np.eye(Hn)                                # delta_ij: a constant
        hTs, ys, Ps = [], [], []
        for x in batch.segments:                        # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                       # h_0: (B, H)
            # influences, laid out unit-first so that one matmul propagates the whole batch:
            P_hh = np.zeros((Hn, b, Hn, Hn))            # P_hh[i, b, j, k] = dh_i/dW_hh[j, k]
            P_xh = np.zeros((Hn, b, Hn, A))             # P_xh[i, b, j, a] = dh_i/dW_xh[j, a]
            P_b = np.zeros((Hn, b, Hn))                 # P_b[i, b, j]     = dh_i/db_h[j]
            for t in range(x.shape[1]):
                h_new = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)          # (B, H)
                D = (1 - h_new * h_new).T                                      # (H, B)
                # propagate: sum_m W_hh[i, m] P[m, ...]
                prop_hh = (W_hh @ P_hh.reshape(Hn, b * Hn * Hn)).reshape(Hn, b, Hn, Hn)
                prop_xh = (W_hh @ P_xh.reshape(Hn, b * Hn * A)).reshape(Hn, b, Hn, A)
                prop_b = (W_hh @ P_b.reshape(Hn, b * Hn)).reshape(Hn, b, Hn)
                # immediate: delta_ij * presynaptic activity
                imm_hh = eye[:, None, :, None] * h[None, :, None, :]          # (H, B, H, H)
                imm_xh = eye[:, None, :, None] * x[:, t][None, :, None, :]    # (H, B, H, A)
                imm_b = eye[:, None, :]                                        # (H, 1, H)
                P_hh = D[:, :, None, None] * (prop_hh + imm_hh)
                P_xh = D[:, :, None, None] * (prop_xh + imm_xh)
                P_b = D[:, :, None] * (prop_b + imm_b)
                h = h_new
            hTs.append(h)
            Ps.append((P_xh, P_hh, P_b))
            ys.append(np.tanh(h @ W_hy.T + b_y))        # (B, 3)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "h_T": hTs, "P": Ps}

    def credit(self, state, batch, cache):
        W_hy = state["W_hy"]
        B = batch.size
        Hn, A = state["W_xh"].shape
        g = {name: np.zeros_like(state[name]) for name in RNN_PARAMS}
        start = 0
        for x, h_T, (P_xh, P_hh, P_b) in zip(batch.segments, cache["h_T"], cache["P"]):
            b = x.shape[0]
            y = cache["y"][start:start + b]                        # (b, 3)
            dy = (y - batch.targets[start:start + b]) / B          # dL/dy
            dz_y = dy * (1 - y * y)                                # (b, 3)
            g["W_hy"] += dz_y.T @ h_T                              # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            dh = dz_y @ W_hy                                       # dL/dh_T: (b, H)
            # dL/dW = sum over units i and sequences b of dh_T[b, i] * P_T[i, b, ...]
            dh_flat = dh.T.reshape(1, Hn * b)                      # (1, H*b), unit-major
            g["W_hh"] += (dh_flat @ P_hh.reshape(Hn * b, Hn * Hn)).reshape(Hn, Hn)
            g["W_xh"] += (dh_flat @ P_xh.reshape(Hn * b, Hn * A)).reshape(Hn, A)
            g["b_h"] += (dh_flat @ P_b.reshape(Hn * b, Hn)).reshape(Hn)
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay)

    def predict(self, state, batch):
        """Outputs only: the plain forward pass, without influences (no learning)."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        ys = []
        for x in batch.segments:
            h = np.zeros((x.shape[0], W_hh.shape[0]))
            for t in range(x.shape[1]):
                h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)
            ys.append(np.tanh(h @ state["W_hy"].T + state["b_y"]))
        return ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
