"""The training loop's scoring functions and argument checks, on hand-computed values (issue 8)."""
import contextlib
import dataclasses
import time

import numpy as np
import pytest

import harness
import learners
from harness.training import (DEFAULT_SWEEPS_FIXED, DEFAULT_SWEEPS_VARIABLE, accuracy,
                              bit_accuracy, default_sweeps, mse_loss, run_update, sign_code)

TARGETS = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, 1.0], [-1.0, -1.0, -1.0], [1.0, -1.0, -1.0]])
Y = np.array([[0.0, -0.5, 2.0],       # all three right (0 counts as +1)
              [0.3, -0.1, 0.2],       # bit 1 wrong
              [-1.0, -2.0, -0.0],     # -0.0 >= 0: bit 2 read as +1, wrong
              [1.0, -1.0, -1.0]])     # exact


def test_sign_code_takes_zero_as_plus_one():
    assert sign_code(np.array([-1e-300, 0.0, -0.0, 1e-300])).tolist() == [-1.0, 1.0, 1.0, 1.0]


def test_accuracies_and_loss_by_hand():
    assert accuracy(Y, TARGETS) == 0.5                       # rows 0 and 3 have all bits right
    assert bit_accuracy(Y, TARGETS).tolist() == [1.0, 0.75, 0.75]
    # 0.5 * mean over rows of the summed squared errors
    d = [(1, 0.25, 1), (0.49, 1.21, 0.64), (0, 1, 1), (0, 0, 0)]
    assert mse_loss(Y, TARGETS) == pytest.approx(0.5 * np.mean([sum(r) for r in d]), rel=1e-15)
    assert mse_loss(TARGETS, TARGETS) == 0.0


def test_default_sweeps_follow_the_timing():
    assert default_sweeps(harness.SequenceLookup()) == DEFAULT_SWEEPS_FIXED == 800
    assert default_sweeps(harness.SequenceLookup(variable_timing=True)) == DEFAULT_SWEEPS_VARIABLE
    assert DEFAULT_SWEEPS_VARIABLE == 2000


def test_divergence_error_carries_the_sweep_and_loss():
    e = harness.DivergenceError("bptt", 7, float("inf"))
    assert (e.sweep, e.loss) == (7, float("inf"))
    assert str(e) == "learner 'bptt' diverged: loss became inf at sweep 7"


@pytest.mark.parametrize("kw, msg", [
    (dict(sweeps=0), r"sweeps must be a positive integer, got 0$"),
    (dict(sweeps=True), r"sweeps must be a positive integer, got True$"),
    (dict(sweeps=2.0), r"sweeps must be a positive integer, got 2.0$"),
    (dict(seed=-1), r"seed must be a non-negative integer, got -1$"),
    (dict(seed=False), r"seed must be a non-negative integer, got False$"),
    (dict(seed=0.0), r"seed must be a non-negative integer, got 0.0$"),
    (dict(eval_every=0), r"eval_every must be a positive integer or None, got 0$"),
])
def test_train_arguments_at_their_edges(kw, msg):
    args = dict(seed=0, sweeps=1) | kw
    with pytest.raises(ValueError, match=msg):
        harness.train(learners.get("bptt").for_task(harness.SequenceLookup(), n_hidden=4),
                      **args)


def test_smallest_valid_arguments_run():
    task = harness.SequenceLookup()
    r = harness.train(learners.get("bptt").for_task(task, n_hidden=4), task, seed=np.int64(0),
                      sweeps=np.int32(1), eval_every=1)
    assert r.seed == 0 and type(r.seed) is int and r.sweeps == 1 and type(r.sweeps) is int
    assert len(r.history) == 1 and r.history["sweep"].tolist() == [1]
    assert not np.isnan(r.history["validation_acc"].iloc[0])


def test_the_default_model_seed_is_0():
    task = harness.SequenceLookup()
    L = learners.get("bptt")()
    default = harness.train(L, task, sweeps=2).history
    assert default.equals(harness.train(L, task, seed=0, sweeps=2).history)
    assert not default.equals(harness.train(L, task, seed=1, sweeps=2).history)


def test_the_logged_test_accuracy_is_that_of_the_weights_before_the_update():
    """test_acc at sweep 1 is the initial network's accuracy on the test batch (logged before
    the first update), a number in [0, 1] at every sweep."""
    task = harness.SequenceLookup()
    L = learners.get("bptt")()
    h = harness.train(L, task, seed=3, sweeps=3).history
    init = L.init(task, np.random.default_rng(3))
    assert h["test_acc"].iloc[0] == accuracy(L.predict(init, task.test_batch()),
                                             task.test_batch().targets)
    assert h["test_acc"].between(0, 1).all()


