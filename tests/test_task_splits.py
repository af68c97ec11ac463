"""The unseen pool's split into validation (tuning only) and the reported unseen part."""
import warnings

import numpy as np
import pytest

from harness import SequenceLookup
from harness.task import UNSEEN_SAMPLE_SIZE


def as_set(a):
    return {tuple(s) for s in np.asarray(a).tolist()}


def check_disjoint(t):
    data = as_set(t.sequences)
    val, rep = as_set(t.validation_sequences), as_set(t.unseen_sequences)
    assert len(val) == len(t.validation_sequences) and len(rep) == len(t.unseen_sequences)
    assert not val & data, "validation contains data-set sequences"
    assert not rep & data, "reported unseen part contains data-set sequences"
    assert not val & rep, "validation and reported unseen overlap"
    return data, val, rep


@pytest.mark.parametrize("kw", [
    {}, {"dataset_seed": 3}, {"variable_timing": True},
    {"n_letters": 4, "length": 3, "n_sequences": 10, "n_train": 8},
    {"validation_fraction": 0.2},
])
def test_listed_pool_is_split_disjointly_and_covers_the_space(kw):
    t = SequenceLookup(**kw)
    data, val, rep = check_disjoint(t)
    assert not t.unseen_is_sample
    assert len(data | val | rep) == t.n_letters ** t.length
    f = t.validation_fraction
    pool = len(val) + len(rep)
    assert len(val) == int(np.floor(f * pool + 0.5))


@pytest.mark.parametrize("dataset_seed", [0, 1])
def test_sampled_pool_never_contains_data_set_sequences(dataset_seed):
    # A space too large to list: the pool is a sample. Make the data set a large share of a space
    # just above the listing limit so that the sample would hit data-set sequences often if it
    # did not exclude them (space 4^9 = 262,144; data set 20,000, i.e. ~7.6% of it).
    t = SequenceLookup(n_letters=4, length=9, n_sequences=20_000, n_train=19_000,
                       dataset_seed=dataset_seed)
    assert t.unseen_is_sample
    data, val, rep = check_disjoint(t)
    assert len(val) + len(rep) == UNSEEN_SAMPLE_SIZE
    # the exclusion matters here: a plain uniform sample of this size would hit the data set
    rng = np.random.default_rng(0)
    naive = as_set(rng.integers(0, 4, size=(UNSEEN_SAMPLE_SIZE, 9)))
    assert naive & data


def test_large_default_alphabet_sample_is_split():
    t = SequenceLookup(n_letters=10, length=8)
    check_disjoint(t)
    assert len(t.validation_sequences) == len(t.unseen_sequences) == UNSEEN_SAMPLE_SIZE // 2


def test_split_is_deterministic():
    a, b = SequenceLookup(dataset_seed=2), SequenceLookup(dataset_seed=2)
    assert np.array_equal(a.validation_sequences, b.validation_sequences)
    assert np.array_equal(a.unseen_sequences, b.unseen_sequences)
    va, vb = SequenceLookup(variable_timing=True), SequenceLookup(variable_timing=True)
    assert np.array_equal(va.validation_timings, vb.validation_timings)
    assert np.array_equal(va.unseen_timings, vb.unseen_timings)


def test_split_depends_on_dataset_seed_not_on_teacher():
    a, b = SequenceLookup(dataset_seed=0), SequenceLookup(dataset_seed=1)
    assert as_set(a.validation_sequences) != as_set(b.validation_sequences)
    c = SequenceLookup(dataset_seed=0, teacher_seed=7)
    assert np.array_equal(a.validation_sequences, c.validation_sequences)
    assert not np.array_equal(a.targets(a.unseen_sequences), c.targets(c.unseen_sequences))


def test_split_is_not_a_contiguous_block():
    # a seeded shuffle, not "first half of the lexicographic listing"
    t = SequenceLookup()
    assert t.validation_sequences[:, 0].min() == 0 and t.validation_sequences[:, 0].max() == 4
    assert t.unseen_sequences[:, 0].min() == 0 and t.unseen_sequences[:, 0].max() == 4


