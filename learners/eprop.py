"""A local three-factor rule with eligibility traces: RFLO / e-prop for rate networks.

Murray 2019, "Local online learning in recurrent networks with random feedback (RFLO)", eLife 8:
e43299; Bellec et al. 2020, "A solution to the learning dilemma for recurrent networks of spiking
neurons" (e-prop), Nature Communications 11: 3625.

Each recurrent synapse keeps a leaky trace of (presynaptic activity) x (postsynaptic derivative),
computed forward in time from quantities local to the synapse; a learning signal, the output error
sent back to each hidden unit through fixed random feedback weights B_fb (feedback="random", the
default: RFLO, "random e-prop") or through the readout weights W_hy^T (feedback="readout",
"symmetric e-prop"), gates the trace into a weight change. No gradient flows through time: the
recurrent Jacobian W_hh is dropped from the credit path. Shapes: B sequences in a segment,
T steps, A letters, H hidden units.

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  D_t = 1 - r_t^2             (B, H)
              h_{t+1} = (1 - alpha) h_t + alpha r_t      (alpha = 1: the v1 network)
              eligibility traces, e_0 = 0, per sequence, kappa = trace_decay:
                e^hh_{t+1}[i,j] = kappa e^hh_t[i,j] + alpha D_t[i] h_t[j]                    (B, H, H)
                e^xh_{t+1}[i,a] = kappa e^xh_t[i,a] + alpha D_t[i] x_t[a]                    (B, H, A)
                e^b_{t+1}[i]    = kappa e^b_t[i]    + alpha D_t[i]                           (B, H)
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2)                                            (B, 3)
              readout, its exact local gradient:  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              learning signal  L = dz_y B_fb^T  (feedback="random")  or  dz_y W_hy  ("readout") (B, H)
              dW_hh[i,j] = sum_b L[b,i] e^hh_T[b,i,j]   (likewise W_xh, b_h)
    update    the shared optimizer (learners.rnn), clip_mode "per_parameter" by default

Per-step targets (a per_step task; the loss of learners/rnn.py): the learning signal of step t is
that step's own output error, gating the trace as it is at that step (e-prop's
dW = sum_t L_t e_t, Bellec et al. eq. 1; Murray's RFLO update), computed in the forward pass as
soon as the error exists; nothing of step t is kept for later:
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t;  L_t = dz_y,t B_fb^T (or dz_y,t W_hy)
              dW_hh[i,j] += sum_b L_t[b,i] e^hh_{t+1}[b,i,j]   (likewise W_xh, b_h)
and the credit phase returns the sums. A special case where it is the exact gradient: with
feedback "readout", kappa = 1 - alpha (trace_decay None) and W_hh = 0 the recurrent Jacobian is
the leak (1 - alpha) I, the trace is dh_{t+1}/dW, and the update is BPTT's per-step gradient
(to rounding; the test), at any alpha.

Online form (schedule "online", harness/schedules.py): one sequence at a time, the trace is one
H x H array (not B x H x H) and is used up at the sequence's end, where its loss arrives; the
running sums of the update directions are the only thing kept across sequences. For one sequence
x_0..x_{T-1} (h, r, D vectors (H,)):
    forward_online   h_0 = 0; e_0 = 0; for t: r_t, D_t, h_{t+1} as above;
                     e^hh_{t+1} = kappa e^hh_t + alpha D_t h_t^T                               (H, H)
                     e^xh_{t+1} = kappa e^xh_t + alpha D_t x_t^T;  e^b_{t+1} = kappa e^b_t + alpha D_t
                     y = tanh(W_hy h_T + b_y)                                                    (3,)
    credit_online    dz_y = (y - target) / B (1 - y^2)    (B: the update's number of sequences)
                     G^hy += dz_y h_T^T;  G^by += dz_y;  L = B_fb dz_y  (or W_hy^T dz_y)          (H,)
                     G^hh += L e^hh_T  (row i scaled by L_i);  likewise G^xh, G^bh
The sums over the B sequences equal the batched directions up to the order of the sum (tested to
1e-12); then one update, as batched. Per-step targets: forward_online adds the credit of each
step (as in the batched per-step form, with the sequence's vectors) into the sequence's own sums
G (shaped like the parameters; the trace is still used up as it goes), and credit_online adds G
into the running sums.

Number format of the traces (trace_dtype, default float64): "float32" or "float16" stores each
trace at that precision (every step's new trace rounded to it, learners.rnn.store_as: numpy
computes kappa e_t in the trace's dtype, as it does for a Python float times a narrow array, the
step's sum in float64, and converts, one instruction per element), so the numbers are those of a
narrower trace and the tracker prices the stored trace at its width (harness.formats,
docs/formats.md).

The RFLO trace: with trace_decay=None, kappa = 1 - alpha, and the trace is exactly dh_{t+1}/dW
through the unit's own leak (Murray 2019, eq. 12; e-prop's eligibility trace for leaky rate units):
the true gradient whenever W_hh drops out of the credit path. In the non-leaky v1 network
(alpha = 1) that trace is memoryless (kappa = 0: only the last step's input and state are
credited), so the rule also takes a separate trace time constant kappa = trace_decay in [0, 1], a
leaky integrator of credit. B_fb = feedback_scale * N(0, 1), shape (H, 3), is drawn once in init
(after the network, from the same generator) and never changes.

What the rule needs that a synapse would not have:
  - feedback="random": a learning signal per hidden unit, the 3 output errors broadcast through
    fixed random weights B_fb (a feedback pathway, no weight transport); the readout's delta rule
    needs the target at the output units. Otherwise the trace and update are local.
  - feedback="readout" is NOT local: the learning signal uses W_hy^T, the readout weights
    transported back to the hidden units (weight transport, "symmetric e-prop").
  - clip_mode "per_parameter" (the default) needs the norm of each whole weight array (a
    population quantity, though not the whole gradient's); clip=None needs none;
    clip_mode "global" needs the norm of the whole gradient (not local).

Defaults: feedback "random" (local), alpha = 1.0 (the shared v1 network), trace_decay 0.9 and
lr 0.02 (from the old search under the previous protocol, scored on the reported unseen split,
whose winner was feedback "readout", alpha 0.3 - a leaky network and weight transport: reachable
as eprop(feedback="readout", alpha=0.3, clip_mode="global")), clip 5.0 per parameter, the rest
the shared v1 values.
The studies use `learners.get("eprop").tuned()`, the configuration the common search on the
validation split chose (docs/results/tune/tune_eprop.csv; learners/tuned.json): alpha 0.3, lr 0.02,
trace_decay None (kappa = 1 - alpha, the RFLO trace), feedback "random" and clip 5.0 per parameter
as by default; median validation accuracy 0.646 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import number, one_of, positive
from learners.rnn import N_OUT, STORAGE_DTYPES, RNNConfig, RNNLearner, join_segments, store_as

FEEDBACK = ("random", "readout")
TRACE_DTYPES = STORAGE_DTYPES


@dataclass
class EpropConfig(RNNConfig):
    feedback: str = "random"          # learning signal through B_fb ("random") or W_hy^T ("readout")
    trace_decay: float | None = 0.9   # kappa; None: 1 - alpha (the RFLO / exact leaky-unit trace)
    feedback_scale: float = 0.5       # B_fb = feedback_scale * N(0, 1), shape (H, 3)
    lr: float = 0.02
    clip_mode: str = "per_parameter"
    trace_dtype: str = "float64"     # the traces' number format: float64, float32 or float16

    def validate(self):
        super().validate()
        one_of(self, "trace_dtype", TRACE_DTYPES)
        one_of(self, "feedback", FEEDBACK)
        number(self, "trace_decay", lo=0, hi=1, allow_none=True)
        positive(self, "feedback_scale")

    @property
    def kappa(self) -> float:
        return 1.0 - self.alpha if self.trace_decay is None else self.trace_decay


class Eprop(RNNLearner):
    name = "eprop"
    Config = EpropConfig
    SCHEDULES = ("batched", "per_sequence", "online")
    TARGETS = ("final", "per_step")

    def init(self, task, rng):
        c = self.config
        state = super().init(task, rng)
        if c.feedback == "random":
            state["B_fb"] = c.feedback_scale * rng.standard_normal((c.n_hidden, N_OUT))  # fixed (H, 3)
        return state

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        alpha, kappa = self.config.alpha, self.config.kappa
        Hn, A = W_xh.shape
        per_step = self.is_per_step(batch)
        g = self.zero_grads(state) if per_step else None   # per_step: credited at each step
        hTs, ys, traces = [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            dt = self.config.trace_dtype
            e_hh = np.zeros((b, Hn, Hn), dt)           # e_hh[b, i, j]: synapse j -> i
            e_xh = np.zeros((b, Hn, A), dt)
            e_b = np.zeros((b, Hn), dt)
            for t in range(x.shape[1]):
                r = np.tanh(x[:, t] @ W_xh.T + h @ W_hh.T + b_h)          # r_t: (B, H)
                aD = alpha * (1 - r * r)                                 # alpha * D_t: (B, H)
                e_hh = self.stored(kappa * e_hh + aD[:, :, None] * h[:, None, :])  # (B, H, H)
                e_xh = self.stored(kappa * e_xh + aD[:, :, None] * x[:, t][:, None, :])  # (B, H, A)
                e_b = self.stored(kappa * e_b + aD)                               # (B, H)
                h = self.leak(h, r)                                      # h_{t+1}: (B, H)
                if S is not None:                      # step t's error, gating e_{t+1} now
                    y = np.tanh(h @ W_hy.T + b_y)                              # y_t: (B, 3)
                    dz_y = self.step_delta(y, S[:, t], batch.size, x.shape[1])  # (B, 3)
                    self.credit_at(g, state, dz_y, h, (e_xh, e_hh, e_b))
            hTs.append(h)
            traces.append((e_xh, e_hh, e_b))
            ys.append(y if per_step else np.tanh(h @ W_hy.T + b_y))      # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "g": g}
        return {"y": join_segments(ys), "h_T": hTs, "e": traces}

    def credit(self, state, batch, cache):
        if "g" in cache:                               # per_step: credited in the forward pass
            return cache["g"]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), h_T, e in zip(segments, cache["h_T"], cache["e"]):
            dz_y = self.readout_delta(y, targets, batch.size)     # (b, 3)
            self.credit_at(g, state, dz_y, h_T, e)
        return g

    def credit_at(self, g, state, dz_y, h, e):
        """Add the credit of a readout error dz_y (b, 3) at the state h (b, H) with the traces
        e = (e_xh, e_hh, e_b) into the sums g: the readout's exact local gradient, and the
        learning signal L gating the traces."""
        e_xh, e_hh, e_b = e
        feedback = state["B_fb"].T if self.config.feedback == "random" else state["W_hy"]  # (3, H)
        g["W_hy"] += dz_y.T @ h                                    # exact local gradient (3, H)
        g["b_y"] += dz_y.sum(axis=0)
        L = dz_y @ feedback                                        # learning signal: (b, H)
        g["W_hh"] += (L[:, :, None] * e_hh).sum(axis=0)            # (H, H)
        g["W_xh"] += (L[:, :, None] * e_xh).sum(axis=0)            # (H, A)
        g["b_h"] += (L * e_b).sum(axis=0)                          # (H,)

    def stored(self, e):
        """A trace as stored: `e` itself in float64 (no operation), else rounded to trace_dtype
        (one conversion per element; the tracker prices the stored values at that width)."""
        return store_as(e, self.config.trace_dtype)

    # ---- the online form: one sequence, one H x H trace (module docstring) ------------------
    def forward_online(self, state, seq):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        alpha, kappa = self.config.alpha, self.config.kappa
        Hn, A = W_xh.shape
        x = seq.segments[0][0]                         # the one sequence: (T, A)
        S = None if seq.step_targets is None else seq.step_targets[0][0]   # per_step: (T, 3)
        G = None if S is None else self.zero_grads(state)   # per_step: this sequence's sums
        T = x.shape[0]
        h = np.zeros(Hn)                               # h_0: (H,)
        dt = self.config.trace_dtype
        e_hh, e_xh, e_b = np.zeros((Hn, Hn), dt), np.zeros((Hn, A), dt), np.zeros(Hn, dt)
        for t in range(T):
            r = np.tanh(W_xh @ x[t] + W_hh @ h + b_h)          # r_t: (H,)
            aD = alpha * (1 - r * r)                           # alpha * D_t: (H,)
            e_hh = self.stored(kappa * e_hh + aD[:, None] * h[None, :])     # post x pre: (H, H)
            e_xh = self.stored(kappa * e_xh + aD[:, None] * x[t][None, :])  # (H, A)
            e_b = self.stored(kappa * e_b + aD)                             # (H,)
            h = self.leak(h, r)                                # h_{t+1}: (H,)
            if S is not None:                                  # step t's error, used now
                y = np.tanh(state["W_hy"] @ h + state["b_y"])  # y_t: (3,)
                dz_y = self.step_delta(y, S[t], seq.size, T)   # (3,)
                G = self.add_online(G, state, dz_y, h, (e_xh, e_hh, e_b))
        if S is not None:
            return {"y": y[None, :], "G": G}
        y = np.tanh(state["W_hy"] @ h + state["b_y"])          # (3,)
        return {"y": y[None, :], "h_T": h, "e": (e_xh, e_hh, e_b)}

    def credit_online(self, state, seq, cache, acc):
        if "G" in cache:                                        # per_step: the sequence's sums
            G = cache["G"]
            return dict(G) if acc is None else {k: acc[k] + G[k] for k in acc}
        g = self.zero_grads(state) if acc is None else dict(acc)
        y, h_T = cache["y"][0], cache["h_T"]
        dz_y = (y - seq.targets[0]) / seq.size * (1 - y * y)   # readout_delta: (3,)
        return self.add_online(g, state, dz_y, h_T, cache["e"])

    def add_online(self, g, state, dz_y, h, e):
        """The sums g plus the credit of a readout error dz_y (3,) at the state h (H,) with the
        one sequence's traces e = (e_xh, e_hh, e_b): new arrays (the running sums)."""
        e_xh, e_hh, e_b = e
        feedback = state["B_fb"] if self.config.feedback == "random" else state["W_hy"].T  # (H, 3)
        g = dict(g)
        g["W_hy"] = g["W_hy"] + dz_y[:, None] * h[None, :]    # (3, H)
        g["b_y"] = g["b_y"] + dz_y
        L = feedback @ dz_y                                     # learning signal: (H,)
        g["W_hh"] = g["W_hh"] + L[:, None] * e_hh               # (H, H)
        g["W_xh"] = g["W_xh"] + L[:, None] * e_xh               # (H, A)
        g["b_h"] = g["b_h"] + L * e_b                           # (H,)
        return g
