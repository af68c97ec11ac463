"""SequenceLookup's input checks at their edges: the size limits, the batch-size limit (which
counts per-step targets), and the one-line errors naming the bad value (issue 8)."""
import numpy as np
import pytest

from harness import SequenceLookup
from harness.task import MAX_BATCH_BYTES, MAX_SIZE, N_OUTPUTS
from learners.base import short_repr
from test_task_splits import check_disjoint


def test_a_size_at_its_limit_is_accepted_and_one_past_it_is_not():
    t = SequenceLookup(n_letters=MAX_SIZE["n_letters"], length=1)
    assert t.n_letters == MAX_SIZE["n_letters"] and len(t.unseen_sequences) > 0
    assert SequenceLookup(max_timing=MAX_SIZE["max_timing"]).max_timing == MAX_SIZE["max_timing"]
    for name in ("n_letters", "max_timing"):
        with pytest.raises(ValueError, match=f"{name} must be a positive integer <= "
                                             f"{MAX_SIZE[name]}, got {MAX_SIZE[name] + 1}$"):
            SequenceLookup(**{name: MAX_SIZE[name] + 1})


def test_seed_zero_is_a_seed():
    t = SequenceLookup(dataset_seed=0, teacher_seed=0)
    assert t.dataset_seed == 0 and t.teacher_seed == 0


def _need(n_letters, length, pool, max_timing, per_step):
    """The unseen batch's bytes, from the documented rule (float64 one-hot + per-step targets)."""
    return pool * length * max_timing * (n_letters + (N_OUTPUTS if per_step else 0)) * 8


def test_the_unseen_batch_may_be_exactly_the_limit_but_not_more():
    # 16 letters x 4 positions, half the space in the data set: a listed pool of 2^15 sequences,
    # held up to 256 steps per letter: 2^15 * 4 * 256 * 16 * 8 bytes = 4 GiB exactly
    kw = dict(n_letters=16, length=4, n_sequences=2 ** 15, n_train=1, variable_timing=True)
    assert _need(16, 4, 16 ** 4 - 2 ** 15, 256, False) == MAX_BATCH_BYTES
    t = SequenceLookup(max_timing=256, **kw)
    assert len(t.unseen_sequences) + len(t.validation_sequences) == 2 ** 15
    with pytest.raises(ValueError, match=r"n_letters=16 x length=4 x max_timing=257 makes the "
                                         r"unseen batch 4\.0 GiB of one-hot inputs \(more than "
                                         r"4 GiB\)$"):
        SequenceLookup(max_timing=257, **kw)


def test_per_step_targets_count_towards_the_batch_limit():
    # 13 letters (+ 3 target columns = 16 floats per step), a listed pool of 2^14, 512 steps
    # per letter: exactly 4 GiB with per-step targets; one step more is too much with them and
    # fine without
    kw = dict(n_letters=13, length=4, n_sequences=13 ** 4 - 2 ** 14, n_train=1,
              variable_timing=True)
    assert _need(13, 4, 2 ** 14, 512, True) == MAX_BATCH_BYTES
    assert SequenceLookup(max_timing=512, target_kind="per_step", **kw).target_kind == "per_step"
    assert SequenceLookup(max_timing=513, **kw).max_timing == 513
    with pytest.raises(ValueError, match=r"max_timing=513 makes the unseen batch 4\.0 GiB of "
                                         r"one-hot inputs and per-step targets \(more than 4 GiB\)"):
        SequenceLookup(max_timing=513, target_kind="per_step", **kw)


def test_fixed_timing_batch_limit_message_omits_max_timing():
    with pytest.raises(ValueError, match=r"^SequenceLookup: n_letters=4096 x length=14 makes the "
                                         r"unseen batch 4\.3 GiB of one-hot inputs \(more "):
        SequenceLookup(n_letters=4096, length=14)   # a sampled pool: 10^4 x 14 x 4096 x 8 B


def test_a_bad_value_is_shown_on_one_line_and_short():
    """The task's messages show a bad value as the learners' checks do (learners.base.short_repr,
    tested there)."""
    value = np.zeros((2, 40))
    with pytest.raises(ValueError) as e:
        SequenceLookup(n_letters=value)
    msg = str(e.value)
    assert msg == ("SequenceLookup: n_letters must be a positive integer <= 4096, got "
                   + short_repr(value)) and "\n" not in msg