def test_on_sweep_sees_each_sweeps_logged_row():
    """The progress callback gets (1-based sweep, the row just logged) after every sweep."""
    seen = []
    task = harness.SequenceLookup()
    h = harness.train(learners.get("bptt")(), task, seed=0, sweeps=3,
                      on_sweep=lambda s, row: seen.append((s, dict(row)))).history
    assert [s for s, _ in seen] == [1, 2, 3]
    for (s, row), (_, logged) in zip(seen, h.iterrows()):
        assert row["sweep"] == s and row == {k: logged[k] for k in row}


class _OneWrong(learners.base.Learner):
    """Outputs the batch's own codes with the first sequence's bits flipped: every sweep's
    training accuracy is exactly (n - 1) / n."""
    name = "one_wrong"
    from learners.rnn import RNNConfig as Config
    PARAMS = ("w",)

    def init(self, task, rng):
        return {"w": np.zeros(1)}

    def forward(self, state, batch):
        y = batch.targets.copy()
        y[0] = -y[0]
        return {"y": y}

    def credit(self, state, batch, cache):
        return {}

    def update(self, state, grads):
        return dict(state)


class _OneWrongNameless(_OneWrong):
    name = ""


def test_converged_at_a_training_accuracy_of_exactly_the_criterion():
    # 999 of 1000 training sequences right is train_acc == CONVERGED_ACC (0.999): converged
    # at sweep 1; 19 of 20 is below it: never
    big = harness.SequenceLookup(n_sequences=1001, n_train=1000)
    r = harness.train(_OneWrong(), big, seed=0, sweeps=2, log_test=False)
    assert r.history["train_acc"].tolist() == [harness.training.CONVERGED_ACC] * 2
    assert r.converged_sweep == 1
    r = harness.train(_OneWrong(), harness.SequenceLookup(), seed=0, sweeps=2)
    assert r.history["train_acc"].tolist() == [0.95, 0.95] and r.converged_sweep is None


def test_the_result_names_the_rule_or_its_class():
    task = harness.SequenceLookup()
    assert harness.train(_OneWrong(), task, sweeps=1).learner == "one_wrong"
    assert harness.train(_OneWrongNameless(), task, sweeps=1).learner == "_OneWrongNameless"
    assert harness.train(learners.get("bptt")(), task, sweeps=1).learner == "bptt"


def test_every_field_of_the_result_is_what_it_names():
    # the final network's scores, recomputed from its parameters; the baselines; the config;
    # a wall time inside the call's own
    task = harness.SequenceLookup()
    L = learners.get("bptt").for_task(task, n_hidden=6)
    t0 = time.perf_counter()
    r = harness.train(L, task, seed=2, sweeps=3)
    elapsed = time.perf_counter() - t0
    final = {**r.state, **r.params}
    for field, batch in (("train_acc", task.fixed_train_batch()), ("test_acc", task.test_batch()),
                         ("unseen_acc", task.unseen_batch()),
                         ("validation_acc", task.validation_batch())):
        assert getattr(r, field) == accuracy(L.predict(final, batch), batch.targets), field
    y = L.predict(final, task.test_batch())
    assert np.array_equal(r.test_bit_acc, bit_accuracy(y, task.test_batch().targets))
    assert r.test_bit_acc.shape == (3,)
    assert r.baseline_unseen_acc == task.constant_code_baseline("unseen")[1]
    assert r.majority_unseen_acc == task.majority_code_baseline("unseen")[1]
    assert r.config == dataclasses.asdict(L.config) and r.config["n_hidden"] == 6
    assert 0 < r.wall_s <= elapsed


def test_run_update_shows_each_phase_its_own_output_in_order():
    # observe sees the forward's cache, the credit's grads and the update's new state, the very
    # objects the update made; phase tags the three phases in order (the tracked runner names
    # arrays and attributes costs with these)
    task = harness.SequenceLookup()
    L = learners.get("bptt")()
    state = L.init(task, np.random.default_rng(0))
    seen, tags = [], []
    new_state, cache = run_update(
        L, state, task.fixed_train_batch(),
        phase=lambda name: tags.append(name) or contextlib.nullcontext(),
        observe=lambda name, out: seen.append((name, out)))
    assert [n for n, _ in seen] == ["forward", "credit", "update"] == tags
    assert seen[0][1] is cache and seen[2][1] is new_state
    grads = L.credit(state, task.fixed_train_batch(), cache)
    assert seen[1][1].keys() == grads.keys()
    assert all(np.array_equal(seen[1][1][k], grads[k]) for k in grads)
    assert all(np.array_equal(new_state[k], L.update(state, grads)[k]) for k in new_state)
