"""The shared RNN every built-in rule runs on: its hyperparameters, initialization, optimizer, leak
and readout gradient, written once. Each rule file writes out only its own forward pass and credit
assignment (the paper's equations), using these pieces.

The network (v1 when alpha = 1), B sequences, T steps, A letters, H hidden units, 3 outputs:

    h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  h_{t+1} = (1 - alpha) h_t + alpha r_t
    y = tanh(W_hy h_T + b_y);   loss L = 0.5 * mean_b sum_i (y_i - target_i)^2

Exact gradient through the leak: dL/dh_t receives (1 - alpha) dL/dh_{t+1} directly plus
alpha (1 - r_t^2) dL/dh_{t+1} through W_hh.

Per-step targets (a per_step task, harness/task.py: `batch.step_targets`, target_t (b, T, 3)): the
readout is read at every step and the loss is the mean over steps of the per-step loss,

    y_t = tanh(W_hy h_{t+1} + b_y)  (t = 0..T-1; y_{T-1} is the final output y)
    L = 0.5 * mean_b (1/T) sum_t sum_i (y_t,i - target_t,i)^2
    dz_y,t = dL/d(W_hy h_{t+1} + b_y) = (y_t - target_t) / (B T) * (1 - y_t^2)      (b, 3)

(T the sequence's own length; the 1/T keeps the loss on the final loss's scale at every T, so a
step size carries over). With T = 1 it is the final loss. Each rule that declares "per_step" in
TARGETS adds the loss of step t at h_{t+1}: dL/dh_{t+1} gains dz_y,t W_hy (or the rule's own
feedback in place of W_hy^T), and the readout's gradient is sum_t dz_y,t^T h_{t+1}.

The optimizer (v1 with clip_mode "global"), in order:
    (1) clip: "global" scales the whole gradient by clip / (norm + 1e-12) when its L2 norm over all
        parameters exceeds `clip` (a global quantity no synapse has); "per_parameter" does the same
        for each parameter array with its own norm; clip None or 0: no clipping
    (2) v = momentum * v - lr * g      (3) p = p + v
    (4) the weight matrices (not the biases) *= (1 - lr * weight_decay)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from learners.base import Learner, integer, nonnegative, number, one_of, positive

RNN_PARAMS = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")
WEIGHT_MATRICES = ("W_xh", "W_hh", "W_hy")
N_OUT = 3                          # outputs: the task's 3-bit code (harness.task.N_OUTPUTS)
CLIP_MODES = ("global", "per_parameter")
MAX_HIDDEN = 1 << 16               # beyond it W_hh (H x H float64) exceeds 32 GB
STORAGE_DTYPES = ("float64", "float32", "float16")   # formats a rule may store an array in


@dataclass
class RNNConfig:
    """The hyperparameters every rule on the shared network has; defaults are the v1 values."""
    n_hidden: int = 30                 # H, hidden units
    lr: float = 0.05                   # step size
    momentum: float = 0.9
    clip: float | None = 5.0           # gradient-norm bound; None or 0: no clipping
    clip_mode: str = "global"          # "global" (v1, needs the whole gradient's norm) or
                                       # "per_parameter" (each parameter array by its own norm)
    weight_decay: float = 1e-4         # decoupled, on the weight matrices only
    init_scale: float = 0.5
    alpha: float = 1.0                 # leak: h_{t+1} = (1-alpha) h_t + alpha tanh(z_t); 1 = v1

    def validate(self):
        integer(self, "n_hidden", 1, MAX_HIDDEN)
        positive(self, "lr", "init_scale")
        nonnegative(self, "momentum", "weight_decay")
        number(self, "clip", lo=0, allow_none=True)
        one_of(self, "clip_mode", CLIP_MODES)
        number(self, "alpha", lo=0, hi=1, lo_open=True)      # the network leak, (0, 1]


class RNNLearner(Learner):
    """Base class of the rules on the shared network: init, update, leak, readout_delta.
    Subclasses set `name`, optionally a `Config` subclassing RNNConfig, and write forward/credit."""
    Config: ClassVar[type] = RNNConfig
    PARAMS: ClassVar[tuple] = RNN_PARAMS
    TASK_DEFAULTS: ClassVar[dict] = {
        "variable_timing": dict(n_hidden=60, lr=0.02, clip=1.0, init_scale=0.2)}

    def init(self, task, rng: np.random.Generator) -> dict:
        """v1 initialization, drawn from `rng` in this order: W_xh (H, A), W_hh (H, H),
        W_hy (3, H); zero biases; zero momentum buffers `v_<name>` for every parameter."""
        H, A, s = self.config.n_hidden, task.n_letters, self.config.init_scale
        state = {
            "W_xh": s * rng.standard_normal((H, A)),
            "W_hh": s * 0.7 / np.sqrt(H) * rng.standard_normal((H, H)),
            "b_h": np.zeros(H),
            "W_hy": s * rng.standard_normal((N_OUT, H)),
            "b_y": np.zeros(N_OUT),
        }
        state.update({"v_" + k: np.zeros_like(v) for k, v in list(state.items())})
        return state

    def update(self, state: dict, grads: dict) -> dict:
        """The optimizer of the module docstring over RNN_PARAMS. Returns a new state dict."""
        return optimizer_step(state, grads, self.config, RNN_PARAMS)

    def leak(self, h, r):
        """h_{t+1} = (1 - alpha) h_t + alpha r_t; `r` itself when alpha == 1 (the v1 network)."""
        alpha = self.config.alpha
        if alpha == 1.0:
            return r
        return (1 - alpha) * h + alpha * r

    def alpha_times(self, g):
        """alpha * g; `g` itself when alpha == 1 (no extra operation on the v1 network)."""
        alpha = self.config.alpha
        return g if alpha == 1.0 else alpha * g

    def leak_back(self, dh_next, dh_rec):
        """dL/dh_t = (1 - alpha) dL/dh_{t+1} (the leak's direct path) + dh_rec (the path through
        tanh and W_hh, already carrying its factor alpha); `dh_rec` itself when alpha == 1."""
        alpha = self.config.alpha
        return dh_rec if alpha == 1.0 else (1 - alpha) * dh_next + dh_rec

    @staticmethod
    def readout_delta(y, targets, B):
        """dL/dz_y for the readout y = tanh(z_y), L = 0.5 mean_b |y - target|^2: (b, 3)."""
        return (y - targets) / B * (1 - y * y)

    @staticmethod
    def step_delta(y_t, target_t, B, T):
        """dL/dz_y,t for the readout y_t = tanh(z_y,t) at step t of a per_step segment of T
        steps, L = 0.5 mean_b (1/T) sum_t |y_t - target_t|^2 (the module docstring): (b, 3)."""
        return (y_t - target_t) / (B * T) * (1 - y_t * y_t)

    @staticmethod
    def is_per_step(batch) -> bool:
        """Whether the batch carries a target at every step (harness.task, target_kind)."""
        return getattr(batch, "step_targets", None) is not None

    @staticmethod
    def step_targets(batch) -> list:
        """For each segment, its per-step targets (b, T, 3), or None on a final batch."""
        steps = getattr(batch, "step_targets", None)
        return list(steps) if steps is not None else [None] * len(batch.segments)

    @staticmethod
    def per_segment(batch, y):
        """For each segment of the batch: (x (b, T, A), its rows of y (b, 3), its targets (b, 3))."""
        start = 0
        for x in batch.segments:
            b = x.shape[0]
            yield x, y[start:start + b], batch.targets[start:start + b]
            start += b

    @staticmethod
    def zero_grads(state, names=RNN_PARAMS) -> dict:
        """Zero accumulators shaped like the parameters `names`."""
        return {k: np.zeros_like(state[k]) for k in names}

    def predict(self, state, batch):
        """Outputs y (B, 3) of the plain forward pass of the module docstring: no learning
        quantities, no random draws."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        ys = []
        for x in batch.segments:                                   # x: (B, T, A)
            h = np.zeros((x.shape[0], W_hh.shape[0]))              # h_0: (B, H)
            for t in range(x.shape[1]):
                h = self.leak(h, np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h))
            ys.append(np.tanh(h @ state["W_hy"].T + state["b_y"]))   # (B, 3)
        return join_segments(ys)


