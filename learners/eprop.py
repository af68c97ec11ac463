"""A local three-factor rule with eligibility traces: RFLO / e-prop for rate networks.

Murray 2019, "Local online learning in recurrent networks with random feedback (RFLO)", eLife 8:
e43299; Bellec et al. 2020, "A solution to the learning dilemma for recurrent networks of spiking
neurons" (e-prop), Nature Communications 11: 3625.

Each recurrent synapse keeps a leaky trace of (presynaptic activity) x (postsynaptic derivative),
computed forward in time from quantities local to the synapse; a learning signal, the output error
sent back to each hidden unit through fixed random feedback weights B_fb (RFLO, "random e-prop")
or through the readout weights W_hy^T ("symmetric e-prop"), gates the trace into a weight change.
No gradient flows through time: the recurrent Jacobian W_hh is dropped from the credit path.
Shapes: B sequences in a segment, T steps, A letters, H hidden units.

    forward   h_0 = 0;  z_t = W_xh x_t + W_hh h_t + b_h;  D_t = 1 - tanh(z_t)^2             (B, H)
              h_{t+1} = (1 - alpha) h_t + alpha tanh(z_t)      (alpha = 1: the v1 network)
              eligibility traces, e_0 = 0, per sequence, kappa = trace_decay:
                e^hh_{t+1}[i,j] = kappa e^hh_t[i,j] + alpha D_t[i] h_t[j]                    (B, H, H)
                e^xh_{t+1}[i,a] = kappa e^xh_t[i,a] + alpha D_t[i] x_t[a]                    (B, H, A)
                e^b_{t+1}[i]    = kappa e^b_t[i]    + alpha D_t[i]                           (B, H)
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2)                                            (B, 3)
              readout, its exact local gradient:  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              learning signal  L = dz_y B_fb^T  (feedback="random")  or  dz_y W_hy  ("readout") (B, H)
              dW_hh[i,j] = sum_b L[b,i] e^hh_T[b,i,j]   (likewise W_xh, b_h)
    update    global-norm clip, momentum, weight decay (learners.common.clip_momentum_decay)

With kappa = 1 - alpha the trace is exactly dh_{t+1}/dW through the unit's own leak (the e-prop /
RFLO trace); `trace_decay=None` selects that. In the non-leaky v1 network (alpha = 1) that trace
is memoryless (kappa = 0: only the last step's input and state are credited), so the rule is given
a separate trace time constant kappa in [0, 1], as a leaky integrator of credit.
B_fb is drawn once in init (after the network, from the same generator) and never changes.

Defaults (feedback "readout", trace_decay 0.9, alpha 0.3, lr 0.02) come from the seeded search
`python -m studies.tune --learner eprop`, results in docs/results/tune/tune_eprop.csv: the best
median unseen_acc at the 800-sweep budget. Note that alpha = 0.3 makes the network itself leaky
(the v1 network is alpha = 1). On the v1 network the rule learns only partly (10 seeds,
docs/results/rule_report/rule_report.md): the memoryless trace (trace_decay 0) reaches median unseen_acc
0.402 with 6/10 seeds fitting the training set; the best alpha = 1 trial of the search
(trace_decay 0.9, readout feedback, lr 0.05) 0.502, BPTT's level, but with 4/10 fitting it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn

FEEDBACK = ("random", "readout")


@dataclass
class EpropConfig:
    """Defaults: feedback, trace_decay, alpha and lr are the best of `python -m studies.tune
    --learner eprop` (the full 96-point grid, median unseen_acc over tuning seeds 100-102 at 800
    sweeps: 0.639), docs/results/tune/tune_eprop.csv. The rest are the v1 values."""
    feedback: str = "readout"         # learning signal through B_fb ("random") or W_hy^T ("readout")
    trace_decay: float | None = 0.9   # kappa; None: 1 - alpha (the exact leaky-unit trace)
    alpha: float = 0.3                # network leak (1 = v1 non-leaky tanh network)
    n_hidden: int = 30
    lr: float = 0.02
    momentum: float = 0.9
    clip: float = 5.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5
    feedback_scale: float = 0.5       # B_fb = feedback_scale * N(0, 1), shape (H, 3)

    def validate(self):
        if self.feedback not in FEEDBACK:
            raise ValueError(f"EpropConfig: feedback must be one of {FEEDBACK}, got {self.feedback!r}")
        if self.trace_decay is not None and not (0.0 <= self.trace_decay <= 1.0):
            raise ValueError(f"EpropConfig: trace_decay must be in [0, 1] or None, "
                             f"got {self.trace_decay!r}")
        if not (0.0 < self.alpha <= 1.0):
            raise ValueError(f"EpropConfig: alpha (network leak) must be in (0, 1], got {self.alpha!r}")
        positive(self, "n_hidden", "lr", "clip", "init_scale", "feedback_scale")
        nonnegative(self, "momentum", "weight_decay")

    @property
    def kappa(self) -> float:
        return 1.0 - self.alpha if self.trace_decay is None else self.trace_decay


class Eprop(Learner):
    name = "eprop"
    Config = EpropConfig
    PARAMS = RNN_PARAMS
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        c = self.config
        state = init_rnn(task.n_letters, c.n_hidden, 3, c.init_scale, rng)
        if c.feedback == "random":
            state["B_fb"] = c.feedback_scale * rng.standard_normal((c.n_hidden, 3))  # fixed (H, 3)
        return state

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        alpha, kappa = self.config.alpha, self.config.kappa
        Hn, A = W_xh.shape
        hTs, ys, traces = [], [], []
        for x in batch.segments:                       # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            e_hh = np.zeros((b, Hn, Hn))               # e_hh[b, i, j]: synapse j -> i
            e_xh = np.zeros((b, Hn, A))
            e_b = np.zeros((b, Hn))
            for t in range(x.shape[1]):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)          # tanh(z_t): (B, H)
                aD = alpha * (1 - r * r)                                 # alpha * D_t: (B, H)
                e_hh = kappa * e_hh + aD[:, :, None] * h[:, None, :]     # post x pre: (B, H, H)
                e_xh = kappa * e_xh + aD[:, :, None] * x[:, t][:, None, :]   # (B, H, A)
                e_b = kappa * e_b + aD                                   # (B, H)
                h = (1 - alpha) * h + alpha * r if alpha != 1.0 else r   # h_{t+1}: (B, H)
            hTs.append(h)
            traces.append((e_xh, e_hh, e_b))
            ys.append(np.tanh(h @ W_hy.T + b_y))       # (B, 3)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "h_T": hTs, "e": traces}

    def credit(self, state, batch, cache):
        W_hy = state["W_hy"]
        feedback = state["B_fb"].T if self.config.feedback == "random" else W_hy   # (3, H)
        B = batch.size
        g = {name: np.zeros_like(state[name]) for name in RNN_PARAMS}
        start = 0
        for x, h_T, (e_xh, e_hh, e_b) in zip(batch.segments, cache["h_T"], cache["e"]):
            b = x.shape[0]
            y = cache["y"][start:start + b]                        # (b, 3)
            dy = (y - batch.targets[start:start + b]) / B          # dL/dy
            dz_y = dy * (1 - y * y)                                # (b, 3)
            g["W_hy"] += dz_y.T @ h_T                              # exact local gradient (3, H)
            g["b_y"] += dz_y.sum(axis=0)
            L = dz_y @ feedback                                    # learning signal: (b, H)
            g["W_hh"] += (L[:, :, None] * e_hh).sum(axis=0)        # (H, H)
            g["W_xh"] += (L[:, :, None] * e_xh).sum(axis=0)        # (H, A)
            g["b_h"] += (L * e_b).sum(axis=0)                      # (H,)
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay)

    def predict(self, state, batch):
        """Outputs only: the forward pass without traces (no learning)."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        alpha = self.config.alpha
        ys = []
        for x in batch.segments:
            h = np.zeros((x.shape[0], W_hh.shape[0]))
            for t in range(x.shape[1]):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)
                h = (1 - alpha) * h + alpha * r if alpha != 1.0 else r
            ys.append(np.tanh(h @ state["W_hy"].T + state["b_y"]))
        return ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
