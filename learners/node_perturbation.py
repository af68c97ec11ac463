"""Node perturbation (Fiete & Seung 2006, "Gradient learning in spiking neural networks by dynamic
perturbation of conductances", Phys. Rev. Lett. 97: 048104; Williams 1992 REINFORCE).

No backward pass: the network is run twice on the batch, once clean and once with Gaussian noise
injected into every hidden unit's input at every step. The change in each sequence's loss,
correlated with the noise that caused it, estimates the gradient with respect to the units'
inputs; each synapse multiplies it by its own presynaptic activity (accumulated forward in time
as an eligibility: noise x presynaptic activity). Shapes: B sequences, T steps, A letters, H hidden.

    forward   clean:      h_0 = 0;  h_{t+1} = (1 - alpha) h_t + alpha tanh(W_xh x_t + W_hh h_t + b_h)
                          y = tanh(W_hy h_T + b_y)              (alpha = 1: the v1 network)
              perturbed:  g_0 = 0;  g_{t+1} = (1 - alpha) g_t + alpha tanh(W_xh x_t + W_hh g_t + b_h + xi_t),
                          xi_t ~ sigma N(0, 1) (B, H), from the generator held in the state
                          y~ = tanh(W_hy g_T + b_y)
              eligibility, summed forward in time (per sequence):
                E^hh[b,i,j] = sum_t xi_t[b,i] g_t[b,j];  E^xh[b,i,a] = sum_t xi_t[b,i] x_t[b,a];
                E^b[b,i] = sum_t xi_t[b,i]
    credit    per-sequence loss change  dL[b] = (l(y~_b) - l(y_b)) / B,  l(y) = 0.5 sum_i (y_i - t_i)^2
              dW_hh[i,j] = sum_b dL[b] E^hh[b,i,j] / sigma^2   (likewise W_xh, b_h), averaged over the
              `n_perturb` independent perturbations
              readout (exact local delta rule on the clean pass):  dW_hy = dz_y^T h_T;  db_y = sum_b dz_y,
              dz_y = (y - target) / B * (1 - y^2)
    update    the shared optimizer (learners.rnn), clip_mode "per_parameter" by default; stores the
              noise generator's new state

Per-step targets (a per_step task; the loss of learners/rnn.py): each pass reads the readout at
every step, y_t = tanh(W_hy h_{t+1} + b_y) (y~_t on the perturbed pass), and the loss of a
sequence is its per-step loss l = (1/T) sum_t 0.5 |y_t - target_t|^2, summed as the pass goes
(nothing of a step is kept); dL[b] = (l(y~_b) - l(y_b)) / B and the eligibilities as above; the
readout's delta rule on the clean pass, dW_hy = sum_t dz_y,t^T h_{t+1}, db_y = sum_t sum_b dz_y,t,
dz_y,t = (y_t - target_t) / (B T) * (1 - y_t^2), is summed during that pass. The estimator uses
the whole sequence's loss change for every step's noise (REINFORCE's form, unbiased; a causal
variant would correlate the noise of step t only with the losses of steps t..T-1).

E[dL xi_t] / sigma^2 -> dL/dz_t as sigma -> 0 (z_t the unit's input, at any leak alpha: dz_t/dW is
still the presynaptic activity), so the update follows the gradient on average; its variance grows
with the number of perturbed units x steps (here H x T = 150 per sequence).

Schedules (harness/schedules.py): "batched", "per_sequence" and "online". Its direction is a sum
over sequences, but the noise is drawn per update from the generator in the state: one sequence at
a time, each sequence draws its own noise (the generator carried from sequence to sequence), so the
per_sequence direction is an independent draw of the same estimator, not the batched draw
(PER_SEQUENCE_EQUALS_BATCHED = False). The online form draws exactly the per_sequence noise and
keeps one eligibility (one H x H for W_hh) at a time: each perturbed pass's eligibility is used up
at that pass's end, where the sequence's loss change is known (forward_online: the clean pass,
then for each perturbation p the perturbed pass and G += dL_p E_p), instead of keeping the
n_perturb eligibilities of the whole batch until the credit phase; credit_online adds the readout's
delta rule and G into the running sums. Its direction equals per_sequence's up to rounding.

The noise generator lives in the state, not on the learner: state["noise_rng"] is the PCG64
generator's state packed as 6 uint64 numbers (state and increment as high/low 64-bit halves,
has_uint32, uinteger). `init` seeds it from the run's generator after the network is drawn;
`forward` restores a generator from it and draws this update's noise; `credit` passes the state
the generator reached on as grads["noise_rng"] (not an update direction), and `update` stores it.
So a seed gives the same run every time, the learner's methods are pure functions of their
arguments, and the noise stream is the one the rule drew from an instance-held generator before.
The harness passes integer state entries through untracked (bookkeeping, not priced: as before,
when the generator was outside the state). `predict` is the clean pass and draws nothing.

What the rule needs that a synapse would not have: a global scalar broadcast to every synapse,
each sequence's loss change between the clean and the perturbed pass (which needs both runs' losses,
a stored baseline); the noise of its own postsynaptic unit; the readout's delta rule needs the
target at the output units. clip_mode "per_parameter" (the default) needs the norm of each whole
weight array; clip=None needs none; clip_mode "global" needs the whole gradient's norm.

Defaults: sigma 0.1, n_perturb 4 and lr 0.01, the best of the old search under the previous
protocol (36-point grid, median accuracy on the reported unseen split over seeds 100-102 at 800
sweeps: 0.566, with global clipping); clip_mode "per_parameter" (locality); the rest the shared
v1 values.
The studies use `learners.get("node_perturbation").tuned()`, the configuration the common search on
the validation split chose (docs/results/tune/tune_node_perturbation.csv; learners/tuned.json):
alpha 0.3, lr 0.005, sigma 0.1 (n_perturb 4, clip_mode "per_parameter"); median validation accuracy
0.648 over tuning seeds 100-102 at 800 sweeps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from learners.base import integer, positive
from learners.rnn import RNNConfig, RNNLearner, join_segments

_MASK64 = (1 << 64) - 1


def pack_generator(gen: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's state as 6 uint64 numbers (see the module docstring)."""
    st = gen.bit_generator.state
    if st["bit_generator"] != "PCG64":
        raise ValueError(f"pack_generator: needs a PCG64 generator, got {st['bit_generator']}")
    s, inc = st["state"]["state"], st["state"]["inc"]
    return np.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, st["has_uint32"],
                     st["uinteger"]], dtype=np.uint64)


