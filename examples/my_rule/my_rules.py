"""A worked example: a credit-assignment rule defined outside the project's packages.

`ReadoutOnly` trains only the readout (W_hy, b_y) by its exact local gradient; the recurrent
weights keep their random initial values (an echo-state / reservoir baseline). Run it with

    PYTHONPATH=examples/my_rule python -m studies.compare_learners --learners my_rules:ReadoutOnly

or from Python, with examples/my_rule on sys.path:

    import harness, learners
    cls = learners.get("my_rules:ReadoutOnly")
    result = harness.train(cls(lr=0.05), harness.SequenceLookup(), seed=0)

The equations (B sequences, T steps, A letters, H hidden units):

    forward   h_0 = 0;  h_{t+1} = tanh(W_xh x_t + W_hh h_t + b_h);  y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
    update    v = momentum v - lr g;  p = p + v   (W_hy, b_y only), then W_hy *= 1 - lr * weight_decay
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import Learner, nonnegative, positive
from learners.common import RNN_PARAMS, clip_momentum_decay, init_rnn

READOUT = ("W_hy", "b_y")


@dataclass
class ReadoutOnlyConfig:
    """Hyperparameters and their defaults (the constructor's keywords)."""
    n_hidden: int = 30
    lr: float = 0.05
    momentum: float = 0.9
    clip: float = 5.0
    weight_decay: float = 1e-4
    init_scale: float = 0.5

    def validate(self):                       # called by Learner.__init__: fail early and clearly
        positive(self, "n_hidden", "lr", "clip", "init_scale")
        nonnegative(self, "momentum", "weight_decay")


class ReadoutOnly(Learner):
    name = "readout_only"
    Config = ReadoutOnlyConfig
    PARAMS = RNN_PARAMS                       # reported parameters (all five; three never change)
    TASK_DEFAULTS = {"variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng):
        # the v1 network, drawn in the v1 order, plus zero momentum buffers v_<name>
        return init_rnn(task.n_letters, self.config.n_hidden, 3, self.config.init_scale, rng)

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        hTs, ys = [], []
        for x in batch.segments:                       # x: (B, T, A)
            h = np.zeros((x.shape[0], W_hh.shape[0]))  # (B, H)
            for t in range(x.shape[1]):
                h = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)
            hTs.append(h)
            ys.append(np.tanh(h @ state["W_hy"].T + state["b_y"]))   # (B, 3)
        y = ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)
        return {"y": y, "h_T": hTs}                    # cache["y"] is required

    def credit(self, state, batch, cache):
        B = batch.size
        g = {"W_hy": np.zeros_like(state["W_hy"]), "b_y": np.zeros_like(state["b_y"])}
        start = 0
        for x, h_T in zip(batch.segments, cache["h_T"]):
            b = x.shape[0]
            y = cache["y"][start:start + b]                                   # (b, 3)
            dz_y = (y - batch.targets[start:start + b]) / B * (1 - y * y)     # (b, 3)
            g["W_hy"] = g["W_hy"] + dz_y.T @ h_T                              # (3, H)
            g["b_y"] = g["b_y"] + dz_y.sum(axis=0)                            # (3,)
            start += b
        return g

    def update(self, state, grads):
        c = self.config
        return clip_momentum_decay(state, grads, c.lr, c.momentum, c.clip, c.weight_decay,
                                   names=READOUT)
