"""The 25-sequence look-up task (Rumelhart, Hinton & Williams 1986), exactly as the v1 procedure.

A fixed teacher maps sequences of letters to 3-bit codes (+1/-1). A data set of `n_sequences`
distinct sequences is drawn and split into `n_train` training and the rest held-out (`test`);
every other sequence of the space is the `unseen` split. Inputs are one-hot letters; with variable
timing each letter is held for 1..max_timing steps.

All random draws follow ../shared/seed/v1_procedure.md so that v1 numbers reproduce bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import itertools

import numpy as np

N_OUTPUTS = 3
TEACHER_SEED = 1234
UNSEEN_LIST_LIMIT = 200_000   # spaces up to this many sequences list `unseen` in full
UNSEEN_SAMPLE_SIZE = 10_000   # larger spaces use a fixed seeded sample of this many


@dataclass(frozen=True)
class Batch:
    """Inputs and targets a learner sees in one call.

    `segments` is a list of one-hot input arrays, each of shape (b, T, n_letters): the sequences
    of a segment share one length T. Fixed timing gives one segment holding the whole batch;
    variable timing gives one segment per sequence (the v1 order). `targets` has shape
    (B, 3) with B = sum of the segments' b, in the same order; values are +1/-1.
    """
    segments: list
    targets: np.ndarray

    @property
    def size(self) -> int:
        return int(self.targets.shape[0])

    @property
    def n_steps(self) -> int:
        """Total time steps over the batch (sum over sequences of their length)."""
        return int(sum(s.shape[0] * s.shape[1] for s in self.segments))


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"SequenceLookup: {name} must be a positive integer, got {value!r}")


@dataclass
class SequenceLookup:
    """The shared task. `SequenceLookup()` is the v1 fixed-timing task.

    Parameters: n_letters (alphabet size), length (letters per sequence), n_sequences (data set
    size), n_train (training sequences; the rest are held-out `test`), variable_timing and
    max_timing (each letter held 1..max_timing steps), dataset_seed, teacher_seed.
    """
    n_letters: int = 5
    length: int = 5
    n_sequences: int = 25
    n_train: int = 20
    variable_timing: bool = False
    max_timing: int = 2
    dataset_seed: int = 0
    teacher_seed: int = TEACHER_SEED
    # filled in __post_init__
    W_teacher: np.ndarray = field(init=False, repr=False)
    pos_weight: np.ndarray = field(init=False, repr=False)
    b_teacher: np.ndarray = field(init=False, repr=False)
    sequences: np.ndarray = field(init=False, repr=False)
    train_idx: np.ndarray = field(init=False, repr=False)
    test_idx: np.ndarray = field(init=False, repr=False)
    test_timings: np.ndarray | None = field(init=False, repr=False)
    unseen_sequences: np.ndarray = field(init=False, repr=False)
    unseen_is_sample: bool = field(init=False)

    def __post_init__(self):
        for name in ("n_letters", "length", "n_sequences", "n_train", "max_timing"):
            _check_positive_int(name, getattr(self, name))
        space = self.n_letters ** self.length
        if self.n_sequences > space:
            raise ValueError(f"SequenceLookup: n_sequences={self.n_sequences} exceeds the "
                             f"{space} distinct sequences of {self.n_letters} letters x {self.length}")
        if self.n_train >= self.n_sequences:
            raise ValueError(f"SequenceLookup: n_train={self.n_train} must be smaller than "
                             f"n_sequences={self.n_sequences} (at least one held-out sequence)")
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
        space = self.n_letters ** self.length
        taken = {tuple(int(v) for v in s) for s in self.sequences}
        if space <= UNSEEN_LIST_LIMIT:
            allseq = np.array(list(itertools.product(range(self.n_letters), repeat=self.length)),
                              dtype=np.int64)
            keep = np.array([tuple(s) not in taken for s in allseq.tolist()])
            self.unseen_sequences = allseq[keep]
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
            self.unseen_sequences = np.array(out, dtype=np.int64)
            self.unseen_is_sample = True
        # Timings for unseen sequences under variable timing: a fixed seeded draw.
        if self.variable_timing:
            rng = np.random.default_rng([self.dataset_seed, 11])
            self.unseen_timings = rng.integers(1, self.max_timing + 1,
                                               size=self.unseen_sequences.shape)
        else:
            self.unseen_timings = None

    # ---- batches ---------------------------------------------------------------------------
    def one_hot(self, seq: np.ndarray, timing=None) -> np.ndarray:
        """One-hot inputs (T, n_letters) of one sequence; letter k repeated timing[k] times."""
        eye = np.eye(self.n_letters)
        if timing is None:
            return eye[seq]
        return eye[np.repeat(seq, timing)]

    def _batch(self, seqs: np.ndarray, timings) -> Batch:
        targets = self.targets(seqs)
        if timings is None:
            x = np.eye(self.n_letters)[seqs]          # (B, T, n_letters)
            return Batch(segments=[x], targets=targets)
        segs = [self.one_hot(s, t)[None] for s, t in zip(seqs, timings)]
        return Batch(segments=segs, targets=targets)

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
        """Every sequence of the space outside the data set (or a fixed sample of 10,000)."""
        return self._batch(self.unseen_sequences, self.unseen_timings)

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
                  "unseen": self.unseen_sequences}
        if split not in splits:
            raise ValueError(f"unknown split {split!r}; splits are {sorted(splits)}")
        return splits[split]

    def constant_code_baseline(self, split: str = "unseen") -> tuple[np.ndarray, float]:
        """The best constant 3-bit code on a split (chosen in hindsight, on that split) and its
        all-3-bit accuracy (fraction): an upper bound for any constant answer."""
        tg = self.targets(self._split_sequences(split))
        codes, counts = np.unique(tg, axis=0, return_counts=True)
        k = int(np.argmax(counts))
        return codes[k], float(counts[k] / tg.shape[0])

    def majority_code_baseline(self, split: str = "unseen") -> tuple[np.ndarray, float]:
        """The most frequent training code, answered for every sequence of `split`, and its
        all-3-bit accuracy: the constant a learner could pick from the training data (the 0.22
        figure of the v1 write-up on the default task)."""
        tr = self.targets(self.sequences[self.train_idx])
        codes, counts = np.unique(tr, axis=0, return_counts=True)
        code = codes[int(np.argmax(counts))]
        tg = self.targets(self._split_sequences(split))
        return code, float(np.mean(np.all(tg == code, axis=1)))
