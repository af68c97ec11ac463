"""Shared test helpers: central finite differences of a loss over a state's parameters."""
import numpy as np

from learners.rnn import RNN_PARAMS


def final_output_loss(learner, batch):
    """L(state) = 0.5 mean_b sum_i (y_i - target_i)^2 through learner.predict (the rules' loss on
    the final-target task)."""
    def loss(state):
        d = learner.predict(state, batch) - batch.targets
        return 0.5 * np.mean(np.sum(d * d, axis=1))
    return loss


def numerical_gradient(loss, state, names=RNN_PARAMS, eps=1e-6):
    """{name: central differences of loss(state) over every entry of state[name]}."""
    out = {}
    for k in names:
        g = np.zeros_like(state[k])
        for idx in np.ndindex(g.shape):
            plus, minus = state[k].copy(), state[k].copy()
            plus[idx] += eps
            minus[idx] -= eps
            g[idx] = (loss(dict(state, **{k: plus})) - loss(dict(state, **{k: minus}))) / (2 * eps)
        out[k] = g
    return out
