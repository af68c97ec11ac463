import numpy as np
import pytest

from harness import SequenceLookup


def test_default_task_is_v1():
    t = SequenceLookup()
    assert t.sequences.shape == (25, 5)
    assert len({tuple(s) for s in t.sequences.tolist()}) == 25
    assert len(t.train_idx) == 20 and len(t.test_idx) == 5
    assert sorted(np.concatenate([t.train_idx, t.test_idx]).tolist()) == list(range(25))
    # the unseen pool is the rest of the 5^5 space, disjoint from the data set, split in half
    # into validation (tuning only) and the reported unseen part
    assert t.unseen_sequences.shape == (1550, 5) and not t.unseen_is_sample
    assert t.validation_sequences.shape == (1550, 5)
    taken = {tuple(s) for s in t.sequences.tolist()}
    rep = {tuple(s) for s in t.unseen_sequences.tolist()}
    val = {tuple(s) for s in t.validation_sequences.tolist()}
    assert not taken & rep and not taken & val and not rep & val
    assert len(taken | rep | val) == 5 ** 5


def test_teacher_draw_order_v1():
    rng = np.random.default_rng(1234)
    W = rng.standard_normal((3, 5))
    pw = np.linspace(1.0, 0.2, 5) + 0.15 * rng.standard_normal(5)
    b = 0.2 * rng.standard_normal(3)
    t = SequenceLookup()
    assert np.array_equal(t.W_teacher, W) and np.array_equal(t.pos_weight, pw)
    assert np.array_equal(t.b_teacher, b)
    seq = t.sequences[0]
    logit = sum(W[:, seq[k]] * pw[k] for k in range(5)) + b
    assert np.array_equal(t.targets(seq[None])[0], np.where(logit >= 0, 1.0, -1.0))


def test_held_out_warning_holds():
    # v1_procedure.md: four of the five held-out targets are [+,-,+] on dataset_seed 0
    t = SequenceLookup()
    tg = t.targets(t.sequences[t.test_idx])
    assert int(np.all(tg == [1, -1, 1], axis=1).sum()) == 4
    for split in ("unseen", "validation"):
        code, acc = t.majority_code_baseline(split)
        assert code.tolist() == [1, -1, 1] and round(acc, 2) in (0.22, 0.23)
        tg = t.targets(t._split_sequences(split))
        assert acc == np.mean(np.all(tg == [1, -1, 1], axis=1))
        best_code, best = t.constant_code_baseline(split)
        assert best >= acc


def test_batches_shapes_fixed_and_variable():
    t = SequenceLookup()
    b = t.train_batch()
    assert len(b.segments) == 1 and b.segments[0].shape == (20, 5, 5) and b.targets.shape == (20, 3)
    tv = SequenceLookup(variable_timing=True, max_timing=3)
    bv = tv.train_batch(tv.timing_rng(0))
    assert len(bv.segments) == 20
    assert all(5 <= s.shape[1] <= 15 and s.shape[0] == 1 for s in bv.segments)
    assert np.all(bv.segments[0].sum(axis=2) == 1)
    with pytest.raises(ValueError, match="timing_rng"):
        tv.train_batch()


def test_other_sizes_and_sampled_unseen():
    t = SequenceLookup(n_letters=4, length=3, n_sequences=10, n_train=8)
    assert t.unseen_sequences.shape == (27, 3) and t.validation_sequences.shape == (27, 3)
    big = SequenceLookup(n_letters=10, length=8)
    assert big.unseen_is_sample and big.unseen_sequences.shape == (5_000, 8)
    assert big.validation_sequences.shape == (5_000, 8)
    assert np.array_equal(big.unseen_sequences, SequenceLookup(n_letters=10, length=8).unseen_sequences)


@pytest.mark.parametrize("kw, msg", [
    (dict(n_letters=0), "n_letters must be a positive integer"),
    (dict(length=-1), "length must be a positive integer"),
    (dict(n_sequences=2.5), "n_sequences must be a positive integer"),
    (dict(n_train=25), "n_train=25 must be smaller than n_sequences=25"),
    (dict(n_train=30), "must be smaller"),
    (dict(n_letters=2, length=3, n_sequences=9, n_train=4), "exceeds the 8 distinct sequences"),
    (dict(max_timing=0), "max_timing must be a positive integer"),
])
def test_bad_task_config_clear_error(kw, msg):
    with pytest.raises(ValueError, match=msg):
        SequenceLookup(**kw)