def test_a_zero_teacher_logit_is_code_plus_one():
    """sign(0) = +1 for the final code and for every prefix's code (the module docstring)."""
    t = SequenceLookup()
    t.W_teacher = np.zeros_like(t.W_teacher)
    t.b_teacher = np.array([0.0, -1.0, -0.0])       # logits exactly 0, -1 and -0 at every step
    seqs = t.sequences[:4]
    want = np.array([1.0, -1.0, 1.0])
    assert np.array_equal(t.targets(seqs), np.broadcast_to(want, (4, 3)))
    assert np.array_equal(t.prefix_targets(seqs), np.broadcast_to(want, (4, t.length, 3)))


@pytest.mark.parametrize("kw, msg", [
    (dict(n_letters=0), "n_letters must be a positive integer <= 4096, got 0"),
    (dict(n_train=2.5), "n_train must be a positive integer <= 1000000, got 2.5"),
    (dict(dataset_seed=-1), "dataset_seed must be a non-negative integer, got -1"),
    (dict(teacher_seed="7"), "teacher_seed must be a non-negative integer, got '7'"),
    (dict(variable_timing="no"), r"variable_timing must be a bool \(True/False\), got 'no'"),
    (dict(target_kind="every"), "target_kind must be one of final, per_step, got 'every'"),
    (dict(target_kind=None), "target_kind must be one of final, per_step, got None"),
    (dict(validation_fraction=1), "validation_fraction must be a number strictly between 0 and 1, "
                                  "got 1"),
    (dict(n_letters=2, length=3, n_sequences=9, n_train=4),
     "n_sequences=9 exceeds the 8 distinct sequences of n_letters=2 x length=3"),
    (dict(n_train=25), r"n_train=25 must be smaller than n_sequences=25 \(at least one held-out "
                       r"sequence\)"),
    (dict(n_letters=4, length=9, n_sequences=255_000, n_train=10),
     "a space of 262144 sequences less the data set has fewer than the 10000 unseen sequences "
     "sampled"),
])
def test_bad_task_parameters_word_for_word(kw, msg):
    with pytest.raises(ValueError, match=f"^SequenceLookup: {msg}$"):
        SequenceLookup(**kw)


def test_batch_and_split_errors_word_for_word():
    with pytest.raises(ValueError, match="^variable timing: train_batch needs the sweep's "
                                         "timing_rng$"):
        SequenceLookup(variable_timing=True).train_batch()
    with pytest.raises(ValueError, match=r"^unknown split 'heldout'; splits are \['test', 'train', "
                                         r"'unseen', 'validation'\]$"):
        SequenceLookup().constant_code_baseline("heldout")


def test_a_space_at_the_listing_limit_is_listed_and_a_larger_one_sampled(monkeypatch):
    """The listing limit is inclusive: a space of exactly UNSEEN_LIST_LIMIT sequences lists
    every sequence outside the data set (even fewer than a sample would hold), and the batch
    check prices that listed pool; a larger space samples UNSEEN_SAMPLE_SIZE sequences, and
    may hold exactly that many outside the data set (the sample is then all of them), not
    fewer. (The limits scaled down; the rule is the same.)"""
    import harness.task as task
    monkeypatch.setattr(task, "UNSEEN_LIST_LIMIT", 4 ** 4)
    monkeypatch.setattr(task, "UNSEEN_SAMPLE_SIZE", 100)
    # at the limit: 256 sequences, 200 in the data set, a listed pool of 56, priced as 56
    monkeypatch.setattr(task, "MAX_BATCH_BYTES", _need(4, 4, 56, 1, False))
    t = SequenceLookup(n_letters=4, length=4, n_sequences=200, n_train=20)
    _, val, rep = check_disjoint(t)
    assert not t.unseen_is_sample and len(val | rep) == 56
    # past it: 4^5 = 1024 sequences, a data set of 924: the sample is the 100 left
    monkeypatch.setattr(task, "MAX_BATCH_BYTES", _need(4, 5, 100, 1, False))
    t = SequenceLookup(n_letters=4, length=5, n_sequences=924, n_train=20)
    _, val, rep = check_disjoint(t)
    assert t.unseen_is_sample and len(val | rep) == 100
    with pytest.raises(ValueError, match=r"^SequenceLookup: a space of 1024 sequences less the "
                                         r"data set has fewer than the 100 unseen sequences "
                                         r"sampled$"):
        SequenceLookup(n_letters=4, length=5, n_sequences=925, n_train=20)
