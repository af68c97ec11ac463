"""Node perturbation (Fiete & Seung 2006, "Gradient learning in spiking neural networks by dynamic
perturbation of conductances", Phys. Rev. Lett. 97: 048104; Williams 1992 REINFORCE).

No backward pass: the network is run twice on the batch, once clean and once with Gaussian noise
injected into every hidden unit's input at every step. The change in each sequence's loss,
correlated with the noise that caused it, estimates the gradient with respect to the units'
inputs; each synapse multiplies it by its own presynaptic activity (accumulated forward in time
as an eligibility: noise x presynaptic activity). Shapes: B sequences, T steps, A letters, H hidden.

    forward   clean:      h_0 = 0;  h_{t+1} = tanh(W_xh x_t + W_hh h_t + b_h);  y = tanh(W_hy h_T + b_y)
              perturbed:  g_0 = 0;  g_{t+1} = tanh(W_xh x_t + W_hh g_t + b_h + xi_t),
                          xi_t ~ sigma N(0, 1) (B, H), drawn from the learner's own seeded generator
                          y~ = tanh(W_hy g_T + b_y)
              eligibility, summed forward in time (per sequence):
                E^hh[b,i,j] = sum_t xi_t[b,i] g_t[b,j];  E^xh[b,i,a] = sum_t xi_t[b,i] x_t[b,a];
                E^b[b,i] = sum_t xi_t[b,i]
    credit    per-sequence loss change  dL[b] = (l(y~_b) - l(y_b)) / B,  l(y) = 0.5 sum_i (y_i - t_i)^2
              dW_hh[i,j] = sum_b dL[b] E^hh[b,i,j] / sigma^2   (likewise W_xh, b_h), averaged over the
              `n_perturb` independent perturbations
              readout (exact local delta rule on the clean pass):  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y,
              dz_y = (y - target) / B * (1 - y^2)
    update    global-norm clip, momentum, weight decay (learners.common.clip_momentum_decay)

E[dL xi_t] / sigma^2 -> dL/dz_t as sigma -> 0, so the update follows the gradient on average; its
variance grows with the number of perturbed units x steps (here H x T = 150 per sequence).
The noise generator is seeded in `init` from the run's generator (after the network is drawn), so
a seed gives the same run every time; `predict` is the clean pass and draws nothing.

Defaults (sigma 0.1, n_perturb 4, lr 0.01) come from the seeded search
`python -m studies.tune --learner node_perturbation`, results in
docs/results/tune/tune_node_perturbation.csv: the best median unseen_acc at the 800-sweep budget.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn


@dataclass
class NodePerturbationConfig:
    """Defaults: sigma, n_perturb and lr are the best of `python -m studies.tune --learner
    node_perturbation` (the full 36-point grid, median unseen_acc over tuning seeds 100-102 at 800
    sweeps: 0.566), docs/results/tune/tune_node_perturbation.csv. The rest are the v1 values."""
    sigma: float = 0.1           # noise standard deviation on each hidden unit's input
    n_perturb: int = 4           # independent perturbed passes per update (averaged)
    n_hidden: int = 30
    lr: float = 0.01
    momentum: float = 0.9
    clip: float = 5.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5

    def validate(self):
        positive(self, "sigma", "n_hidden", "lr", "clip", "init_scale")
        nonnegative(self, "momentum", "weight_decay")
        if isinstance(self.n_perturb, bool) or not isinstance(self.n_perturb, (int, np.integer)) \
                or self.n_perturb < 1:
            raise ValueError(f"NodePerturbationConfig: n_perturb must be an integer >= 1, "
                             f"got {self.n_perturb!r}")


class NodePerturbation(Learner):
    name = "node_perturbation"
    Config = NodePerturbationConfig
    PARAMS = RNN_PARAMS
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        state = init_rnn(task.n_letters, self.config.n_hidden, 3, self.config.init_scale, rng)
        # the rule's own noise source, seeded from the run's generator after the network's draws
        self.noise = np.random.default_rng(int(rng.integers(2 ** 63)))
        return state

    def _run(self, state, x, noise=None):
        """One pass over a segment x (B, T, A); with `noise` (list of T arrays (B, H)) added to the
        hidden inputs. Returns h_T and, when perturbed, the eligibilities E^xh, E^hh, E^b."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        b, Hn, A = x.shape[0], W_hh.shape[0], x.shape[2]
        h = np.zeros((b, Hn))                                  # (B, H)
        E_xh, E_hh, E_b = np.zeros((b, Hn, A)), np.zeros((b, Hn, Hn)), np.zeros((b, Hn))
        for t in range(x.shape[1]):
            z = x[:, t] @ W_xh.T + h @ W_hh.T + b_h            # (B, H)
            if noise is not None:
                xi = noise[t]                                  # (B, H)
                E_hh = E_hh + xi[:, :, None] * h[:, None, :]   # noise x presynaptic: (B, H, H)
                E_xh = E_xh + xi[:, :, None] * x[:, t][:, None, :]   # (B, H, A)
                E_b = E_b + xi
                z = z + xi
            h = np.tanh(z)
        return h, (E_xh, E_hh, E_b)

    def forward(self, state, batch):
        W_hy, b_y = state["W_hy"], state["b_y"]
        sigma, Hn = self.config.sigma, state["W_hh"].shape[0]
        hTs, ys, perturbed = [], [], []
        for x in batch.segments:                               # x: (B, T, A)
            h_T, _ = self._run(state, x)                       # clean pass
            hTs.append(h_T)
            ys.append(np.tanh(h_T @ W_hy.T + b_y))             # (B, 3)
            runs = []
            for _ in range(self.config.n_perturb):             # perturbed passes
                noise = [sigma * self.noise.standard_normal((x.shape[0], Hn))
                         for _ in range(x.shape[1])]
                g_T, E = self._run(state, x, noise)
                runs.append((np.tanh(g_T @ W_hy.T + b_y), E))  # (y~ (B, 3), eligibilities)
            perturbed.append(runs)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "h_T": hTs, "perturbed": perturbed}

    def credit(self, state, batch, cache):
        c = self.config
        B = batch.size
        g = {name: np.zeros_like(state[name]) for name in RNN_PARAMS}
        scale = 1.0 / (c.sigma * c.sigma * c.n_perturb)
        start = 0
        for x, h_T, runs in zip(batch.segments, cache["h_T"], cache["perturbed"]):
            b = x.shape[0]
            tgt = batch.targets[start:start + b]                   # (b, 3)
            y = cache["y"][start:start + b]                        # (b, 3)
            d = y - tgt
            loss = 0.5 * (d * d).sum(axis=1)                       # per-sequence loss (b,)
            dz_y = d / B * (1 - y * y)                             # readout: local delta rule
            g["W_hy"] += dz_y.T @ h_T                              # (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            for y_p, (E_xh, E_hh, E_b) in runs:
                d_p = y_p - tgt
                dL = (0.5 * (d_p * d_p).sum(axis=1) - loss) / B * scale   # (b,)
                g["W_hh"] += (dL[:, None, None] * E_hh).sum(axis=0)      # (H, H)
                g["W_xh"] += (dL[:, None, None] * E_xh).sum(axis=0)      # (H, A)
                g["b_h"] += (dL[:, None] * E_b).sum(axis=0)              # (H,)
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay)

    def predict(self, state, batch):
        """The clean pass only: no noise is drawn."""
        ys = [np.tanh(self._run(state, x)[0] @ state["W_hy"].T + state["b_y"])
              for x in batch.segments]
        return ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
