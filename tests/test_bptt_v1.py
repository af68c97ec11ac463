"""The v1 numbers, reproduced exactly (../shared/seed/v1_procedure.md)."""
import numpy as np
import pytest

import harness
import learners


@pytest.fixture(scope="module")
def task():
    return harness.SequenceLookup()


def test_seed0_headline(task):
    r = harness.train(learners.get("bptt")(), task, seed=0)
    assert r.train_acc == 1.0
    assert round(r.test_acc * 5) == 4
    assert r.converged_sweep == 22
    assert 0.50 <= r.unseen_acc <= 0.59
    assert set(r.params) == {"W_xh", "W_hh", "b_h", "W_hy", "b_y"}
    assert r.params["W_hh"].shape == (30, 30)
    assert list(r.history.columns) == ["sweep", "loss", "train_acc", "test_acc"]
    assert len(r.history) == 800 and r.history["loss"].iloc[-1] < 1e-3
    # the best constant code on the reported unseen part (half of the 3,100 unseen sequences)
    tg = task.targets(task.unseen_sequences)
    assert r.baseline_unseen_acc == np.unique(tg, axis=0, return_counts=True)[1].max() / len(tg)
    assert 0.50 <= r.validation_acc <= 0.59 and r.validation_acc != r.unseen_acc


def test_five_seeds(task):
    held, conv = [], []
    for s in range(5):
        r = harness.train(learners.get("bptt")(), task, seed=s)
        held.append(round(r.test_acc * 5))
        conv.append(r.converged_sweep)
    assert held == [4, 5, 5, 5, 5]
    assert conv == [22, 18, 83, None, 21]


def test_variable_timing_seed0():
    task = harness.SequenceLookup(variable_timing=True)
    learner = learners.get("bptt").for_task(task)
    assert learner.config.n_hidden == 60 and learner.config.lr == 0.02
    r = harness.train(learner, task, seed=0)
    assert r.sweeps == 2000
    assert r.test_acc == 1.0
    assert r.converged_sweep == 76


def test_same_seed_same_numbers(task):
    a = harness.train(learners.get("bptt")(), task, seed=1, sweeps=30)
    b = harness.train(learners.get("bptt")(), task, seed=1, sweeps=30)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])


def test_hyperparameters_are_keywords_with_v1_defaults():
    lr = learners.get("bptt")(lr=0.01)
    assert lr.config.lr == 0.01 and lr.config.n_hidden == 30 and lr.config.clip == 5.0