def unpack_generator(packed) -> np.random.Generator:
    """The generator whose state `pack_generator` packed (a new object; `packed` is not changed)."""
    s_hi, s_lo, inc_hi, inc_lo, has_uint32, uinteger = (int(v) for v in np.asarray(packed))
    bit_gen = np.random.PCG64()
    bit_gen.state = {"bit_generator": "PCG64",
                     "state": {"state": (s_hi << 64) | s_lo, "inc": (inc_hi << 64) | inc_lo},
                     "has_uint32": has_uint32, "uinteger": uinteger}
    return np.random.Generator(bit_gen)


@dataclass
class NodePerturbationConfig(RNNConfig):
    sigma: float = 0.1           # noise standard deviation on each hidden unit's input
    n_perturb: int = 4           # independent perturbed passes per update (averaged)
    lr: float = 0.01
    clip_mode: str = "per_parameter"

    def validate(self):
        super().validate()
        positive(self, "sigma")
        integer(self, "n_perturb", 1)


class NodePerturbation(RNNLearner):
    name = "node_perturbation"
    Config = NodePerturbationConfig
    SCHEDULES = ("batched", "per_sequence", "online")
    TARGETS = ("final", "per_step")
    PER_SEQUENCE_EQUALS_BATCHED = False        # fresh noise for each sequence (module docstring)

    def init(self, task, rng):
        state = super().init(task, rng)
        # the rule's own noise source, seeded from the run's generator after the network's draws
        state["noise_rng"] = pack_generator(np.random.default_rng(int(rng.integers(2 ** 63))))
        return state

    def _run(self, state, x, noise=None, S=None, B=None, g_out=None):
        """One pass over a segment x (B, T, A); with `noise` (list of T arrays (B, H)) added to the
        hidden inputs. Returns h_T, when perturbed the eligibilities E^xh, E^hh, E^b, and with
        per-step targets S (b, T, 3) (y_T, l): the last output and each sequence's per-step loss
        (b,) (else None); given g_out, the readout's delta rule of every step is added into it
        (B: the update's number of sequences)."""
        W_xh, W_hh, b_h = state["W_xh"], state["W_hh"], state["b_h"]
        b, Hn, A, T = x.shape[0], W_hh.shape[0], x.shape[2], x.shape[1]
        h = np.zeros((b, Hn))                                  # (B, H)
        E_xh, E_hh, E_b = np.zeros((b, Hn, A)), np.zeros((b, Hn, Hn)), np.zeros((b, Hn))
        loss = 0.0                                             # per_step: (b,)
        for t in range(T):
            z = x[:, t] @ W_xh.T + h @ W_hh.T + b_h            # (B, H)
            if noise is not None:
                xi = noise[t]                                  # (B, H)
                E_hh = E_hh + xi[:, :, None] * h[:, None, :]   # noise x presynaptic: (B, H, H)
                E_xh = E_xh + xi[:, :, None] * x[:, t][:, None, :]   # (B, H, A)
                E_b = E_b + xi
                z = z + xi
            h = self.leak(h, np.tanh(z))                       # h_{t+1}: (B, H)
            if S is not None:                                  # the loss of step t
                y = np.tanh(h @ state["W_hy"].T + state["b_y"])    # y_t: (B, 3)
                d = y - S[:, t]
                loss = loss + 0.5 * (d * d).sum(axis=1) / T    # (b,)
                if g_out is not None:                          # the readout's delta rule
                    dz_y = d / (B * T) * (1 - y * y)           # step_delta, d reused: (b, 3)
                    g_out["W_hy"] += dz_y.T @ h                # (3, H)
                    g_out["b_y"] += dz_y.sum(axis=0)
        return h, (E_xh, E_hh, E_b), (None if S is None else (y, loss))

    def forward(self, state, batch):
        W_hy, b_y = state["W_hy"], state["b_y"]
        sigma, Hn = self.config.sigma, state["W_hh"].shape[0]
        noise_rng = unpack_generator(state["noise_rng"])
        per_step = self.is_per_step(batch)
        g_out = self.zero_grads(state, ("W_hy", "b_y")) if per_step else None
        hTs, ys, perturbed, losses = [], [], [], []
        for x, S in zip(batch.segments, self.step_targets(batch)):   # x: (B, T, A)
            h_T, _, clean = self._run(state, x, S=S, B=batch.size, g_out=g_out)   # clean pass
            hTs.append(h_T)
            ys.append(np.tanh(h_T @ W_hy.T + b_y) if S is None else clean[0])    # (B, 3)
            losses.append(None if S is None else clean[1])     # per_step: l (b,)
            runs = []
            for _ in range(self.config.n_perturb):             # perturbed passes
                noise = [sigma * noise_rng.standard_normal((x.shape[0], Hn))
                         for _ in range(x.shape[1])]
                g_T, E, pert = self._run(state, x, noise, S=S)
                # (y~ (B, 3), or per_step its loss l~ (B,); eligibilities)
                runs.append((np.tanh(g_T @ W_hy.T + b_y) if S is None else pert[1], E))
            perturbed.append(runs)
        cache = {"y": join_segments(ys), "h_T": hTs, "perturbed": perturbed,
                 "noise_rng": pack_generator(noise_rng)}      # the generator after the draws
        if per_step:
            cache.update(losses=losses, readout=g_out)
        return cache

    def credit(self, state, batch, cache):
        c = self.config
        B = batch.size
        g = self.zero_grads(state)
        scale = 1.0 / (c.sigma * c.sigma * c.n_perturb)
        segments = self.per_segment(batch, cache["y"])
        per_step = "losses" in cache
        if per_step:                                   # the readout's, summed in the clean pass
            g.update(cache["readout"])
        losses = cache["losses"] if per_step else [None] * len(batch.segments)
        for (x, y, tgt), h_T, runs, l in zip(segments, cache["h_T"], cache["perturbed"], losses):
            if per_step:
                loss = l                                           # per-sequence loss (b,)
            else:
                d = y - tgt                                        # (b, 3)
                loss = 0.5 * (d * d).sum(axis=1)                   # per-sequence loss (b,)
                dz_y = d / B * (1 - y * y)                         # readout_delta, d reused
                g["W_hy"] += dz_y.T @ h_T                          # (3, H)
                g["b_y"] += dz_y.sum(axis=0)
            for out_p, (E_xh, E_hh, E_b) in runs:
                if per_step:
                    dL = (out_p - loss) / B * scale                # out_p = l~: (b,)
                else:
                    d_p = out_p - tgt                              # out_p = y~: (b, 3)
                    dL = (0.5 * (d_p * d_p).sum(axis=1) - loss) / B * scale   # (b,)
                g["W_hh"] += (dL[:, None, None] * E_hh).sum(axis=0)      # (H, H)
                g["W_xh"] += (dL[:, None, None] * E_xh).sum(axis=0)      # (H, A)
                g["b_h"] += (dL[:, None] * E_b).sum(axis=0)              # (H,)
        g["noise_rng"] = cache["noise_rng"]        # not a direction: the generator's next state
        return g

    def update(self, state, grads):
        new = super().update(state, grads)
        new["noise_rng"] = grads["noise_rng"]
        return new

    # ---- the online form: one sequence, one eligibility at a time (module docstring) ----------
    def forward_online(self, state, seq):
        c = self.config
        W_hy, b_y = state["W_hy"], state["b_y"]
        x, tgt = seq.segments[0], seq.targets                 # (1, T, A), (1, 3)
        Hn, scale = state["W_hh"].shape[0], 1.0 / (c.sigma * c.sigma * c.n_perturb)
        noise_rng = unpack_generator(state["noise_rng"])
        S = None if seq.step_targets is None else seq.step_targets[0]      # per_step: (1, T, 3)
        g_out = None if S is None else self.zero_grads(state, ("W_hy", "b_y"))
        h_T, _, clean = self._run(state, x, S=S, B=seq.size, g_out=g_out)  # clean pass
        if S is None:
            y = np.tanh(h_T @ W_hy.T + b_y)                    # (1, 3)
            d = y - tgt
            loss = 0.5 * (d * d).sum(axis=1)                   # this sequence's loss (1,)
        else:
            (y, loss), d = clean, None                         # its per-step loss (1,)
        G_xh, G_hh, G_b = (np.zeros((Hn, x.shape[2])), np.zeros((Hn, Hn)), np.zeros(Hn))
        for _ in range(c.n_perturb):                           # perturbed passes, one at a time
            noise = [c.sigma * noise_rng.standard_normal((1, Hn)) for _ in range(x.shape[1])]
            g_T, (E_xh, E_hh, E_b), pert = self._run(state, x, noise, S=S)
            if S is None:
                d_p = np.tanh(g_T @ W_hy.T + b_y) - tgt
                dL = (0.5 * (d_p * d_p).sum(axis=1) - loss) / seq.size * scale   # (1,)
            else:
                dL = (pert[1] - loss) / seq.size * scale       # (1,)
            G_hh = G_hh + (dL[:, None, None] * E_hh).sum(axis=0)   # E used up here: (H, H)
            G_xh = G_xh + (dL[:, None, None] * E_xh).sum(axis=0)   # (H, A)
            G_b = G_b + (dL[:, None] * E_b).sum(axis=0)            # (H,)
        return {"y": y, "d": d, "h_T": h_T, "G": (G_xh, G_hh, G_b), "readout": g_out,
                "noise_rng": pack_generator(noise_rng)}

    def credit_online(self, state, seq, cache, acc):
        g = self.zero_grads(state) if acc is None else dict(acc)
        y, G_xh, G_hh, G_b = cache["y"], *cache["G"]
        if cache["readout"] is not None:                       # per_step: summed in the pass
            g["W_hy"] = g["W_hy"] + cache["readout"]["W_hy"]
            g["b_y"] = g["b_y"] + cache["readout"]["b_y"]
        else:
            dz_y = cache["d"] / seq.size * (1 - y * y)         # readout_delta, d reused: (1, 3)
            g["W_hy"] = g["W_hy"] + dz_y.T @ cache["h_T"]      # (3, H)
            g["b_y"] = g["b_y"] + dz_y.sum(axis=0)
        g["W_hh"] = g["W_hh"] + G_hh
        g["W_xh"] = g["W_xh"] + G_xh
        g["b_h"] = g["b_h"] + G_b
        g["noise_rng"] = cache["noise_rng"]        # not a direction: the generator's next state
        return g
