"""The 25-sequence look-up task (Rumelhart, Hinton & Williams 1986), exactly as the v1 procedure.

A fixed teacher maps sequences of letters to 3-bit codes (+1/-1). A data set of `n_sequences`
distinct sequences is drawn and split into `n_train` training and the rest held-out (`test`).
Every other sequence of the space (or, for large spaces, a fixed seeded sample of them) forms the
unseen pool, which a fixed seeded rule divides into two disjoint parts:

- `validation_sequences`: for tuning and model selection only, never reported as a score;
- `unseen_sequences`: the reported part (the test set every report scores as `unseen_acc`).

Split rule (docs/protocol.md): the pool is listed in lexicographic order (full listing) or in
draw order (sample); `perm = default_rng([dataset_seed, 13]).permutation(len(pool))`;
`n_val = floor(validation_fraction * len(pool) + 0.5)`; validation = pool[sort(perm[:n_val])],
unseen = pool[sort(perm[n_val:])]. The rule depends on dataset_seed only (not on the teacher or
the model seed). Inputs are one-hot letters; with variable timing each letter is held for
1..max_timing steps.

Targets (`target_kind`). "final" (the default, v1): one target per sequence, the teacher's code
of the whole sequence, read at the last step. "per_step": a target at every step, the teacher's
code of the prefix of letters seen up to that step,

    code_k = sign(sum_{j <= k} W_teacher[:, seq_j] * pos_weight[j] + b_teacher)   (+1/-1, sign(0) = +1)

for letter k = 0..length-1; under variable timing letter k is held for timing[k] steps and each of
those steps has target code_k. The last step's target is code_{length-1}, the full sequence's
code (bit for bit `targets`), so scoring (all-3-bit accuracy of the final output against
`targets`) is the same on both kinds and generalization stays comparable. The data set, its
splits and timings do not depend on `target_kind`.

All random draws of the data set follow ../shared/seed/v1_procedure.md so that v1 numbers
reproduce bit for bit; the unseen pool and its split use their own generators, so they never
change the v1 draws (data set, train/held-out split, training timings).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import itertools

import numpy as np

from learners.base import short_repr

N_OUTPUTS = 3
TEACHER_SEED = 1234
UNSEEN_LIST_LIMIT = 200_000   # spaces up to this many sequences list `unseen` in full
UNSEEN_SAMPLE_SIZE = 10_000   # larger spaces use a fixed seeded sample of this many
VALIDATION_FRACTION = 0.5     # default share of the unseen pool set aside for validation


@dataclass(frozen=True)
class Batch:
    """Inputs and targets a learner sees in one call.

    `segments` is a list of one-hot input arrays, each of shape (b, T, n_letters): the sequences
    of a segment share one length T. Fixed timing gives one segment holding the whole batch;
    variable timing gives one segment per sequence (the v1 order). `targets` has shape
    (B, 3) with B = sum of the segments' b, in the same order; values are +1/-1.
    `step_targets` (per_step tasks only; None on final ones) holds, for each segment, the target
    of every step, shape (b, T, 3), +1/-1: the teacher's code of the prefix seen up to that step
    (SequenceLookup's docstring); its last step equals `targets`.
    """
    segments: list
    targets: np.ndarray
    step_targets: list | None = None

    @property
    def target_kind(self) -> str:
        """"per_step" when the batch carries a target at every step, else "final"."""
        return "final" if self.step_targets is None else "per_step"

    @property
    def size(self) -> int:
        return int(self.targets.shape[0])

    @property
    def n_steps(self) -> int:
        """Total time steps over the batch (sum over sequences of their length)."""
        return int(sum(s.shape[0] * s.shape[1] for s in self.segments))


def _is_int(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))


# Upper bounds on the sizes (far beyond the study's tasks): the data set is drawn one sequence at a
# time and every batch is one-hot, so larger values would only exhaust memory or time.
MAX_SIZE = {"n_letters": 4096, "length": 4096, "n_sequences": 1_000_000, "n_train": 1_000_000,
            "max_timing": 4096}
MAX_BATCH_BYTES = 4 << 30     # the largest one-hot batch (the unseen pool) must fit in 4 GiB
TARGET_KINDS = ("final", "per_step")   # a target at the last step only, or at every step


def _check_positive_int(name, value):
    if not _is_int(value) or value <= 0 or value > MAX_SIZE[name]:
        raise ValueError(f"SequenceLookup: {name} must be a positive integer <= {MAX_SIZE[name]}, "
                         f"got {short_repr(value)}")


def _check_seed(name, value):
    if not _is_int(value) or value < 0:
        raise ValueError(f"SequenceLookup: {name} must be a non-negative integer, got "
                         f"{short_repr(value)}")


@dataclass
class SequenceLookup:
    """The shared task. `SequenceLookup()` is the v1 fixed-timing task.

    Parameters: n_letters (alphabet size), length (letters per sequence), n_sequences (data set
    size), n_train (training sequences; the rest are held-out `test`), variable_timing (a bool)
    and max_timing (each letter held 1..max_timing steps), dataset_seed (data set, its split and
    the unseen pool's split), teacher_seed, validation_fraction (share of the unseen pool, in
    (0, 1), that becomes `validation_sequences`; the rest is the reported `unseen_sequences`),
    target_kind ("final": the code of the whole sequence at its last step, the v1 task;
    "per_step": the code of the prefix seen so far at every step, see the module docstring).
    """
    n_letters: int = 5
    length: int = 5
    n_sequences: int = 25
    n_train: int = 20
    variable_timing: bool = False
    max_timing: int = 2
    dataset_seed: int = 0
    teacher_seed: int = TEACHER_SEED
    validation_fraction: float = VALIDATION_FRACTION
    target_kind: str = "final"
    # filled in __post_init__
    W_teacher: np.ndarray = field(init=False, repr=False)
    pos_weight: np.ndarray = field(init=False, repr=False)
    b_teacher: np.ndarray = field(init=False, repr=False)
    sequences: np.ndarray = field(init=False, repr=False)
    train_idx: np.ndarray = field(init=False, repr=False)
    test_idx: np.ndarray = field(init=False, repr=False)
    test_timings: np.ndarray | None = field(init=False, repr=False)
    unseen_sequences: np.ndarray = field(init=False, repr=False)
    unseen_timings: np.ndarray | None = field(init=False, repr=False)
    validation_sequences: np.ndarray = field(init=False, repr=False)
    validation_timings: np.ndarray | None = field(init=False, repr=False)
    unseen_is_sample: bool = field(init=False)

    def __post_init__(self):
        for name in ("n_letters", "length", "n_sequences", "n_train", "max_timing"):
            _check_positive_int(name, getattr(self, name))
        for name in ("dataset_seed", "teacher_seed"):
            _check_seed(name, getattr(self, name))
        if not isinstance(self.variable_timing, (bool, np.bool_)):
            raise ValueError(f"SequenceLookup: variable_timing must be a bool (True/False), "
                             f"got {short_repr(self.variable_timing)}")
        self.variable_timing = bool(self.variable_timing)
        if not isinstance(self.target_kind, str) or self.target_kind not in TARGET_KINDS:
            raise ValueError(f"SequenceLookup: target_kind must be one of "
                             f"{', '.join(TARGET_KINDS)}, got {short_repr(self.target_kind)}")
        f = self.validation_fraction
        if (isinstance(f, (bool, np.bool_)) or not isinstance(f, (int, float, np.integer, np.floating))
                or not 0 < f < 1):
            raise ValueError(f"SequenceLookup: validation_fraction must be a number strictly "
                             f"between 0 and 1, got {short_repr(f)}")
        space = self.n_letters ** self.length
        if self.n_sequences > space:
            raise ValueError(f"SequenceLookup: n_sequences={self.n_sequences} exceeds the "
                             f"{space} distinct sequences of n_letters={self.n_letters} x "
                             f"length={self.length}")
        if self.n_train >= self.n_sequences:
            raise ValueError(f"SequenceLookup: n_train={self.n_train} must be smaller than "
                             f"n_sequences={self.n_sequences} (at least one held-out sequence)")
        if space > UNSEEN_LIST_LIMIT and space - self.n_sequences < UNSEEN_SAMPLE_SIZE:
            raise ValueError(f"SequenceLookup: a space of {space} sequences less the data set "
                             f"has fewer than the {UNSEEN_SAMPLE_SIZE} unseen sequences sampled")
        pool = space - self.n_sequences if space <= UNSEEN_LIST_LIMIT else UNSEEN_SAMPLE_SIZE
        steps = self.length * (self.max_timing if self.variable_timing else 1)
        per_step = self.target_kind == "per_step"
        need = pool * steps * (self.n_letters + (N_OUTPUTS if per_step else 0)) * 8
        if need > MAX_BATCH_BYTES:
            raise ValueError(f"SequenceLookup: n_letters={self.n_letters} x length={self.length}"
                             f"{f' x max_timing={self.max_timing}' if self.variable_timing else ''}"
                             f" makes the unseen batch {need / 2**30:.1f} GiB of one-hot inputs"
                             f"{' and per-step targets' if per_step else ''} "
                             f"(more than {MAX_BATCH_BYTES >> 30} GiB)")
        self._make_teacher()
        self._make_dataset()
        self._make_unseen()

    # ---- teacher ---------------------------------------------------------------------------
    def _make_teacher(self):
        rng = np.random.default_rng(self.teacher_seed)
        self.W_teacher = rng.standard_normal((N_OUTPUTS, self.n_letters))
        self.pos_weight = np.linspace(1.0, 0.2, self.length) + 0.15 * rng.standard_normal(self.length)
        self.b_teacher = 0.2 * rng.standard_normal(N_OUTPUTS)

    def targets(self, sequences: np.ndarray) -> np.ndarray:
        """Teacher codes, shape (n, 3), +1/-1 (sign(0) = +1), for letter sequences (n, length)."""
        seqs = np.asarray(sequences)
        logits = np.zeros((seqs.shape[0], N_OUTPUTS))
        for t in range(self.length):
            logits += self.W_teacher[:, seqs[:, t]].T * self.pos_weight[t]
        logits += self.b_teacher
        return np.where(logits >= 0, 1.0, -1.0)

    def prefix_targets(self, sequences: np.ndarray) -> np.ndarray:
        """Teacher codes of every prefix, shape (n, length, 3), +1/-1 (sign(0) = +1): entry
        [:, k] is the code of letters 0..k (the module docstring); [:, -1] equals `targets`
        bit for bit (the same sums in the same order)."""
        seqs = np.asarray(sequences)
        logits = np.zeros((seqs.shape[0], N_OUTPUTS))
        codes = np.empty((seqs.shape[0], self.length, N_OUTPUTS))
        for t in range(self.length):
            logits += self.W_teacher[:, seqs[:, t]].T * self.pos_weight[t]
            codes[:, t] = np.where(logits + self.b_teacher >= 0, 1.0, -1.0)
        return codes

    # ---- data set --------------------------------------------------------------------------
    def _make_dataset(self):
        rng = np.random.default_rng(self.dataset_seed)
        seen, seqs = set(), []
        while len(seqs) < self.n_sequences:
            s = rng.integers(0, self.n_letters, size=self.length)
            key = tuple(int(v) for v in s)
            if key in seen:
                continue
            seen.add(key)
            seqs.append(s)
        self.sequences = np.array(seqs, dtype=np.int64)
        perm = rng.permutation(self.n_sequences)
        self.train_idx = perm[:self.n_train]
        self.test_idx = perm[self.n_train:]
        if self.variable_timing:
            self.test_timings = np.array([rng.integers(1, self.max_timing + 1, size=self.length)
                                          for _ in range(self.n_sequences)])
        else:
            self.test_timings = None

    def _make_unseen(self):
        """The unseen pool (every sequence outside the data set, or a fixed seeded sample of
        UNSEEN_SAMPLE_SIZE of them), its timings, and its split into validation and unseen."""
        space = self.n_letters ** self.length
        taken = {tuple(int(v) for v in s) for s in self.sequences}
        if space <= UNSEEN_LIST_LIMIT:
            allseq = np.array(list(itertools.product(range(self.n_letters), repeat=self.length)),
                              dtype=np.int64)
            keep = np.array([tuple(s) not in taken for s in allseq.tolist()])
            pool = allseq[keep]
            self.unseen_is_sample = False
        else:
            rng = np.random.default_rng([self.dataset_seed, 7])
            out, got = [], set(taken)
            while len(out) < UNSEEN_SAMPLE_SIZE:
                s = rng.integers(0, self.n_letters, size=self.length)
                key = tuple(int(v) for v in s)
                if key not in got:
                    got.add(key)
                    out.append(s)
            pool = np.array(out, dtype=np.int64)
            self.unseen_is_sample = True
        # Timings for the pool under variable timing: a fixed seeded draw (before the split, so
        # a sequence keeps its timing whichever part it falls in).
        timings = None
        if self.variable_timing:
            rng = np.random.default_rng([self.dataset_seed, 11])
            timings = rng.integers(1, self.max_timing + 1, size=pool.shape)
        # The split: a seeded permutation of the pool; each part keeps the pool's order.
        # (A pool of 0 or 1 sequences, e.g. 5 letters x 2 positions, leaves a part empty; its
        # accuracy is then NaN, never a number.)
        n_val = int(np.floor(self.validation_fraction * len(pool) + 0.5))
        perm = np.random.default_rng([self.dataset_seed, 13]).permutation(len(pool))
        val_idx, rep_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        self.validation_sequences, self.unseen_sequences = pool[val_idx], pool[rep_idx]
        self.validation_timings = None if timings is None else timings[val_idx]
        self.unseen_timings = None if timings is None else timings[rep_idx]
        # Disjointness is the point of the split: check it rather than trust it.
        val = {tuple(s) for s in self.validation_sequences.tolist()}
        rep = {tuple(s) for s in self.unseen_sequences.tolist()}
        if (val & taken or rep & taken or val & rep
                or len(val) + len(rep) != len(pool)):  # pragma: no cover - a bug, not bad input
            raise RuntimeError("SequenceLookup: validation/unseen split overlaps the data set "
                               "or itself")

    # ---- batches ---------------------------------------------------------------------------
    def one_hot(self, seq: np.ndarray, timing=None) -> np.ndarray:
        """One-hot inputs (T, n_letters) of one sequence; letter k repeated timing[k] times."""
        eye = np.eye(self.n_letters)
        if timing is None:
            return eye[seq]
        return eye[np.repeat(seq, timing)]

    def _batch(self, seqs: np.ndarray, timings) -> Batch:
        targets = self.targets(seqs)
        steps = self.prefix_targets(seqs) if self.target_kind == "per_step" else None
        if timings is None:
            x = np.eye(self.n_letters)[seqs]          # (B, T, n_letters)
            return Batch(segments=[x], targets=targets,
                         step_targets=None if steps is None else [steps])   # [(B, T, 3)]
        segs = [self.one_hot(s, t)[None] for s, t in zip(seqs, timings)]
        if steps is not None:                         # letter k's code for each of its steps
            steps = [np.repeat(c, t, axis=0)[None] for c, t in zip(steps, timings)]
        return Batch(segments=segs, targets=targets, step_targets=steps)

    def train_batch(self, timing_rng: np.random.Generator | None = None) -> Batch:
        """The 20 training sequences in train order. Variable timing draws fresh timings from
        `timing_rng` (one `integers(1, max_timing+1, size=length)` per sequence)."""
        seqs = self.sequences[self.train_idx]
        if not self.variable_timing:
            return self._batch(seqs, None)
        if timing_rng is None:
            raise ValueError("variable timing: train_batch needs the sweep's timing_rng")
        timings = [timing_rng.integers(1, self.max_timing + 1, size=self.length) for _ in seqs]
        return self._batch(seqs, timings)

    def test_batch(self) -> Batch:
        """The held-out sequences with their fixed test timings."""
        seqs = self.sequences[self.test_idx]
        timings = None if self.test_timings is None else self.test_timings[self.test_idx]
        return self._batch(seqs, timings)

    def unseen_batch(self) -> Batch:
        """The reported part of the unseen pool (`unseen_sequences`), with its fixed timings: the
        set every report scores as `unseen_acc`."""
        return self._batch(self.unseen_sequences, self.unseen_timings)

    def validation_batch(self) -> Batch:
        """The validation part of the unseen pool (`validation_sequences`), with its fixed
        timings: for tuning and model selection only, never a reported score."""
        return self._batch(self.validation_sequences, self.validation_timings)

    def fixed_train_batch(self) -> Batch:
        """Training sequences with their fixed (data-set) timings, for scoring after training."""
        seqs = self.sequences[self.train_idx]
        timings = None if self.test_timings is None else self.test_timings[self.train_idx]
        return self._batch(seqs, timings)

    def timing_rng(self, seed: int) -> np.random.Generator:
        """The per-run generator of training timings (v1: default_rng(seed + 99991))."""
        return np.random.default_rng(seed + 99991)

    def _split_sequences(self, split: str) -> np.ndarray:
        splits = {"train": self.sequences[self.train_idx], "test": self.sequences[self.test_idx],
                  "unseen": self.unseen_sequences, "validation": self.validation_sequences}
        if split not in splits:
            raise ValueError(f"unknown split {split!r}; splits are {sorted(splits)}")
        return splits[split]

    def constant_code_baseline(self, split: str = "unseen") -> tuple[np.ndarray, float]:
        """The best constant 3-bit code on a split (chosen in hindsight, on that split) and its
        all-3-bit accuracy (fraction): an upper bound for any constant answer. Splits: "train",
        "test" (held-out), "unseen" (the reported part), "validation"."""
        tg = self.targets(self._split_sequences(split))
        if tg.shape[0] == 0:                  # an empty part (tiny spaces): no accuracy
            return np.full(N_OUTPUTS, np.nan), float("nan")
        codes, counts = np.unique(tg, axis=0, return_counts=True)
        k = int(np.argmax(counts))
        return codes[k], float(counts[k] / tg.shape[0])

    def majority_code_baseline(self, split: str = "unseen") -> tuple[np.ndarray, float]:
        """The most frequent training code, answered for every sequence of `split`, and its
        all-3-bit accuracy: the constant a learner could pick from the training data (the 0.22
        figure of the v1 write-up on the default task). Splits as constant_code_baseline."""
        tr = self.targets(self.sequences[self.train_idx])
        codes, counts = np.unique(tr, axis=0, return_counts=True)
        code = codes[int(np.argmax(counts))]
        tg = self.targets(self._split_sequences(split))
        if tg.shape[0] == 0:
            return code, float("nan")
        return code, float(np.mean(np.all(tg == code, axis=1)))