def test_split_keeps_the_pool_timings():
    # a sequence keeps its fixed timing whichever part it falls in: the union of the parts with
    # their timings is the pool's draw (default_rng([dataset_seed, 11]) over the listed pool)
    t = SequenceLookup(variable_timing=True, max_timing=3)
    pool = np.concatenate([t.validation_sequences, t.unseen_sequences])
    tim = np.concatenate([t.validation_timings, t.unseen_timings])
    order = np.lexsort(pool.T[::-1])
    drawn = np.random.default_rng([0, 11]).integers(1, 4, size=(3100, 5))
    assert np.array_equal(tim[order], drawn)
    b = t.validation_batch()
    assert b.size == len(t.validation_sequences) and len(b.segments) == b.size
    assert all(s.shape[1] == int(k.sum()) for s, k in zip(b.segments, t.validation_timings))


def test_batches_are_the_parts():
    t = SequenceLookup()
    vb, ub = t.validation_batch(), t.unseen_batch()
    assert np.array_equal(vb.targets, t.targets(t.validation_sequences))
    assert np.array_equal(ub.targets, t.targets(t.unseen_sequences))
    assert vb.segments[0].shape == (1550, 5, 5) and ub.segments[0].shape == (1550, 5, 5)


def test_v1_draws_unchanged_by_the_split():
    # the data set and its train/held-out split do not depend on the unseen split's parameters
    a, b = SequenceLookup(), SequenceLookup(validation_fraction=0.3)
    assert np.array_equal(a.sequences, b.sequences)
    assert np.array_equal(a.train_idx, b.train_idx) and np.array_equal(a.test_idx, b.test_idx)
    assert len(b.validation_sequences) == 930 and len(b.unseen_sequences) == 2170


def test_baselines_on_both_parts():
    t = SequenceLookup()
    for split, seqs in (("unseen", t.unseen_sequences), ("validation", t.validation_sequences)):
        tg = t.targets(seqs)
        codes, counts = np.unique(tg, axis=0, return_counts=True)
        code, acc = t.constant_code_baseline(split)
        assert acc == counts.max() / len(seqs)
        assert np.array_equal(code, codes[np.argmax(counts)])
    with pytest.raises(ValueError, match="unknown split 'heldout'"):
        t.constant_code_baseline("heldout")


@pytest.mark.parametrize("kw, msg", [
    (dict(validation_fraction=0), "validation_fraction must be a number strictly between 0 and 1"),
    (dict(validation_fraction=1.0), "strictly between 0 and 1"),
    (dict(validation_fraction=-0.1), "strictly between 0 and 1"),
    (dict(validation_fraction="half"), "strictly between 0 and 1"),
    (dict(validation_fraction=True), "strictly between 0 and 1"),
    (dict(validation_fraction=float("nan")), "strictly between 0 and 1"),
    (dict(dataset_seed=-1), "dataset_seed must be a non-negative integer"),
    (dict(dataset_seed=1.5), "dataset_seed must be a non-negative integer"),
    (dict(dataset_seed=True), "dataset_seed must be a non-negative integer"),
    (dict(teacher_seed=-3), "teacher_seed must be a non-negative integer"),
    (dict(teacher_seed="1234"), "teacher_seed must be a non-negative integer"),
    (dict(variable_timing="no"), "variable_timing must be a bool"),
    (dict(variable_timing=1), "variable_timing must be a bool"),
    (dict(n_letters=4, length=9, n_sequences=255_000, n_train=10), "fewer than the 10000 unseen"),
])
def test_bad_split_config_clear_one_line_error(kw, msg):
    with pytest.raises(ValueError, match=msg) as e:
        SequenceLookup(**kw)
    assert "\n" not in str(e.value)


def test_tiny_space_leaves_parts_empty_not_wrong():
    # 5 letters x 2 positions: the 25 drawn sequences are the whole space (the scaling probes)
    t = SequenceLookup(length=2)
    assert t.validation_sequences.shape == (0, 2) and t.unseen_sequences.shape == (0, 2)
    assert t.unseen_batch().size == 0 and t.validation_batch().size == 0
    for split in ("unseen", "validation"):
        assert np.isnan(t.constant_code_baseline(split)[1])
        assert np.isnan(t.majority_code_baseline(split)[1])
    one = SequenceLookup(n_letters=2, length=3, n_sequences=7, n_train=4)   # a pool of 1
    assert len(one.validation_sequences) + len(one.unseen_sequences) == 1
    check_disjoint(one)


