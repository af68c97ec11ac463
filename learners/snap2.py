"""SnAp-2: the sparse n-step approximation of RTRL with n = 2, on a sparsely connected W_hh (Menick,
Elsen, Evci, Osindero, Simonyan & Graves 2021, "Practical real-time recurrent learning with a
sparse approximation", ICLR 2021).

RTRL (learners/rtrl.py) carries the full influence P_t = dh_t/dtheta forward,
P_{t+1} = J_t P_t + M_t, J_t = dh_{t+1}/dh_t. SnAp-n keeps only the entries of P that are non-zero
n steps after a parameter first acts, and drops the rest after every step. A weight into unit j
(W_hh[j,k], W_xh[j,a], b_h[j]) moves h_j at once and, one step later, the units j projects to; so
SnAp-2 keeps, for parameter row j, the influence on the units N(j) = {j} + {i : W_hh[i,j] is a
connection}. On a dense W_hh that is every unit, and SnAp-2 is RTRL at RTRL's cost: the rule is
meant for sparse networks, as in the paper. Here W_hh has a fixed random connectivity C (each
connection present with probability `density`, drawn in init); absent weights are zero and stay
zero (no gradient reaches them). Shapes: B sequences in a segment, T steps, A letters, H hidden
units; for parameter row j, n_j = |N(j)| units and m_j = |C(j)| + A + 1 incoming weights (its
recurrent connections C(j) = {k : C[j,k]}, every letter, the bias).

    forward   h_0 = 0;  r_t = tanh(W_xh x_t + W_hh h_t + b_h);  D_t = 1 - r_t^2             (B, H)
              h_{t+1} = (1 - alpha) h_t + alpha r_t                (alpha = 1: the v1 network)
              for each unit j, with N(j) ordered j first and pre_t^j = (h_t[C(j)], x_t, 1)  (B, m_j)
                Q^j_t[i,b,:] ~ dh_t[b,i] / d(row j's incoming weights), i in N(j)  (n_j, B, m_j)
                Q^j_0 = 0;  Q^j_{t+1}[i] = (1 - alpha) Q^j_t[i] + [i = j] alpha D_t[j] pre_t^j
                              + alpha D_t[i] sum_{m in N(j), C[i,m]} W_hh[i,m] Q^j_t[m]
              y = tanh(W_hy h_T + b_y)
    credit    dz_y = (y - target) / B * (1 - y^2);  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y
              dh_T = dz_y W_hy                                                           (B, H)
              (dW_hh[j, C(j)], dW_xh[j], db_h[j]) = sum_{i in N(j)} sum_b dh_T[b,i] Q^j_T[i,b,:]
              dW_hh = 0 off the connectivity
    update    the shared optimizer (learners.rnn: clip, momentum, weight decay)

Per-step targets (a per_step task; the loss of learners/rnn.py): as RTRL (learners/rtrl.py), the
loss of step t is credited at step t in the forward pass, with the influences Q_{t+1}:
              y_t = tanh(W_hy h_{t+1} + b_y);  dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2)
              dW_hy += dz_y,t^T h_{t+1};  db_y += sum_b dz_y,t;  dh = dz_y,t W_hy
              (dW_hh[j, C(j)], dW_xh[j], db_h[j]) += sum_{i in N(j)} sum_b dh[b,i] Q^j_{t+1}[i,b,:]
and the credit phase returns the sums.

This is RTRL's recursion with the sum over m and the units i restricted to N(j), i.e. Menick et
al.'s P_{t+1} = (M_t + J_t P_t) masked to the two-step pattern. Exactness: for T <= 2, and for any
T when the pattern is closed (every unit reachable from j in any number of steps is already in
N(j), e.g. a block-diagonal W_hh with dense blocks), SnAp-2 is RTRL; otherwise it drops the paths
of three or more steps through other units. The sum over m runs over the connections only (a
sparse kernel: `two_step_pattern` lists them slot by slot), so per step SnAp-2 does
sum_j c_j B m_j multiply-adds, c_j the connections among N(j), ~ density^3 H^3 B (density H + A),
and stores sum_j n_j B m_j influences, ~ density H^2 B (density H + A) (RTRL: H^3 B (H + A) and
H^2 B (H + A)). The forward pass itself multiplies by the dense (H, H) W_hh, zeros included (the
shared network's forward, as in every rule).

Connectivity C (bool (H, H), C[i,k]: connection k -> i) is drawn in init from the run's generator
after the network (W_hh's v1 draw is masked by it) and kept in the state as `connectivity`, fixed
(not a parameter). It is boolean bookkeeping, which the tracked runner passes through untracked
and unpriced: the sparse structure's index reads are not counted (at most H^2 bytes per update,
small next to the influences).

Number format of the influences (influence_dtype, default float64): "float32" or "float16"
stores each step's new Q^j_t rounded to that precision (learners.rnn.store_as: one conversion
per element); the next step reads the rounded values (a product with a float64 operand is
computed in float64), so the gradient is that of narrower influences and a measurement prices
the stored values at their width (harness.formats, docs/formats.md).

What it needs that a synapse would not have: the influence of synapse k -> j on unit i is kept at
unit i, so each unit i holds a trace for every synapse onto its presynaptic neighbours j, fed by
W_hh[i, m] of its neighbours' traces (non-local to the synapse); the learning signal
dh_T = dz_y W_hy uses the readout weights (weight transport); the v1 "global" clip a global norm.

Defaults: density 0.25 (a 75% sparse W_hh, in the sparsity range Menick et al. study) and lr 0.02
(hand trials at 800 sweeps on tuning seeds 100-102, lr 0.02 or 0.05), the rest v1.
density = 1 gives the dense network, where SnAp-2 is RTRL.
The studies use `learners.get("snap2").tuned()`, the configuration the common search on the
validation split chose (docs/results/tune/tune_snap2.csv; learners/tuned.json): alpha 0.3, lr 0.02,
clip 5.0 (density 0.25); median validation accuracy 0.634 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.rnn import STORAGE_DTYPES, RNNConfig, RNNLearner, join_segments, store_as
from learners.base import number, one_of


@dataclass
class SnAp2Config(RNNConfig):
    """Constructor defaults (hand trials, see the module docstring); the studies use `tuned()`."""
    density: float = 0.25          # probability that a recurrent connection k -> i exists
    lr: float = 0.02
    influence_dtype: str = "float64"    # the stored Q^j_t: float64, float32 or float16

    def validate(self):
        super().validate()
        number(self, "density", lo=0, hi=1, lo_open=True)
        one_of(self, "influence_dtype", STORAGE_DTYPES)


def two_step_pattern(C: np.ndarray) -> list:
    """For each unit j, from the connectivity C (H, H): (N(j) with j first, C(j), slots), index
    arrays. The connections among N(j) are listed row by row in `slots`: slot s holds, for every
    row position p (unit i = N(j)[p]) with more than s such connections, its s-th one, from
    position q: (rows p, sources q, i, N(j)[q]). Each row is the sum over its slots."""
    Hn = C.shape[0]
    out = []
    for j in range(Hn):
        N = np.array([j] + [i for i in np.flatnonzero(C[:, j]) if i != j], dtype=np.intp)
        nbrs = [np.flatnonzero(C[i, N]) for i in N]                   # positions q, C[N[p], N[q]]
        slots = []
        for s in range(max(len(q) for q in nbrs)):
            rows = np.array([p for p, q in enumerate(nbrs) if len(q) > s], dtype=np.intp)
            src = np.array([nbrs[p][s] for p in rows], dtype=np.intp)
            slots.append((rows, src, N[rows], N[src]))
        out.append((N, np.flatnonzero(C[j]), slots))
    return out


class SnAp2(RNNLearner):
    name = "snap2"
    Config = SnAp2Config
    TARGETS = ("final", "per_step")

    def init(self, task, rng):
        state = super().init(task, rng)                    # the network first, then C
        Hn = self.config.n_hidden
        C = rng.random((Hn, Hn)) < self.config.density     # (H, H) bool
        state["W_hh"] = state["W_hh"] * C
        state["connectivity"] = C
        return state

    def forward(self, state, batch):
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        W_hy, b_y = state["W_hy"], state["b_y"]
        alpha, Hn = self.config.alpha, W_hh.shape[0]
        dt = self.config.influence_dtype               # the stored influences' format
        pattern = two_step_pattern(np.asarray(state["connectivity"]))  # N(j), C(j), slots
        # the connections among N(j), gathered once per update, slot by slot: (rows in slot, 1)
        W_slots = [[W_hh[i, k][:, None] for _, _, i, k in slots] for _, _, slots in pattern]
        per_step = self.is_per_step(batch)
        g = self.zero_grads(state) if per_step else None   # per_step: credited in real time
        hTs, ys, infl = [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            b = x.shape[0]
            h = np.zeros((b, Hn))                      # h_0: (B, H)
            Q = [None] * Hn                            # Q^j: (n_j, B, m_j); None: Q_0 = 0
            one = np.ones((b, 1))
            for t in range(x.shape[1]):
                xt = x[:, t]
                r = np.tanh(xt @ W_xh.T + h @ W_hh.T + b_h)          # r_t: (B, H)
                aD = self.alpha_times(1 - r * r)                     # alpha D_t: (B, H)
                aDT = aD.T                                           # (H, B)
                for j, (N, Cj, slots) in enumerate(pattern):
                    pre = np.concatenate([h[:, Cj], xt, one], axis=1)     # pre_t^j: (B, m_j)
                    imm = aD[:, j:j + 1] * pre                            # (B, m_j)
                    n, m = len(N), pre.shape[1]
                    if Q[j] is None:                                      # Q_0 = 0
                        Q[j] = store_as(np.concatenate([imm[None], np.zeros((n - 1, b, m))],
                                                       axis=0), dt)
                        continue
                    # sum_{m in N(j)} W_hh[i, m] Q^j_t[m], over the connections only
                    Q2 = Q[j].reshape(n, b * m)
                    prop = np.zeros_like(Q2, dtype=float)                 # (n_j, B m_j)
                    for s, (rows, src, _, _) in enumerate(slots):
                        term = W_slots[j][s] * Q2[src]
                        prop[rows] = term if s == 0 else prop[rows] + term
                    new = aDT[N][:, :, None] * prop.reshape(n, b, m)      # (n_j, B, m_j)
                    if alpha != 1.0:
                        new = (1 - alpha) * Q[j] + new
                    Q[j] = store_as(np.concatenate([(new[0] + imm)[None], new[1:]], axis=0), dt)
                h = self.leak(h, r)                                  # h_{t+1}
                if S is not None:                      # the loss of step t, credited now
                    y = np.tanh(h @ W_hy.T + b_y)                              # y_t: (B, 3)
                    dz_y = self.step_delta(y, S[:, t], batch.size, x.shape[1])  # (B, 3)
                    self.credit_at(g, state, dz_y, h, Q, pattern)
            hTs.append(h)
            infl.append(Q)
            ys.append(y if per_step else np.tanh(h @ W_hy.T + b_y))    # (B, 3)
        if per_step:
            return {"y": join_segments(ys), "g": g}
        return {"y": join_segments(ys), "h_T": hTs, "Q": infl, "pattern": pattern}

    def credit(self, state, batch, cache):
        if "g" in cache:                               # per_step: credited in the forward pass
            return cache["g"]
        g = self.zero_grads(state)
        segments = self.per_segment(batch, cache["y"])
        for (x, y, targets), h_T, Q in zip(segments, cache["h_T"], cache["Q"]):
            dz_y = self.readout_delta(y, targets, batch.size)                     # (b, 3)
            self.credit_at(g, state, dz_y, h_T, Q, cache["pattern"])
        return g

    def credit_at(self, g, state, dz_y, h, Q, pattern):
        """Add the credit of a readout error dz_y (b, 3) at the state h (b, H) with the SnAp-2
        influences Q (one (n_j, b, m_j) array per unit j) into the sums g."""
        Hn, A = state["W_xh"].shape
        b = dz_y.shape[0]
        g["W_hy"] += dz_y.T @ h                                                   # (3, H)
        g["b_y"] += dz_y.sum(axis=0)
        dh = dz_y @ state["W_hy"]                                                 # dL/dh: (b, H)
        dhT = dh.T                                                                # (H, b)
        g_hh = np.zeros_like(state["W_hh"])
        rows_xh, rows_b = [], []
        for j, (N, Cj, _) in enumerate(pattern):
            n, m = Q[j].shape[0], Q[j].shape[2]
            row = (dhT[N].reshape(1, n * b) @ Q[j].reshape(n * b, m)).reshape(m)  # (m_j,)
            c = len(Cj)
            g_hh[j, Cj] = row[:c]
            rows_xh.append(row[c:c + A])
            rows_b.append(row[c + A:])
        g["W_hh"] += g_hh                                                         # (H, H)
        g["W_xh"] += np.concatenate(rows_xh).reshape(Hn, A)                       # (H, A)
        g["b_h"] += np.concatenate(rows_b)                                        # (H,)
