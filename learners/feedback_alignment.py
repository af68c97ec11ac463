"""Feedback alignment through time (Lillicrap, Cownden, Tweed & Akerman 2016, "Random synaptic
feedback weights support error backpropagation for deep learning", Nature Communications 7: 13276),
with direct feedback alignment (Nokland 2016, "Direct feedback alignment provides learning in deep
neural networks", NIPS 29) as an option.

BPTT's backward pass with fixed random matrices in place of the transposed forward weights: the
error reaches the hidden units through B_hy (H, 3) instead of W_hy^T, and travels back in time
through B_hh (H, H) instead of W_hh^T. Learning brings the forward weights into alignment with
the fixed feedback, after which the feedback carries useful error information. Shapes: B
sequences in a segment, T steps, A letters, H hidden units, 3 outputs; rows are sequences (dh is
(B, H)).

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  h_{t+1} = (1-alpha) h_t + alpha r_t
              y = tanh(W_hy h_T + b_y)         (BPTT's forward, learners/bptt.py: all h_t, r_t kept)
    credit    dz_y = (y - target) / B * (1 - y^2)                                        (B, 3)
              readout, its exact local gradient:  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              feedback="fa":   dh_T = dz_y B_hy^T;  for t = T-1..0:
                                 dz_t = alpha (dh_{t+1} * (1 - r_t^2))                       (B, H)
                                 dW_xh += dz_t^T x_t;  dW_hh += dz_t^T h_t;  db_h += sum_b dz_t
                                 dh_t = (1 - alpha) dh_{t+1} + dz_t B_hh^T
              feedback="dfa":  the output error is sent to every step directly, no chain in time:
                                 e = dz_y B_hy^T  (B, H);  for every t:
                                 dz_t = alpha (e * (1 - r_t^2))
                               (one B_hy shared by all steps, as the steps share their weights)
    update    the shared optimizer (learners.rnn.RNNLearner.update)

Per-step targets (a per_step task; the loss of learners/rnn.py; BPTT's forward keeps y_t): for
t = T-1..0, dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2);  dW_hy += dz_y,t^T h_{t+1};
db_y += sum_b dz_y,t;  e_t = dz_y,t B_hy^T, and then
              feedback="fa":   dh_{t+1} += e_t  (dh_T = e_{T-1}); dz_t, dW, dh_t as above
              feedback="dfa":  dz_t = alpha ((e_t + e_{t+1} + ... + e_{T-1}) * (1 - r_t^2)):
                               the errors of step t and of every later step (which h_{t+1}
                               reaches), each sent directly; with a final target it is the
                               rule above

With B_hy = W_hy^T and B_hh = W_hh^T, "fa" is BPTT exactly, bit for bit (the test): the
products are written as in learners/bptt.py, with the shared leak helpers (at alpha = 1 the leak
terms are not computed at all). The leak's own path (1 - alpha) dh_{t+1} is a unit's memory of
its own state, not a synapse, so it is kept.

B_hy and B_hh are drawn once in init, after the network, from the run's generator, with the
distributions of the matrices they stand in for at initialization (B_hy like W_hy^T:
init_scale N(0, 1); B_hh like W_hh^T: init_scale 0.7 / sqrt(H) N(0, 1)), and never change; "dfa"
draws only B_hy. They are rule state, not network parameters.

What it needs that a synapse would not have: no weight transport (the feedback weights are not the
forward weights), but a separate feedback pathway with its own fixed weights, and, for "fa", the
whole backward pass in time: every hidden state of the sequence stored and replayed backwards,
like BPTT. "dfa" has no chain in time, but the error arrives only after the sequence, so it
still keeps every h_t and r_t (each step's presynaptic activity and derivative). With clip_mode
"global" the update also needs the gradient's global norm. The stored history's number format is
BPTT's option history_dtype (default float64).

Defaults (feedback "fa", lr 0.02, the rest the v1 values): hand trials at seeds 0-2, 800 sweeps,
where lr 0.05 left seed 0 with saturated units.
The studies use `learners.get("feedback_alignment").tuned()`, the configuration the common search on
the validation split chose (docs/results/tune/tune_feedback_alignment.csv; learners/tuned.json):
alpha 0.3, lr 0.005, clip 5.0 (feedback "fa"); median validation accuracy 0.645 over tuning seeds
100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.bptt import BPTT, BPTTConfig
from learners.base import one_of
from learners.rnn import N_OUT

FEEDBACK = ("fa", "dfa")


@dataclass
class FeedbackAlignmentConfig(BPTTConfig):
    """Constructor defaults (hand trials, see the module docstring); the studies use `tuned()`."""
    feedback: str = "fa"             # "fa": random B_hh through time; "dfa": error to every step
    lr: float = 0.02

    def validate(self):
        super().validate()
        one_of(self, "feedback", FEEDBACK)


class FeedbackAlignment(BPTT):
    """BPTT's forward pass; BPTT's backward pass with the feedback matrices B_hy, B_hh."""
    name = "feedback_alignment"
    Config = FeedbackAlignmentConfig

    def init(self, task, rng):
        state = super().init(task, rng)                    # the network first, then the feedback
        H, s = self.config.n_hidden, self.config.init_scale
        state["B_hy"] = s * rng.standard_normal((H, N_OUT))                  # for W_hy^T: (H, 3)
        if self.config.feedback == "fa":
            state["B_hh"] = s * 0.7 / np.sqrt(H) * rng.standard_normal((H, H))   # for W_hh^T
        return state

    # forward: BPTT's (learners/bptt.py), keeping every h_t (and r_t when alpha < 1), stored in
    # history_dtype as BPTT's

    def credit(self, state, batch, cache):
        direct = self.config.feedback == "dfa"
        B_hy = state["B_hy"]                                       # (H, 3)
        B_hh = None if direct else state["B_hh"]                   # (H, H)
        g = self.zero_grads(state)
        steps = self.step_targets(batch)
        for i, (x, y, targets) in enumerate(self.per_segment(batch, cache["y"])):
            T, H = x.shape[1], cache["hs"][i]                      # H[t] = h_t: (b, H)
            R = cache["rs"][i] if "rs" in cache else {t: H[t + 1] for t in range(T)}   # r_t
            S = steps[i]                                           # per_step: (b, T, 3)
            if S is None:                                          # the loss at step T-1 only
                dz_y = self.readout_delta(y, targets, batch.size)  # (b, 3)
                g["W_hy"] += dz_y.T @ H[T]                         # exact local gradient (3, H)
                g["b_y"] += dz_y.sum(axis=0)
                e = dz_y @ B_hy.T                                  # random feedback: (b, H)
                dh = e
            for t in range(T - 1, -1, -1):
                if S is not None:                                  # the loss of step t
                    dz_y = self.step_delta(cache["ys"][i][t], S[:, t], batch.size, T)  # (b, 3)
                    g["W_hy"] += dz_y.T @ H[t + 1]                 # exact local gradient
                    g["b_y"] += dz_y.sum(axis=0)
                    e_t = dz_y @ B_hy.T                            # random feedback: (b, H)
                    if direct:                                     # errors of steps t..T-1
                        e = e_t if t == T - 1 else e + e_t
                    else:                                          # dL/dh_{t+1}, fed back
                        dh = e_t if t == T - 1 else dh + e_t
                if direct:
                    dh = e                                         # sent directly to step t
                dz = self.alpha_times(dh * (1 - R[t] * R[t]))      # (b, H)
                g["W_xh"] += dz.T @ x[:, t]                        # (H, A)
                g["W_hh"] += dz.T @ H[t]                           # (H, H)
                g["b_h"] += dz.sum(axis=0)
                if not direct:
                    dh = self.leak_back(dh, dz @ B_hh.T)           # random feedback in time
        return g
