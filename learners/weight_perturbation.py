"""Weight perturbation (Jabri & Flower 1992, "Weight perturbation: an optimal architecture and
learning technique for analog VLSI feedforward and recurrent multilayer networks", IEEE Trans.
Neural Networks 3(1): 154-157), in its simultaneous Gaussian form (all weights perturbed at once,
as compared with node perturbation by Werfel, Xie & Seung 2005, "Learning curves for stochastic
gradient descent in linear feedforward networks", Neural Computation 17: 2699). The sibling of
learners/node_perturbation.py: noise on the weights instead of on the units' inputs.

No backward pass: the network is run clean and then `n_perturb` times with every recurrent-layer
weight moved by Gaussian noise; the change of the batch loss, times the noise that caused it,
estimates the gradient. Shapes: B sequences in a segment, T steps, A letters, H hidden units.

    forward   clean:      h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);
                          h_{t+1} = (1 - alpha) h_t + alpha r_t;  y = tanh(W_hy h_T + b_y)
              perturbed,  p = 1..n_perturb:  the same pass with
                          W_xh + sigma xi^xh_p (H, A),  W_hh + sigma xi^hh_p (H, H),
                          b_h + sigma xi^b_p (H,),   xi ~ N(0, 1), giving y~_p
    credit    batch loss  L(y) = 0.5 / B sum_b sum_i (y_bi - target_bi)^2
              dW_hh = 1 / (sigma n_perturb) sum_p (L(y~_p) - L(y)) xi^hh_p    (likewise W_xh, b_h)
              readout (exact local delta rule on the clean pass, as in node perturbation):
              dW_hy = dz_y^T h_T;  db_y = sum_b dz_y,  dz_y = (y - target) / B * (1 - y^2)
    update    the shared optimizer (learners.rnn.RNNLearner.update); the update counter in
              `noise_key` advances by one

Per-step targets (a per_step task; the loss of learners/rnn.py): every pass reads the readout at
every step and sums its per-step loss as it goes, L(y) = 0.5 / B sum_b (1/T) sum_t
|y_bt - target_bt|^2 (nothing of a step is kept); the same estimate with these losses; the
readout's delta rule on the clean pass, dW_hy = sum_t dz_y,t^T h_{t+1}, db_y = sum_t sum_b dz_y,t,
dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2), is summed during that pass.

E[(L(w + sigma xi) - L(w)) xi] / sigma = grad L + O(sigma), so the estimate follows the gradient
on average; its variance grows with the number of perturbed weights n = H (A + H + 1) = 1,080 at
the default size: one draw's relative variance E|g_hat - g|^2 / |g|^2 is n + 1 for Gaussian
noise at small sigma (measured: about 1,100; the test), so one draw's cosine with the gradient is
about sqrt(2 / (pi n)) = 0.024 (node perturbation: H x T = 150 perturbed unit inputs per
sequence). It needs no eligibility trace: only the noise of the current update and one scalar,
the loss change. Jabri & Flower's serial form (one weight at a time, a finite difference per
weight) is the special case of a one-hot xi.

Randomness comes from the state (learners.rnn.FreshNoiseEachUpdate): forward draws the update's
noise from this update's generator in the order p = 1..n_perturb, each W_xh, W_hh, b_h. In a
measurement the noise is data the rule reads (it enters the stack when first used:
docs/tracking.md, "Plain arrays"); the generator's own work is not priced.
`predict` (the shared clean pass) draws nothing.

What it needs that a synapse would not have: the global scalar loss change L(y~) - L(y), broadcast
to every synapse, a clean and a perturbed run of the same batch (or a memory of the clean loss),
and each synapse's memory of its own noise; with clip_mode "global" the gradient's global norm.

Defaults (sigma 0.01, n_perturb 8, lr 0.02): set by hand, not searched (checked at seeds 0-3,
800 sweeps on the reported split: training set fitted by sweep 43-54, unseen_acc 0.45-0.51, where
the readout's delta rule alone reaches 0.23-0.29).
The studies use `learners.get("weight_perturbation").tuned()`, the configuration the common search
on the validation split chose (docs/results/tune/tune_weight_perturbation.csv; learners/tuned.json):
alpha 0.3, lr 0.005, sigma 0.01 (n_perturb 8); median validation accuracy 0.648 over tuning seeds
100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import integer, positive
from learners.rnn import FreshNoiseEachUpdate, RNNConfig, RNNLearner, join_segments

PERTURBED = ("W_xh", "W_hh", "b_h")        # drawn in this order for each perturbation


@dataclass
class WeightPerturbationConfig(RNNConfig):
    """Constructor defaults (set by hand, see the module docstring); the studies use `tuned()`."""
    sigma: float = 0.01          # noise standard deviation on each weight
    n_perturb: int = 8           # perturbed passes per update (averaged)
    lr: float = 0.02

    def validate(self):
        super().validate()
        positive(self, "sigma")
        integer(self, "n_perturb", 1)


class WeightPerturbation(FreshNoiseEachUpdate, RNNLearner):
    name = "weight_perturbation"
    Config = WeightPerturbationConfig
    TARGETS = ("final", "per_step")

    def step_loss(self, state, batch, g_out=None):
        """Per-step targets: one pass of the network `state` over the batch, the readout read at
        every step: (y (B, 3) the last step's outputs, L the per-step loss, a scalar); given
        g_out, the readout's delta rule of every step is added into it."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        B, L, ys = batch.size, 0.0, []
        for x, S in zip(batch.segments, batch.step_targets):       # x: (B, T, A)
            T = x.shape[1]
            h = np.zeros((x.shape[0], W_hh.shape[0]))              # h_0: (B, H)
            for t in range(T):
                h = self.leak(h, np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h))   # h_{t+1}
                y = np.tanh(h @ W_hy.T + b_y)                      # y_t: (B, 3)
                d = y - S[:, t]
                L = L + 0.5 * (d * d).sum() / (B * T)
                if g_out is not None:                              # the readout's delta rule
                    dz_y = d / (B * T) * (1 - y * y)               # step_delta, d reused
                    g_out["W_hy"] += dz_y.T @ h                    # (3, H)
                    g_out["b_y"] += dz_y.sum(axis=0)
            ys.append(y)
        return join_segments(ys), L

    def forward(self, state, batch):
        if self.is_per_step(batch):
            return self.forward_per_step(state, batch)
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        hTs, ys = [], []
        for x in batch.segments:                                   # clean pass, x: (B, T, A)
            h = np.zeros((x.shape[0], W_hh.shape[0]))              # h_0: (B, H)
            for t in range(x.shape[1]):
                h = self.leak(h, np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h))   # h_{t+1}
            hTs.append(h)
            ys.append(np.tanh(h @ W_hy.T + b_y))                   # (B, 3)
        noise, y_p = self.perturbed_passes(                        # y~_p: (B, 3)
            state, lambda moved: self.predict(moved, batch))
        return {"y": join_segments(ys), "h_T": hTs, "y_perturbed": y_p, "noise": noise}

    def perturbed_passes(self, state, evaluate):
        """This update's n_perturb noise draws xi (a dict per draw, one entry per perturbed
        parameter, in draw order) and evaluate(state with theta + sigma xi) for each."""
        c = self.config
        rng = self.update_rng(state)                               # this update's noise
        noise, out = [], []
        for _ in range(c.n_perturb):                               # perturbed passes
            xi = {k: rng.standard_normal(state[k].shape) for k in PERTURBED}
            noise.append(xi)
            moved = {k: state[k] + c.sigma * xi[k] for k in PERTURBED}
            out.append(evaluate(dict(state, **moved)))
        return noise, out

    def forward_per_step(self, state, batch):
        """The forward pass on per-step targets: the clean pass (with the readout's gradient)
        and the perturbed passes, each summing its per-step loss."""
        g_out = self.zero_grads(state, ("W_hy", "b_y"))
        y, loss = self.step_loss(state, batch, g_out)              # clean pass
        noise, loss_p = self.perturbed_passes(                     # L(y~_p)
            state, lambda moved: self.step_loss(moved, batch)[1])
        return {"y": y, "loss": loss, "loss_perturbed": loss_p, "noise": noise,
                "readout": g_out}

    def credit(self, state, batch, cache):
        c = self.config
        B = batch.size
        g = self.zero_grads(state)
        scale = 1.0 / (c.sigma * c.n_perturb)
        if "loss" in cache:                                        # per_step (forward_per_step)
            for L_p, xi in zip(cache["loss_perturbed"], cache["noise"]):
                dL = (L_p - cache["loss"]) * scale                 # the broadcast scalar
                for k in PERTURBED:
                    g[k] += dL * xi[k]
            g.update(cache["readout"])
            return g
        d = cache["y"] - batch.targets
        loss = 0.5 * (d * d).sum() / B                             # L(y): scalar
        for y_p, xi in zip(cache["y_perturbed"], cache["noise"]):
            d_p = y_p - batch.targets
            dL = (0.5 * (d_p * d_p).sum() / B - loss) * scale      # the broadcast scalar
            for k in PERTURBED:
                g[k] += dL * xi[k]
        for (x, y, targets), h_T in zip(self.per_segment(batch, cache["y"]), cache["h_T"]):
            dz_y = self.readout_delta(y, targets, B)               # readout: local delta rule
            g["W_hy"] += dz_y.T @ h_T                              # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
        return g

