"""Forward gradient: the directional derivative along a random tangent, computed in forward mode
alongside the forward pass, times the tangent (Baydin, Pearlmutter, Syme, Wood & Torr 2022,
"Gradients without backpropagation", arXiv:2202.08587; Silver, Goyal, Danihelka, Hessel &
van Hasselt 2021, "Learning by directional gradient descent", ICLR 2022).

For a tangent v ~ N(0, I) over the parameters, the forward-mode derivative (a Jacobian-vector
product, JVP) gives the scalar dL/dtheta . v in one pass that runs forward with the network, no
storage of the past and no backward pass; g = (dL/dtheta . v) v is unbiased, E[v v^T] = I, with
relative variance E|g - E g|^2 / |E g|^2 = n + 1 for n perturbed parameters (a Gaussian tangent).
`n_tangents` K independent tangents are carried together and averaged. Shapes: K tangents,
B sequences in a segment, T steps, A letters, H hidden units; a dot marks a tangent (JVP) value.

    tangents  V = (V_xh (K, H, A), V_hh (K, H, H), V_b (K, H)) ~ N(0, 1), drawn per update; with
              tangent_readout also V_hy (K, 3, H), V_by (K, 3) (Baydin et al.'s all-parameter form)
    forward   h_0 = 0;  hdot_0 = 0
              r_t = tanh(z_t),  z_t = W_xh x_t + W_hh h_t + b_h;  D_t = 1 - r_t^2           (B, H)
              zdot_t = V_xh x_t + V_hh h_t + W_hh hdot_t + V_b                           (K, B, H)
              hdot_{t+1} = (1 - alpha) hdot_t + alpha D_t zdot_t                         (K, B, H)
              h_{t+1} = (1 - alpha) h_t + alpha r_t;  y = tanh(z_y),  z_y = W_hy h_T + b_y (B, 3)
              zdot_y = W_hy hdot_T  (+ V_hy h_T + V_by with tangent_readout)              (K, B, 3)
    credit    dz_y = (y - target) / B * (1 - y^2)                                          (B, 3)
              directional derivative  Ldot[k] = sum_{b,o} dz_y[b,o] zdot_y[k,b,o]
                                              = dL/dtheta . V_k                             (K,)
              dtheta = (1/K) sum_k Ldot[k] V_k
              readout (tangent_readout False, the default): its exact local gradient
                dW_hy = dz_y^T h_T;  db_y = sum_b dz_y  (as node perturbation, e-prop, UORO)
    update    the shared optimizer (learners.rnn); the noise key's counter advances by one

Per-step targets (a per_step task; the loss of learners/rnn.py): the directional derivative of
the per-step loss, accumulated in the forward pass as each step's error appears (forward mode
needs nothing of the past):
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              zdot_y,t = W_hy hdot_{t+1}  (+ V_hy h_{t+1} + V_by with tangent_readout)     (K, B, 3)
              Ldot[k] += sum_{b,o} dz_y,t[b,o] zdot_y,t[k,b,o]
              readout (tangent_readout False): dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t
and the credit phase forms dtheta = (1/K) sum_k Ldot[k] V_k as above.

Cost: K extra copies of the hidden state carried forward (O(K B H) memory), O(K B H (H + A))
work per step; the tangent itself, one number per parameter and tangent, is read twice (in the
JVP and in dtheta). The price is variance: n = H (H + A + 1) = 1,080 perturbed parameters at the default
size, so one tangent's estimate is ~1,000 times as noisy as its mean.

Randomness comes from the state (learners.rnn.FreshNoiseEachUpdate): forward draws V from this
update's generator in the order V_xh, V_hh, V_b (V_hy, V_by). In a measurement the tangent is data
the rule reads (K x n numbers, read at every step of the JVP and again in dtheta): it enters the
stack when first used (docs/tracking.md, "Plain arrays"); the generator's own work is not priced.

What it needs that a synapse would not have: each synapse's tangent component is local noise, but
Ldot is one global scalar per tangent (the whole network's directional derivative, broadcast to
every synapse), the JVP carries W_hh applied to a second state vector hdot, the v1 "global" clip a
global norm; with tangent_readout False the readout's exact gradient is a local delta rule.

Defaults (n_tangents 1, lr 0.005, the rest v1): hand trials at 800 sweeps on tuning seeds 100-102
(lr 0.005, 0.01 or 0.02).
The studies use `learners.get("forward_gradient").tuned()`, the configuration the common search on
the validation split chose (docs/results/tune/tune_forward_gradient.csv; learners/tuned.json): alpha
0.3, lr 0.005, n_tangents 4; median validation accuracy 0.651 over tuning seeds 100-102 at 800
sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import flag, integer
from learners.rnn import RNN_PARAMS, FreshNoiseEachUpdate, RNNConfig, RNNLearner, join_segments


@dataclass
class ForwardGradientConfig(RNNConfig):
    """Constructor defaults (hand trials, see the module docstring); the studies use `tuned()`."""
    n_tangents: int = 1               # K random tangents per update, averaged
    tangent_readout: bool = False     # True: the tangent covers W_hy, b_y too (no exact readout)
    lr: float = 0.005

    def validate(self):
        super().validate()
        integer(self, "n_tangents", 1)
        flag(self, "tangent_readout")


class ForwardGradient(FreshNoiseEachUpdate, RNNLearner):
    name = "forward_gradient"
    Config = ForwardGradientConfig
    TARGETS = ("final", "per_step")

    def perturbed(self) -> tuple:
        """Names of the parameters the tangent covers, in draw order."""
        return RNN_PARAMS if self.config.tangent_readout else ("W_xh", "W_hh", "b_h")

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        K, Hn = self.config.n_tangents, W_hh.shape[0]
        rng = self.update_rng(state)                                      # this update's tangents
        V = {k: rng.standard_normal((K,) + state[k].shape) for k in self.perturbed()}
        Vt_xh = V["W_xh"].transpose(0, 2, 1)           # (K, A, H)
        Vt_hh = V["W_hh"].transpose(0, 2, 1)           # (K, H, H)
        V_b = V["b_h"][:, None, :]                     # (K, 1, H)
        per_step = self.is_per_step(batch)
        exact_readout = per_step and not self.config.tangent_readout
        Ldot = 0.0                                     # per_step: summed as errors appear (K,)
        g_out = self.zero_grads(state, ("W_hy", "b_y")) if exact_readout else None
        hTs, ys, zdots = [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            hdot = np.zeros((K, b, Hn))                # hdot_0: (K, B, H)
            for t in range(x.shape[1]):
                xt = x[:, t]                                              # (B, A)
                r = np.tanh(xt @ W_xh.T + h @ W_hh.T + b_h)               # r_t: (B, H)
                zdot = xt @ Vt_xh + h @ Vt_hh + hdot @ W_hh.T + V_b       # (K, B, H)
                rdot = (1 - r * r) * zdot                                 # D_t zdot_t: (K, B, H)
                hdot = self.leak(hdot, rdot)                              # hdot_{t+1}
                h = self.leak(h, r)                                       # h_{t+1}
                if S is not None:                      # the loss of step t, differentiated now
                    y = np.tanh(h @ W_hy.T + b_y)                         # y_t: (B, 3)
                    dz_y = self.step_delta(y, S[:, t], batch.size, x.shape[1])   # (B, 3)
                    zdot_y = self.zdot_readout(h, hdot, W_hy, V)          # (K, B, 3)
                    Ldot = Ldot + (dz_y * zdot_y).sum(axis=(1, 2))        # (K,)
                    if exact_readout:
                        g_out["W_hy"] += dz_y.T @ h                       # (3, H)
                        g_out["b_y"] += dz_y.sum(axis=0)
            if per_step:
                ys.append(y)
                continue
            hTs.append(h)
            zdots.append(self.zdot_readout(h, hdot, W_hy, V))            # (K, B, 3)
            ys.append(np.tanh(h @ W_hy.T + b_y))       # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "Ldot": Ldot, "tangent": V, "readout": g_out}
        return {"y": join_segments(ys), "h_T": hTs, "zdot_y": zdots, "tangent": V}

    def zdot_readout(self, h, hdot, W_hy, V):
        """The tangent of the readout's input: zdot_y = W_hy hdot (+ V_hy h + V_by with
        tangent_readout): (K, B, 3)."""
        zdot_y = hdot @ W_hy.T                                            # (K, B, 3)
        if self.config.tangent_readout:
            zdot_y = zdot_y + h @ V["W_hy"].transpose(0, 2, 1) + V["b_y"][:, None, :]
        return zdot_y

    def directional_derivative(self, batch, cache):
        """Ldot[k] = dL/dtheta . V_k for each tangent: (K,)."""
        Ldot = 0.0
        segments = self.per_segment(batch, cache["y"])
        for (_x, y, targets), zdot_y in zip(segments, cache["zdot_y"]):
            dz_y = self.readout_delta(y, targets, batch.size)                      # (b, 3)
            Ldot = Ldot + (dz_y * zdot_y).sum(axis=(1, 2))                         # (K,)
        return Ldot

    def credit(self, state, batch, cache):
        K = self.config.n_tangents
        V = cache["tangent"]
        if "Ldot" in cache:                          # per_step: summed in the forward pass
            Ldot = cache["Ldot"]                                                  # (K,)
        else:
            Ldot = self.directional_derivative(batch, cache)                      # (K,)
        g = {}
        for k, Vk in V.items():                      # dtheta = (1/K) sum_k Ldot[k] V_k
            c = Ldot.reshape((K,) + (1,) * (Vk.ndim - 1))
            g[k] = (c * Vk).sum(axis=0) if K == 1 else (c * Vk).sum(axis=0) / K
        if cache.get("readout") is not None:         # per_step: the readout's, summed forward
            g.update(cache["readout"])
        elif not self.config.tangent_readout:        # the readout's exact local gradient
            g.update(self.zero_grads(state, ("W_hy", "b_y")))
            segments = self.per_segment(batch, cache["y"])
            for (_x, y, targets), h_T in zip(segments, cache["h_T"]):
                dz_y = self.readout_delta(y, targets, batch.size)                  # (b, 3)
                g["W_hy"] += dz_y.T @ h_T                                          # (3, H)
                g["b_y"] += dz_y.sum(axis=0)
        return g

