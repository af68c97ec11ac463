"""A worked example: a credit-assignment rule defined outside the project's packages.

`ReadoutOnly` trains only the readout (W_hy, b_y) by its exact local gradient; the recurrent
weights keep their random initial values (an echo-state / reservoir baseline). Run it with

    PYTHONPATH=examples/my_rule python -m studies.compare_learners --learners my_rules:ReadoutOnly

or from Python, with examples/my_rule on sys.path:

    import harness, learners
    cls = learners.get("my_rules:ReadoutOnly")
    result = harness.train(cls(lr=0.05), harness.SequenceLookup(), seed=0)

The equations (B sequences, T steps, A letters, H hidden units):

    forward   h_0 = 0;  h_{t+1} = (1 - alpha) h_t + alpha tanh(W_xh x_t + W_hh h_t + b_h)
              y = tanh(W_hy h_T + b_y)                          (alpha = 1: the v1 network)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
    update    the shared optimizer (learners.rnn) on W_hy, b_y only: clip, v = momentum v - lr g,
              p = p + v, then W_hy *= 1 - lr * weight_decay
"""
from __future__ import annotations

import numpy as np

from learners.rnn import RNNLearner, join_segments, optimizer_step

READOUT = ("W_hy", "b_y")


class ReadoutOnly(RNNLearner):
    """The shared network (learners.rnn): its hyperparameters (n_hidden, lr, momentum, clip,
    clip_mode, weight_decay, init_scale, alpha), its v1 initialization (plus zero momentum buffers
    v_<name>), its task defaults and its plain `predict` come from RNNLearner."""
    name = "readout_only"

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        hTs, ys = [], []
        for x in batch.segments:                       # x: (B, T, A)
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # (B, H)
            for t in range(x.shape[1]):
                h = self.leak(h, np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h))
            hTs.append(h)
            ys.append(np.tanh(h @ state["W_hy"].T + state["b_y"]))   # (B, 3)
        return {"y": join_segments(ys), "h_T": hTs}   # cache["y"] is required

    def credit(self, state, batch, cache):
        g = self.zero_grads(state, READOUT)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), h_T in zip(segments, cache["h_T"]):
            dz_y = self.readout_delta(y, targets, batch.size)                 # (b, 3)
            g["W_hy"] = g["W_hy"] + dz_y.T @ h_T                              # (3, H)
            g["b_y"] = g["b_y"] + dz_y.sum(axis=0)                            # (3,)
        return g

    def update(self, state, grads):
        # the shared optimizer, over the readout only
        return optimizer_step(state, grads, self.config, names=READOUT)