class FreshNoiseEachUpdate:
    """For a rule that draws new random numbers at every update (perturbations, tangents, signs),
    keeping forward/credit/update pure functions of their arguments: `state["noise_key"]` is an
    int64 array [seed, updates so far], the seed drawn in `init` from the run's generator after
    the network; `update_rng(state)` is this update's generator, np.random.default_rng([seed,
    updates]); `update` advances the counter. The key is integer bookkeeping, which the tracked
    runner passes through unpriced; the arrays drawn from the generator are data the rule reads
    (in a measurement they enter the stack when first used: docs/tracking.md, "Plain arrays").
    Use it before RNNLearner: `class Rule(FreshNoiseEachUpdate, RNNLearner)`."""

    def init(self, task, rng):
        state = super().init(task, rng)                    # the network first, then the seed
        state["noise_key"] = np.array([rng.integers(2 ** 63), 0], dtype=np.int64)
        return state

    @staticmethod
    def update_rng(state) -> np.random.Generator:
        seed, updates = (int(v) for v in state["noise_key"])
        return np.random.default_rng([seed, updates])

    def update(self, state, grads):
        new = super().update(state, grads)
        new["noise_key"] = state["noise_key"] + np.array([0, 1], dtype=np.int64)
        return new


def store_as(x, dtype: str):
    """`x` as stored for later use in the number format `dtype` (one of STORAGE_DTYPES): `x`
    itself for "float64" (no operation: the default program is unchanged), else rounded to that
    dtype (one conversion per element). The stored array keeps the dtype, so a measurement
    prices its values at that width (harness.formats) and numpy's arithmetic reads them as they
    are: an operation between two stored values is computed in the narrow dtype, one with a
    float64 operand in float64 (docs/formats.md)."""
    return x if dtype == "float64" else x.astype(dtype)