def test_numpy_ints_and_bools_accepted():
    t = SequenceLookup(dataset_seed=np.int64(1), teacher_seed=np.int32(5),
                       variable_timing=np.bool_(False), validation_fraction=np.float64(0.5))
    assert t.variable_timing is False and len(t.unseen_sequences) == 1550


@pytest.mark.parametrize("kw", [
    {},                                                                    # listed (5^5)
    {"n_letters": 4, "length": 9, "n_sequences": 20_000, "n_train": 15_000},  # sampled, 4^9
    {"n_letters": 7, "length": 7, "n_sequences": 300, "n_train": 250, "dataset_seed": 2,
     "variable_timing": True, "validation_fraction": 0.3},                # sampled, 7^7
])
def test_every_split_is_disjoint_and_duplicate_free(kw):
    """All four parts (train, held-out test, validation, reported unseen), as the batches give
    them, are pairwise disjoint and free of repeats, in listed spaces and in spaces above the
    listing limit (where the unseen pool is a sample that must avoid the data set)."""
    from harness.task import UNSEEN_LIST_LIMIT
    t = SequenceLookup(**kw)
    assert t.unseen_is_sample == (t.n_letters ** t.length > UNSEEN_LIST_LIMIT)
    parts = {name: t._split_sequences(name) for name in ("train", "test", "validation", "unseen")}
    sets = {name: as_set(seqs) for name, seqs in parts.items()}
    for name, seqs in parts.items():
        assert len(sets[name]) == len(seqs) > 0, f"{name} repeats a sequence or is empty"
    names = sorted(sets)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not sets[a] & sets[b], f"{a} and {b} share sequences"
    assert len(sets["train"]) == t.n_train and len(sets["test"]) == t.n_sequences - t.n_train
    pool = len(sets["validation"]) + len(sets["unseen"])
    assert pool == (UNSEEN_SAMPLE_SIZE if t.unseen_is_sample
                    else t.n_letters ** t.length - t.n_sequences)
    assert len(sets["validation"]) == int(np.floor(t.validation_fraction * pool + 0.5))
    # the batches score exactly these parts (one-hot rows decode back to the sequences)
    timings = {"validation": t.validation_timings, "unseen": t.unseen_timings,
               "test": None if t.test_timings is None else t.test_timings[t.test_idx]}
    for name, batch in (("validation", t.validation_batch()), ("unseen", t.unseen_batch()),
                        ("test", t.test_batch())):
        if t.variable_timing:          # one segment per sequence, letter k held timing[k] steps
            assert len(batch.segments) == len(parts[name])
            for x, seq, tm in zip(batch.segments, parts[name], timings[name]):
                assert x[0].argmax(axis=1).tolist() == np.repeat(seq, tm).tolist(), name
        else:
            decoded = batch.segments[0].argmax(axis=2)
            assert np.array_equal(decoded, parts[name]), name


def test_data_set_batches_keep_each_sequence_fixed_timing():
    # under variable timing every data-set sequence has one fixed timing (test_timings, by
    # data-set position): the held-out batch and the training sequences scored after training
    # both hold each letter for its drawn number of steps, whichever split the sequence is in
    t = SequenceLookup(variable_timing=True, max_timing=3)
    assert t.test_timings.shape == (25, 5)
    eye = np.eye(t.n_letters)
    for batch, idx in ((t.fixed_train_batch(), t.train_idx), (t.test_batch(), t.test_idx)):
        assert len(batch.segments) == len(idx)
        for seg, i in zip(batch.segments, idx):
            held = np.repeat(t.sequences[i], t.test_timings[i])   # letter k, timing[k] times
            assert np.array_equal(seg, eye[held][None])
    # the draws are not all ones, so a batch without its timings would differ
    assert t.test_timings.max() > 1