def join_segments(ys):
    """The per-segment outputs as one (B, 3) array in batch order (no copy for one segment)."""
    return ys[0] if len(ys) == 1 else np.concatenate(ys, axis=0)


def optimizer_step(state: dict, grads: dict, config: RNNConfig, names=RNN_PARAMS) -> dict:
    """Clip (config.clip_mode), momentum, step, weight decay, for the parameters `names` (a rule
    that trains a subset passes it). Returns a new state dict."""
    c = config
    if c.clip:                                      # (1) clipping (None or 0: none)
        if c.clip_mode == "global":
            norm = np.sqrt(sum((grads[k] * grads[k]).sum() for k in names))
            if norm > c.clip:
                scale = c.clip / (norm + 1e-12)
                grads = {k: grads[k] * scale for k in names}
        else:                                       # per_parameter
            clipped = {}
            for k in names:
                norm = np.sqrt((grads[k] * grads[k]).sum())
                clipped[k] = grads[k] * (c.clip / (norm + 1e-12)) if norm > c.clip else grads[k]
            grads = clipped
    new = dict(state)
    for k in names:
        v = c.momentum * state["v_" + k] - c.lr * grads[k]     # (2) momentum
        p = state[k] + v                                        # (3) step
        if k in WEIGHT_MATRICES and c.weight_decay:             # (4) decay on the matrices only
            p = p * (1.0 - c.lr * c.weight_decay)
        new["v_" + k], new[k] = v, p
    return new