def test_baselines_on_parts_of_one_and_of_no_sequence():
    # a pool of one sequence (2 letters x 3 positions less the 7 drawn): one part holds it, the
    # other is empty; both baselines score the one-sequence part and give NaN, without a
    # warning, for the empty one; the default split is the reported unseen part
    t = SequenceLookup(n_letters=2, length=3, n_sequences=7, n_train=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for split in ("unseen", "validation"):
            seqs = t._split_sequences(split)
            code, acc = t.majority_code_baseline(split)
            best, best_acc = t.constant_code_baseline(split)
            if len(seqs) == 0:                 # no best code either: a float NaN code
                assert np.isnan(acc) and np.isnan(best_acc)
                assert best.dtype == np.float64 and np.isnan(best).all()
                continue
            own = t.targets(seqs)[0]
            assert acc == float(np.array_equal(code, own))
            assert best_acc == 1.0 and np.array_equal(best, own)
    for task in (t, SequenceLookup()):
        for baseline in (task.majority_code_baseline, task.constant_code_baseline):
            (code, acc), (u_code, u_acc) = baseline(), baseline("unseen")
            assert np.array_equal([*code, acc], [*u_code, u_acc], equal_nan=True)


def documented_split(t):
    """(validation, unseen) from docs/protocol.md's rule, written out step by step: the pool in
    lexicographic order, or drawn from default_rng([dataset_seed, 7]) rejecting data-set and
    repeated sequences; then default_rng([dataset_seed, 13]).permutation over it."""
    import itertools
    taken = as_set(t.sequences)
    if t.n_letters ** t.length <= 200_000:
        pool = [s for s in itertools.product(range(t.n_letters), repeat=t.length)
                if s not in taken]
    else:
        rng, pool, seen = np.random.default_rng([t.dataset_seed, 7]), [], set(taken)
        while len(pool) < 10_000:
            s = tuple(int(v) for v in rng.integers(0, t.n_letters, size=t.length))
            if s not in seen:
                seen.add(s)
                pool.append(s)
    pool = np.array(pool)
    perm = np.random.default_rng([t.dataset_seed, 13]).permutation(len(pool))
    n_val = int(np.floor(t.validation_fraction * len(pool) + 0.5))
    return pool[np.sort(perm[:n_val])], pool[np.sort(perm[n_val:])]


@pytest.mark.parametrize("kw", [
    {"dataset_seed": 3, "validation_fraction": 0.3},                            # listed, 5^5
    {"n_letters": 4, "length": 9, "n_sequences": 300, "n_train": 250, "dataset_seed": 2},
])
def test_the_pool_and_its_split_are_the_documented_rules_sequences_in_order(kw):
    t = SequenceLookup(**kw)
    val, unseen = documented_split(t)
    assert t.unseen_is_sample == (t.n_letters ** t.length > 200_000)
    np.testing.assert_array_equal(t.validation_sequences, val)
    np.testing.assert_array_equal(t.unseen_sequences, unseen)


def test_variable_timing_holds_each_letter_and_its_prefix_code_for_its_timing():
    """Under variable timing each sequence is a segment of its own: letter k one-hot for
    timing[k] steps and, with per-step targets, the code of letters 0..k for those same steps;
    the fixed test timings are draws from 1..max_timing (every value of that range occurs in
    25 x 5 draws of 1..3)."""
    t = SequenceLookup(variable_timing=True, max_timing=3, target_kind="per_step")
    assert set(t.test_timings.ravel().tolist()) == {1, 2, 3}
    b = t.test_batch()
    seqs, timings = t.sequences[t.test_idx], t.test_timings[t.test_idx]
    codes = t.prefix_targets(seqs)
    assert len(b.segments) == len(b.step_targets) == len(seqs)
    for seg, steps, s, tm, c in zip(b.segments, b.step_targets, seqs, timings, codes):
        T = int(tm.sum())
        assert seg.shape == (1, T, t.n_letters) and steps.shape == (1, T, 3)
        np.testing.assert_array_equal(seg[0], np.eye(t.n_letters)[np.repeat(s, tm)])
        np.testing.assert_array_equal(steps[0], np.repeat(c, tm, axis=0))
